// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // --- Online / offline -------------------------------------------------------------------
  // Elements marked data-needs-online disappear while the browser is offline (e.g. Generate Image:
  // a generation needs the server). data-offline-notice appears instead, and data-disable-offline
  // controls are disabled so nothing is submitted into the void.
  function applyConnectivity() {
    var online = navigator.onLine;
    document.querySelectorAll("[data-needs-online]").forEach(function (el) { el.hidden = !online; });
    document.querySelectorAll("[data-offline-notice]").forEach(function (el) { el.hidden = online; });
    document.querySelectorAll("[data-disable-offline]").forEach(function (el) {
      el.disabled = !online;
      if (!online) { el.setAttribute("aria-disabled", "true"); } else { el.removeAttribute("aria-disabled"); }
    });
  }
  window.addEventListener("online", applyConnectivity);
  window.addEventListener("offline", applyConnectivity);
  document.addEventListener("DOMContentLoaded", applyConnectivity);
  document.addEventListener("htmx:afterSettle", applyConnectivity);

  // --- Dialogs loaded with htmx ------------------------------------------------------------
  // A trigger with data-dialog="<id>" loads its content with hx-get into that <dialog>; once the
  // content is in, the dialog opens modally and focus moves to its first field. Closing it (Esc or
  // the close button) returns focus to the trigger.
  var openers = {};

  // The first field, not the first focusable element: a selector list would match in document order and land on
  // the header's close button. Buttons only when the panel has no field (e.g. a job's results).
  function firstControl(container) {
    var choices = ["[autofocus]", "select, textarea, input:not([type=hidden])", "button:not([disabled]), a[href]"];
    for (var i = 0; i < choices.length; i++) {
      var found = Array.prototype.find.call(container.querySelectorAll(choices[i]), function (el) {
        return !el.disabled && !el.closest("[hidden]") && !el.closest(".dialog-header");
      });
      if (found) { return found; }
    }
    return null;
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    // An outerHTML swap (the dialog's panels) reports the replaced element, already out of the document: then the
    // swap happened in the open modal dialog, the only part of the page that can be interacted with.
    // A swap from the event stream (htmx's SSE extension) carries no request: its event's own target is the new
    // content.
    var target = event.detail.target || event.target;
    var dialog = target.isConnected ? target.closest("dialog") : document.querySelector("dialog[open]");
    if (!dialog) { return; }
    var trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (trigger && trigger.dataset && trigger.dataset.dialog === dialog.id) {
      openers[dialog.id] = trigger;
      if (!dialog.open) { dialog.showModal(); }
      var first = firstControl(dialog);
      if (first) { first.focus(); }
      return;
    }
    // A panel inside the open dialog was replaced (Generate, a poll, Save): the focused control went with it. Keep
    // keyboard and screen-reader users inside the dialog, at the new panel, rather than lost on <body>.
    if (dialog.open && !dialog.contains(document.activeElement)) {
      var panel = dialog.querySelector(".generate-panel") || dialog;
      if (!panel.hasAttribute("tabindex")) { panel.setAttribute("tabindex", "-1"); }
      panel.focus({ preventScroll: true });
    }
  });

  document.addEventListener("close", function (event) {
    var dialog = event.target;
    if (dialog.tagName !== "DIALOG" || dialog.classList.contains("lightbox")) { return; }
    var opener = openers[dialog.id];
    if (opener && document.body.contains(opener)) { opener.focus(); }
    // A list the opener is in (recent jobs, the history) is refreshed on close and the opener replaced: focus then
    // goes to its replacement, not to <body>.
    refocusHref = opener && opener.getAttribute("href");
    // Empty it: a job panel left behind would go on polling, unseen. (The job itself carries on; it is listed
    // under Recent generations, and opening the dialog again loads fresh content.) Through htmx when it is there,
    // so that a panel's event stream is closed with it.
    Array.prototype.forEach.call(dialog.children, function (child) {
      if (window.htmx) { window.htmx.swap(child, "", { swapStyle: "innerHTML" }); } else { child.replaceChildren(); }
    });
    // Ask the page to refresh whatever lists the dialog may have changed (e.g. recent jobs, the grid).
    document.body.dispatchEvent(new CustomEvent("dialog:closed", { bubbles: true, detail: { id: dialog.id } }));
  }, true);

  var refocusHref = null;
  document.addEventListener("htmx:afterSettle", function () {
    if (!refocusHref || (document.activeElement && document.activeElement !== document.body)) { return; }
    var again = document.querySelector('a[data-dialog][href="' + CSS.escape(refocusHref) + '"]');
    if (again) { again.focus(); refocusHref = null; }
  });

  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      var dialog = closer.closest("dialog");
      if (dialog) { event.preventDefault(); dialog.close(); }
    }
  });

  // Saving images from the dialog: the Media grid behind it refreshes itself (hx-trigger="media-saved"); the
  // images just saved are marked as new there, so the writer sees them when the dialog closes.
  var newItems = [];
  document.addEventListener("media-saved", function (event) {
    newItems = newItems.concat((event.detail && event.detail.items) || []);
  });
  function markNew() {
    newItems.forEach(function (id) {
      var tile = document.querySelector('.media-tile[data-item="' + id + '"]');
      if (tile) { tile.classList.add("media-tile-new"); }
    });
  }
  document.addEventListener("htmx:afterSettle", markNew);

  // --- Announcements ------------------------------------------------------------------------
  // The dialog's panels are replaced whole on every update, so a live region inside them may never be heard. The
  // dialog keeps one of its own (#generate-live); whatever a new panel or note marks data-announce is said there,
  // once, when it changes.
  document.addEventListener("htmx:afterSettle", function (event) {
    var dialog = document.querySelector("dialog[open]");
    var live = dialog && dialog.querySelector("[role=status][aria-live]");
    if (!live) { return; }
    var target = event.detail.target && event.detail.target.isConnected ? event.detail.target : dialog;
    var marked = target.matches("[data-announce]") ? [target] : target.querySelectorAll("[data-announce]");
    var last = marked[marked.length - 1];
    var text = last && (last.getAttribute("data-announce") || last.textContent).trim();
    if (text && text !== live.textContent) { live.textContent = text; }
  });

  // --- Live job panels ------------------------------------------------------------------------
  // A running job's panel listens to its event stream (htmx's SSE extension: hx-ext="sse", sse-connect) and polls
  // (hx-trigger "load delay:…") only while that stream is not open. A stream that drops after it was open asks for
  // one poll at once; the polled panel then tries its own stream again, or polls on.
  function streaming(elt) { return elt && elt.dataset && elt.dataset.stream === "open"; }
  document.addEventListener("htmx:sseOpen", function (event) { event.target.dataset.stream = "open"; });
  document.addEventListener("htmx:sseError", function (event) {
    var panel = event.target;
    if (streaming(panel)) {
      delete panel.dataset.stream;
      if (window.htmx && panel.isConnected) { window.htmx.trigger(panel, "poll"); }
    }
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (streaming(elt) && elt.hasAttribute("sse-connect") && event.detail.requestConfig.verb === "get") {
      event.preventDefault();  // the stream tells this panel; its poll is not needed
    }
  });

  // --- Lightbox ------------------------------------------------------------------------------
  // A picture marked data-lightbox opens large in a dialog of its own, over the Generate dialog: Previous / Next (and
  // the arrow keys) go through the pictures beside it, Esc or Close returns to the picture it was opened from.
  // Without this script the link opens the image itself.
  var lightbox = null;
  function showInLightbox(links, index) {
    var link = links[index];
    lightbox.querySelector("img").src = link.href;
    lightbox.querySelector("img").alt = link.dataset.caption || "";
    lightbox.querySelector(".lightbox-caption").textContent = link.dataset.caption || "";
    lightbox.querySelector("[data-step='-1']").disabled = index === 0;
    lightbox.querySelector("[data-step='1']").disabled = index === links.length - 1;
    lightbox.dataset.index = index;
  }
  function openLightbox(link) {
    var group = link.closest(".candidates") || document;
    var links = Array.prototype.slice.call(group.querySelectorAll("a[data-lightbox]"));
    if (!lightbox) {
      lightbox = document.createElement("dialog");
      lightbox.className = "lightbox";
      lightbox.setAttribute("aria-label", "Image, larger");
      lightbox.innerHTML = '<img alt=""><div class="lightbox-bar">' +
        '<button type="button" class="button" data-step="-1">← Previous</button>' +
        '<span class="lightbox-caption" aria-live="polite"></span>' +
        '<button type="button" class="button" data-step="1">Next →</button>' +
        '<button type="button" class="button" data-lightbox-close>Close</button></div>';
      document.body.appendChild(lightbox);
      lightbox.addEventListener("click", function (event) {
        var step = event.target.closest("[data-step]");
        if (step) { move(parseInt(step.dataset.step, 10)); }
        if (event.target.closest("[data-lightbox-close]") || event.target === lightbox) { lightbox.close(); }
      });
      lightbox.addEventListener("keydown", function (event) {
        if (event.key === "ArrowRight") { move(1); event.preventDefault(); }
        if (event.key === "ArrowLeft") { move(-1); event.preventDefault(); }
      });
      lightbox.addEventListener("close", function () {
        var from = lightbox.links && lightbox.links[lightbox.dataset.index];
        if (from && from.isConnected) { from.focus(); }
      });
    }
    function move(step) {
      var next = parseInt(lightbox.dataset.index, 10) + step;
      if (next >= 0 && next < lightbox.links.length) { showInLightbox(lightbox.links, next); }
    }
    lightbox.links = links;
    showInLightbox(links, links.indexOf(link));
    lightbox.showModal();
    lightbox.querySelector("[data-lightbox-close]").focus();
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-lightbox]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    event.preventDefault();
    openLightbox(link);
  });

  // --- Elapsed time on running jobs ---------------------------------------------------------
  // Server renders data-elapsed-since (ISO time); this keeps the seconds ticking between polls. It also runs right
  // after each swap: a poll replaces the panel every second, and the server's coarse "0 minutes" would otherwise
  // be all a writer ever sees.
  function tickElapsed() {
    document.querySelectorAll("[data-elapsed-since]").forEach(function (el) {
      var started = Date.parse(el.dataset.elapsedSince);
      if (!isNaN(started)) {
        var seconds = Math.max(0, Math.round((Date.now() - started) / 1000));
        el.textContent = seconds < 60 ? seconds + " s" : Math.floor(seconds / 60) + " min " + (seconds % 60) + " s";
      }
    });
  }
  setInterval(tickElapsed, 1000);
  document.addEventListener("htmx:afterSwap", tickElapsed);
  document.addEventListener("DOMContentLoaded", tickElapsed);

  // --- Custom size --------------------------------------------------------------------------
  // A custom size field is shown only while its form's Size says "Custom size…"; without this script it is always
  // shown, with its help saying when it counts.
  function applyCustomSize() {
    document.querySelectorAll("[data-custom-size]").forEach(function (input) {
      var size = input.form && input.form.elements.namedItem("size");
      var field = input.closest(".field") || input;
      field.hidden = !!size && size.value !== "custom";
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.name === "size") { applyCustomSize(); }
  });
  document.addEventListener("DOMContentLoaded", applyCustomSize);
  document.addEventListener("htmx:afterSettle", applyCustomSize);

  // --- Illustrate this passage ----------------------------------------------------------------
  // In a document, words selected in one or more paragraphs show "Illustrate this passage": it opens the Generate
  // dialog on them, placed after the paragraph where the selection ends. Without this script each paragraph's own
  // "Illustrate" link does the same for the whole paragraph.
  var pressingIllustrate = false;

  function selectedPassage(body) {
    var selection = window.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) { return null; }
    var range = selection.getRangeAt(0);
    if (!body.contains(range.commonAncestorContainer)) { return null; }
    var last = null;
    body.querySelectorAll("[data-paragraph]").forEach(function (p) {
      if (range.intersectsNode(p)) { last = p; }
    });
    var text = selection.toString().replace(/\s+/g, " ").trim();
    return last && text ? { paragraph: last.dataset.paragraph, text: text } : null;
  }

  function updateIllustrate() {
    var body = document.querySelector("[data-illustrate-base]");
    var button = document.getElementById("illustrate-selection");
    if (!body || !button) { return; }
    var passage = selectedPassage(body);
    if (!passage) {
      if (!pressingIllustrate) { button.hidden = true; }
      return;
    }
    var url = body.dataset.illustrateBase + "&paragraph=" + encodeURIComponent(passage.paragraph) +
      "&passage=" + encodeURIComponent(passage.text.slice(0, 4000));
    button.setAttribute("href", url);
    button.setAttribute("hx-get", url);
    if (window.htmx) { window.htmx.process(button); }
    button.hidden = !navigator.onLine;
  }

  var illustrateTimer = null;
  document.addEventListener("selectionchange", function () {
    clearTimeout(illustrateTimer);
    illustrateTimer = setTimeout(updateIllustrate, 120);
  });
  document.addEventListener("pointerdown", function (event) {
    pressingIllustrate = !!event.target.closest("#illustrate-selection");
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("#illustrate-selection");
    if (button) { setTimeout(function () { pressingIllustrate = false; button.hidden = true; }, 0); }
  });
})();

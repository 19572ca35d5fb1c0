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
  // content is in, the dialog opens modally and focus moves to its first field. Closing it (Esc,
  // the close button, or an HX-Trigger "dialog:close" from the server) returns focus to the trigger.
  var openers = {};

  document.addEventListener("htmx:afterSwap", function (event) {
    var dialog = event.detail.target.closest("dialog");
    if (!dialog) { return; }
    var trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (trigger && trigger.dataset && trigger.dataset.dialog === dialog.id) {
      openers[dialog.id] = trigger;
      if (!dialog.open) { dialog.showModal(); }
      var first = dialog.querySelector("[autofocus], select, textarea, input:not([type=hidden]), button");
      if (first) { first.focus(); }
    }
  });

  document.addEventListener("close", function (event) {
    var dialog = event.target;
    if (dialog.tagName !== "DIALOG") { return; }
    var opener = openers[dialog.id];
    if (opener && document.body.contains(opener)) { opener.focus(); }
    // Ask the page to refresh whatever lists the dialog may have changed (e.g. recent jobs, the grid).
    document.body.dispatchEvent(new CustomEvent("dialog:closed", { bubbles: true, detail: { id: dialog.id } }));
  }, true);

  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      var dialog = closer.closest("dialog");
      if (dialog) { event.preventDefault(); dialog.close(); }
    }
  });

  // HX-Trigger events fire on the requesting element and bubble up to the document.
  document.addEventListener("dialog:close", function () {
    document.querySelectorAll("dialog[open]").forEach(function (d) { d.close(); });
  });

  // Saving images from the dialog changes the Media grid behind it: reload the page once the dialog closes.
  var mediaChanged = false;
  document.addEventListener("media-saved", function () { mediaChanged = true; });
  document.addEventListener("dialog:closed", function () {
    if (mediaChanged) { window.location.reload(); }
  });

  // --- Elapsed time on running jobs ---------------------------------------------------------
  // Server renders data-started (ISO time); this keeps the seconds ticking between polls.
  setInterval(function () {
    document.querySelectorAll("[data-elapsed-since]").forEach(function (el) {
      var started = Date.parse(el.dataset.elapsedSince);
      if (!isNaN(started)) {
        var seconds = Math.max(0, Math.round((Date.now() - started) / 1000));
        el.textContent = seconds < 60 ? seconds + " s" : Math.floor(seconds / 60) + " min " + (seconds % 60) + " s";
      }
    });
  }, 1000);
})();

// The mask painter of the Edit dialog (templates/imagegen/_edit_source.html). Plain JavaScript, no inline code.
//
// Paint over the part of the image that should change: brush and eraser with a size, undo, clear, invert; mouse,
// pen and touch alike (pointer events). The painting lives on a canvas the image's own size laid over it; after
// every change the mask is written into the form's hidden field `mask` as a PNG in Inkweld's one convention —
// the image's size, transparent where to repaint (imagegen/masks.py) — or left empty when nothing is painted,
// which edits the whole image. Without this file the painter stays hidden and the whole image is edited.
(function () {
  "use strict";

  var PAINT = "rgb(220, 38, 90)"; // drawn opaque; the canvas is shown half-transparent by the stylesheet
  var MAX_UNDO = 100;

  function setup(root) {
    if (root.dataset.painterReady) { return; }
    root.dataset.painterReady = "yes";
    var width = parseInt(root.dataset.width, 10);
    var height = parseInt(root.dataset.height, 10);
    var canvas = root.querySelector(".mask-canvas");
    var input = root.querySelector("input[name=mask]");
    var toolbar = root.querySelector(".mask-toolbar");
    var status = root.querySelector("[data-mask-status]");
    var sizeInput = root.querySelector("[data-brush-size]");
    var undoButton = root.querySelector("[data-mask-action=undo]");
    if (!width || !height || !canvas || !input || !toolbar || !canvas.getContext) { return; }
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    // A model that takes no mask: the painting is shown (so it can be cleared) but cannot be added to.
    var paintable = !root.hasAttribute("data-no-mask");
    var ops = []; // what was done, in order: undo replays all but the last
    var stroke = null;
    var tool = "brush";

    canvas.hidden = false;
    toolbar.hidden = false;
    if (!paintable) {
      toolbar.querySelectorAll("[data-tool], [data-mask-action=invert], .mask-size").forEach(function (el) { el.hidden = true; });
      canvas.classList.add("mask-canvas-locked");
    }

    function brushSize() {
      // The slider is in hundredths of the image's longer side, so a brush covers the same share of any image.
      var value = parseInt(sizeInput && sizeInput.value, 10) || 8;
      return Math.max(1, value / 100 * Math.max(width, height));
    }

    function setComposite(mode) { ctx.globalCompositeOperation = mode; }

    function drawDot(op, point) {
      setComposite(op.tool === "eraser" ? "destination-out" : "source-over");
      ctx.fillStyle = PAINT;
      ctx.beginPath();
      ctx.arc(point[0], point[1], op.size / 2, 0, Math.PI * 2);
      ctx.fill();
    }

    function drawSegment(op, from, to) {
      setComposite(op.tool === "eraser" ? "destination-out" : "source-over");
      ctx.strokeStyle = PAINT;
      ctx.lineWidth = op.size;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.beginPath();
      ctx.moveTo(from[0], from[1]);
      ctx.lineTo(to[0], to[1]);
      ctx.stroke();
    }

    function apply(op) {
      if (op.kind === "stroke") {
        drawDot(op, op.points[0]);
        for (var i = 1; i < op.points.length; i++) { drawSegment(op, op.points[i - 1], op.points[i]); }
      } else if (op.kind === "clear") {
        setComposite("source-over");
        ctx.clearRect(0, 0, width, height);
      } else if (op.kind === "invert") {
        // xor with an opaque fill: painted becomes unpainted and the other way round (soft edges too).
        setComposite("xor");
        ctx.fillStyle = PAINT;
        ctx.fillRect(0, 0, width, height);
      } else if (op.kind === "restore") {
        // A saved mask (transparent = repaint): draw it, then invert, so its repaint area shows as paint.
        setComposite("source-over");
        ctx.clearRect(0, 0, width, height);
        ctx.drawImage(op.image, 0, 0, width, height);
        setComposite("xor");
        ctx.fillStyle = PAINT;
        ctx.fillRect(0, 0, width, height);
      }
      setComposite("source-over");
    }

    function redraw() {
      ctx.clearRect(0, 0, width, height);
      ops.forEach(apply);
    }

    function paintedShare() {
      var data = ctx.getImageData(0, 0, width, height).data;
      var painted = 0;
      for (var i = 3; i < data.length; i += 4) { if (data[i] >= 128) { painted++; } }
      return painted / (width * height);
    }

    function exportMask() {
      var share = paintedShare();
      undoButton.disabled = ops.length === 0;
      if (share === 0) {
        input.value = "";
        status.textContent = paintable ? "No mask: the whole image will be edited." : "";
        return;
      }
      // Inkweld's convention: opaque where the image stays, transparent where it is repainted.
      var out = document.createElement("canvas");
      out.width = width;
      out.height = height;
      var octx = out.getContext("2d");
      octx.fillStyle = "#000";
      octx.fillRect(0, 0, width, height);
      octx.globalCompositeOperation = "destination-out";
      octx.drawImage(canvas, 0, 0);
      input.value = out.toDataURL("image/png");
      var percent = Math.max(1, Math.round(share * 100));
      status.textContent = "Mask painted: about " + percent + "% of the image will be repainted.";
    }

    function record(op) {
      ops.push(op);
      if (ops.length > MAX_UNDO) { ops.shift(); }
    }

    function pointFrom(event) {
      var rect = canvas.getBoundingClientRect();
      return [
        (event.clientX - rect.left) * (width / rect.width),
        (event.clientY - rect.top) * (height / rect.height),
      ];
    }

    canvas.addEventListener("pointerdown", function (event) {
      if (!paintable || (event.pointerType === "mouse" && event.button !== 0)) { return; }
      event.preventDefault();
      try { canvas.setPointerCapture(event.pointerId); } catch (err) { /* a pointer that already left: paint anyway */ }
      stroke = { kind: "stroke", tool: tool, size: brushSize(), points: [pointFrom(event)] };
      drawDot(stroke, stroke.points[0]);
    });

    canvas.addEventListener("pointermove", function (event) {
      if (!stroke) { return; }
      var events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
      (events.length ? events : [event]).forEach(function (e) {
        var point = pointFrom(e);
        drawSegment(stroke, stroke.points[stroke.points.length - 1], point);
        stroke.points.push(point);
      });
    });

    function endStroke() {
      if (!stroke) { return; }
      record(stroke);
      stroke = null;
      setComposite("source-over");
      exportMask();
    }
    canvas.addEventListener("pointerup", endStroke);
    canvas.addEventListener("pointercancel", endStroke);
    canvas.addEventListener("lostpointercapture", endStroke);

    toolbar.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) { return; }
      if (button.dataset.tool) {
        tool = button.dataset.tool;
        toolbar.querySelectorAll("[data-tool]").forEach(function (b) {
          b.setAttribute("aria-pressed", b === button ? "true" : "false");
        });
        return;
      }
      var action = button.dataset.maskAction;
      if (action === "undo") {
        ops.pop();
        redraw();
      } else if (action === "clear" || action === "invert") {
        var op = { kind: action };
        record(op);
        apply(op);
      }
      exportMask();
    });

    root.addEventListener("keydown", function (event) {
      if ((event.ctrlKey || event.metaKey) && event.key === "z" && ops.length) {
        event.preventDefault();
        ops.pop();
        redraw();
        exportMask();
      }
    });

    // A mask already in the form (the dialog re-drawn for another model, Try again): show it, keep it as it is.
    if (input.value.indexOf("data:image/png") === 0) {
      var saved = new Image();
      saved.addEventListener("load", function () {
        record({ kind: "restore", image: saved });
        redraw();
        undoButton.disabled = false;
        var percent = Math.max(1, Math.round(paintedShare() * 100));
        status.textContent = "Mask painted: about " + percent + "% of the image will be repainted.";
      });
      saved.src = input.value;
    } else if (paintable) {
      status.textContent = "No mask: the whole image will be edited.";
    }
  }

  function setupAll() {
    document.querySelectorAll("[data-mask-painter]").forEach(setup);
  }
  document.addEventListener("DOMContentLoaded", setupAll);
  document.addEventListener("htmx:afterSettle", setupAll);
})();

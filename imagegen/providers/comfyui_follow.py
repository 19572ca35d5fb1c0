"""Following a prompt on ComfyUI's queue: its websocket's messages (progress by sampler steps, preview frames, the
word that it ended), and what its /prompt, /queue and /history answers mean. The provider (comfyui.py) asks;
these read the answers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import websocket

from .base import ProgressCallback
from .comfyui_workflow import by_node_id
from .encoding import preview_from_bytes
from .results import Preview

logger = logging.getLogger("imagegen.providers.comfyui")  # one logger for the provider, as before the split


def refusal(body: dict[str, Any]) -> str:
    """A /prompt 400 in a line: each failing node with its reasons, else the error's own message."""
    reasons = []
    node_errors = body.get("node_errors")
    for node_id, failed in sorted(
        (node_errors if isinstance(node_errors, dict) else {}).items(), key=lambda i: by_node_id(i[0])
    ):
        if not isinstance(failed, dict):
            continue
        details = "; ".join(
            f"{e.get('message')}: {e.get('details')}" if e.get("details") else str(e.get("message"))
            for e in failed.get("errors") or []
            if isinstance(e, dict)
        )
        reasons.append(f"node {node_id} ({failed.get('class_type')}): {details or 'invalid'}")
    if reasons:
        return "; ".join(reasons)[:1000]
    error = body.get("error")
    if isinstance(error, dict):
        return f"{error.get('message')}" + (f" ({error['details']})" if error.get("details") else "")
    return str(error or "the workflow is invalid")


def queued_ids(queue: Any, key: str) -> set[str]:
    items = queue.get(key) if isinstance(queue, dict) else None
    return {str(item[1]) for item in items or [] if isinstance(item, list) and len(item) > 1}


def image_refs(outputs: Any) -> list[dict[str, str]]:
    """The images the prompt made, in node then batch order: saved ones, else previews (not both of one image)."""
    refs = [
        ref
        for node_id in sorted(outputs if isinstance(outputs, dict) else {}, key=by_node_id)
        if isinstance(outputs[node_id], dict)
        for ref in outputs[node_id].get("images") or []
        if isinstance(ref, dict) and isinstance(ref.get("filename"), str)
    ]
    saved = [r for r in refs if r.get("type", "output") == "output"]
    return saved or refs


@dataclass
class Watch:
    """One prompt being followed: its sampler nodes (for progress) and whether we asked it to stop."""

    prompt_id: str
    samplers: list[str]
    cancel_requested: bool = False  # should_cancel said so
    interrupt_sent: bool = False
    reported: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)  # sampler node → its share done

    def progress(self, node: str, value: Any, maximum: Any) -> float | None:
        """The whole prompt's progress from one node's steps: each sampler an equal share, never backwards."""
        if not (isinstance(value, int | float) and isinstance(maximum, int | float) and maximum > 0):
            return None
        if self.samplers and node not in self.samplers:
            return None  # an upscaler's or a decoder's own steps are not the picture's progress
        self.steps[node] = min(1.0, value / maximum)
        fraction = sum(self.steps.values()) / max(len(self.samplers), len(self.steps), 1)
        self.reported = max(self.reported, min(fraction, 0.99))  # 1.0 is when the images are in
        return self.reported


PREVIEW_IMAGE_EVENT = (1).to_bytes(4, "big")  # ComfyUI's BinaryEventTypes.PREVIEW_IMAGE


class Socket:
    """ComfyUI's websocket for one client id: progress of our prompt, and the word that it ended."""

    def __init__(self, ws: websocket.WebSocket) -> None:
        self.ws = ws
        self.alive = True

    def listen(self, seconds: float, watch: Watch, on_progress: ProgressCallback | None) -> bool:
        """Read messages for up to `seconds`; True once the prompt ended (history can be read)."""
        until = time.monotonic() + seconds
        for message in self._messages(until):
            if isinstance(message, Preview):  # this client id's socket: the prompt we follow
                if on_progress is not None:
                    on_progress(None, preview=message)
                continue
            if not isinstance(message, dict) or not isinstance(message.get("data"), dict):
                continue
            kind, data = message.get("type"), message["data"]
            if data.get("prompt_id") != watch.prompt_id:
                continue
            if kind == "progress" and on_progress is not None:
                fraction = watch.progress(str(data.get("node")), data.get("value"), data.get("max"))
                if fraction is not None:
                    on_progress(fraction)
            elif kind in ("execution_success", "execution_error", "execution_interrupted") or (
                kind == "executing" and data.get("node") is None
            ):
                return True
        return False

    def _messages(self, until: float) -> Iterator[Any]:
        while self.alive and (left := until - time.monotonic()) > 0:
            try:
                self.ws.settimeout(left)
                frame = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                return
            except (websocket.WebSocketException, OSError) as exc:
                logger.info("comfyui: websocket lost (%s); following by polling", type(exc).__name__)
                self.alive = False
                return
            if isinstance(frame, bytes):
                # A binary frame: event type (1 = a preview image), image type, then the image itself.
                if (
                    frame[:4] == PREVIEW_IMAGE_EVENT
                    and (preview := preview_from_bytes(frame[8:])) is not None
                ):
                    yield preview
                continue
            try:
                yield json.loads(frame)
            except ValueError:
                continue

    def close(self) -> None:
        self.alive = False
        with contextlib.suppress(websocket.WebSocketException, OSError):
            self.ws.close()

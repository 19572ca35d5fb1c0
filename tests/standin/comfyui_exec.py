"""A ComfyUI server's moving parts: uploads, the prompt queue, one worker running prompts in order, the
history, saved files, and the websocket clients it reports to.

Runs one prompt at a time, like ComfyUI. A prompt's run time is the scripted `delay` of its POST: each
node and each sampler step takes an equal share, so `progress` events and preview frames are spread over
it. `POST /interrupt` stops the running prompt at its next step; a scripted "oom" or "execution_error"
fails it half-way through the sampler (or at the decoder) with ComfyUI's execution_error.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from . import images
from .comfyui_plan import RunPlan
from .websocket import ConnectionClosed, WebSocket
from .wire_bodies import (
    comfyui_execution_error_data,
    comfyui_preview_frame,
    comfyui_status_data,
    comfyui_ws_message,
)
from .wire_bodies.comfyui import now_ms

MAX_FILES = 256
VAE_MISMATCH = (
    "Given groups=1, weight of size [512, 4, 3, 3], expected input[1, 16, 128, 128] to have 4 channels, "
    "but got 16 channels instead"
)


@dataclass
class QueuedPrompt:
    number: int
    prompt_id: str
    prompt: dict[str, Any]
    extra_data: dict[str, Any]
    outputs: list[str]
    plan: RunPlan
    delay: float
    fail_with: str | None = None
    bytes_target: int | None = None
    previews: bool = True
    progress: list[tuple[str, int, int]] = field(default_factory=list)  # (node, value, max) as reported

    def as_queue_item(self) -> list[Any]:
        return [self.number, self.prompt_id, self.prompt, self.extra_data, self.outputs]


class ComfyServer:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self.number = 0
        self.pending: list[QueuedPrompt] = []
        self.running: QueuedPrompt | None = None
        self.history: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.inputs: dict[str, bytes] = {}  # "subfolder/name" → bytes, as LoadImage names them
        self.files: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()  # (type, subfolder, filename)
        self.counters: dict[str, int] = {}
        self.sockets: dict[str, list[WebSocket]] = {}
        # Client ids whose websocket handshake is under way: what is sent to them waits until they are attached.
        # ComfyUI registers a socket before it reads the client's next request; this threaded stand-in answers the
        # handshake first, and a /prompt on another thread must not run past the registration.
        self.expected: dict[str, list[tuple[bool, Any]]] = {}
        self._interrupt = threading.Event()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def shutdown(self) -> None:
        self._stop.set()
        self._interrupt.set()
        with self._lock:
            self._lock.notify_all()
        self.close_sockets()

    def reset(self) -> None:
        """Forget everything (uploads, history, files, queue) and stop what runs; close the websockets."""
        with self._lock:
            self.pending.clear()
            if self.running is not None:
                self._interrupt.set()
            self.history.clear()
            self.inputs.clear()
            self.files.clear()
            self.counters.clear()
            self.number = 0
        self.close_sockets()

    def close_sockets(self) -> None:
        with self._lock:
            sockets = [ws for group in self.sockets.values() for ws in group]
            self.sockets.clear()
        for ws in sockets:
            ws.close(1001, "server going away")

    # ------------------------------------------------------------ uploads and files

    def upload(self, filename: str, data: bytes, subfolder: str, overwrite: bool) -> str:
        """Store an upload; without overwrite a clash gets "name (1).png" unless the bytes are the same."""
        stem, dot, ext = filename.rpartition(".")
        stem, ext = (stem, dot + ext) if dot else (filename, "")
        name, counter = filename, 1
        with self._lock:
            while not overwrite and self._input_key(subfolder, name) in self.inputs:
                existing = self.inputs[self._input_key(subfolder, name)]
                if hashlib.sha256(existing).digest() == hashlib.sha256(data).digest():
                    return name
                name, counter = f"{stem} ({counter}){ext}", counter + 1
            self.inputs[self._input_key(subfolder, name)] = data
        return name

    @staticmethod
    def _input_key(subfolder: str, name: str) -> str:
        return f"{subfolder.strip('/')}/{name}" if subfolder.strip("/") else name

    def input_names(self) -> list[str]:
        with self._lock:
            return list(self.inputs)

    def load_input(self, name: str) -> bytes | None:
        with self._lock:
            return self.inputs.get(name)

    def get_file(self, type_: str, subfolder: str, filename: str) -> bytes | None:
        with self._lock:
            if type_ == "input":
                return self.inputs.get(self._input_key(subfolder, filename))
            return self.files.get((type_, subfolder, filename))

    # ------------------------------------------------------------ the queue

    def queue_prompt(self, item: QueuedPrompt) -> None:
        with self._lock:
            self.pending.append(item)
            self._lock.notify_all()
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="standin-comfyui", daemon=True)
                self._worker.start()
        self.broadcast_status()

    def next_number(self) -> int:
        with self._lock:
            number, self.number = self.number, self.number + 1
            return number

    def queue(self) -> tuple[list[list[Any]], list[list[Any]]]:
        with self._lock:
            running = [self.running.as_queue_item()] if self.running else []
            return running, [p.as_queue_item() for p in self.pending]

    def delete_pending(self, prompt_ids: list[str]) -> None:
        with self._lock:
            self.pending = [p for p in self.pending if p.prompt_id not in prompt_ids]
        self.broadcast_status()

    def clear_pending(self) -> None:
        with self._lock:
            self.pending.clear()
        self.broadcast_status()

    def interrupt(self, prompt_id: str | None = None) -> bool:
        """Stop the running prompt (only if it is `prompt_id`, when one is given)."""
        with self._lock:
            if self.running is None or (prompt_id and self.running.prompt_id != prompt_id):
                return False
            self._interrupt.set()
            return True

    def remaining(self) -> int:
        with self._lock:
            return len(self.pending) + (1 if self.running else 0)

    def get_history(self, prompt_id: str | None = None, max_items: int | None = None) -> dict[str, Any]:
        with self._lock:
            if prompt_id is not None:
                return {prompt_id: self.history[prompt_id]} if prompt_id in self.history else {}
            items = list(self.history.items())
            return dict(items[-max_items:] if max_items else items)

    def delete_history(self, prompt_ids: list[str] | None) -> None:
        with self._lock:
            if prompt_ids is None:
                self.history.clear()
            for prompt_id in prompt_ids or []:
                self.history.pop(prompt_id, None)

    # ------------------------------------------------------------ websocket clients

    def expect(self, sid: str) -> None:
        """The handshake for `sid` is being answered: hold what is sent to it until attach()."""
        with self._lock:
            self.expected.setdefault(sid, [])

    def attach(self, sid: str, ws: WebSocket) -> None:
        with self._lock:  # held while sending: a message sent meanwhile must come after these
            self.sockets.setdefault(sid, []).append(ws)
            held = self.expected.pop(sid, [])
            status = comfyui_ws_message("status", comfyui_status_data(self.remaining(), sid))
            with contextlib.suppress(ConnectionClosed):
                ws.send_text(status)
                for binary, payload in held:
                    if binary:
                        ws.send_binary(payload)
                    else:
                        ws.send_text(payload)
        with self._lock:
            running = self.running
        if running is not None and running.extra_data.get("client_id") == sid and running.progress:
            node = running.progress[-1][0]
            self.send(sid, "executing", {"node": node, "display_node": node, "prompt_id": running.prompt_id})

    def detach(self, sid: str, ws: WebSocket) -> None:
        with self._lock:
            group = self.sockets.get(sid, [])
            if ws in group:
                group.remove(ws)

    def _targets(self, sid: str | None, *, binary: bool, payload: Any) -> list[WebSocket]:
        """The sockets to send to now; for a client still in its handshake, the message is held instead."""
        with self._lock:
            if sid is None:
                return [ws for group in self.sockets.values() for ws in group]
            if sid in self.expected:
                self.expected[sid].append((binary, payload))
            return list(self.sockets.get(sid, []))

    def send(self, sid: str | None, type_: str, data: dict[str, Any]) -> None:
        """A JSON message to one client id (None: everyone)."""
        message = comfyui_ws_message(type_, data)
        for ws in self._targets(sid, binary=False, payload=message):
            with contextlib.suppress(ConnectionClosed):
                ws.send_text(message)

    def send_bytes(self, sid: str | None, data: bytes) -> None:
        for ws in self._targets(sid, binary=True, payload=data):
            with contextlib.suppress(ConnectionClosed):
                ws.send_binary(data)

    def broadcast_status(self) -> None:
        self.send(None, "status", comfyui_status_data(self.remaining()))

    # ------------------------------------------------------------ running prompts

    def _work(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                while not self.pending and not self._stop.is_set():
                    self._lock.wait(0.5)
                if self._stop.is_set():
                    return
                item = self.pending.pop(0)
                self.running = item
                self._interrupt.clear()
            try:
                self._run(item)
            finally:
                with self._lock:
                    self.running = None
                self.broadcast_status()

    def _run(self, item: QueuedPrompt) -> None:
        sid = item.extra_data.get("client_id")
        pid = item.prompt_id
        messages: list[list[Any]] = []

        def message(type_: str, data: dict[str, Any], broadcast: bool = False) -> None:
            messages.append([type_, data])
            self.send(None if broadcast else sid, type_, data)

        message("execution_start", {"prompt_id": pid, "timestamp": now_ms()})
        message("execution_cached", {"nodes": [], "prompt_id": pid, "timestamp": now_ms()})
        units = sum(item.plan.steps.values()) + len(item.plan.order)
        unit = item.delay / units if units else 0.0
        outputs: dict[str, Any] = {}
        executed: list[str] = []
        failure: tuple[str, str, str] | None = None  # (node, exception type, message)
        interrupted_at: str | None = None
        for node in item.plan.order:
            kind = item.prompt[node]["class_type"]
            self.send(sid, "executing", {"node": node, "display_node": node, "prompt_id": pid})
            item.progress.append((node, 0, 0))
            if self._wait(unit):
                interrupted_at = node
                break
            steps = item.plan.steps.get(node, 0)
            for value in range(1, steps + 1):
                if item.fail_with == "oom" and value > steps // 2:
                    failure = (
                        node,
                        "torch.OutOfMemoryError",
                        comfyui_execution_error_data(pid, node, kind)["exception_message"],
                    )
                    break
                self.send(sid, "progress", {"value": value, "max": steps, "prompt_id": pid, "node": node})
                item.progress.append((node, value, steps))
                if item.previews and sid is not None:
                    self.send_bytes(sid, comfyui_preview_frame(self._preview(item, node, value / steps)))
                if self._wait(unit):
                    interrupted_at = node
                    break
            if failure or interrupted_at:
                break
            if item.fail_with == "execution_error" and kind == "VAEDecode":
                failure = (node, "RuntimeError", VAE_MISMATCH)
                break
            if node in item.plan.saves:
                output = {"images": self._save(item, node)}
                outputs[node] = output
                self.send(
                    sid, "executed", {"node": node, "display_node": node, "output": output, "prompt_id": pid}
                )
            executed.append(node)
        if interrupted_at:
            kind = item.prompt[interrupted_at]["class_type"]
            data = {
                "prompt_id": pid,
                "node_id": interrupted_at,
                "node_type": kind,
                "executed": executed,
                "timestamp": now_ms(),
            }
            message("execution_interrupted", data, broadcast=True)
        elif failure:
            node, exc_type, exc_message = failure
            data = comfyui_execution_error_data(
                pid,
                node,
                item.prompt[node]["class_type"],
                exception_type=exc_type,
                exception_message=exc_message,
                executed=executed,
            )
            message("execution_error", data)
        else:
            message("execution_success", {"prompt_id": pid, "timestamp": now_ms()})
        ok = not (interrupted_at or failure)
        entry = {
            "prompt": item.as_queue_item(),
            "outputs": outputs,
            "status": {"status_str": "success" if ok else "error", "completed": ok, "messages": messages},
            "meta": {
                n: {"node_id": n, "display_node": n, "parent_node": None, "real_node_id": n} for n in outputs
            },
        }
        with self._lock:
            self.history[pid] = entry  # written before `executing: null`, as ComfyUI's task_done is
        self.send(sid, "executing", {"node": None, "prompt_id": pid})

    def _wait(self, seconds: float) -> bool:
        """Sleep a share of the run; True when interrupted (or the server stops)."""
        if self._interrupt.is_set():
            return True
        return self._interrupt.wait(seconds) if seconds > 0 else self._interrupt.is_set()

    def _preview(self, item: QueuedPrompt, node: str, progress: float) -> Any:
        first = next(iter(item.plan.saves.values()), None)
        width, height = first[2].sizes[0] if first and first[2].sizes else (512, 512)
        return images.preview_of(width, height, hash(item.prompt_id) & 0xFFFF, f"preview {node}", progress)

    def _save(self, item: QueuedPrompt, node: str) -> list[dict[str, str]]:
        folder, prefix, pictures = item.plan.saves[node]
        subfolder, _, base = prefix.rpartition("/")
        refs = []
        for index, (width, height) in enumerate(pictures.sizes):
            with self._lock:
                counter = self.counters.get(prefix, 0) + 1
                self.counters[prefix] = counter
            if folder == "temp":
                filename = f"{base}_{uuid.uuid4().hex[:5]}_{counter:05}_.png"
            else:
                filename = f"{base}_{counter:05}_.png"
            label = images.label_for(index, pictures.label or "comfyui", f"node {node}")
            seed = (pictures.seed or int(time.time())) + index
            data = images.render(width, height, seed, label, bytes_target=item.bytes_target)
            with self._lock:
                self.files[(folder, subfolder, filename)] = data
                while len(self.files) > MAX_FILES:
                    self.files.popitem(last=False)
            refs.append({"filename": filename, "subfolder": subfolder, "type": folder})
        return refs

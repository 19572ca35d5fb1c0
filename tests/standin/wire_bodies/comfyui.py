"""ComfyUI bodies: `/prompt` answers and refusals, history entries, queue, uploads, system stats, the
websocket's JSON messages and binary preview frames, and what a proxy in front answers. Pure functions.

Shapes from ComfyUI's server.py / execution.py: a refusal is
`{"error": {"type", "message", "details", "extra_info"}, "node_errors": {id: {"errors", "dependent_outputs",
"class_type"}}}`; a history entry is `{prompt_id: {"prompt", "outputs", "status", "meta"}}`.
"""

from __future__ import annotations

import io
import json
import struct
import time
from typing import Any

from .common import Reply, reply, retry_headers

PREVIEW_IMAGE = 1  # BinaryEventTypes.PREVIEW_IMAGE
IMAGE_TYPES = {"JPEG": 1, "PNG": 2}

OOM_MESSAGE = (
    "Allocation on device 0 would exceed allowed memory. (out of memory)\n"
    "Currently allocated     : 7.12 GiB\nRequested               : 2.00 GiB\n"
    "Device limit            : 8.00 GiB\nFree (according to CUDA): 0 bytes\n"
    "PyTorch limit (set by user-supplied memory fraction)\n                        : 17179869184.00 GiB"
)


def now_ms() -> int:
    return int(time.time() * 1000)


def comfyui_prompt_accepted(
    prompt_id: str, number: int, node_errors: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`POST /prompt` 200: the prompt is queued (node_errors lists outputs that were dropped, if any)."""
    return {"prompt_id": prompt_id, "number": number, "node_errors": node_errors or {}}


def comfyui_prompt_refused(error: dict[str, Any], node_errors: dict[str, Any] | None = None) -> Reply:
    """`POST /prompt` 400."""
    return reply(400, {"error": error, "node_errors": node_errors or {}})


def comfyui_no_prompt() -> Reply:
    error = {
        "type": "no_prompt",
        "message": "No prompt provided",
        "details": "No prompt provided",
        "extra_info": {},
    }
    return comfyui_prompt_refused(error)


def comfyui_value_not_in_list(
    node_id: str, class_type: str, input_name: str, value: Any, choices: list[str], output_id: str
) -> Reply:
    """The 400 for a combo value the server lacks (a checkpoint, sampler, scheduler or upscale model)."""
    long = len(choices) > 20
    list_info = f"(list of length {len(choices)})" if long else str(choices)
    reason = {
        "type": "value_not_in_list",
        "message": "Value not in list",
        "details": f"{input_name}: '{value}' not in {list_info}",
        "extra_info": {
            "input_name": input_name,
            "input_config": None if long else [choices, {}],
            "received_value": value,
        },
    }
    error = {
        "type": "prompt_outputs_failed_validation",
        "message": "Prompt outputs failed validation",
        "details": f"{reason['message']}: {reason['details']}",
        "extra_info": {},
    }
    node_errors = {node_id: {"errors": [reason], "dependent_outputs": [output_id], "class_type": class_type}}
    return comfyui_prompt_refused(error, node_errors)


def comfyui_image_ref(filename: str, subfolder: str = "", type_: str = "output") -> dict[str, str]:
    return {"filename": filename, "subfolder": subfolder, "type": type_}


def comfyui_history_entry(
    prompt_id: str,
    *,
    number: int = 0,
    graph: dict[str, Any] | None = None,
    client_id: str | None = None,
    outputs: dict[str, Any] | None = None,
    messages: list[list[Any]] | None = None,
    status_str: str = "success",
    completed: bool = True,
    output_ids: list[str] | None = None,
) -> dict[str, Any]:
    """`GET /history/{prompt_id}` once the prompt finished: `{prompt_id: {...}}` (before that: `{}`)."""
    extra = {"create_time": now_ms()}
    if client_id is not None:
        extra["client_id"] = client_id
    outputs = outputs or {}
    output_ids = output_ids if output_ids is not None else list(outputs)
    if messages is None:
        messages = [
            ["execution_start", {"prompt_id": prompt_id, "timestamp": now_ms()}],
            ["execution_cached", {"nodes": [], "prompt_id": prompt_id, "timestamp": now_ms()}],
            ["execution_success", {"prompt_id": prompt_id, "timestamp": now_ms()}],
        ]
    return {
        prompt_id: {
            "prompt": [number, prompt_id, graph or {}, extra, output_ids],
            "outputs": outputs,
            "status": {"status_str": status_str, "completed": completed, "messages": messages},
            "meta": {
                node: {"node_id": node, "display_node": node, "parent_node": None, "real_node_id": node}
                for node in outputs
            },
        }
    }


def comfyui_history_success(
    prompt_id: str, images: dict[str, list[dict[str, str]]], **kw: Any
) -> dict[str, Any]:
    """A finished prompt: `images` is {SaveImage node id: [comfyui_image_ref(...), ...]}."""
    return comfyui_history_entry(prompt_id, outputs={n: {"images": refs} for n, refs in images.items()}, **kw)


def comfyui_execution_error_data(
    prompt_id: str,
    node_id: str,
    node_type: str,
    *,
    exception_type: str = "torch.OutOfMemoryError",
    exception_message: str = OOM_MESSAGE,
    executed: list[str] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    """The `execution_error` message data (history messages and the websocket)."""
    return {
        "prompt_id": prompt_id,
        "node_id": node_id,
        "node_type": node_type,
        "executed": list(executed),
        "exception_message": exception_message,
        "exception_type": exception_type,
        "traceback": [f'  File "/ComfyUI/execution.py", line 496, in execute\n    raise {exception_type}\n'],
        "current_inputs": {},
        "current_outputs": {},
        "timestamp": now_ms(),
    }


def comfyui_history_error(prompt_id: str, node_id: str, node_type: str, **error: Any) -> dict[str, Any]:
    """A prompt that failed while running (out of memory by default)."""
    messages = [
        ["execution_start", {"prompt_id": prompt_id, "timestamp": now_ms()}],
        ["execution_cached", {"nodes": [], "prompt_id": prompt_id, "timestamp": now_ms()}],
        ["execution_error", comfyui_execution_error_data(prompt_id, node_id, node_type, **error)],
    ]
    return comfyui_history_entry(
        prompt_id, messages=messages, status_str="error", completed=False, output_ids=[]
    )


def comfyui_history_interrupted(prompt_id: str, node_id: str, node_type: str) -> dict[str, Any]:
    """A prompt stopped by `POST /interrupt`."""
    data = {
        "prompt_id": prompt_id,
        "node_id": node_id,
        "node_type": node_type,
        "executed": [],
        "timestamp": now_ms(),
    }
    messages = [
        ["execution_start", {"prompt_id": prompt_id, "timestamp": now_ms()}],
        ["execution_cached", {"nodes": [], "prompt_id": prompt_id, "timestamp": now_ms()}],
        ["execution_interrupted", data],
    ]
    return comfyui_history_entry(
        prompt_id, messages=messages, status_str="error", completed=False, output_ids=[]
    )


def comfyui_queue_body(running: list[list[Any]] = (), pending: list[list[Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    """`GET /queue`: items are [number, prompt_id, prompt, extra_data, output node ids]."""
    return {"queue_running": list(running), "queue_pending": list(pending)}


def comfyui_upload_body(name: str, subfolder: str = "", type_: str = "input") -> dict[str, str]:
    """`POST /upload/image`."""
    return {"name": name, "subfolder": subfolder, "type": type_}


def comfyui_system_stats(version: str = "0.3.75") -> dict[str, Any]:
    """`GET /system_stats`."""
    return {
        "system": {
            "os": "posix",
            "ram_total": 33_557_000_000,
            "ram_free": 20_120_000_000,
            "comfyui_version": version,
            "required_frontend_version": "1.28.8",
            "python_version": "3.12.11 (main, Jun  4 2025, 08:56:18) [GCC 12.2.0]",
            "pytorch_version": "2.9.0+cu128",
            "embedded_python": False,
            "argv": ["main.py", "--listen", "127.0.0.1"],
        },
        "devices": [
            {
                "name": "cuda:0 NVIDIA GeForce RTX 3070 : cudaMallocAsync",
                "type": "cuda",
                "index": 0,
                "vram_total": 8_589_934_592,
                "vram_free": 7_100_000_000,
                "torch_vram_total": 0,
                "torch_vram_free": 0,
            }
        ],
    }


# ---------------------------------------------------------------- websocket


def comfyui_ws_message(type_: str, data: dict[str, Any]) -> str:
    """A websocket text frame's payload: `{"type", "data"}`."""
    return json.dumps({"type": type_, "data": data})


def comfyui_status_data(queue_remaining: int, sid: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"status": {"exec_info": {"queue_remaining": queue_remaining}}}
    if sid is not None:
        data["sid"] = sid
    return data


def comfyui_preview_frame(image: Any, fmt: str = "JPEG") -> bytes:
    """A binary preview frame: event type 1 (PREVIEW_IMAGE), image type (1 JPEG, 2 PNG), then the image.

    `image` is a PIL image or already-encoded bytes of that format.
    """
    if isinstance(image, bytes | bytearray):
        data = bytes(image)
    else:
        out = io.BytesIO()
        image.save(out, format=fmt, quality=95, compress_level=1)
        data = out.getvalue()
    return struct.pack(">I", PREVIEW_IMAGE) + struct.pack(">I", IMAGE_TYPES[fmt]) + data


def parse_preview_frame(frame: bytes) -> tuple[int, str, bytes]:
    """(event type, image format, image bytes) of a binary frame, for tests that read the websocket."""
    event, image_type = struct.unpack(">II", frame[:8])
    fmt = {v: k for k, v in IMAGE_TYPES.items()}.get(image_type, "?")
    return event, fmt, frame[8:]


# ---------------------------------------------------------------- a proxy in front


def comfyui_proxy_error(status: int, *, scheme: str = "Basic", retry_after: float = 1.0) -> Reply:
    """What an nginx-style proxy answers for ComfyUI (which has no auth or limits of its own)."""
    titles = {401: "Authorization Required", 403: "Forbidden", 429: "Too Many Requests", 500: "Internal Server Error",
              502: "Bad Gateway", 503: "Service Temporarily Unavailable"}  # fmt: skip
    title = f"{status} {titles.get(status, 'Error')}"
    page = f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    headers = {"content-type": "text/html"}
    if status == 401:
        headers["www-authenticate"] = (
            'Basic realm="ComfyUI"' if scheme == "Basic" else 'Bearer realm="ComfyUI"'
        )
    if status == 429:
        headers.update(retry_headers(retry_after))
    return Reply(status, page.encode(), headers)


def comfyui_failure(name: str, *, retry_after: float = 1.0) -> Reply:
    """HTTP-level scripted failures (the proxy's, or aiohttp's 500); execution failures go to the history."""
    if name == "unauthorized":
        return comfyui_proxy_error(401)
    if name == "rate_limit":
        return comfyui_proxy_error(429, retry_after=retry_after)
    if name == "unavailable":
        return comfyui_proxy_error(503)
    if name == "bad_gateway":
        return comfyui_proxy_error(502)
    return Reply(
        500, b"500 Internal Server Error\n\nServer got itself in trouble", {"content-type": "text/plain"}
    )

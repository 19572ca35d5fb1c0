"""ComfyUI at the root paths it serves: `/prompt`, `/history[/{id}]`, `/view`, `/upload/image`, `/interrupt`,
`/queue`, `/object_info[/{class}]`, `/models[/{folder}]`, `/system_stats` and the websocket `/ws`.

Graphs are validated as ComfyUI validates them (comfyui_graph), then queued and run by comfyui_exec.
ComfyUI has no auth; config `comfyui_auth` plays a proxy in front asking for Basic ([user, password]) or
Bearer ("token"), and `comfyui_websocket=False` a proxy that refuses websockets, so polling must do.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import time
import uuid
from typing import Any

from . import comfyui_nodes, errors
from .behaviour import Effect
from .comfyui_exec import QueuedPrompt
from .comfyui_graph import validate_prompt
from .comfyui_plan import plan_run
from .state import StandinState
from .websocket import WebSocket, handshake_problem
from .wire import Request, Response
from .wire_bodies import (
    comfyui_no_prompt,
    comfyui_prompt_accepted,
    comfyui_prompt_refused,
    comfyui_proxy_error,
    comfyui_queue_body,
    comfyui_system_stats,
    comfyui_upload_body,
    comfyui_value_not_in_list,
)

FAMILY = "comfyui"
# Played by the handler: "validation" needs the graph (node_errors); the others are accepted and fail while running.
DEFERRED_FAILURES = ("validation", "oom", "execution_error")
ROOTS = ("/prompt", "/history", "/view", "/upload/image", "/interrupt", "/queue", "/object_info", "/models",
         "/system_stats", "/ws", "/features")  # fmt: skip


def owns(path: str) -> bool:
    return any(path == root or path.startswith(root + "/") for root in ROOTS)


def check_auth(state: StandinState, req: Request) -> Response | None:
    expected = state.config.comfyui_auth
    if expected is None:
        return None
    scheme, _, value = req.headers.get("authorization", "").partition(" ")
    if isinstance(expected, str):
        if scheme.lower() == "bearer" and value.strip() == expected:
            return None
        return errors.to_response(comfyui_proxy_error(401, scheme="Bearer"))
    try:
        user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        user, password = "", ""
    if scheme.lower() == "basic" and (user, password) == tuple(expected):
        return None
    return errors.to_response(comfyui_proxy_error(401))


def not_found(req: Request) -> Response:
    return Response(404, b"404: Not Found", content_type="text/plain")


def model_of(req: Request) -> str:
    return "comfyui"


def nodes_for(state: StandinState) -> dict[str, Any]:
    checkpoints = state.config.comfyui_checkpoints
    upscalers = state.config.comfyui_upscale_models
    return comfyui_nodes.node_definitions(
        list(comfyui_nodes.CHECKPOINTS if checkpoints is None else checkpoints),
        list(comfyui_nodes.UPSCALE_MODELS if upscalers is None else upscalers),
        [comfyui_nodes.EXAMPLE_INPUT, *state.comfy.input_names()],
    )


def _exists(state: StandinState) -> Any:
    names = {comfyui_nodes.EXAMPLE_INPUT, *state.comfy.input_names()}
    return lambda name: isinstance(name, str) and name in names


def _scripted_refusal(prompt: dict[str, Any], nodes: dict[str, Any]) -> Response:
    """fail_with "validation": the checkpoint (or first combo) the graph names is gone from the server."""
    output = next(
        (
            n
            for n, v in prompt.items()
            if isinstance(v, dict) and nodes.get(v.get("class_type"), {}).get("output_node")
        ),
        "9",
    )
    for node_id, node in prompt.items():
        if isinstance(node, dict) and node.get("class_type") == "CheckpointLoaderSimple":
            value = (node.get("inputs") or {}).get("ckpt_name")
            return errors.to_response(
                comfyui_value_not_in_list(node_id, "CheckpointLoaderSimple", "ckpt_name", value, [], output)
            )
    return errors.to_response(comfyui_value_not_in_list("1", "KSampler", "sampler_name", "euler", [], output))


def post_prompt(state: StandinState, req: Request, effect: Effect) -> Response:
    body = req.json_dict()
    if "prompt" not in body:
        return errors.to_response(comfyui_no_prompt())
    prompt = body["prompt"]
    nodes = nodes_for(state)
    if effect.fail_with == "validation":
        return _scripted_refusal(prompt if isinstance(prompt, dict) else {}, nodes)
    ok, error, outputs, node_errors = validate_prompt(prompt, nodes, _exists(state))
    if not ok:
        return errors.to_response(comfyui_prompt_refused(error or {}, node_errors))
    prompt_id = str(body.get("prompt_id") or uuid.uuid4())
    plan = plan_run(prompt, outputs, state.comfy.load_input)
    extra = dict(body.get("extra_data") or {})
    if body.get("client_id") is not None:
        extra["client_id"] = body["client_id"]
    extra["create_time"] = int(time.time() * 1000)
    number = state.comfy.next_number()
    state.annotate(req.recording, prompt_id=prompt_id, **({"mask": plan.mask} if plan.mask else {}))
    state.comfy.queue_prompt(
        QueuedPrompt(
            number=number, prompt_id=prompt_id, prompt=prompt, extra_data=extra, outputs=outputs, plan=plan,
            delay=effect.delay, fail_with=effect.fail_with, bytes_target=state.bytes_target(effect),
            previews=state.config.comfyui_previews,
        )
    )  # fmt: skip
    return Response(200, comfyui_prompt_accepted(prompt_id, number, node_errors))


def get_prompt(state: StandinState, req: Request, effect: Effect) -> Response:
    return Response(200, {"exec_info": {"queue_remaining": state.comfy.remaining()}})


def get_history(state: StandinState, req: Request, effect: Effect) -> Response:
    prompt_id = req.path.removeprefix("/history").strip("/") or None
    max_items = req.query.get("max_items")
    return Response(
        200, state.comfy.get_history(prompt_id, int(max_items) if max_items and max_items.isdigit() else None)
    )


def post_history(state: StandinState, req: Request, effect: Effect) -> Response:
    body = req.json_dict()
    if body.get("clear"):
        state.comfy.delete_history(None)
    if isinstance(body.get("delete"), list):
        state.comfy.delete_history([str(i) for i in body["delete"]])
    return Response(200, b"", content_type="text/plain")


def get_queue(state: StandinState, req: Request, effect: Effect) -> Response:
    running, pending = state.comfy.queue()
    return Response(200, comfyui_queue_body(running, pending))


def post_queue(state: StandinState, req: Request, effect: Effect) -> Response:
    body = req.json_dict()
    if body.get("clear"):
        state.comfy.clear_pending()
    if isinstance(body.get("delete"), list):
        state.comfy.delete_pending([str(i) for i in body["delete"]])
    return Response(200, b"", content_type="text/plain")


def post_interrupt(state: StandinState, req: Request, effect: Effect) -> Response:
    prompt_id = req.json_dict().get("prompt_id")
    stopped = state.comfy.interrupt(str(prompt_id) if prompt_id else None)
    state.annotate(req.recording, interrupted=stopped)
    return Response(200, b"", content_type="text/plain")


def view(state: StandinState, req: Request, effect: Effect) -> Response:
    filename = req.query.get("filename")
    if not filename:
        return Response(404, b"404: Not Found", content_type="text/plain")
    if filename.startswith("/") or ".." in filename:
        return Response(400, b"", content_type="text/plain")
    data = state.comfy.get_file(req.query.get("type", "output"), req.query.get("subfolder", ""), filename)
    if data is None:
        return Response(404, b"404: Not Found", content_type="text/plain")
    kind = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "application/octet-stream"
    return Response(200, data, {"content-disposition": f'filename="{filename}"'}, content_type=kind)


def upload_image(state: StandinState, req: Request, effect: Effect) -> Response:
    form = req.json_dict()
    part = next((f for f in req.files if f.name == "image"), None)
    if part is None or not part.filename:
        return Response(400, b"", content_type="text/plain")
    subfolder = str(form.get("subfolder") or "")
    type_ = str(form.get("type") or "input")
    if ".." in subfolder or subfolder.startswith("/") or type_ not in ("input", "temp", "output"):
        return Response(400, b"", content_type="text/plain")
    overwrite = str(form.get("overwrite", "")).lower() in ("true", "1")
    name = state.comfy.upload(part.filename, part.data, subfolder, overwrite)
    state.annotate(req.recording, uploaded={"name": name, "subfolder": subfolder, "bytes": len(part.data)})
    return Response(200, comfyui_upload_body(name, subfolder, type_))


def object_info(state: StandinState, req: Request, effect: Effect) -> Response:
    nodes = nodes_for(state)
    wanted = req.path.removeprefix("/object_info").strip("/")
    if wanted:
        return Response(200, {wanted: comfyui_nodes.object_info(nodes[wanted])} if wanted in nodes else {})
    return Response(200, {name: comfyui_nodes.object_info(d) for name, d in nodes.items()})


def models(state: StandinState, req: Request, effect: Effect) -> Response:
    folder = req.path.removeprefix("/models").strip("/")
    nodes = nodes_for(state)
    lists = {
        "checkpoints": nodes["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0],
        "upscale_models": nodes["UpscaleModelLoader"]["input"]["required"]["model_name"][0],
        "loras": [],
        "vae": [],
    }
    if not folder:
        return Response(200, list(lists))
    return (
        Response(200, lists[folder])
        if folder in lists
        else Response(404, b"404: Not Found", content_type="text/plain")
    )


def system_stats(state: StandinState, req: Request, effect: Effect) -> Response:
    return Response(200, comfyui_system_stats())


def features(state: StandinState, req: Request, effect: Effect) -> Response:
    return Response(200, {"supports_preview_metadata": False, "max_upload_size": 104857600})


def ws(state: StandinState, req: Request, effect: Effect) -> Response:
    if not state.config.comfyui_websocket:
        return errors.to_response(comfyui_proxy_error(403))
    problem = handshake_problem(req.headers)
    if problem is not None:
        return Response(400, f"Bad Request: {problem}".encode(), content_type="text/plain")
    sid = req.query.get("clientId") or uuid.uuid4().hex

    def session(sock: WebSocket) -> None:
        state.comfy.attach(sid, sock)
        try:
            sock.serve_until_closed(lambda opcode, payload: _client_message(state, req, payload))
        finally:
            state.comfy.detach(sid, sock)

    state.annotate(req.recording, client_id=sid)
    state.comfy.expect(sid)
    return Response(101, websocket=session)


def _client_message(state: StandinState, req: Request, payload: bytes) -> None:
    """Clients may send feature flags first; ComfyUI takes them and answers nothing the stand-in needs."""
    with contextlib.suppress(ValueError):
        json.loads(payload)


# (method, path or regex, handler, handles its own delay)
ROUTES = [
    ("POST", "/prompt", post_prompt, True),
    ("GET", "/prompt", get_prompt, False),
    ("GET", "/history", get_history, False),
    ("GET", re.compile(r"/history/[^/]+"), get_history, False),
    ("POST", "/history", post_history, False),
    ("GET", "/queue", get_queue, False),
    ("POST", "/queue", post_queue, False),
    ("POST", "/interrupt", post_interrupt, False),
    ("GET", "/view", view, False),
    ("POST", "/upload/image", upload_image, False),
    ("GET", "/object_info", object_info, False),
    ("GET", re.compile(r"/object_info/[^/]+"), object_info, False),
    ("GET", "/models", models, False),
    ("GET", re.compile(r"/models/[^/]+"), models, False),
    ("GET", "/system_stats", system_stats, False),
    ("GET", "/features", features, False),
    ("GET", "/ws", ws, False),
]

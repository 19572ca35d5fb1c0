"""OpenRouter: the Images API, image output through chat completions, the model lists and the key check."""

from __future__ import annotations

import base64
import re
import time
import uuid
import zlib
from typing import Any

from . import catalog, errors, images
from .behaviour import Effect
from .state import StandinState
from .wire import Request, Response

FAMILY = "openrouter"
PUBLIC_PREFIXES = ("/api/v1/models", "/api/v1/images/models")  # lists need no key; generation and /key do
RESOLUTIONS = {"512": 512, "1K": 1024, "2K": 2048, "4K": 4096}


def check_auth(state: StandinState, req: Request) -> Response | None:
    if req.path.startswith(PUBLIC_PREFIXES) or req.bearer():
        return None
    return errors.openrouter_missing_key()


def not_found(req: Request) -> Response:
    return errors.openrouter_error(404, "Not Found")


def model_of(req: Request) -> str:
    return str(req.json_dict().get("model") or "")


def aspect_size(aspect_ratio: Any, resolution: Any) -> tuple[int, int] | None:
    """'16:9' at '1K' → (1024, 576): the long side from the resolution, rounded to multiples of 16."""
    long_side = RESOLUTIONS.get(str(resolution or "1K"))
    match = re.fullmatch(r"(\d+):(\d+)", str(aspect_ratio or "1:1"))
    if long_side is None or match is None or "0" in (match[1], match[2]):
        return None
    w, h = int(match[1]), int(match[2])
    short = max(16, round(long_side * min(w, h) / max(w, h) / 16) * 16)
    return (long_side, short) if w >= h else (short, long_side)


def _model_problem(model: str, modalities: list[str]) -> Response | None:
    if not model:
        return errors.openrouter_error(400, "No models provided")
    entry = catalog.openrouter_model(model)
    if entry is None:
        return errors.openrouter_error(400, f"{model} is not a valid model ID")
    if not set(modalities) <= set(entry["architecture"]["output_modalities"]):
        return errors.openrouter_error(
            404, f"No endpoints found that support the requested output modalities: {', '.join(modalities)}"
        )
    return None


def _data_url(png: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(png).decode('ascii')}"


def images_generate(state: StandinState, req: Request, effect: Effect) -> Response:
    body = req.json_dict()
    model = model_of(req)
    problem = _model_problem(model, ["image"])
    if problem is not None:
        return problem
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return errors.openrouter_error(400, "Input required: specify 'prompt'")
    n = body.get("n", 1)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 10:
        return errors.openrouter_error(400, "n must be an integer between 1 and 10")
    if body.get("size"):
        size = images.parse_size(body["size"], (1024, 1024))
    else:
        size = aspect_size(body.get("aspect_ratio"), body.get("resolution"))
    if size is None:
        return errors.openrouter_error(400, "Invalid image size: use WxH, or aspect_ratio with resolution")
    fmt = str(body.get("output_format") or "png")
    if fmt not in images.MEDIA_TYPES:
        return errors.openrouter_error(400, f"Unsupported output_format: {fmt}")

    count = max(0, n - effect.fewer_images)
    seed = body.get("seed")
    base_seed = seed if isinstance(seed, int) else zlib.crc32(prompt.encode()) ^ (state.next_serial() * 7919)
    bytes_target = state.bytes_target(effect)
    data = []
    for index in range(count):
        png = images.render(
            *size,
            base_seed + index,
            images.label_for(index, prompt, model),
            bytes_target=bytes_target,
            fmt=fmt,
        )
        data.append(
            {"b64_json": base64.b64encode(png).decode("ascii"), "media_type": images.MEDIA_TYPES[fmt]}
        )
    cost = round(count * catalog.openrouter_image_price(model), 6)
    return Response(
        200,
        {
            "created": int(time.time()),
            "model": model,
            "data": data,
            "usage": {"images": count, "cost": cost, "is_byok": False},
        },
    )


def _last_user_text(messages: Any) -> str:
    for message in reversed(messages if isinstance(messages, list) else []):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return " ".join(
                p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
            )
    return ""


def chat_completions(state: StandinState, req: Request, effect: Effect) -> Response:
    body = req.json_dict()
    model = model_of(req)
    modalities = body.get("modalities") or ["text"]
    if not isinstance(modalities, list):
        return errors.openrouter_error(400, "modalities must be an array")
    problem = _model_problem(model, modalities)
    if problem is not None:
        return problem
    prompt = _last_user_text(body.get("messages"))
    if not prompt:
        return errors.openrouter_error(400, "Input required: specify 'messages' with a user message")

    config = body.get("image_config") or {}
    size = aspect_size(config.get("aspect_ratio"), config.get("image_size"))
    if size is None:
        return errors.openrouter_error(400, "Invalid image_config: aspect_ratio or image_size")
    # One image per call; "fewer_images" turns it into a reply with text and no image, as models sometimes give.
    with_image = "image" in modalities and effect.fewer_images < 1
    message: dict[str, Any] = {"role": "assistant", "content": "", "refusal": None, "reasoning": None}
    cost = 0.0
    if with_image:
        seed = zlib.crc32(prompt.encode()) ^ (state.next_serial() * 7919)
        bytes_target = state.bytes_target(effect)
        png = images.render(*size, seed, images.label_for(0, prompt, model), bytes_target=bytes_target)
        message["images"] = [
            {"type": "image_url", "image_url": {"url": _data_url(png, "image/png")}, "index": 0}
        ]
        cost = catalog.openrouter_image_price(model)
        if "text" in modalities:
            message["content"] = "Here is the image you asked for."
    else:
        message["content"] = "I can describe it, but I did not draw an image this time."
    prompt_tokens = max(1, len(prompt) // 4)
    completion_tokens = 1290 if with_image else 20
    return Response(
        200,
        {
            "id": f"gen-{int(time.time())}-{uuid.uuid4().hex[:20]}",
            "provider": "Stand-in",
            "model": model,
            "object": "chat.completion",
            "created": int(time.time()),
            "choices": [
                {
                    "logprobs": None,
                    "finish_reason": "stop",
                    "native_finish_reason": "STOP",
                    "index": 0,
                    "message": message,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "cost": cost,
                "is_byok": False,
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "image_tokens": 1290 if with_image else 0,
                },
            },
        },
    )


def list_models(state: StandinState, req: Request, effect: Effect) -> Response:
    return Response(200, {"data": catalog.openrouter_models_for(req.query.get("output_modalities"))})


def list_image_models(state: StandinState, req: Request, effect: Effect) -> Response:
    return Response(200, {"data": catalog.openrouter_image_models()})


def image_model_endpoints(state: StandinState, req: Request, effect: Effect) -> Response:
    model_id = req.path.removeprefix("/api/v1/images/models/").removesuffix("/endpoints")
    found = catalog.openrouter_image_endpoints(model_id)
    if found is None:
        return errors.openrouter_error(404, f"Model {model_id} not found")
    return Response(200, {"data": found})


def key(state: StandinState, req: Request, effect: Effect) -> Response:
    data = {**catalog.OPENROUTER_KEY, **state.config.openrouter_key}
    return Response(200, {"data": data})


# (method, path or regex, handler, handles its own delay)
ROUTES = [
    ("POST", "/api/v1/images", images_generate, False),
    ("POST", "/api/v1/chat/completions", chat_completions, False),
    ("GET", "/api/v1/models", list_models, False),
    ("GET", "/api/v1/images/models", list_image_models, False),
    ("GET", re.compile(r"/api/v1/images/models/[^/]+/[^/]+/endpoints"), image_model_endpoints, False),
    ("GET", "/api/v1/key", key, False),
]

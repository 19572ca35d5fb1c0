"""OpenAI's images API: `POST /v1/images/generations` and `GET /v1/models`, validated like the real one.

Validation covers what a client can get wrong and the app should catch first (n for dall-e-3, sizes per
model, response_format on gpt-image, prompt length), with OpenAI's error bodies, so a test can tell a
form bug from an upstream refusal.
"""

from __future__ import annotations

import base64
import time
import zlib
from typing import Any

from . import catalog, errors, images
from .behaviour import Effect
from .state import StandinState
from .wire import Request, Response

FAMILY = "openai"
DEFAULT_MODEL = "dall-e-2"


def check_auth(state: StandinState, req: Request) -> Response | None:
    return None if req.bearer() else errors.openai_missing_key()


def not_found(req: Request) -> Response:
    return errors.openai_error(404, f"Invalid URL ({req.method} {req.path})", "invalid_request_error", None)


def model_of(req: Request) -> str:
    return str(req.json_dict().get("model") or DEFAULT_MODEL)


def _invalid(message: str, param: str | None, code: str | None = "invalid_value") -> Response:
    return errors.openai_error(400, message, "invalid_request_error", code, param=param)


def _gpt_image_2_size_error(width: int, height: int) -> str | None:
    if width % 16 or height % 16:
        return "both sides must be multiples of 16"
    if max(width, height) > 3 * min(width, height):
        return "the aspect ratio must be between 1:3 and 3:1"
    if max(width, height) > 3840 or width * height > 3840 * 2160:
        return "the size must be at most 3840x2160"
    return None


def validate(state: StandinState, body: dict[str, Any]) -> tuple[Response | None, tuple[int, int]]:
    """An OpenAI-shaped 4xx for a request the real API would refuse, else None and the image size."""
    model = str(body.get("model") or DEFAULT_MODEL)
    base = catalog.openai_base_model(model)
    listed = {item["id"] for item in catalog.openai_model_list(state.config.openai_models)}
    if base is None and model in listed:
        supported = ", ".join(f"'{m}'" for m in catalog.OPENAI_IMAGE_MODELS)
        return _invalid(f"Invalid value: '{model}'. Supported values are: {supported}.", "model"), (0, 0)
    if base is None or (model not in listed and base not in listed):
        return errors.openai_error(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
        ), (0, 0)
    gpt_image = base.startswith("gpt-image")

    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        return _invalid("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter"), (
            0,
            0,
        )
    limit = catalog.OPENAI_PROMPT_LIMITS.get(base, 32000)
    if len(prompt) > limit:
        return _invalid(
            f"Invalid 'prompt': string too long. Expected a string with maximum length {limit}, "
            f"but got a string with length {len(prompt)} instead.",
            "prompt",
            "string_above_max_length",
        ), (0, 0)

    n = body.get("n", 1)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        return _invalid(
            f"Invalid 'n': integer below minimum value. Expected a value >= 1, but got {n} instead.", "n"
        ), (0, 0)
    if n > 10:
        return _invalid(
            f"Invalid 'n': integer above maximum value. Expected a value <= 10, but got {n} instead.", "n"
        ), (0, 0)
    if base == "dall-e-3" and n != 1:
        # The real message, word for word: callers fan out one request per image instead.
        return errors.openai_error(
            400, "You must provide n=1 for this model.", "invalid_request_error", None
        ), (0, 0)

    if gpt_image and body.get("response_format") is not None:
        return _invalid("Unknown parameter: 'response_format'.", "response_format", "unknown_parameter"), (
            0,
            0,
        )
    if not gpt_image:
        for name in ("output_format", "background", "moderation", "output_compression"):
            if body.get(name) is not None:
                return _invalid(f"Unknown parameter: '{name}'.", name, "unknown_parameter"), (0, 0)
        if body.get("response_format", "url") not in ("url", "b64_json"):
            return _invalid(
                f"Invalid value: '{body['response_format']}'. Supported values are: 'url' and 'b64_json'.",
                "response_format",
            ), (0, 0)
    if body.get("style") is not None and base != "dall-e-3":
        return _invalid("Unknown parameter: 'style'.", "style", "unknown_parameter"), (0, 0)

    quality = body.get("quality")
    allowed_q = catalog.OPENAI_QUALITIES["gpt-image" if gpt_image else base]
    if quality is not None and quality not in allowed_q and not (base == "dall-e-2" and quality == "auto"):
        shown = ", ".join(f"'{q}'" for q in allowed_q)
        return _invalid(f"Invalid value: '{quality}'. Supported values are: {shown}.", "quality"), (0, 0)

    raw_size = body.get("size")
    size = images.parse_size(raw_size, (1024, 1024))
    if base == "gpt-image-2":
        problem = "the size must look like 1024x1024" if size is None else _gpt_image_2_size_error(*size)
    else:
        allowed = catalog.OPENAI_SIZES.get(base, catalog.OPENAI_SIZES["gpt-image-1"])
        problem = (
            None if raw_size is None or raw_size in allowed else f"'{raw_size}' is not one of {list(allowed)}"
        )
    if problem or size is None:
        return _invalid(f"Invalid value for 'size': {problem}.", "size"), (0, 0)
    return None, size


def generate(state: StandinState, req: Request, effect: Effect) -> Response:
    body = req.json_dict()
    refusal, (width, height) = validate(state, body)
    if refusal is not None:
        return refusal
    model = model_of(req)
    base = catalog.openai_base_model(model) or model
    gpt_image = base.startswith("gpt-image")
    prompt = str(body["prompt"])
    count = max(0, int(body.get("n", 1)) - effect.fewer_images)
    fmt = str(body.get("output_format") or "png") if gpt_image else "png"
    as_url = not gpt_image and body.get("response_format", "url") == "url"
    serial = state.next_serial()
    bytes_target = state.bytes_target(effect)

    data = []
    for index in range(count):
        # Seeded by prompt, request and index: each image differs, and a rerun of the suite redraws the same.
        seed = zlib.crc32(prompt.encode()) ^ (serial * 7919 + index)
        png = images.render(
            width, height, seed, images.label_for(index, prompt, model), bytes_target=bytes_target, fmt=fmt
        )
        item: dict[str, Any] = {}
        if as_url:
            item["url"] = f"{req.base_url}/files/{state.put_file(png)}.png"
        else:
            item["b64_json"] = base64.b64encode(png).decode("ascii")
        if base == "dall-e-3":
            item["revised_prompt"] = f"A detailed illustration: {prompt}"
        data.append(item)

    result: dict[str, Any] = {"created": int(time.time()), "data": data}
    if gpt_image:
        text_tokens = max(1, len(prompt) // 4)
        image_tokens = 272 * count
        result.update(
            {
                "background": body.get("background") or "opaque",
                "output_format": fmt,
                "quality": body.get("quality") or "medium",
                "size": f"{width}x{height}",
                "usage": {
                    "input_tokens": text_tokens,
                    "input_tokens_details": {"image_tokens": 0, "text_tokens": text_tokens},
                    "output_tokens": image_tokens,
                    "total_tokens": text_tokens + image_tokens,
                },
            }
        )
    return Response(200, result)


EDIT_MODELS = ("dall-e-2", "gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2")


def edit(state: StandinState, req: Request, effect: Effect) -> Response:
    """`POST /v1/images/edits` (multipart): the generation path, once the form is read as the API reads it."""
    form = req.json_dict()
    files = form.get("_files") or []
    body: dict[str, Any] = {k: v for k, v in form.items() if k != "_files"}
    if "n" in body:
        body["n"] = int(body["n"]) if str(body["n"]).isdigit() else body["n"]
    model = str(body.get("model") or DEFAULT_MODEL)
    if (catalog.openai_base_model(model) or model) not in EDIT_MODELS:
        shown = ", ".join(f"'{m}'" for m in EDIT_MODELS)
        return _invalid(f"Invalid value: '{model}'. Supported values are: {shown}.", "model")
    if not any(f["name"] in ("image", "image[]") for f in files):
        return _invalid("Missing required parameter: 'image'.", "image", "missing_required_parameter")
    req.body = body
    return generate(state, req, effect)


def list_models(state: StandinState, req: Request, effect: Effect) -> Response:
    return Response(200, {"object": "list", "data": catalog.openai_model_list(state.config.openai_models)})


# (method, path, handler, handles its own delay)
ROUTES = [
    ("POST", "/v1/images/generations", generate, False),
    ("POST", "/v1/images/edits", edit, False),
    ("GET", "/v1/models", list_models, False),
]

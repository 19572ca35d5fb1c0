"""OpenRouter: the Images API (with reference images), image output through chat completions, the model
lists (chat and Images API, with per-model endpoints and per-image pricing) and the key check.

An Images API request is checked against the model's endpoint (`supported_parameters`): `n` within its
range, `aspect_ratio` / `resolution` among its values, and `input_references` only for models whose
`architecture.input_modalities` has "image", at most its maximum. Refusals are OpenRouter's 400s.
"""

from __future__ import annotations

import base64
import re
import zlib
from typing import Any

from . import catalog, errors, images, masks
from .behaviour import Effect
from .state import StandinState
from .wire import Request, Response
from .wire_bodies import (
    openrouter_chat_body,
    openrouter_error,
    openrouter_image_endpoints_body,
    openrouter_image_models_body,
    openrouter_images_body,
    openrouter_key_body,
    openrouter_missing_key,
    openrouter_models_body,
)

FAMILY = "openrouter"
PUBLIC_PREFIXES = ("/api/v1/models", "/api/v1/images/models")  # lists need no key; generation and /key do
RESOLUTIONS = {"512": 512, "1K": 1024, "2K": 2048, "4K": 4096}
SPEC_ASPECTS = ("1:1", "1:2", "1:4", "1:8", "2:1", "2:3", "3:2", "3:4", "4:1", "4:3", "4:5", "5:4", "8:1",
                "9:16", "16:9", "9:19.5", "19.5:9", "9:20", "20:9", "9:21", "21:9", "auto")  # fmt: skip
IMAGE_FIELDS = {"model", "prompt", "n", "size", "aspect_ratio", "resolution", "quality", "output_format",
                "output_compression", "seed", "background", "input_references", "provider", "stream"}  # fmt: skip


def check_auth(state: StandinState, req: Request) -> Response | None:
    if req.path.startswith(PUBLIC_PREFIXES) or req.bearer():
        return None
    return errors.to_response(openrouter_missing_key())


def not_found(req: Request) -> Response:
    return errors.to_response(openrouter_error(404, "Not Found"))


def model_of(req: Request) -> str:
    return str(req.json_dict().get("model") or "")


def _refuse(status: int, message: str) -> Response:
    return errors.to_response(openrouter_error(status, message))


def aspect_size(aspect_ratio: Any, resolution: Any) -> tuple[int, int] | None:
    """'16:9' at '1K' → (1024, 576): the long side from the resolution, rounded to multiples of 16."""
    long_side = RESOLUTIONS.get(str(resolution or "1K"))
    match = re.fullmatch(r"(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)", str(aspect_ratio or "1:1"))
    if long_side is None or match is None or float(match[1]) == 0 or float(match[2]) == 0:
        return None
    w, h = float(match[1]), float(match[2])
    short = max(16, round(long_side * min(w, h) / max(w, h) / 16) * 16)
    return (long_side, short) if w >= h else (short, long_side)


def _model_problem(model: str, modalities: list[str]) -> Response | None:
    if not model:
        return _refuse(400, "No models provided")
    entry = catalog.openrouter_model(model)
    if entry is None:
        return _refuse(400, f"{model} is not a valid model ID")
    if not set(modalities) <= set(entry["architecture"]["output_modalities"]):
        return _refuse(
            404, f"No endpoints found that support the requested output modalities: {', '.join(modalities)}"
        )
    return None


def _references(body: dict[str, Any], model: str, params: dict[str, Any]) -> list[dict[str, Any]] | Response:
    refs = body.get("input_references")
    if refs is None:
        return []
    if not isinstance(refs, list) or not all(
        isinstance(r, dict)
        and r.get("type") == "image_url"
        and isinstance((r.get("image_url") or {}).get("url"), str)
        for r in refs
    ):
        return _refuse(
            400, 'input_references must be a list of {"type": "image_url", "image_url": {"url": ...}}'
        )
    entry = catalog.openrouter_model(model) or {}
    if refs and "image" not in entry.get("architecture", {}).get("input_modalities", []):
        return _refuse(
            400, f"{model} does not accept image inputs: input_references are not supported by this model"
        )
    limit = (params.get("input_references") or {}).get("max", 0)
    if len(refs) > limit:
        return _refuse(400, f"{model} accepts at most {limit} input_references, got {len(refs)}")
    summaries = []
    for index, ref in enumerate(refs):
        url = ref["image_url"]["url"]
        if url.startswith("data:"):
            image = masks.decode_b64_image(url)
            if image is None:
                return _refuse(400, f"input_references[{index}] is not a valid image data URL")
            summaries.append({"media_type": url[5:].partition(";")[0], "size": list(image.size)})
        elif url.startswith(("http://", "https://")):
            summaries.append({"url": url})  # a real server fetches it; the stand-in has no network
        else:
            return _refuse(400, f"input_references[{index}] must be a data: URL or an http(s) URL")
    return summaries


def _enum_problem(
    body: dict[str, Any], name: str, spec: tuple[str, ...], allowed: list[str] | None, model: str
) -> Response | None:
    value = body.get(name)
    if value is None:
        return None
    if value not in spec:
        return _refuse(400, f"Invalid {name}: {value!r}. Expected one of: {', '.join(spec)}")
    if allowed is not None and value != "auto" and value not in allowed:
        return _refuse(400, f"{name} {value!r} is not supported by {model}. Supported: {', '.join(allowed)}")
    return None


def images_generate(state: StandinState, req: Request, effect: Effect) -> Response:
    body = req.json_dict()
    model = model_of(req)
    problem = _model_problem(model, ["image"])
    if problem is not None:
        return problem
    endpoint = catalog.IMAGE_ENDPOINTS.get(model)
    if endpoint is None:
        return _refuse(404, f"No endpoints found for {model} on the Images API. Use chat completions for it.")
    params = endpoint["supported_parameters"]
    unknown = sorted(set(body) - IMAGE_FIELDS)
    if unknown:
        return _refuse(400, f"Unrecognized parameter: {unknown[0]}")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return _refuse(400, "Input required: specify 'prompt'")
    n = body.get("n", 1)
    low, high = params["n"]["min"], params["n"]["max"]
    if not isinstance(n, int) or isinstance(n, bool) or not low <= n <= high:
        return _refuse(400, f"n must be an integer between {low} and {high} for {model}")
    for name, spec, key in (
        ("aspect_ratio", SPEC_ASPECTS, "aspect_ratio"),
        ("resolution", tuple(RESOLUTIONS), "resolution"),
    ):
        problem = _enum_problem(body, name, spec, (params.get(key) or {}).get("values"), model)
        if problem is not None:
            return problem
    problem = _enum_problem(
        body, "output_format", ("png", "jpeg", "webp", "svg"), params["output_format"]["values"], model
    )
    if problem is not None:
        return problem
    for name, values in (
        ("quality", ("auto", "low", "medium", "high")),
        ("background", ("auto", "transparent", "opaque")),
    ):
        problem = _enum_problem(body, name, values, None, model)
        if problem is not None:
            return problem
    if body.get("seed") is not None and (not isinstance(body["seed"], int) or isinstance(body["seed"], bool)):
        return _refuse(400, "seed must be an integer")
    if body.get("stream"):
        return _refuse(400, f"Streaming is not supported by {model}")
    refs = _references(body, model, params)
    if isinstance(refs, Response):
        return refs
    resolution = str(body.get("resolution") or params["resolution"].get("default") or "1K")
    if body.get("size"):
        size = images.parse_size(body["size"], (1024, 1024))
    else:
        aspect = body.get("aspect_ratio")
        first = next((r["size"] for r in refs if "size" in r), None)
        if aspect in (None, "auto") and first:
            aspect = f"{first[0]}:{first[1]}"
        size = aspect_size(aspect or "1:1", resolution)
    if size is None:
        return _refuse(400, "Invalid image size: use WxH, or aspect_ratio with resolution")
    fmt = str(body.get("output_format") or "png")

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
        data.append(base64.b64encode(png).decode("ascii"))
    cost = catalog.openrouter_image_cost(model, count, resolution)
    answer = openrouter_images_body(
        data,
        cost=cost,
        media_type=images.MEDIA_TYPES[fmt],
        model=model,
        prompt_tokens=max(1, len(prompt) // 4),
    )
    state.annotate(req.recording, usage=answer["usage"], cost_usd=cost, size=list(size), images=count,
                   **({"input_references": refs} if refs else {}))  # fmt: skip
    return Response(200, answer)


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
        return _refuse(400, "modalities must be an array")
    problem = _model_problem(model, modalities)
    if problem is not None:
        return problem
    prompt = _last_user_text(body.get("messages"))
    if not prompt:
        return _refuse(400, "Input required: specify 'messages' with a user message")
    config = body.get("image_config") or {}
    size = aspect_size(config.get("aspect_ratio"), config.get("image_size"))
    if size is None:
        return _refuse(400, "Invalid image_config: aspect_ratio or image_size")
    # One image per call; "fewer_images" turns it into a reply with text and no image, as models sometimes give.
    with_image = "image" in modalities and effect.fewer_images < 1
    urls: list[str] = []
    cost = 0.0
    if with_image:
        seed = zlib.crc32(prompt.encode()) ^ (state.next_serial() * 7919)
        png = images.render(
            *size, seed, images.label_for(0, prompt, model), bytes_target=state.bytes_target(effect)
        )
        urls = [f"data:image/png;base64,{base64.b64encode(png).decode('ascii')}"]
        cost = catalog.openrouter_image_price(model)
    text = "Here is the image you asked for." if with_image and "text" in modalities else ""
    if not with_image:
        text = "I can describe it, but I did not draw an image this time."
    answer = openrouter_chat_body(
        model, image_data_urls=urls, text=text, cost=cost, prompt_tokens=max(1, len(prompt) // 4)
    )
    state.annotate(req.recording, usage=answer["usage"], cost_usd=cost)
    return Response(200, answer)


def list_models(state: StandinState, req: Request, effect: Effect) -> Response:
    return Response(200, openrouter_models_body(req.query.get("output_modalities")))


def list_image_models(state: StandinState, req: Request, effect: Effect) -> Response:
    return Response(200, openrouter_image_models_body())


def image_model_endpoints(state: StandinState, req: Request, effect: Effect) -> Response:
    model_id = req.path.removeprefix("/api/v1/images/models/").removesuffix("/endpoints")
    found = openrouter_image_endpoints_body(model_id)
    if found is None:
        return _refuse(404, f"Model {model_id} not found")
    return Response(200, found)


def key(state: StandinState, req: Request, effect: Effect) -> Response:
    return Response(200, openrouter_key_body(**state.config.openrouter_key))


# (method, path or regex, handler, handles its own delay)
ROUTES = [
    ("POST", "/api/v1/images", images_generate, False),
    ("POST", "/api/v1/chat/completions", chat_completions, False),
    ("GET", "/api/v1/models", list_models, False),
    ("GET", "/api/v1/images/models", list_image_models, False),
    ("GET", re.compile(r"/api/v1/images/models/[^/]+/[^/]+/endpoints"), image_model_endpoints, False),
    ("GET", "/api/v1/key", key, False),
]

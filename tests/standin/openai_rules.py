"""What OpenAI's images API accepts, for generations and edits, checked as the real API checks it.

`plan_generation` / `plan_edit` turn a request into a `Plan` (what to draw and report), or refuse it with
OpenAI's 400/404 body. The gpt-image-2 family takes free sizes under its rules; older models (served only
where the model list has them: a gateway) keep their fixed lists.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from . import masks, openai_models
from .openai_models import ModelRules
from .wire import FilePart
from .wire_bodies import Reply, openai_invalid, openai_model_not_found

GENERATION_FIELDS = {
    "model", "prompt", "n", "quality", "response_format", "output_format", "output_compression", "stream",
    "partial_images", "size", "moderation", "background", "style", "user", "safety_identifier", "complexity",
}  # fmt: skip
EDIT_FIELDS = {
    "model", "prompt", "image", "image[]", "mask", "n", "quality", "response_format", "output_format",
    "output_compression", "stream", "partial_images", "size", "background", "user", "safety_identifier",
    "input_fidelity", "complexity",
}  # fmt: skip
INT_FIELDS = ("n", "partial_images", "output_compression")
IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
MAX_IMAGE_BYTES = 50 * 1024 * 1024
MAX_MASK_BYTES = 4 * 1024 * 1024
MAX_IMAGES = 16


class Refused(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.body)
        self.reply = reply


@dataclass
class Plan:
    model: str
    rules: ModelRules
    prompt: str
    n: int
    width: int
    height: int
    quality: str
    output_format: str = "png"
    background: str = "auto"
    complexity: str | None = None
    stream: bool = False
    partial_images: int = 0
    as_url: bool = False
    input_sizes: list[tuple[int, int]] = field(default_factory=list)
    input_fidelity: str | None = None
    mask: dict[str, Any] | None = None


def _listed(model: str, models: Any, today: dt.date) -> bool:
    """Whether the model list has this id (or its base) and it has not passed its shutdown date."""
    for model_id, shutdown in openai_models.model_entries(models):
        if model_id == model or (model.startswith(model_id + "-20") and openai_models.rules_for(model_id)):
            return not (shutdown and dt.date.fromisoformat(shutdown[:10]) <= today)
    return False


def _choices(values: tuple[str, ...]) -> str:
    quoted = [f"'{v}'" for v in values]
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}" if len(quoted) > 1 else quoted[0]


def _enum(body: dict[str, Any], name: str, values: tuple[str, ...]) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if value not in values:
        raise Refused(
            openai_invalid(f"Invalid value: '{value}'. Supported values are: {_choices(values)}.", name)
        )
    return str(value)


def _int(body: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        kind = type(value).__name__.replace("str", "a string").replace("float", "a decimal")
        raise Refused(
            openai_invalid(
                f"Invalid type for '{name}': expected an integer, but got {kind} instead.",
                name,
                "invalid_type",
            )
        )
    if value < low:
        raise Refused(openai_invalid(
            f"Invalid '{name}': integer below minimum value. Expected a value >= {low}, but got {value} instead.",
            name, "integer_below_min_value"))  # fmt: skip
    if value > high:
        raise Refused(openai_invalid(
            f"Invalid '{name}': integer above maximum value. Expected a value <= {high}, but got {value} instead.",
            name, "integer_above_max_value"))  # fmt: skip
    return value


def family_size_problem(width: int, height: int) -> str | None:
    """Why a WxH breaks the gpt-image-2 family's size rules, or None."""
    long, short = max(width, height), min(width, height)
    if width % openai_models.SIZE_STEP or height % openai_models.SIZE_STEP:
        return "Width and height must both be multiples of 16."
    if long > openai_models.MAX_SIDE:
        return f"The longest side must be at most {openai_models.MAX_SIDE} pixels."
    if long > openai_models.MAX_RATIO * short:
        return "The ratio of the longest to the shortest side must be at most 3:1."
    if not openai_models.MIN_PIXELS <= width * height <= openai_models.MAX_PIXELS:
        return (
            f"The total number of pixels must be between {openai_models.MIN_PIXELS:,} and "
            f"{openai_models.MAX_PIXELS:,}, but {width}x{height} is {width * height:,}."
        )
    return None


def _parse_wxh(value: str) -> tuple[int, int] | None:
    w, sep, h = value.lower().partition("x")
    return (int(w), int(h)) if sep and w.isdigit() and h.isdigit() else None


def _auto_size(rules: ModelRules, source: tuple[int, int] | None) -> tuple[int, int]:
    """What `auto` gives: 1024x1024 for a prompt; for an edit, the source's shape within the model's rules."""
    if source is None:
        return 1024, 1024
    w, h = source
    if not rules.free_size:
        return (1024, 1024) if abs(w - h) < min(w, h) * 0.2 else ((1536, 1024) if w > h else (1024, 1536))
    scale = min(1.0, (openai_models.MAX_PIXELS / (w * h)) ** 0.5, openai_models.MAX_SIDE / max(w, h))
    scale = max(scale, (openai_models.MIN_PIXELS / (w * h)) ** 0.5)
    return max(16, round(w * scale / 16) * 16), max(16, round(h * scale / 16) * 16)


def _size(body: dict[str, Any], rules: ModelRules, source: tuple[int, int] | None) -> tuple[int, int]:
    raw = body.get("size")
    if raw is None or raw == "auto":
        if raw == "auto" and rules.sizes is not None and "auto" not in rules.sizes:
            raise Refused(
                openai_invalid(
                    f"Invalid value: 'auto'. Supported values are: {_choices(rules.sizes)}.", "size"
                )
            )
        return _auto_size(rules, source)
    if not isinstance(raw, str) or _parse_wxh(raw) is None:
        raise Refused(
            openai_invalid(
                f"Invalid value: '{raw}'. The size must look like 1024x1024, or be 'auto'.", "size"
            )
        )
    width, height = _parse_wxh(raw)  # type: ignore[misc]
    if rules.sizes is not None:
        if raw not in rules.sizes:
            raise Refused(
                openai_invalid(
                    f"Invalid value: '{raw}'. Supported values are: {_choices(rules.sizes)}.", "size"
                )
            )
        return width, height
    problem = family_size_problem(width, height)
    if problem:
        raise Refused(openai_invalid(f"Invalid size '{raw}'. {problem}", "size"))
    return width, height


def _common(
    body: dict[str, Any],
    models: Any,
    today: dt.date,
    known: set[str],
    source: tuple[int, int] | None,
    edit: bool,
) -> Plan:
    unknown = sorted(set(body) - known)
    if unknown:
        raise Refused(openai_invalid(f"Unknown parameter: '{unknown[0]}'.", unknown[0], "unknown_parameter"))
    model = body.get("model") or ("dall-e-2" if not edit else "gpt-image-2")
    if not isinstance(model, str):
        raise Refused(openai_invalid("Invalid type for 'model': expected a string.", "model", "invalid_type"))
    rules = openai_models.rules_for(model)
    if rules is None and _listed(model, models, today):
        # A listed model that makes no images (gpt-4o): the images API names what it takes.
        supported = _choices(tuple(openai_models.FAMILY_MODELS[:1] + tuple(openai_models.LEGACY_RULES)))
        raise Refused(
            openai_invalid(f"Invalid value: '{model}'. Supported values are: {supported}.", "model")
        )
    if rules is None or not _listed(model, models, today):
        raise Refused(openai_model_not_found(model))
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise Refused(
            openai_invalid("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter")
        )
    if len(prompt) > rules.prompt_limit:
        raise Refused(openai_invalid(
            f"Invalid 'prompt': string too long. Expected a string with maximum length {rules.prompt_limit}, "
            f"but got a string with length {len(prompt)} instead.", "prompt", "string_above_max_length"))  # fmt: skip
    n = _int(body, "n", 1, 10) or 1
    if n > rules.max_n:
        raise Refused(Reply(400, {"error": {"message": "You must provide n=1 for this model.",
                                            "type": "invalid_request_error", "param": None, "code": None}}, {}))  # fmt: skip
    if rules.gpt_image:
        if body.get("response_format") is not None:
            raise Refused(
                openai_invalid(
                    "Unknown parameter: 'response_format'.", "response_format", "unknown_parameter"
                )
            )
    else:
        for name in ("output_format", "background", "moderation", "output_compression", "safety_identifier",
                     "stream", "partial_images", "complexity", "input_fidelity"):  # fmt: skip
            if body.get(name) is not None:
                raise Refused(openai_invalid(f"Unknown parameter: '{name}'.", name, "unknown_parameter"))
        _enum(body, "response_format", ("url", "b64_json"))
    if body.get("style") is not None and rules.family != "dall-e-3":
        raise Refused(openai_invalid("Unknown parameter: 'style'.", "style", "unknown_parameter"))
    _enum(body, "style", ("vivid", "natural"))
    if body.get("complexity") is not None and not rules.complexity:
        raise Refused(openai_invalid("Unknown parameter: 'complexity'.", "complexity", "unknown_parameter"))
    complexity = _enum(body, "complexity", openai_models.COMPLEXITIES)
    qualities = rules.qualities + (("auto",) if rules.family == "dall-e-2" else ())
    quality = _enum(body, "quality", qualities) or ("auto" if rules.gpt_image else "standard")
    output_format = _enum(body, "output_format", ("png", "jpeg", "webp")) or "png"
    background = _enum(body, "background", ("transparent", "opaque", "auto")) or "auto"
    if background == "transparent" and output_format == "jpeg":
        raise Refused(
            openai_invalid(
                "Transparent background is not supported for the jpeg output format.", "background"
            )
        )
    _enum(body, "moderation", ("low", "auto"))
    _int(body, "output_compression", 0, 100)
    identifier = body.get("safety_identifier")
    if identifier is not None and (not isinstance(identifier, str) or len(identifier) > 64):
        raise Refused(openai_invalid(
            "Invalid 'safety_identifier': string too long. Expected a string with maximum length 64.",
            "safety_identifier", "string_above_max_length"))  # fmt: skip
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise Refused(
            openai_invalid("Invalid type for 'stream': expected a boolean.", "stream", "invalid_type")
        )
    partial = _int(body, "partial_images", 0, 3) or 0
    width, height = _size(body, rules, source)
    return Plan(
        model=model, rules=rules, prompt=prompt, n=n, width=width, height=height, quality=quality,
        output_format=output_format, background=background, complexity=complexity, stream=bool(stream),
        partial_images=partial, as_url=not rules.gpt_image and body.get("response_format", "url") == "url",
    )  # fmt: skip


def plan_generation(body: dict[str, Any], models: Any, today: dt.date) -> Plan:
    return _common(body, models, today, GENERATION_FIELDS, None, edit=False)


def form_fields(form: dict[str, Any]) -> dict[str, Any]:
    """A multipart form's text fields with the schema's types: "2" → 2, "true" → True where they parse."""
    body: dict[str, Any] = {}
    for name, value in form.items():
        if name == "_files":
            continue
        if name in INT_FIELDS and isinstance(value, str) and value.lstrip("-").isdigit():
            body[name] = int(value)
        elif name == "stream" and value in ("true", "false", "True", "False"):
            body[name] = value.lower() == "true"
        else:
            body[name] = value
    return body


def _unsupported(part: FilePart, param: str) -> Refused:
    return Refused(openai_invalid(
        f"Invalid file '{param}': unsupported mimetype ('{part.content_type}'). Supported file formats are "
        "'image/jpeg', 'image/png', and 'image/webp'.", param, "unsupported_file"))  # fmt: skip


def plan_edit(form: dict[str, Any], files: list[FilePart], models: Any, today: dt.date) -> Plan:
    body = form_fields(form)
    images = [f for f in files if f.name in ("image", "image[]")]
    mask_parts = [f for f in files if f.name == "mask"]
    stray = [f.name for f in files if f.name not in ("image", "image[]", "mask")]
    if stray:
        raise Refused(openai_invalid(f"Unknown parameter: '{stray[0]}'.", stray[0], "unknown_parameter"))
    model = body.get("model") or "gpt-image-2"
    rules = openai_models.rules_for(str(model))
    if rules is not None and not rules.edits:
        supported = _choices(("gpt-image-2", "gpt-image-2.5-sunburst", "gpt-image-1", "dall-e-2"))
        raise Refused(
            openai_invalid(f"Invalid value: '{model}'. Supported values are: {supported}.", "model")
        )
    if not images:
        raise Refused(
            openai_invalid("Missing required parameter: 'image'.", "image", "missing_required_parameter")
        )
    limit = rules.max_input_images if rules else MAX_IMAGES
    if len(images) > limit:
        raise Refused(openai_invalid(
            f"Invalid 'image': array too long. Expected an array with maximum length {limit}, but got an array "
            f"with length {len(images)} instead.", "image", "array_above_max_length"))  # fmt: skip
    decoded = []
    for index, part in enumerate(images):
        param = f"image[{index}]" if part.name == "image[]" else "image"
        image = masks.open_image(part.data)
        if image is None or image.format not in IMAGE_FORMATS:
            raise _unsupported(part, param)
        if len(part.data) >= MAX_IMAGE_BYTES:
            raise Refused(
                openai_invalid(
                    f"Invalid file '{param}': the file must be smaller than 50 MB.", param, "file_too_large"
                )
            )
        if (
            rules is not None
            and rules.family == "dall-e-2"
            and (image.format != "PNG" or image.width != image.height)
        ):
            raise Refused(openai_invalid("Invalid input image - must be a square PNG image.", param))
        decoded.append(image)
    plan = _common(body | {"image": "<files>"}, models, today, EDIT_FIELDS, decoded[0].size, edit=True)
    plan.input_sizes = [im.size for im in decoded]
    plan.input_fidelity = _enum(body, "input_fidelity", ("high", "low"))
    if len(mask_parts) > 1:
        raise Refused(openai_invalid("Only one 'mask' may be given.", "mask"))
    if mask_parts:
        part = mask_parts[0]
        mask = masks.open_image(part.data)
        if mask is None or mask.format != "PNG":
            raise Refused(
                openai_invalid(
                    "Invalid 'mask': the mask must be a PNG image.", "mask", "invalid_image_format"
                )
            )
        if len(part.data) >= MAX_MASK_BYTES:
            raise Refused(
                openai_invalid(
                    "Invalid 'mask': the file must be smaller than 4 MB.", "mask", "file_too_large"
                )
            )
        if not masks.has_alpha(mask):
            raise Refused(openai_invalid(
                "Invalid mask image format - mask image missing alpha channel", "mask", "invalid_image_format"))  # fmt: skip
        if mask.size != decoded[0].size:
            raise Refused(openai_invalid(
                f"Invalid mask image dimensions: the mask must be the same size as the first image "
                f"({decoded[0].width}x{decoded[0].height}), but is {mask.width}x{mask.height}.", "mask"))  # fmt: skip
        plan.mask = masks.transparent_record(mask, part=part.filename)
    return plan

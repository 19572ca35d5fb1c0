"""What the stand-in's upstreams list: models, samplers, options. Data only, shaped as the real lists."""

from __future__ import annotations

from typing import Any

CREATED = 1_700_000_000

# ---------------------------------------------------------------- OpenAI

# id → shutdown_date (None: not retiring). The default `GET /v1/models` answer; `config(openai_models=...)`
# replaces it to play a key or gateway that lists fewer (or retired) models.
OPENAI_MODELS: dict[str, str | None] = {
    "gpt-image-2": None,
    "gpt-image-1": None,
    "gpt-image-1-mini": "2026-12-01",
    "dall-e-3": None,
    "dall-e-2": None,
    "gpt-4o": None,
    "gpt-4o-mini": None,
    "text-embedding-3-small": None,
    "whisper-1": None,
}

OPENAI_IMAGE_MODELS = (
    "dall-e-2",
    "dall-e-3",
    "gpt-image-1",
    "gpt-image-1-mini",
    "gpt-image-1.5",
    "gpt-image-2",
)
OPENAI_PROMPT_LIMITS = {"dall-e-2": 1000, "dall-e-3": 4000}  # gpt-image-*: 32000
OPENAI_SIZES = {
    "dall-e-2": ("256x256", "512x512", "1024x1024"),
    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
    "gpt-image-1": ("1024x1024", "1536x1024", "1024x1536", "auto"),
}
OPENAI_QUALITIES = {
    "dall-e-2": ("standard",),
    "dall-e-3": ("standard", "hd"),
    "gpt-image": ("low", "medium", "high", "auto"),
}


def openai_base_model(model: str) -> str | None:
    """'gpt-image-1-2025-04-15' → 'gpt-image-1': dated snapshots behave as their family."""
    for base in sorted(OPENAI_IMAGE_MODELS, key=len, reverse=True):
        if model == base or model.startswith(base + "-20"):
            return base
    return None


def openai_model_list(models: list[Any] | None) -> list[dict[str, Any]]:
    """Items for `GET /v1/models`; `models` entries are ids or {"id", "shutdown_date"?} dicts."""
    entries: list[tuple[str, str | None]]
    if models is None:
        entries = list(OPENAI_MODELS.items())
    else:
        entries = [(m, None) if isinstance(m, str) else (m["id"], m.get("shutdown_date")) for m in models]
    items = []
    for model_id, shutdown in entries:
        owner = "openai" if model_id.startswith(("gpt-image", "chatgpt")) else "system"
        item: dict[str, Any] = {"id": model_id, "object": "model", "created": CREATED, "owned_by": owner}
        if shutdown:
            item["shutdown_date"] = shutdown
        items.append(item)
    return items


# ---------------------------------------------------------------- OpenRouter


def _or_model(
    model_id: str, name: str, inputs: list[str], outputs: list[str], image_output: str, prompt: str = "0"
) -> dict[str, Any]:
    return {
        "id": model_id,
        "canonical_slug": model_id,
        "name": name,
        "created": CREATED,
        "description": f"{name}, as served by the Inkweld stand-in.",
        "context_length": 32768,
        "architecture": {
            "modality": f"{'+'.join(inputs)}->{'+'.join(outputs)}",
            "input_modalities": inputs,
            "output_modalities": outputs,
            "tokenizer": "Other",
            "instruct_type": None,
        },
        "pricing": {
            "prompt": prompt,
            "completion": "0" if outputs == ["image"] else "0.0000025",
            "request": "0",
            "image": "0",
            "image_output": image_output,
            "web_search": "0",
            "internal_reasoning": "0",
        },
        "top_provider": {"context_length": 32768, "max_completion_tokens": 8192, "is_moderated": False},
        "per_request_limits": None,
        "supported_parameters": ["max_tokens", "temperature", "seed"],
    }


OPENROUTER_MODELS: list[dict[str, Any]] = [
    _or_model(
        "google/gemini-2.5-flash-image",
        "Google: Gemini 2.5 Flash Image",
        ["image", "text"],
        ["image", "text"],
        "0.039",
        prompt="0.0000003",
    ),
    _or_model(
        "openai/gpt-5-image-mini",
        "OpenAI: GPT-5 Image Mini",
        ["image", "text"],
        ["image", "text"],
        "0.011",
        prompt="0.0000025",
    ),
    _or_model(
        "black-forest-labs/flux-schnell", "Black Forest Labs: FLUX.1 Schnell", ["text"], ["image"], "0.003"
    ),
    _or_model(
        "stabilityai/stable-diffusion-3", "Stability AI: Stable Diffusion 3", ["text"], ["image"], "0.035"
    ),
    _or_model("openai/gpt-4o", "OpenAI: GPT-4o", ["text", "image"], ["text"], "0", prompt="0.0000025"),
    _or_model(
        "anthropic/claude-sonnet-4.5", "Anthropic: Claude Sonnet 4.5", ["text", "image"], ["text"], "0"
    ),
]


def openrouter_model(model_id: str) -> dict[str, Any] | None:
    return next((m for m in OPENROUTER_MODELS if m["id"] == model_id), None)


def openrouter_image_price(model_id: str) -> float:
    model = openrouter_model(model_id)
    return float(model["pricing"]["image_output"]) if model else 0.0


def openrouter_models_for(output_modalities: str | None) -> list[dict[str, Any]]:
    """`GET /models?output_modalities=`: comma list or "all"; unset means text, as the real one does."""
    wanted = set((output_modalities or "text").split(","))
    if "all" in wanted:
        return list(OPENROUTER_MODELS)
    return [m for m in OPENROUTER_MODELS if wanted & set(m["architecture"]["output_modalities"])]


IMAGE_API_PARAMETERS = {
    "n": {"type": "integer", "min": 1, "max": 10},
    "size": {"type": "string"},
    "aspect_ratio": {"type": "enum", "values": ["1:1", "2:3", "3:2", "3:4", "4:3", "9:16", "16:9", "21:9"]},
    "resolution": {"type": "enum", "values": ["512", "1K", "2K", "4K"]},
    "seed": {"type": "integer"},
    "output_format": {"type": "enum", "values": ["png", "jpeg", "webp"]},
}


def openrouter_image_models() -> list[dict[str, Any]]:
    """`GET /images/models`: the models the Images API serves."""
    items = []
    for model in OPENROUTER_MODELS:
        if "image" not in model["architecture"]["output_modalities"]:
            continue
        items.append(
            {
                "id": model["id"],
                "name": model["name"],
                "created": model["created"],
                "description": model["description"],
                "architecture": {
                    "input_modalities": model["architecture"]["input_modalities"],
                    "output_modalities": ["image"],
                },
                "endpoints": f"/api/v1/images/models/{model['id']}/endpoints",
                "supported_parameters": IMAGE_API_PARAMETERS,
                "supports_streaming": False,
            }
        )
    return items


def openrouter_image_endpoints(model_id: str) -> dict[str, Any] | None:
    model = openrouter_model(model_id)
    if model is None or "image" not in model["architecture"]["output_modalities"]:
        return None
    return {
        "id": model_id,
        "name": model["name"],
        "endpoints": [
            {
                "provider_name": "Stand-in",
                "pricing": {"image": model["pricing"]["image_output"]},
                "supported_parameters": IMAGE_API_PARAMETERS,
                "status": 0,
            }
        ],
    }


OPENROUTER_KEY: dict[str, Any] = {
    "label": "sk-or-v1-sta...din",
    "limit": None,
    "limit_remaining": None,
    "limit_reset": None,
    "include_byok_in_limit": False,
    "usage": 1.25,
    "usage_daily": 0.25,
    "usage_weekly": 0.5,
    "usage_monthly": 1.0,
    "byok_usage": 0,
    "byok_usage_daily": 0,
    "byok_usage_weekly": 0,
    "byok_usage_monthly": 0,
    "is_free_tier": False,
    "is_provisioning_key": False,
    "is_management_key": False,
    "rate_limit": {"requests": -1, "interval": "10s", "note": "This field is deprecated and safe to ignore."},
}

# ---------------------------------------------------------------- AUTOMATIC1111

SD_MODELS: list[dict[str, Any]] = [
    {
        "title": "v1-5-pruned-emaonly.safetensors [6ce0161689]",
        "model_name": "v1-5-pruned-emaonly",
        "hash": "6ce0161689",
        "sha256": "6ce0161689b3853acaa03779ec93eafe75a02f4ced659bee03f50797806fa2fa",
        "filename": "/stable-diffusion-webui/models/Stable-diffusion/v1-5-pruned-emaonly.safetensors",
        "config": None,
    },
    {
        "title": "sd_xl_base_1.0.safetensors [31e35c80fc]",
        "model_name": "sd_xl_base_1.0",
        "hash": "31e35c80fc",
        "sha256": "31e35c80fc4829d14f90153f4c74cd59c90b779f6afe05a74cd6120b893f7e5b",
        "filename": "/stable-diffusion-webui/models/Stable-diffusion/sd_xl_base_1.0.safetensors",
        "config": None,
    },
]

SAMPLER_NAMES = ("DPM++ 2M", "DPM++ SDE", "Euler a", "Euler", "LMS", "Heun", "DDIM", "UniPC")
SAMPLERS: list[dict[str, Any]] = [
    {"name": name, "aliases": [name.lower().replace(" ", "_").replace("+", "p")], "options": {}}
    for name in SAMPLER_NAMES
]


def sd_model(name: str | None) -> dict[str, Any] | None:
    """A checkpoint by title or model_name; None for unknown names (the WebUI ignores those)."""
    return next((m for m in SD_MODELS if name in (m["title"], m["model_name"])), None)


def sd_default_options() -> dict[str, Any]:
    return {
        "sd_model_checkpoint": SD_MODELS[0]["title"],
        "sd_checkpoint_hash": SD_MODELS[0]["sha256"],
        "sd_vae": "Automatic",
        "CLIP_stop_at_last_layers": 1,
        "samples_format": "png",
        "live_previews_enable": True,
        "show_progress_every_n_steps": 10,
    }

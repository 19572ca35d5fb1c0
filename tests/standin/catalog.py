"""What the stand-in's OpenRouter and AUTOMATIC1111 list: models, samplers, options; data, shaped as the real lists.

OpenAI's models live in openai_models.py, ComfyUI's nodes in comfyui_nodes.py.
"""

from __future__ import annotations

from typing import Any

CREATED = 1_700_000_000

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
        "black-forest-labs/flux.2-pro",
        "Black Forest Labs: FLUX.2 Pro",
        ["text", "image"],
        ["image"],
        "0.03",
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


# What each model's Images API endpoint takes and charges (`GET /images/models/{author}/{slug}/endpoints`):
# supported_parameters in OpenRouter's descriptor shape, pricing as line items. Models not listed here
# are served by chat completions only.
ASPECTS_COMMON = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"]
FORMATS = {"type": "enum", "values": ["png", "jpeg", "webp"]}


def _endpoint(
    provider: str,
    *,
    aspects: list[str],
    resolutions: list[str],
    max_n: int,
    max_refs: int,
    seed: bool,
    pricing: list[dict[str, Any]],
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "aspect_ratio": {"type": "enum", "values": aspects},
        "resolution": {"type": "enum", "values": resolutions, "default": resolutions[0]},
        "n": {"type": "range", "min": 1, "max": max_n, "default": 1},
        "output_format": FORMATS,
    }
    if max_refs:
        params["input_references"] = {"type": "range", "min": 0, "max": max_refs}
    if seed:
        params["seed"] = {"type": "boolean"}
    return {
        "provider_name": provider,
        "provider_slug": provider.lower().replace(" ", "-"),
        "provider_tag": None,
        "supported_parameters": params,
        "allowed_passthrough_parameters": [],
        "supports_streaming": False,
        "pricing": pricing,
    }


def _per_image(cost: float, variant: str | None = None) -> dict[str, Any]:
    line: dict[str, Any] = {"billable": "output_image", "unit": "image", "cost_usd": cost}
    if variant:
        line["variant"] = variant
    return line


IMAGE_ENDPOINTS: dict[str, dict[str, Any]] = {
    "google/gemini-2.5-flash-image": _endpoint(
        "Google AI Studio", aspects=ASPECTS_COMMON, resolutions=["1K"], max_n=1, max_refs=3, seed=False,
        pricing=[_per_image(0.039)],
    ),
    "black-forest-labs/flux-schnell": _endpoint(
        "Black Forest Labs", aspects=ASPECTS_COMMON, resolutions=["1K", "512"], max_n=4, max_refs=0, seed=True,
        pricing=[_per_image(0.003)],
    ),
    "black-forest-labs/flux.2-pro": _endpoint(
        "Black Forest Labs", aspects=ASPECTS_COMMON, resolutions=["1K", "2K", "4K"], max_n=4, max_refs=8,
        seed=True, pricing=[_per_image(0.03, "1k"), _per_image(0.045, "2k"), _per_image(0.06, "4k")],
    ),
    "stabilityai/stable-diffusion-3": _endpoint(
        "Stability AI", aspects=ASPECTS_COMMON, resolutions=["1K"], max_n=4, max_refs=0, seed=True,
        pricing=[_per_image(0.035)],
    ),
}  # fmt: skip


def openrouter_image_models() -> list[dict[str, Any]]:
    """`GET /images/models`: the models the Images API serves, each with its endpoints link."""
    items = []
    for model_id, endpoint in IMAGE_ENDPOINTS.items():
        model = openrouter_model(model_id)
        assert model is not None
        items.append(
            {
                "id": model_id,
                "canonical_slug": model_id,
                "name": model["name"],
                "created": model["created"],
                "description": model["description"],
                "architecture": {
                    "input_modalities": model["architecture"]["input_modalities"],
                    "output_modalities": ["image"],
                },
                "supported_parameters": endpoint["supported_parameters"],
                "supports_streaming": endpoint["supports_streaming"],
                "endpoints": f"/api/v1/images/models/{model_id}/endpoints",
            }
        )
    return items


def openrouter_image_endpoints(model_id: str) -> dict[str, Any] | None:
    """`GET /images/models/{author}/{slug}/endpoints` (top-level `id` and `endpoints`, no `data` wrapper)."""
    endpoint = IMAGE_ENDPOINTS.get(model_id)
    return None if endpoint is None else {"id": model_id, "endpoints": [endpoint]}


def openrouter_image_cost(model_id: str, count: int, resolution: str = "1K") -> float:
    """usage.cost of an Images API answer: the price line for the resolution tier (or the flat one) × count."""
    endpoint = IMAGE_ENDPOINTS.get(model_id)
    if endpoint is None:
        return round(count * openrouter_image_price(model_id), 6)
    lines = [line for line in endpoint["pricing"] if line["billable"] == "output_image"]
    tier = next((line for line in lines if line.get("variant") == resolution.lower()), lines[0])
    return round(count * tier["cost_usd"], 6)


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


OLD_SAMPLER_NAMES = (  # before 1.9 the schedule was part of the sampler's name
    "DPM++ 2M Karras", "DPM++ SDE Karras", "DPM++ 2M", "Euler a", "Euler", "LMS", "Heun", "DDIM", "UniPC",
)  # fmt: skip

# /sdapi/v1/schedulers (A1111 1.9+ and Forge; SD.Next and older WebUIs answer 404).
SCHEDULERS: list[dict[str, Any]] = [
    {"name": "automatic", "label": "Automatic", "aliases": None, "default_rho": -1, "need_inner_model": False},
    {"name": "uniform", "label": "Uniform", "aliases": None, "default_rho": -1, "need_inner_model": True},
    {"name": "karras", "label": "Karras", "aliases": None, "default_rho": 7, "need_inner_model": False},
    {"name": "exponential", "label": "Exponential", "aliases": None, "default_rho": -1, "need_inner_model": False},
    {"name": "polyexponential", "label": "Polyexponential", "aliases": None, "default_rho": 1, "need_inner_model": False},
    {"name": "sgm_uniform", "label": "SGM Uniform", "aliases": ["SGMUniform"], "default_rho": -1, "need_inner_model": True},
]  # fmt: skip

# /sdapi/v1/upscalers: "None" and the two resamplers need no model; `scale` is what the model was trained for.
UPSCALERS: list[dict[str, Any]] = [
    {"name": "None", "model_name": None, "model_path": None, "model_url": None, "scale": 4},
    {"name": "Lanczos", "model_name": None, "model_path": None, "model_url": None, "scale": 4},
    {"name": "Nearest", "model_name": None, "model_path": None, "model_url": None, "scale": 4},
    {"name": "ESRGAN_4x", "model_name": "ESRGAN_4x", "model_path": "/stable-diffusion-webui/models/ESRGAN/ESRGAN_4x.pth", "model_url": None, "scale": 4},
    {"name": "R-ESRGAN 4x+", "model_name": "RealESRGAN_x4plus", "model_path": "/stable-diffusion-webui/models/RealESRGAN/RealESRGAN_x4plus.pth", "model_url": None, "scale": 4},
    {"name": "SwinIR 4x", "model_name": "SwinIR 4x", "model_path": "/stable-diffusion-webui/models/SwinIR/SwinIR_4x.pth", "model_url": None, "scale": 4},
]  # fmt: skip

# What each WebUI flavour does differently (config `sd_flavour`), from each project's API code:
#   a1111      AUTOMATIC1111 1.9+ (1.10.1): /schedulers; an unknown sampler or scheduler silently becomes
#              the default; an unknown upscaler fails in the run (500 AssertionError); pydantic v1 422s.
#   a1111-old  AUTOMATIC1111 before 1.9 (1.8.0): no /schedulers (404); samplers carry their schedule
#              ("DPM++ 2M Karras"), `scheduler` is ignored; an unknown sampler is 404 "Sampler not found".
#   forge      Forge (f2, on A1111 1.10): as a1111, but FastAPI on pydantic v2 (422s with `type`
#              "int_parsing" and `input`), and checkpoints it has not hashed list hash/sha256 null.
#   sdnext     SD.Next: no /schedulers (404); error bodies add `code` and `errors` "<status>: <detail>";
#              a wrong password is "Unauthorized"; an unknown sampler is 404 "Sampler not found"; an
#              unknown upscaler is 400 "Invalid upscaler, needs to be one of these: ...".
SD_FLAVOURS: dict[str, dict[str, Any]] = {
    "a1111": {"version": "v1.10.1", "schedulers": True, "samplers": SAMPLER_NAMES, "unknown_sampler": "default",
              "pydantic": 1, "error_code_field": False, "wrong_password": "Incorrect username or password",
              "unknown_upscaler": "assert", "null_hashes": False},
    "a1111-old": {"version": "v1.8.0", "schedulers": False, "samplers": OLD_SAMPLER_NAMES, "unknown_sampler": "404",
                  "pydantic": 1, "error_code_field": False, "wrong_password": "Incorrect username or password",
                  "unknown_upscaler": "assert", "null_hashes": False},
    "forge": {"version": "f2.0.1v1.10.1-previous-669-gdfdcbab6", "schedulers": True, "samplers": SAMPLER_NAMES,
              "unknown_sampler": "default", "pydantic": 2, "error_code_field": False,
              "wrong_password": "Incorrect username or password", "unknown_upscaler": "assert", "null_hashes": True},
    "sdnext": {"version": "sdnext", "schedulers": False, "samplers": SAMPLER_NAMES, "unknown_sampler": "404",
               "pydantic": 1, "error_code_field": True, "wrong_password": "Unauthorized",
               "unknown_upscaler": "400", "null_hashes": False},
}  # fmt: skip


def sd_samplers(flavour: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "aliases": [name.lower().replace(" ", "_").replace("+", "p")], "options": {}}
        for name in SD_FLAVOURS[flavour]["samplers"]
    ]


def sd_models(flavour: str) -> list[dict[str, Any]]:
    models = [dict(m) for m in SD_MODELS]
    if SD_FLAVOURS[flavour]["null_hashes"]:
        # Forge lists a checkpoint it has not hashed yet like this: no hash, none in the title either.
        models[-1].update(title=models[-1]["title"].split(" [")[0], hash=None, sha256=None)
    return models


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

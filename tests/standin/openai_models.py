"""OpenAI's image models as of 2026-12-01: which ids exist, the rules of each family, tokens and prices.

Data and small lookups only; `openai_rules.py` validates requests with it, `wire_bodies.openai` builds
answers with it. Facts from the project's provider reference (second-hand where it says so); the token
table below is the stand-in's own model of "bigger and better costs more", documented so that tests can
compute what a given request should cost.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

CREATED = 1_700_000_000

# The gpt-image-2 family: what a direct OpenAI key lists since 2026-12-01 (snapshots included).
FAMILY_MODELS = (
    "gpt-image-2",
    "gpt-image-2-2026-04-21",
    "gpt-image-2.5-flare",
    "gpt-image-2.5-flare-2026-09-08",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.5-sunburst-2026-09-08",
    "gpt-image-2.6-flare",
    "gpt-image-2.6-sunburst",
)
NON_IMAGE_MODELS = ("gpt-5", "gpt-4o", "gpt-4o-mini", "text-embedding-3-small", "whisper-1")
# Shut down by OpenAI (id → the day it went). A gateway may still serve them: see GATEWAY_MODELS.
RETIRED_MODELS = {
    "dall-e-2": "2026-05-12",
    "dall-e-3": "2026-05-12",
    "gpt-image-1": "2026-10-23",
    "gpt-image-1-mini": "2026-12-01",
    "gpt-image-1.5": "2026-12-01",
    "chatgpt-image-latest": "2026-12-01",
}

# `GET /v1/models` presets, by name (config `openai_models="openai"` or `"gateway"`), as
# (id, shutdown_date or None) pairs.
#   openai:  a direct OpenAI key today: the gpt-image-2 family and a few non-image models.
#   gateway: an OpenAI-compatible gateway that still serves older names next to the family; the stand-in's
#            default, because the product's current suite still generates with dall-e-3 and gpt-image-1.
PRESETS: dict[str, list[tuple[str, str | None]]] = {
    "openai": [(m, None) for m in FAMILY_MODELS + NON_IMAGE_MODELS],
    "gateway": [
        *[(m, None) for m in FAMILY_MODELS],
        ("gpt-image-1", None),
        ("gpt-image-1-mini", "2026-12-01"),
        ("dall-e-3", None),
        ("dall-e-2", None),
        *[(m, None) for m in NON_IMAGE_MODELS],
    ],
}
DEFAULT_PRESET = "gateway"


@dataclass(frozen=True)
class ModelRules:
    """What one model (or family member) accepts."""

    family: str  # "gpt-image-2", "gpt-image-2.5", "gpt-image-2.6", or a legacy id such as "dall-e-3"
    qualities: tuple[str, ...]
    sizes: tuple[str, ...] | None  # None: free WxH under the family's size rules
    prompt_limit: int = 32000
    complexity: bool = False  # gpt-image-2.6 takes `complexity`
    edits: bool = True
    max_input_images: int = 16
    gpt_image: bool = True  # answers base64 + usage, takes output_format/background/moderation
    max_n: int = 10

    @property
    def free_size(self) -> bool:
        return self.sizes is None


GPT_IMAGE_QUALITIES = ("low", "medium", "high", "auto")
_LEGACY_GPT_IMAGE_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
LEGACY_RULES = {
    "dall-e-2": ModelRules(
        "dall-e-2",
        ("standard",),
        ("256x256", "512x512", "1024x1024"),
        1000,
        max_input_images=1,
        gpt_image=False,
    ),
    "dall-e-3": ModelRules(
        "dall-e-3",
        ("standard", "hd"),
        ("1024x1024", "1792x1024", "1024x1792"),
        4000,
        edits=False,
        gpt_image=False,
        max_n=1,
    ),
    "gpt-image-1": ModelRules("gpt-image-1", GPT_IMAGE_QUALITIES, _LEGACY_GPT_IMAGE_SIZES),
    "gpt-image-1-mini": ModelRules("gpt-image-1-mini", GPT_IMAGE_QUALITIES, _LEGACY_GPT_IMAGE_SIZES),
    "gpt-image-1.5": ModelRules("gpt-image-1.5", GPT_IMAGE_QUALITIES, _LEGACY_GPT_IMAGE_SIZES),
    "chatgpt-image-latest": ModelRules("chatgpt-image-latest", GPT_IMAGE_QUALITIES, _LEGACY_GPT_IMAGE_SIZES),
}
FAMILY_RULES = {
    "gpt-image-2": ModelRules("gpt-image-2", GPT_IMAGE_QUALITIES, None),
    "gpt-image-2.5": ModelRules("gpt-image-2.5", (*GPT_IMAGE_QUALITIES, "xhigh", "max"), None),
    "gpt-image-2.6": ModelRules(
        "gpt-image-2.6", (*GPT_IMAGE_QUALITIES, "xhigh", "max"), None, complexity=True
    ),
}
COMPLEXITIES = ("low", "medium", "high")

# Size rules of the gpt-image-2 family.
SIZE_STEP = 16
MAX_SIDE = 3840
MAX_RATIO = 3
MIN_PIXELS = 655_360
MAX_PIXELS = 8_294_400

_FAMILY_ID = re.compile(r"gpt-image-2(?:\.(\d+))?(?:-[a-z]+)?(?:-\d{4}-\d{2}-\d{2})?")


def rules_for(model: str) -> ModelRules | None:
    """The rules a model id follows: its family's, or its legacy base's; None for an unknown id."""
    match = _FAMILY_ID.fullmatch(model)
    if match:
        minor = int(match[1] or 0)
        if minor >= 6:
            return FAMILY_RULES["gpt-image-2.6"]
        return FAMILY_RULES["gpt-image-2.5"] if minor == 5 else FAMILY_RULES["gpt-image-2"]
    for base in sorted(LEGACY_RULES, key=len, reverse=True):
        if model == base or model.startswith(base + "-20"):  # dated snapshots behave as their base
            return LEGACY_RULES[base]
    return None


def model_entries(models: Any) -> list[tuple[str, str | None]]:
    """A config value (None, a preset name, or ids / {"id", "shutdown_date"} dicts) as (id, date) pairs."""
    if models is None:
        return list(PRESETS[DEFAULT_PRESET])
    if isinstance(models, str):
        return list(PRESETS[models])
    return [(m, None) if isinstance(m, str) else (m["id"], m.get("shutdown_date")) for m in models]


# ---------------------------------------------------------------- tokens and prices
#
# Output tokens per image at 1024x1024, scaled by area (rounded up). The family's figures match the
# third-party per-image estimates at $30 per million output tokens (low ≈ $0.02, medium ≈ $0.07,
# high ≈ $0.19); xhigh and max are 1.5x and 2x high. `auto` is counted as medium. gpt-image-2.6's
# `complexity` scales the result (low 0.6, medium 0.8, high 1.0 — the default). gpt-image-1 and its
# relatives use OpenAI's published gpt-image-1 figures (272 / 1056 / 4160).
#
# Input tokens: text = ceil(characters / 4), at least 1. Each input image (edits) = 65 + 129 per 512-pixel
# tile, plus 4160 when input_fidelity is "high". The mask is not counted.
OUTPUT_TOKENS_AT_1024 = {
    "family": {"low": 640, "medium": 2304, "high": 6272, "xhigh": 9408, "max": 12544},
    "legacy": {"low": 272, "medium": 1056, "high": 4160},
}
COMPLEXITY_FACTOR = {"low": 0.6, "medium": 0.8, "high": 1.0}
HIGH_FIDELITY_TOKENS = 4160

# USD per million tokens: (text in, image in, image out). Family: the reference's figures (second-hand).
TOKEN_PRICES: dict[str, tuple[float, float, float]] = {
    "gpt-image-2": (5.0, 8.0, 30.0),
    "gpt-image-2.5": (5.0, 8.0, 30.0),
    "gpt-image-2.6": (5.0, 8.0, 30.0),
    "gpt-image-1": (5.0, 10.0, 40.0),
    "gpt-image-1-mini": (2.0, 2.5, 8.0),
    "gpt-image-1.5": (5.0, 8.0, 32.0),
    "chatgpt-image-latest": (5.0, 8.0, 32.0),
}


def output_tokens(
    rules: ModelRules, width: int, height: int, quality: str, complexity: str | None = None
) -> int:
    table = OUTPUT_TOKENS_AT_1024["family" if rules.free_size else "legacy"]
    base = table.get(quality, table["medium"])  # auto → medium
    factor = COMPLEXITY_FACTOR[complexity or "high"] if rules.complexity else 1.0
    return math.ceil(base * width * height / (1024 * 1024) * factor)


def text_tokens(prompt: str) -> int:
    return max(1, math.ceil(len(prompt) / 4))


def input_image_tokens(width: int, height: int, fidelity: str | None = None) -> int:
    tiles = math.ceil(width / 512) * math.ceil(height / 512)
    return 65 + 129 * tiles + (HIGH_FIDELITY_TOKENS if fidelity == "high" else 0)


def token_cost(family: str, usage: dict[str, Any]) -> float | None:
    """USD for a `usage` object at the stand-in's prices; None for a model it has no prices for."""
    prices = TOKEN_PRICES.get(family)
    if prices is None:
        return None
    details = usage.get("input_tokens_details") or {}
    text_in = details.get("text_tokens", usage.get("input_tokens", 0))
    image_in = details.get("image_tokens", 0)
    cost = (text_in * prices[0] + image_in * prices[1] + usage.get("output_tokens", 0) * prices[2]) / 1e6
    return round(cost, 8)

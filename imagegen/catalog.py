"""What we know about each provider's models: what they allow and what they cost.

The catalog is the fallback and the source of limits; providers refine it with the upstream's live list (what a key
can actually use right now). Prices are USD per image from docs/reference/provider-apis.md; a price we do not know
is None and shown as unknown, never as zero. Self-hosted Stable Diffusion costs nothing per image.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

OPENAI = "openai"
OPENROUTER = "openrouter"
STABLE_DIFFUSION = "stable-diffusion"

# Cloud jobs are capped at 4 images: enough to choose from, and a mistyped count cannot run up a bill.
CLOUD_MAX_PER_JOB = 4
SD_MAX_PER_JOB = 8


@dataclass(frozen=True)
class SizeRule:
    """Free-form sizes: both sides multiples of `multiple`, within bounds."""

    multiple: int
    min_side: int
    max_side: int
    max_pixels: int | None = None
    max_aspect: float | None = None  # longest side / shortest side

    def allows(self, width: int, height: int) -> bool:
        if width % self.multiple or height % self.multiple:
            return False
        if not (self.min_side <= width <= self.max_side and self.min_side <= height <= self.max_side):
            return False
        if self.max_pixels is not None and width * height > self.max_pixels:
            return False
        return self.max_aspect is None or max(width, height) / min(width, height) <= self.max_aspect


# Self-hosted SD: multiples of 8 (the latent is 1/8 of the image); 256-2048 keeps SD 1.5 and SDXL usable
# without letting one request exhaust a consumer GPU's memory.
SD_SIZE_RULE = SizeRule(multiple=8, min_side=256, max_side=2048)


@dataclass(frozen=True)
class ModelSpec:
    provider_id: str
    id: str
    label: str
    sizes: tuple[str, ...] = ("1024x1024",)  # the choices offered; "auto" lets the model decide
    size_rule: SizeRule | None = None  # when set, any WxH it allows is valid too
    qualities: tuple[str, ...] = ()
    default_quality: str = ""  # what the upstream uses when no quality is sent (it decides the price)
    styles: tuple[str, ...] = ()
    images_per_request: int = 1
    max_images_per_job: int = CLOUD_MAX_PER_JOB
    max_prompt_chars: int = 4000
    negative_prompt: bool = False
    seed: bool = False
    steps: bool = False
    max_input_images: int = 0
    # (size, quality) → USD per image; quality "" when the model has none.
    prices: dict[tuple[str, str], Decimal] = field(default_factory=dict, hash=False, compare=False)
    price_per_image: Decimal | None = None  # one price whatever the size (OpenRouter, self-hosted)
    shutdown_date: date | None = None
    extra: dict[str, object] = field(default_factory=dict, hash=False, compare=False)

    @property
    def input_images(self) -> bool:
        return self.max_input_images > 0

    def allows_size(self, size: str) -> bool:
        if size in self.sizes:
            return True
        dims = parse_size(size)
        return dims is not None and self.size_rule is not None and self.size_rule.allows(*dims)

    def price(self, size: str, quality: str) -> Decimal | None:
        if self.price_per_image is not None:
            return self.price_per_image
        return self.prices.get((size, quality or self.default_quality))

    def is_retired(self, today: date) -> bool:
        return self.shutdown_date is not None and today >= self.shutdown_date


@dataclass(frozen=True)
class ModelOption(ModelSpec):
    """A model as offered right now: the catalog entry plus whether this key/endpoint can use it, and why not."""

    available: bool = True
    unavailable_reason: str = ""
    source: str = "catalog"  # "live": confirmed by the upstream's list; "catalog": the list was not available
    note: str = ""

    @classmethod
    def from_spec(cls, spec: ModelSpec, **changes: object) -> ModelOption:
        values = {f.name: getattr(spec, f.name) for f in dataclasses.fields(ModelSpec)}
        return cls(**{**values, **changes})  # type: ignore[arg-type]


_SIZE = re.compile(r"([0-9]{1,6})x([0-9]{1,6})")


def parse_size(size: str) -> tuple[int, int] | None:
    """ "1024x768" → (1024, 768); anything else (other scripts' digits pass isdigit(), endless numbers) → None."""
    match = _SIZE.fullmatch(size)
    if match is None or int(match[1]) <= 0 or int(match[2]) <= 0:
        return None
    return int(match[1]), int(match[2])


def _usd(table: dict[tuple[str, str], str]) -> dict[tuple[str, str], Decimal]:
    return {key: Decimal(value) for key, value in table.items()}


_GPT_IMAGE_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
_GPT_IMAGE_QUALITIES = ("low", "medium", "high", "auto")


def _gpt_image(
    model_id: str, label: str, *, shutdown: date | None, prices: dict[tuple[str, str], str]
) -> ModelSpec:
    return ModelSpec(
        OPENAI,
        model_id,
        label,
        sizes=_GPT_IMAGE_SIZES,
        qualities=_GPT_IMAGE_QUALITIES,
        default_quality="auto",
        images_per_request=10,
        max_prompt_chars=32000,
        max_input_images=16,
        prices=_usd(prices),
        shutdown_date=shutdown,
    )


_OPENAI_MODELS = [
    ModelSpec(
        OPENAI,
        "dall-e-2",
        "DALL·E 2",
        sizes=("256x256", "512x512", "1024x1024"),
        qualities=("standard",),
        default_quality="standard",
        images_per_request=10,
        max_prompt_chars=1000,
        prices=_usd(
            {
                ("256x256", "standard"): "0.016",
                ("512x512", "standard"): "0.018",
                ("1024x1024", "standard"): "0.020",
            }
        ),
        shutdown_date=date(2026, 5, 12),
    ),
    ModelSpec(
        OPENAI,
        "dall-e-3",
        "DALL·E 3",
        sizes=("1024x1024", "1792x1024", "1024x1792"),
        qualities=("standard", "hd"),
        default_quality="standard",
        styles=("vivid", "natural"),
        images_per_request=1,  # the API takes n=1 only: more images mean parallel calls
        max_prompt_chars=4000,
        prices=_usd(
            {
                ("1024x1024", "standard"): "0.040",
                ("1792x1024", "standard"): "0.080",
                ("1024x1792", "standard"): "0.080",
                ("1024x1024", "hd"): "0.080",
                ("1792x1024", "hd"): "0.120",
                ("1024x1792", "hd"): "0.120",
            }
        ),
        shutdown_date=date(2026, 5, 12),
    ),
    _gpt_image(
        "gpt-image-1",
        "GPT Image 1",
        shutdown=date(2026, 10, 23),
        prices={
            ("1024x1024", "low"): "0.011",
            ("1024x1024", "medium"): "0.042",
            ("1024x1024", "high"): "0.167",
            ("1024x1536", "low"): "0.016",
            ("1024x1536", "medium"): "0.063",
            ("1024x1536", "high"): "0.25",
            ("1536x1024", "low"): "0.016",
            ("1536x1024", "medium"): "0.063",
            ("1536x1024", "high"): "0.25",
        },
    ),
    _gpt_image(
        "gpt-image-1-mini",
        "GPT Image 1 mini",
        shutdown=date(2026, 12, 1),
        prices={
            ("1024x1024", "low"): "0.005",
            ("1024x1024", "medium"): "0.011",
            ("1024x1024", "high"): "0.036",
        },
    ),
    _gpt_image("gpt-image-1.5", "GPT Image 1.5", shutdown=date(2026, 12, 1), prices={}),
    _gpt_image("chatgpt-image-latest", "ChatGPT Image (latest)", shutdown=date(2026, 12, 1), prices={}),
    dataclasses.replace(
        _gpt_image("gpt-image-2", "GPT Image 2", shutdown=None, prices={}),
        sizes=("1024x1024", "1536x1024", "1024x1536", "2048x2048", "3840x2160", "2160x3840", "auto"),
        size_rule=SizeRule(multiple=16, min_side=16, max_side=3840, max_pixels=3840 * 2160, max_aspect=3.0),
    ),
]

# Aspect ratios OpenRouter's image models understand; the sizes are what a writer picks and how we name them.
OPENROUTER_ASPECTS = {
    "1024x1024": "1:1",
    "1344x768": "16:9",
    "768x1344": "9:16",
    "1184x864": "4:3",
    "864x1184": "3:4",
    "1248x832": "3:2",
    "832x1248": "2:3",
}

_OPENROUTER_MODELS = [
    # Fallbacks for when the live list cannot be fetched; prices from the seed's cost table.
    ModelSpec(
        OPENROUTER,
        "black-forest-labs/flux-schnell",
        "FLUX.1 Schnell",
        sizes=tuple(OPENROUTER_ASPECTS),
        seed=True,
        price_per_image=Decimal("0.003"),
        extra={"modalities": ["image"]},
    ),
    ModelSpec(
        OPENROUTER,
        "stabilityai/stable-diffusion-3",
        "Stable Diffusion 3",
        sizes=tuple(OPENROUTER_ASPECTS),
        seed=True,
        price_per_image=Decimal("0.035"),
        extra={"modalities": ["image"]},
    ),
    ModelSpec(
        OPENROUTER,
        "google/gemini-2.5-flash-image",
        "Gemini 2.5 Flash Image",
        sizes=tuple(OPENROUTER_ASPECTS),
        max_input_images=3,
        extra={"modalities": ["image", "text"]},
    ),
]


def openrouter_spec(model_id: str, label: str, **changes: object) -> ModelSpec:
    """A live OpenRouter model we have no catalog entry for: the common OpenRouter limits."""
    base = ModelSpec(OPENROUTER, model_id, label, sizes=tuple(OPENROUTER_ASPECTS), seed=True)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def sd_checkpoint_spec(title: str, label: str = "") -> ModelSpec:
    """A Stable Diffusion checkpoint: models are whatever the WebUI has installed."""
    return ModelSpec(
        STABLE_DIFFUSION,
        title,
        label or title,
        sizes=("512x512", "768x768", "1024x1024", "832x1216", "1216x832"),
        size_rule=SD_SIZE_RULE,
        images_per_request=SD_MAX_PER_JOB,  # batch_size: one call makes them all
        max_images_per_job=SD_MAX_PER_JOB,
        max_prompt_chars=8000,
        negative_prompt=True,
        seed=True,
        steps=True,
        price_per_image=Decimal(0),
    )


CATALOG: dict[str, dict[str, ModelSpec]] = {
    OPENAI: {m.id: m for m in _OPENAI_MODELS},
    OPENROUTER: {m.id: m for m in _OPENROUTER_MODELS},
    STABLE_DIFFUSION: {},  # checkpoints are discovered from the WebUI
}


def get_model(provider_id: str, model_id: str) -> ModelSpec | None:
    spec = CATALOG.get(provider_id, {}).get(model_id)
    if spec is None and provider_id == STABLE_DIFFUSION and model_id:
        return sd_checkpoint_spec(model_id)
    return spec


def estimate_cost(provider_id: str, model_id: str, size: str, quality: str, count: int) -> Decimal | None:
    """Price x count in USD; None when the price is unknown (shown as "unknown", never as free)."""
    spec = get_model(provider_id, model_id)
    if spec is None:
        return None
    price = spec.price(size, quality)
    return None if price is None else price * count

"""OpenAI's model families: the gpt-image-2 family today, priced per token, and the retired DALL·E and gpt-image-1
families, which OpenAI shut down but OpenAI-compatible gateways may still serve. imagegen/providers/openai.py
offers every id the live list shows that one of these names."""

from __future__ import annotations

import re
from datetime import date

from imagegen.catalog import ModelFamily, ModelSpec, SizeRule, snapshot_suffix
from imagegen.pricing import PerImage, PerToken, usd

PRICES_AS_OF = date(2026, 12, 1)
PRICES_SOURCE = "OpenAI's pricing page"


def _per_image(table: dict[tuple[str, str], str]) -> PerImage:
    return PerImage(
        table={key: usd(value) for key, value in table.items()}, source=PRICES_SOURCE, as_of=PRICES_AS_OF
    )


# --- The gpt-image-2 family: today's models -------------------------------------------------------------------

GPT_IMAGE_2_SIZES = SizeRule(
    multiple=16, min_side=16, max_side=3840, max_pixels=8_294_400, min_pixels=655_360, max_aspect=3.0
)
GPT_IMAGE_2 = ModelSpec(
    "openai",
    "gpt-image-2",
    "GPT Image 2",
    sizes=("1024x1024", "1536x1024", "1024x1536", "2048x2048", "3840x2160", "2160x3840", "auto"),
    size_rule=GPT_IMAGE_2_SIZES,
    qualities=("low", "medium", "high", "auto"),
    default_quality="auto",
    images_per_request=10,
    max_prompt_chars=32000,
    edits=True,
    masks=True,
    max_input_images=16,
    price=PerToken(
        text_in=usd(5),
        image_in=usd(8),
        image_out=usd(30),
        source=PRICES_SOURCE + ", second-hand",
        as_of=PRICES_AS_OF,
    ),
)


def _gpt_image_2_label(match: re.Match[str]) -> str:
    minor, variant = match.group("minor"), match.group("variant")
    name = f"GPT Image 2{'.' + minor if minor else ''}{' ' + variant.capitalize() if variant else ''}"
    return name + snapshot_suffix(match)


def _gpt_image_2_adjust(spec: ModelSpec, match: re.Match[str]) -> ModelSpec:
    minor = int(match.group("minor") or 0)
    if minor >= 5:  # 2.5 and later add two higher qualities
        spec = spec.replace(qualities=("low", "medium", "high", "xhigh", "max", "auto"))
    if minor >= 6:  # 2.6 adds how much detail to work in
        spec = spec.replace(complexities=("low", "medium", "high"))
    return spec


# --- Retired families, kept for gateways that still serve them -------------------------------------------------

_GPT_IMAGE_1 = dict(
    sizes=("1024x1024", "1536x1024", "1024x1536", "auto"),
    qualities=("low", "medium", "high", "auto"),
    default_quality="auto",
    images_per_request=10,
    max_prompt_chars=32000,
    edits=True,
    masks=True,
    max_input_images=16,
)
_GPT_IMAGE_1_PRICES = {
    "": _per_image(
        {
            ("1024x1024", "low"): "0.011",
            ("1024x1024", "medium"): "0.042",
            ("1024x1024", "high"): "0.167",
            ("1024x1536", "low"): "0.016",
            ("1024x1536", "medium"): "0.063",
            ("1024x1536", "high"): "0.25",
            ("1536x1024", "low"): "0.016",
            ("1536x1024", "medium"): "0.063",
            ("1536x1024", "high"): "0.25",
        }
    ),
    "-mini": _per_image(
        {("1024x1024", "low"): "0.005", ("1024x1024", "medium"): "0.011", ("1024x1024", "high"): "0.036"}
    ),
}
_GPT_IMAGE_1_NAMES = {"": "GPT Image 1", "-mini": "GPT Image 1 mini", ".5": "GPT Image 1.5"}


def _gpt_image_1_adjust(spec: ModelSpec, match: re.Match[str]) -> ModelSpec:
    tier = match.group("tier") or ""
    return spec.replace(price=_GPT_IMAGE_1_PRICES.get(tier))


FAMILIES: tuple[ModelFamily, ...] = (
    ModelFamily(
        key="gpt-image-2",
        label="GPT Image 2",
        # gpt-image-2, gpt-image-2.6-sunburst, gpt-image-2.5-flare-2026-09-08, gpt-image-2-2026-04-21 …
        pattern=r"gpt-image-2(?:\.(?P<minor>\d+))?(?:-(?P<variant>[a-z]+))?(?:-(?P<date>\d{4}-\d{2}-\d{2}))?",
        template=GPT_IMAGE_2,
        label_for=_gpt_image_2_label,
        adjust=_gpt_image_2_adjust,
        known_ids=(
            "gpt-image-2",
            "gpt-image-2.5-flare",
            "gpt-image-2.5-sunburst",
            "gpt-image-2.6-flare",
            "gpt-image-2.6-sunburst",
        ),
    ),
    ModelFamily(
        key="gpt-image-1",
        label="GPT Image 1",
        pattern=r"gpt-image-1(?P<tier>-mini|\.5)?(?:-(?P<date>\d{4}-\d{2}-\d{2}))?",
        template=ModelSpec("openai", "gpt-image-1", "GPT Image 1", **_GPT_IMAGE_1),  # type: ignore[arg-type]  # a dict of the spec's own fields
        label_for=lambda m: _GPT_IMAGE_1_NAMES[m.group("tier") or ""] + snapshot_suffix(m),
        adjust=_gpt_image_1_adjust,
        shutdown={
            "gpt-image-1": date(2026, 10, 23),
            "gpt-image-1-mini": date(2026, 12, 1),
            "gpt-image-1.5": date(2026, 12, 1),
        },
    ),
    ModelFamily(
        key="chatgpt-image",
        label="ChatGPT Image (latest)",
        pattern=r"chatgpt-image-latest",
        template=ModelSpec("openai", "chatgpt-image-latest", "ChatGPT Image (latest)", **_GPT_IMAGE_1),  # type: ignore[arg-type]  # a dict of the spec's own fields
        shutdown={"chatgpt-image-latest": date(2026, 12, 1)},
    ),
    ModelFamily(
        key="dall-e-3",
        label="DALL·E 3",
        pattern=r"dall-e-3",
        template=ModelSpec(
            "openai",
            "dall-e-3",
            "DALL·E 3",
            sizes=("1024x1024", "1792x1024", "1024x1792"),
            qualities=("standard", "hd"),
            default_quality="standard",
            styles=("vivid", "natural"),
            images_per_request=1,  # the API takes n=1 only: more images mean parallel calls
            max_prompt_chars=4000,
            price=_per_image(
                {
                    ("1024x1024", "standard"): "0.040",
                    ("1792x1024", "standard"): "0.080",
                    ("1024x1792", "standard"): "0.080",
                    ("1024x1024", "hd"): "0.080",
                    ("1792x1024", "hd"): "0.120",
                    ("1024x1792", "hd"): "0.120",
                }
            ),
        ),
        shutdown={"dall-e-3": date(2026, 5, 12)},
    ),
    ModelFamily(
        key="dall-e-2",
        label="DALL·E 2",
        pattern=r"dall-e-2",
        template=ModelSpec(
            "openai",
            "dall-e-2",
            "DALL·E 2",
            sizes=("256x256", "512x512", "1024x1024"),
            qualities=("standard",),
            default_quality="standard",
            images_per_request=10,
            max_prompt_chars=1000,
            price=_per_image(
                {
                    ("256x256", "standard"): "0.016",
                    ("512x512", "standard"): "0.018",
                    ("1024x1024", "standard"): "0.020",
                }
            ),
        ),
        shutdown={"dall-e-2": date(2026, 5, 12)},
    ),
)

"""What a model costs: the kinds of price, the estimate before a job, and the cost after it from what was used.

A model is priced in one of three ways:

* **per image** (`PerImage`): USD for each image, by size and quality (DALL·E), or one price whatever the size
  (OpenRouter's listed price);
* **per token** (`PerToken`): USD per million tokens of text in, image in and image out (the gpt-image-2 family);
* **free** (`FREE`): a self-hosted engine.

A price nobody knows is `None` everywhere: shown as unknown, never counted as $0.

**The estimate** (before generating) of a per-token model counts the tokens the answer is likely to use.
Output tokens come from `OUTPUT_TOKENS_1024`: the tokens of one 1024×1024 image at each quality, scaled by the
image's area (an image of twice the pixels uses about twice the tokens). They are derived from published per-image
figures for gpt-image-2 at 1024×1024 (about $0.02 low, $0.07 medium, $0.19 high at $30 per million output tokens);
`xhigh` and `max` extrapolate from `high`. `auto` quality is estimated as `high` and `auto` size as 1536×1024 — the
upper end of what a model picks for itself; a writer who asks for more (a larger size, `xhigh`) is estimated at
that. Input: a prompt is about 4 characters per token, an input image about
`INPUT_TOKENS_PER_IMAGE` tokens.

**The actual cost** (after) comes from the answer's `usage`: text tokens × the text price + image tokens × the
image-input price + output tokens × the image-output price. See `cost_from_usage`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import Any, Literal

from .sizes import parse_size

MILLION = Decimal(1_000_000)

# Tokens of one 1024×1024 image, by quality (see the module docstring for where the figures come from).
OUTPUT_TOKENS_1024: dict[str, int] = {"low": 700, "medium": 2400, "high": 6400, "xhigh": 9600, "max": 12800}
# What an estimate assumes when the model decides: the upper figure, so a budget is never under-counted.
AUTO_QUALITY = "high"
AUTO_SIZE = (1536, 1024)
INPUT_TOKENS_PER_IMAGE = 1500
CHARS_PER_TOKEN = 4

PriceKind = Literal["per_image", "per_token", "free"]


@dataclass(frozen=True)
class Free:
    """A self-hosted engine: no money changes hands."""

    kind: PriceKind = "free"
    source: str = "self-hosted"
    as_of: date | None = None


@dataclass(frozen=True)
class PerImage:
    """USD per image: one `flat` price, or a `table` by (size, quality) — quality "" for models without one."""

    table: Mapping[tuple[str, str], Decimal] = field(default_factory=dict, hash=False, compare=False)
    flat: Decimal | None = None
    source: str = ""
    as_of: date | None = None
    kind: PriceKind = "per_image"

    def per_image(self, size: str, quality: str) -> Decimal | None:
        if self.flat is not None:
            return self.flat
        return self.table.get((size, quality))


@dataclass(frozen=True)
class PerToken:
    """USD per million tokens of text input, image input and image output."""

    text_in: Decimal
    image_in: Decimal
    image_out: Decimal
    source: str = ""
    as_of: date | None = None
    kind: PriceKind = "per_token"


Price = Free | PerImage | PerToken
FREE = Free()


def usd(value: str | int | float | Decimal) -> Decimal:
    return Decimal(str(value))


# --- Estimates -----------------------------------------------------------------------------------------------------


def _area(size: str) -> int:
    dims = parse_size(size)
    if dims is not None:
        return dims[0] * dims[1]
    return AUTO_SIZE[0] * AUTO_SIZE[1]


def output_tokens(size: str, quality: str) -> int:
    """Estimated output tokens of one image of `size` ("WxH" or "auto") at `quality`."""
    base = OUTPUT_TOKENS_1024.get(quality) or OUTPUT_TOKENS_1024[AUTO_QUALITY]
    return math.ceil(base * _area(size) / (1024 * 1024))


def _money(amount: Decimal) -> Decimal:
    # Four decimal places, rounded up: an estimate is never below what the tokens cost.
    return amount.quantize(Decimal("0.0001"), rounding=ROUND_CEILING)


def estimate(
    price: Price | None,
    *,
    size: str,
    quality: str,
    count: int,
    prompt_chars: int = 0,
    input_images: int = 0,
    default_quality: str = "",
) -> Decimal | None:
    """USD for `count` images before they are made; None when the price is unknown."""
    if price is None:
        return None
    if isinstance(price, Free):
        return Decimal(0)
    if isinstance(price, PerImage):
        each = price.per_image(size, quality or default_quality)
        return None if each is None else each * count
    quality = quality or default_quality
    out = output_tokens(size, quality) * count
    text = math.ceil(prompt_chars / CHARS_PER_TOKEN)
    images = INPUT_TOKENS_PER_IMAGE * input_images
    return _money((text * price.text_in + images * price.image_in + out * price.image_out) / MILLION)


# --- Actual cost from what the answer says it used ------------------------------------------------------------------


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


@dataclass(frozen=True)
class TokenUsage:
    text_in: int
    image_in: int
    output: int
    # The answer gave input tokens without saying which were text and which images.
    input_split_known: bool = True


def token_usage(usage: Mapping[str, Any], *, sent_images: bool) -> TokenUsage | None:
    """OpenAI's `usage` object as counts, or None when it does not hold token counts.

    Older answers lack `input_tokens_details`; their input is then priced as text when no image was sent, and as
    image input when one was (the dearer of the two: a cost is never under-counted).
    """
    output = _int(usage.get("output_tokens"))
    total_in = _int(usage.get("input_tokens"))
    if output is None or total_in is None:
        return None
    details = usage.get("input_tokens_details")
    if isinstance(details, Mapping):
        text = _int(details.get("text_tokens"))
        image = _int(details.get("image_tokens"))
        if text is not None and image is not None:
            return TokenUsage(text, image, output)
    if sent_images:
        return TokenUsage(0, total_in, output, input_split_known=False)
    return TokenUsage(total_in, 0, output, input_split_known=False)


def cost_from_usage(price: PerToken, usage: TokenUsage) -> Decimal:
    total = usage.text_in * price.text_in + usage.image_in * price.image_in + usage.output * price.image_out
    return _money(total / MILLION)


def describe(price: Price | None) -> str:
    """A price in a line an admin reads."""
    if price is None:
        return "unknown"
    if isinstance(price, Free):
        return "free (self-hosted)"
    if isinstance(price, PerToken):
        return (
            f"per million tokens: text in ${price.text_in.normalize():f}, image in "
            f"${price.image_in.normalize():f}, image out ${price.image_out.normalize():f}"
        )
    if price.flat is not None:
        return f"${price.flat.normalize():f} per image"
    if not price.table:
        return "unknown"
    rows = [
        f"{size} {quality} ${value.normalize():f}".replace("  ", " ")
        for (size, quality), value in price.table.items()
    ]
    return "per image: " + ", ".join(rows)

"""A job's money: the price in force for a model (an admin's override, else the built-in one), the estimate before
it runs, and the actual cost after, with where that figure came from.

The actual cost, best source first:
1. **reported by the provider** — OpenRouter's `usage.cost`, the money it charged;
2. **computed from tokens** — OpenAI's `usage` tokens × the model's per-token prices;
3. **free** — a self-hosted engine;
4. **estimated** — the per-image price × the images made, when the provider says nothing better;
5. **unknown** — None, never $0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .catalog import ModelSpec
from .models import GenerationJob, ModelPrice
from .pricing import Free, PerToken, Price, cost_from_usage, estimate, token_usage

CostSource = GenerationJob.CostSource


def override_for(spec: ModelSpec) -> ModelPrice | None:
    """The admin's price for this model, else for its family; None when there is neither."""
    keys = [spec.id] + ([spec.family] if spec.family and spec.family != spec.id else [])
    found = {p.model: p for p in ModelPrice.objects.filter(provider=spec.provider_id, model__in=keys)}
    return next((found[key] for key in keys if key in found), None)


def price_of(spec: ModelSpec) -> Price | None:
    """The price in force: an admin's override wins over the built-in one. A self-hosted engine stays free."""
    if isinstance(spec.price, Free):
        return spec.price
    override = override_for(spec)
    return override.as_price() if override is not None else spec.price


def estimate_cost(
    spec: ModelSpec,
    *,
    size: str,
    quality: str = "",
    count: int = 1,
    prompt_chars: int = 0,
    input_images: int = 0,
    price: Price | None = None,
) -> Decimal | None:
    """USD before the job runs; None when the price is unknown."""
    return estimate(
        price if price is not None else price_of(spec),
        size=size,
        quality=quality,
        count=count,
        prompt_chars=prompt_chars,
        input_images=input_images,
        default_quality=spec.default_quality,
    )


@dataclass(frozen=True)
class ActualCost:
    amount: Decimal | None
    source: str  # a GenerationJob.CostSource value


def actual_cost(
    spec: ModelSpec | None,
    *,
    reported: Decimal | None,
    usage: Mapping[str, Any],
    images_made: int,
    sent_images: bool,
    size: str,
    quality: str,
    uncounted_images: int = 0,
    prompt_chars: int = 0,
    input_images: int = 0,
) -> ActualCost:
    """What a finished job cost, and where that figure came from (see the module docstring for the order).

    `uncounted_images` were asked for by calls that may have been billed but reported nothing: they are added at
    the estimate, and then the whole figure is an estimate.
    """
    price = price_of(spec) if spec is not None else None
    found = _actual(
        price, spec, reported, usage, images_made, sent_images, size, quality, prompt_chars, input_images
    )
    if not uncounted_images or found.source == CostSource.FREE:
        return found
    extra = _estimate(price, spec, uncounted_images, size, quality, prompt_chars, input_images)
    if extra is None:
        return ActualCost(None, CostSource.UNKNOWN)
    return ActualCost((found.amount or Decimal(0)) + extra, CostSource.ESTIMATE)


def _estimate(
    price: Price | None,
    spec: ModelSpec | None,
    images: int,
    size: str,
    quality: str,
    prompt_chars: int,
    input_images: int,
) -> Decimal | None:
    return estimate(
        price,
        size=size,
        quality=quality,
        count=images,
        prompt_chars=prompt_chars,
        input_images=input_images,
        default_quality=spec.default_quality if spec is not None else "",
    )


def _actual(
    price: Price | None,
    spec: ModelSpec | None,
    reported: Decimal | None,
    usage: Mapping[str, Any],
    images_made: int,
    sent_images: bool,
    size: str,
    quality: str,
    prompt_chars: int,
    input_images: int,
) -> ActualCost:
    if reported is not None:
        return ActualCost(reported, CostSource.PROVIDER)
    if isinstance(price, Free):
        return ActualCost(Decimal(0), CostSource.FREE)
    if isinstance(price, PerToken):
        tokens = token_usage(usage, sent_images=sent_images)
        if tokens is not None:
            return ActualCost(cost_from_usage(price, tokens), CostSource.TOKENS)
    if images_made == 0 or price is None:
        return ActualCost(None, CostSource.UNKNOWN)
    amount = _estimate(price, spec, images_made, size, quality, prompt_chars, input_images)
    return ActualCost(amount, CostSource.ESTIMATE if amount is not None else CostSource.UNKNOWN)

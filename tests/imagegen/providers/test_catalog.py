"""The catalog: limits, retirement dates, and cost estimates that never pretend an unknown price is free."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from imagegen import catalog


@pytest.mark.parametrize(
    ("provider_id", "model", "size", "quality", "count", "expected"),
    [
        ("openai", "dall-e-3", "1024x1024", "standard", 3, Decimal("0.120")),
        ("openai", "dall-e-3", "1024x1792", "hd", 2, Decimal("0.240")),
        ("openai", "dall-e-3", "1024x1024", "", 1, Decimal("0.040")),  # standard is the upstream default
        ("openai", "dall-e-2", "512x512", "", 4, Decimal("0.072")),
        ("openai", "gpt-image-1", "1536x1024", "high", 2, Decimal("0.50")),
        ("openai", "gpt-image-1-mini", "1024x1024", "low", 4, Decimal("0.020")),
        ("openai", "gpt-image-1-mini", "1536x1024", "low", 1, None),  # not in the reference: unknown
        ("openai", "gpt-image-1", "1024x1024", "auto", 1, None),
        ("openai", "gpt-image-2", "1024x1024", "high", 1, None),
        ("openai", "no-such-model", "1024x1024", "", 1, None),
        ("openrouter", "black-forest-labs/flux-schnell", "1344x768", "", 4, Decimal("0.012")),
        ("openrouter", "google/gemini-2.5-flash-image", "1024x1024", "", 1, None),
        ("stable-diffusion", "v1-5-pruned-emaonly.safetensors [6ce0161689]", "512x512", "", 8, Decimal(0)),
    ],
)
def test_estimate_cost(provider_id, model, size, quality, count, expected):
    assert catalog.estimate_cost(provider_id, model, size, quality, count) == expected


def test_dalle_models_stay_in_the_catalog_with_their_shutdown_dates():
    assert catalog.get_model("openai", "dall-e-2").shutdown_date == date(2026, 5, 12)
    dalle3 = catalog.get_model("openai", "dall-e-3")
    assert dalle3.shutdown_date == date(2026, 5, 12) and dalle3.images_per_request == 1
    assert dalle3.is_retired(date(2026, 5, 12)) and not dalle3.is_retired(date(2026, 5, 11))
    assert catalog.get_model("openai", "gpt-image-1").shutdown_date == date(2026, 10, 23)
    assert catalog.get_model("openai", "gpt-image-2").shutdown_date is None


def test_prompt_limits_and_options():
    assert [
        catalog.get_model("openai", m).max_prompt_chars for m in ("dall-e-2", "dall-e-3", "gpt-image-1")
    ] == [1000, 4000, 32000]
    assert catalog.get_model("openai", "dall-e-3").styles == ("vivid", "natural")
    assert (
        not catalog.get_model("openai", "dall-e-2").input_images
        and catalog.get_model("openai", "gpt-image-1").input_images
    )


@pytest.mark.parametrize(
    ("size", "allowed"),
    [("1024x1024", True), ("2048x1152", True), ("3840x2160", True), ("3840x2176", False), ("1000x1000", False),
     ("3840x1024", False), ("auto", True), ("big", False)],
)  # fmt: skip
def test_gpt_image_2_takes_free_sizes_within_its_rule(size, allowed):
    assert catalog.get_model("openai", "gpt-image-2").allows_size(size) is allowed


@pytest.mark.parametrize(
    ("size", "allowed"),
    [("512x512", True), ("640x384", True), ("250x256", False), ("2056x512", False), ("513x512", False)],
)
def test_stable_diffusion_sizes_are_multiples_of_8_within_256_to_2048(size, allowed):
    assert catalog.sd_checkpoint_spec("any").allows_size(size) is allowed

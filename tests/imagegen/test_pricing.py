"""Prices of the right kind: per image, per token, free — estimates before, costs from usage after.

Worked figures: gpt-image-2 costs $5 per million text tokens in, $8 image in, $30 out. One 1024×1024 image at high
quality is estimated at 6,400 output tokens = $0.192; a 400-character prompt adds 100 text tokens = $0.0005.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from imagegen import pricing
from imagegen.pricing import FREE, PerImage, PerToken, TokenUsage, cost_from_usage, estimate, token_usage
from imagegen.providers import model_spec

GPT2 = PerToken(text_in=Decimal(5), image_in=Decimal(8), image_out=Decimal(30))


@pytest.mark.parametrize(
    ("size", "quality", "count", "prompt_chars", "input_images", "expected"),
    [
        ("1024x1024", "high", 1, 400, 0, "0.1925"),  # 6,400 out + 100 text tokens
        ("1024x1024", "high", 1, 0, 0, "0.1920"),
        ("1024x1536", "medium", 2, 0, 0, "0.2160"),  # 3,600 tokens each
        ("1600x2560", "low", 1, 0, 0, "0.0821"),  # 2,735 tokens, rounded up
        ("1024x1024", "auto", 1, 0, 0, "0.1920"),  # auto is estimated as high
        ("auto", "medium", 1, 0, 0, "0.1080"),  # auto size is estimated as 1536×1024
        ("1024x1024", "high", 1, 40, 2, "0.2161"),  # 10 text + 3,000 image-in tokens
        ("1024x1024", "xhigh", 1, 0, 0, "0.2880"),
        ("1024x1024", "max", 1, 0, 0, "0.3840"),
    ],
)
def test_per_token_estimates(size, quality, count, prompt_chars, input_images, expected):
    cost = estimate(
        GPT2, size=size, quality=quality, count=count, prompt_chars=prompt_chars, input_images=input_images
    )
    assert cost == Decimal(expected)


def test_an_estimate_never_rounds_down():
    # 1 output token costs $0.00003: shown as $0.0001, not $0.
    assert estimate(GPT2, size="32x32", quality="low", count=1) == Decimal("0.0001")


@pytest.mark.parametrize(
    ("model", "size", "quality", "count", "expected"),
    [
        ("dall-e-3", "1024x1024", "standard", 3, Decimal("0.120")),
        ("dall-e-3", "1024x1792", "hd", 2, Decimal("0.240")),
        ("dall-e-3", "1024x1024", "", 1, Decimal("0.040")),  # standard is the upstream default
        ("dall-e-2", "512x512", "", 4, Decimal("0.072")),
        ("gpt-image-1", "1536x1024", "high", 2, Decimal("0.50")),
        ("gpt-image-1-mini", "1024x1024", "low", 4, Decimal("0.020")),
        ("gpt-image-1-mini", "1536x1024", "low", 1, None),  # not in the reference: unknown
        ("gpt-image-1", "1024x1024", "auto", 1, None),
        ("gpt-image-1.5", "1024x1024", "high", 1, None),  # never priced
    ],
)
def test_per_image_estimates_and_unknowns(model, size, quality, count, expected):
    spec = model_spec("openai", model)
    assert (
        estimate(spec.price, size=size, quality=quality, count=count, default_quality=spec.default_quality)
        == expected
    )


def test_free_and_unknown():
    assert estimate(FREE, size="512x512", quality="", count=8) == Decimal(0)
    assert estimate(None, size="512x512", quality="", count=1) is None
    assert estimate(PerImage(flat=Decimal("0.003")), size="1344x768", quality="", count=4) == Decimal("0.012")


@pytest.mark.parametrize(
    ("usage", "sent_images", "counts", "cost"),
    [
        (
            {"input_tokens": 50, "input_tokens_details": {"text_tokens": 40, "image_tokens": 10}, "output_tokens": 4160},
            False,
            TokenUsage(40, 10, 4160),
            "0.1251",  # 40×5 + 10×8 + 4,160×30 = 125,080 millionths
        ),
        ({"input_tokens": 50, "output_tokens": 4160}, False, TokenUsage(50, 0, 4160, False), "0.1251"),
        # Without the split, input sent with images is priced as image input: never under-counted.
        ({"input_tokens": 50, "output_tokens": 4160}, True, TokenUsage(0, 50, 4160, False), "0.1252"),
        ({"input_tokens": 0, "output_tokens": 0, "input_tokens_details": {"text_tokens": 0, "image_tokens": 0}}, False, TokenUsage(0, 0, 0), "0.0000"),
    ],
)  # fmt: skip
def test_cost_from_usage(usage, sent_images, counts, cost):
    found = token_usage(usage, sent_images=sent_images)
    assert found == counts
    assert cost_from_usage(GPT2, found) == Decimal(cost)


@pytest.mark.parametrize(
    "usage",
    [{}, {"output_tokens": 10}, {"input_tokens": 5}, {"input_tokens": "5", "output_tokens": 10}, {"input_tokens": -1, "output_tokens": 1}, {"input_tokens": True, "output_tokens": 1}],
)  # fmt: skip
def test_usage_without_token_counts_gives_no_cost(usage):
    assert token_usage(usage, sent_images=False) is None


def test_prices_describe_themselves():
    assert pricing.describe(None) == "unknown"
    assert pricing.describe(FREE) == "free (self-hosted)"
    assert pricing.describe(GPT2) == "per million tokens: text in $5, image in $8, image out $30"
    assert pricing.describe(PerImage(flat=Decimal("0.0030"))) == "$0.003 per image"

"""Model families: which ids a family names, how it labels them, what they allow, and when they retire."""

from __future__ import annotations

from datetime import date

import pytest

from imagegen.catalog import RETIREMENT_NOTICE
from imagegen.providers import model_spec
from imagegen.providers.openai import OpenAIProvider
from imagegen.sizes import PRESET_BY_KEY, fit, offered_sizes, size_of


@pytest.mark.parametrize(
    ("model_id", "label", "family"),
    [
        ("gpt-image-2", "GPT Image 2", "gpt-image-2"),
        ("gpt-image-2-2026-04-21", "GPT Image 2 (2026-04-21)", "gpt-image-2"),
        ("gpt-image-2.5-flare", "GPT Image 2.5 Flare", "gpt-image-2"),
        ("gpt-image-2.5-sunburst-2026-09-08", "GPT Image 2.5 Sunburst (2026-09-08)", "gpt-image-2"),
        ("gpt-image-2.6-sunburst", "GPT Image 2.6 Sunburst", "gpt-image-2"),
        # A newer member nobody wrote down yet is still one of the family.
        ("gpt-image-2.7-ember", "GPT Image 2.7 Ember", "gpt-image-2"),
        ("gpt-image-1", "GPT Image 1", "gpt-image-1"),
        ("gpt-image-1-mini", "GPT Image 1 mini", "gpt-image-1"),
        ("gpt-image-1.5-2025-12-16", "GPT Image 1.5 (2025-12-16)", "gpt-image-1"),
        ("dall-e-3", "DALL·E 3", "dall-e-3"),
        ("dall-e-2", "DALL·E 2", "dall-e-2"),
    ],
)
def test_family_members_and_their_labels(model_id, label, family):
    spec = model_spec("openai", model_id)
    assert spec is not None and (spec.id, spec.label, spec.family) == (model_id, label, family)


@pytest.mark.parametrize(
    "model_id", ["gpt-image-3", "gpt-4o", "dall-e-4", "gpt-image-2x", "xgpt-image-2", ""]
)
def test_ids_outside_every_family_are_unknown(model_id):
    assert model_spec("openai", model_id) is None


def test_newer_versions_offer_more_qualities_and_a_detail_choice():
    base, v25, v26 = (
        model_spec("openai", m) for m in ("gpt-image-2", "gpt-image-2.5-flare", "gpt-image-2.6-sunburst")
    )
    assert base.qualities == ("low", "medium", "high", "auto") and not base.complexities
    assert "xhigh" in v25.qualities and "max" in v25.qualities and not v25.complexities
    assert v26.complexities == ("low", "medium", "high")
    # The whole family edits, with a mask, and takes up to 16 input images.
    assert all(s.edits and s.masks and s.max_input_images == 16 for s in (base, v25, v26))


@pytest.mark.parametrize(
    ("model_id", "shutdown"),
    [
        ("dall-e-2", date(2026, 5, 12)),
        ("dall-e-3", date(2026, 5, 12)),
        ("gpt-image-1", date(2026, 10, 23)),
        ("gpt-image-1-mini", date(2026, 12, 1)),
        ("gpt-image-1.5", date(2026, 12, 1)),
        ("gpt-image-1.5-2025-12-16", date(2026, 12, 1)),  # a snapshot retires with its alias
        ("chatgpt-image-latest", date(2026, 12, 1)),
        ("gpt-image-2", None),
        ("gpt-image-2.6-sunburst-2026-11-20", None),
    ],
)
def test_catalog_shutdown_dates(model_id, shutdown):
    assert model_spec("openai", model_id).shutdown_date == shutdown


def test_retirement_notice_is_thirty_days():
    spec = model_spec("openai", "gpt-image-2").replace(shutdown_date=date(2027, 1, 10))
    assert not spec.retires_soon(date(2026, 12, 10)) and not spec.is_retired(date(2026, 12, 10))
    assert spec.retires_soon(date(2027, 1, 10) - RETIREMENT_NOTICE)
    assert spec.retires_soon(date(2027, 1, 9))
    assert not spec.retires_soon(date(2027, 1, 10)) and spec.is_retired(date(2027, 1, 10))


@pytest.mark.parametrize(
    ("size", "problem"),
    [
        ("1024x1024", ""),
        ("1600x2560", ""),  # the ebook cover, exactly
        ("2048x1152", ""),
        ("3840x2160", ""),
        ("auto", ""),
        ("1600x2561", "multiples of 16"),
        ("1000x1000", "multiples of 16"),
        ("3856x2160", "3840"),
        ("3840x1024", "3 times"),
        ("512x512", "at least 655,360 pixels"),
        ("3840x3840", "3840"),
        ("big", "width x height"),
    ],
)
def test_gpt_image_2_sizes_follow_the_family_rule_and_say_why_not(size, problem):
    found = model_spec("openai", "gpt-image-2").size_problem(size)
    assert (problem in found) if problem else found == ""


@pytest.mark.parametrize(
    ("size", "allowed"),
    [("512x512", True), ("640x384", True), ("250x256", False), ("2056x512", False), ("513x512", False)],
)
def test_self_hosted_sizes_are_multiples_of_8_within_256_to_2048(size, allowed):
    assert model_spec("stable-diffusion", "any.safetensors [abc]").allows_size(size) is allowed


def test_named_sizes_fit_each_model():
    gpt = model_spec("openai", "gpt-image-2")
    dalle3 = model_spec("openai", "dall-e-3")
    sd = model_spec("stable-diffusion", "sdxl")
    ebook = PRESET_BY_KEY["ebook-cover"]
    assert fit(ebook.width, ebook.height, gpt) == "1600x2560"
    assert fit(ebook.width, ebook.height, dalle3) == "1024x1792"  # the tallest it makes
    assert fit(ebook.width, ebook.height, sd) == "1280x2048"  # the same 5:8 shape within 2048
    labels = dict(offered_sizes(gpt))
    assert labels["1600x2560"] == "Ebook cover · 1600 × 2560"
    assert labels["1536x864"] == "Wide banner 16:9 · 1536 × 864"
    assert dict(offered_sizes(dalle3))["1024x1792"] == "Character portrait 2:3 · 1024 × 1792, nearest shape"
    # Every offered size is one the model makes.
    for spec in (gpt, dalle3, sd):
        assert all(spec.allows_size(size_of(size)) for size, _ in offered_sizes(spec))


def test_the_dialog_and_the_command_line_start_on_the_same_openai_model():
    assert OpenAIProvider.preferred_model == "gpt-image-2"

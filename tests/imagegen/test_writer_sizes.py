"""Sizes named for what writers make, mapped per model family to the nearest size the model allows, each saying
what the writer actually gets; the dialog and the command line read the same presets (imagegen.sizes)."""

from __future__ import annotations

import pytest

from imagegen.providers import model_spec
from imagegen.sizes import PRESET_BY_KEY, offered_sizes, preset_choices, print_note, print_pixels, size_of

from .test_generate_form import make_form

pytestmark = pytest.mark.django_db

GPT2 = ("openai", "gpt-image-2")
GPT1 = ("openai", "gpt-image-1")
DALLE3 = ("openai", "dall-e-3")
SD = ("stable-diffusion", "sdxl")
GEMINI = ("openrouter", "google/gemini-2.5-flash-image")


def test_print_covers_are_the_trim_with_bleed_at_300_dpi() -> None:
    assert print_pixels(6, 9) == (1838, 2775)  # 6.125 × 9.25 in
    assert print_pixels(5.5, 8.5) == (1688, 2625)
    assert print_pixels(5, 8) == (1538, 2475)
    assert [PRESET_BY_KEY[k].for_print for k in ("print-6x9", "ebook-cover")] == [True, False]


@pytest.mark.parametrize(
    ("family", "preset", "label"),
    [
        # gpt-image-2 takes any size within its rule: the preset itself, or the nearest multiple of 16.
        (GPT2, "ebook-cover", "Ebook cover · 1600 × 2560"),
        (GPT2, "print-6x9", "Print cover 6 × 9 in · 1824 × 2752, upscale to 1838 × 2775 for print"),
        (GPT2, "print-5.5x8.5", "Print cover 5.5 × 8.5 in · 1696 × 2640, crop to 1688 × 2625 for print"),
        (GPT2, "chapter-header", "Chapter header (wide) · 2400 × 800"),
        (GPT2, "portrait", "Character portrait 2:3 · 1024 × 1536"),
        (GPT2, "large-square", "Map (large square) · 2048 × 2048"),
        # gpt-image-1 makes three sizes: the cover is its portrait size, to be upscaled for print.
        (GPT1, "print-6x9", "Print cover 6 × 9 in · 1024 × 1536, upscale to 1838 × 2775 for print"),
        (
            GPT1,
            "print-5x8",
            "Print cover 5 × 8 in · 1024 × 1536, nearest shape, upscale to 1538 × 2475 for print",
        ),
        (GPT1, "ebook-cover", "Ebook cover · 1024 × 1536, nearest shape, upscale to 1600 × 2560"),
        (GPT1, "chapter-header", "Chapter header (wide) · 1536 × 1024, nearest shape, upscale to 2400 × 800"),
        (GPT1, "large-square", "Map (large square) · 1024 × 1024, upscale to 2048 × 2048"),
        (DALLE3, "portrait", "Character portrait 2:3 · 1024 × 1792, nearest shape"),
        (
            DALLE3,
            "print-6x9",
            "Print cover 6 × 9 in · 1024 × 1792, nearest shape, upscale to 1838 × 2775 for print",
        ),
        # Self-hosted engines: the same shape within 2048 px, multiples of 8.
        (SD, "print-6x9", "Print cover 6 × 9 in · 1352 × 2040, upscale to 1838 × 2775 for print"),
        (SD, "chapter-header", "Chapter header (wide) · 2040 × 680, upscale to 2400 × 800"),
        (SD, "large-square", "Map (large square) · 2048 × 2048"),
        # OpenRouter's aspect ratios.
        (GEMINI, "portrait", "Character portrait 2:3 · 832 × 1248, upscale to 1024 × 1536"),
        (
            GEMINI,
            "chapter-header",
            "Chapter header (wide) · 1344 × 768, nearest shape, upscale to 2400 × 800",
        ),
    ],
)
def test_each_preset_says_what_each_family_makes(family, preset, label) -> None:
    spec = model_spec(*family)
    choice = next(c for c in preset_choices(spec) if c.preset.key == preset)
    assert choice.label == label
    assert spec.allows_size(size_of(choice.value))


@pytest.mark.parametrize("family", [GPT2, GPT1, DALLE3, SD, GEMINI])
def test_every_preset_is_offered_once_on_every_family(family) -> None:
    spec = model_spec(*family)
    values = [value for value, _ in offered_sizes(spec)]
    assert len(values) == len(set(values))
    labels = " | ".join(label for _, label in offered_sizes(spec))
    for preset in PRESET_BY_KEY.values():
        assert labels.count(f"{preset.label} · ") == 1, preset.key


def test_a_preset_sharing_a_size_is_recorded_as_that_size(project) -> None:
    data = {"provider": "openai", "model": "dall-e-3", "prompt": "A cover", "size": "1024x1792@print-6x9",
            "quality": "standard", "style": "vivid", "count": "1"}  # fmt: skip
    form = make_form(project, data)
    assert form.is_valid(), form.errors
    assert form.options().size == "1024x1792"
    assert "size" not in form.options().values
    assert form.current_size() == "1024x1792"
    shown = make_form(project, initial=data)
    assert shown.current_size() == "1024x1792"
    # Refused outright when the mark names nothing the model offers.
    assert not make_form(project, {**data, "size": "1024x1792@nonsense"}).is_valid()


@pytest.mark.parametrize(
    ("before", "after", "note"),
    [
        ((1024, 1536), (2048, 3072), "enough for a print cover 6 × 9 in"),  # 2:3 like 6 × 9 in with bleed
        ((1840, 2776), (3680, 5552), ""),  # already enough before: nothing new to say
        ((1824, 2752), (3648, 5504), "enough for a print cover 6 × 9 in"),  # 14 px short before
        ((1024, 1792), (2048, 3584), ""),  # DALL·E 3's tall size is no cover shape without a large crop
        ((832, 1248), (1664, 2496), ""),  # 2× is not yet enough
        ((832, 1248), (3328, 4992), "enough for a print cover 6 × 9 in"),
        ((1696, 2640), (3392, 5280), ""),  # 5.5 × 8.5 in already reached at 1696 × 2640
        ((848, 1320), (1696, 2640), "enough for a print cover 5.5 × 8.5 in"),
    ],
)
def test_an_upscale_says_which_print_cover_it_makes_ready(before, after, note) -> None:
    assert print_note(before, after) == note


def test_the_upscale_form_names_the_print_cover(db) -> None:
    from types import SimpleNamespace

    from imagegen.upscale_form import UpscaleForm

    form = UpscaleForm(
        source=SimpleNamespace(width=1024, height=1536, title="Cover"),
        providers=["stable-diffusion"],
        upscalers_for=lambda provider: ["R-ESRGAN 4x+"],
    )
    labels = dict(form.fields["factor"].choices)
    assert labels[2] == "2× — 2048 × 3072 px, enough for a print cover 6 × 9 in"
    assert labels[4] == "4× — 4096 × 6144 px, enough for a print cover 6 × 9 in"

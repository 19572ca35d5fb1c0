"""Image sizes as writers name them, and the nearest size a model can make.

A preset is what a writer makes ("Ebook cover", "Print cover 6 × 9 in", "Character portrait 2:3"), with the pixels
they would ideally get. `fit()` maps it onto a model: the exact size when the model allows it, else the size it allows
that is closest in shape (and then in area). The dialog names each size it offers by the preset it serves and says
what the writer will actually get, so a writer picks "Print cover 6 × 9 in · 1024 × 1536, upscale to 1838 × 2775 for
print", not a bare "1024x1536".

Two presets may land on the same size for a model (every print cover is 1024 × 1536 on GPT Image 1). Each is still
offered: the first by the size itself, the others as "1024x1536@print-6x9", which `size_of()` reads back as the size
(the job records only the size).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .catalog import ModelSpec, SizeRule

AUTO = "auto"


# A print cover's front with bleed: 0.125 in beyond the trim at the outside edge, top and bottom, at 300 dpi.
PRINT_DPI = 300
BLEED_IN = 0.125
# The mark between a size and the preset it is offered for, when an earlier preset already has that size.
PRESET_MARK = "@"


def print_pixels(trim_width_in: float, trim_height_in: float) -> tuple[int, int]:
    """The pixels of a front cover for a trim size, with bleed, at PRINT_DPI (half pixels round up)."""
    return (
        math.ceil((trim_width_in + BLEED_IN) * PRINT_DPI - 0.5 + 1e-9),
        math.ceil((trim_height_in + 2 * BLEED_IN) * PRINT_DPI - 0.5 + 1e-9),
    )


@dataclass(frozen=True)
class SizePreset:
    key: str
    label: str
    width: int
    height: int
    for_print: bool = False

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def ratio(self) -> float:
        return self.width / self.height


def _print_cover(key: str, trim: str, width_in: float, height_in: float) -> SizePreset:
    return SizePreset(key, f"Print cover {trim} in", *print_pixels(width_in, height_in), for_print=True)


# What writers make, in the order the dialog lists them.
PRESETS: tuple[SizePreset, ...] = (
    SizePreset("square", "Square", 1024, 1024),
    SizePreset("portrait", "Character portrait 2:3", 1024, 1536),
    SizePreset("landscape", "Landscape 3:2", 1536, 1024),
    SizePreset("ebook-cover", "Ebook cover", 1600, 2560),
    _print_cover("print-6x9", "6 × 9", 6, 9),
    _print_cover("print-5.5x8.5", "5.5 × 8.5", 5.5, 8.5),
    _print_cover("print-5x8", "5 × 8", 5, 8),
    SizePreset("chapter-header", "Chapter header (wide)", 2400, 800),
    SizePreset("wide-banner", "Wide banner 16:9", 1536, 864),
    SizePreset("large-square", "Map (large square)", 2048, 2048),
)
PRESET_BY_KEY = {p.key: p for p in PRESETS}


def size_of(choice: str) -> str:
    """The size a choice of the dialog's Size stands for ("1024x1536@print-6x9" → "1024x1536")."""
    return choice.partition(PRESET_MARK)[0]


def parse_size(size: str) -> tuple[int, int] | None:
    """ "1024x1536" → (1024, 1536); anything else → None. At most 6 ASCII digits a side: "²" and 5,000 digits
    pass isdigit() but are no size."""
    width, sep, height = size.partition("x")
    if not sep or not (width.isascii() and width.isdigit() and height.isascii() and height.isdigit()):
        return None
    if len(width) > 6 or len(height) > 6 or int(width) <= 0 or int(height) <= 0:
        return None
    return int(width), int(height)


def shape(width: int, height: int) -> str:
    return "square" if width == height else ("landscape" if width > height else "portrait")


def size_label(size: str) -> str:
    """How a size reads in a list: the preset it is, else its shape."""
    if size == AUTO:
        return "Auto (the model decides)"
    dims = parse_size(size)
    if dims is None:
        return size
    width, height = dims
    preset = next((p for p in PRESETS if (p.width, p.height) == dims), None)
    if preset is not None:
        return f"{preset.label} · {width} × {height}"
    return f"{width} × {height} ({shape(width, height)})"


def _closeness(target: float, area: int, width: int, height: int) -> tuple[float, int]:
    # Shape first (log-ratio distance, symmetric for portrait and landscape), then area.
    return (abs(math.log((width / height) / target)), abs(width * height - area))


def _scaled(rule: SizeRule, ratio: float, area: int) -> tuple[int, int] | None:
    """The size `rule` allows that keeps `ratio` and comes closest to `area` pixels."""
    height = math.sqrt(area / ratio)
    width = height * ratio
    # Shrink into the rule's upper bounds, then grow into its lower ones, keeping the shape throughout.
    factor = min(1.0, rule.max_side / max(width, height))
    if rule.max_pixels:
        factor = min(factor, math.sqrt(rule.max_pixels / (width * height)))
    width, height = width * factor, height * factor
    grow = max(1.0, rule.min_side / min(width, height))
    if rule.min_pixels:
        grow = max(grow, math.sqrt(rule.min_pixels / (width * height)))
    width, height = width * grow, height * grow
    step = rule.multiple
    # Rounding to the step can cross a bound by one step: try the nearest multiples around the ideal.
    tries = sorted(
        {
            (round(width / step + dw) * step, round(height / step + dh) * step)
            for dw in (0, -1, 1)
            for dh in (0, -1, 1)
        },
        key=lambda d: _closeness(ratio, area, *d),
    )
    return next((d for d in tries if d[0] > 0 and d[1] > 0 and rule.allows(*d)), None)


def fit(width: int, height: int, spec: ModelSpec) -> str | None:
    """The size `spec` can make that is nearest to width × height; None when it takes no sizes at all."""
    exact = f"{width}x{height}"
    if spec.allows_size(exact):
        return exact
    ratio, area = width / height, width * height
    candidates: list[tuple[int, int]] = [d for s in spec.sizes if (d := parse_size(s))]
    if spec.size_rule is not None and (scaled := _scaled(spec.size_rule, ratio, area)):
        candidates.append(scaled)
    if not candidates:
        return None
    best = min(candidates, key=lambda d: _closeness(ratio, area, *d))
    return f"{best[0]}x{best[1]}"


def what_you_get(preset: SizePreset, width: int, height: int) -> str:
    """How the size a model makes serves `preset`, as the dialog says it: "" when exact, else the nearest shape
    and what to upscale (or crop) to ("1024 × 1536, upscale to 1838 × 2775 for print")."""
    notes = []
    if abs(math.log((width / height) / preset.ratio)) > 0.02:
        notes.append("nearest shape")
    purpose = " for print" if preset.for_print else ""
    if width < preset.width or height < preset.height:
        notes.append(f"upscale to {preset.width} × {preset.height}{purpose}")
    elif preset.for_print and (width, height) != (preset.width, preset.height):
        notes.append(f"crop to {preset.width} × {preset.height}{purpose}")
    elif (width, height) != (preset.width, preset.height) and not notes:
        notes.append("nearest")
    return ", ".join(notes)


@dataclass(frozen=True)
class PresetChoice:
    preset: SizePreset
    value: str  # what the dialog's Size field takes for it ("1024x1536", or "1024x1536@print-6x9")
    label: str


def preset_choices(spec: ModelSpec, presets: Iterable[SizePreset] = PRESETS) -> list[PresetChoice]:
    """Each preset fitted to `spec`, named by the preset and saying what the writer gets. A preset whose size an
    earlier one took is offered as "<size>@<preset key>"."""
    found: list[PresetChoice] = []
    taken: set[str] = set()
    for preset in presets:
        fitted = fit(preset.width, preset.height, spec)
        if not fitted:
            continue
        w, h = parse_size(fitted) or (0, 0)
        note = what_you_get(preset, w, h)
        value = fitted if fitted not in taken else f"{fitted}{PRESET_MARK}{preset.key}"
        taken.add(fitted)
        found.append(
            PresetChoice(preset, value, f"{preset.label} · {w} × {h}" + (f", {note}" if note else ""))
        )
    return found


def offered_sizes(spec: ModelSpec, presets: Iterable[SizePreset] = PRESETS) -> list[tuple[str, str]]:
    """(choice, label) for a model: each preset fitted to it (preset_choices), then its own sizes."""
    choices = {c.value: c.label for c in preset_choices(spec, presets)}
    for size in spec.sizes:
        choices.setdefault(size, size_label(size))
    return list(choices.items())


def print_covers_reached(width: int, height: int) -> list[SizePreset]:
    """The print covers a width × height image is large enough for, in their shape (a trim of at most 2 %): what
    an upscale of a cover makes it ready for."""
    return [
        p
        for p in PRESETS
        if p.for_print
        and width >= p.width
        and height >= p.height
        and abs(math.log((width / height) / p.ratio)) <= 0.02
    ]


def print_note(before: tuple[int, int], after: tuple[int, int]) -> str:
    """ "enough for a print cover 6 × 9 in", when growing `before` to `after` makes it so; "" otherwise."""
    newly = [p for p in print_covers_reached(*after) if p not in print_covers_reached(*before)]
    if not newly:
        return ""
    trims = [p.label.removeprefix("Print cover ") for p in newly]
    return f"enough for a print cover {' or '.join(trims)}"


def preset_choice(spec: ModelSpec, key: str) -> str | None:
    """The Size choice that stands for the preset named `key` on `spec` (the command line's --size print-6x9)."""
    return next((c.value for c in preset_choices(spec) if c.preset.key == key), None)

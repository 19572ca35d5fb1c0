"""Image sizes as writers name them, and the nearest size a model can make.

A preset is what a writer makes ("Ebook cover", "Portrait 2:3"), with the pixels they would ideally get. `fit()` maps
it onto a model: the exact size when the model allows it, else the size it allows that is closest in shape (and then
in area). The dialog names each size it offers by the preset it serves, so a writer picks "Ebook cover · 1600 × 2560",
not a bare "1600x2560".
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .catalog import ModelSpec, SizeRule

AUTO = "auto"


@dataclass(frozen=True)
class SizePreset:
    key: str
    label: str
    width: int
    height: int

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def ratio(self) -> float:
        return self.width / self.height


PRESETS: tuple[SizePreset, ...] = (
    SizePreset("square", "Square", 1024, 1024),
    SizePreset("portrait", "Portrait 2:3", 1024, 1536),
    SizePreset("landscape", "Landscape 3:2", 1536, 1024),
    SizePreset("ebook-cover", "Ebook cover", 1600, 2560),
    SizePreset("wide-banner", "Wide banner 16:9", 1536, 864),
    SizePreset("large-square", "Large square", 2048, 2048),
)
PRESET_BY_KEY = {p.key: p for p in PRESETS}


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


def offered_sizes(spec: ModelSpec, presets: Iterable[SizePreset] = PRESETS) -> list[tuple[str, str]]:
    """(size, label) choices for a model: each preset fitted to it (named by the preset), then its own sizes."""
    choices: dict[str, str] = {}
    for preset in presets:
        fitted = fit(preset.width, preset.height, spec)
        if fitted and fitted not in choices:
            w, h = parse_size(fitted) or (0, 0)
            exact = (w, h) == (preset.width, preset.height)
            choices[fitted] = (
                f"{preset.label} · {w} × {h}" if exact else f"{preset.label} · {w} × {h} (nearest)"
            )
    for size in spec.sizes:
        choices.setdefault(size, size_label(size))
    return list(choices.items())

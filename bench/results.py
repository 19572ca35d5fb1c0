"""A figure's result: repeated ratios reduced to median and min–max, checked against the target."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p95 of 200 samples is the 190th smallest)."""
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Figure:
    key: str
    name: str
    unit: str  # what the ratio divides, e.g. "end-to-end ÷ upstream"
    target: str  # human text, e.g. "≤ 1.05"
    samples: list[float] = field(default_factory=list)
    limit: float | None = None  # met when median <= limit (None: reported only)
    extra_checks: dict[str, bool] = field(
        default_factory=dict
    )  # other parts of the target, e.g. same query count
    details: dict[str, Any] = field(default_factory=dict)
    higher_is_better: bool = False

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def met(self) -> bool | None:
        if self.limit is None and not self.extra_checks:
            return None
        ok = all(self.extra_checks.values())
        if self.limit is not None:
            ok = ok and (self.median >= self.limit if self.higher_is_better else self.median <= self.limit)
        return ok

    def as_json(self) -> dict[str, Any]:
        return {
            "figure": self.name,
            "ratio": self.unit,
            "median": round(self.median, 4),
            "min": round(min(self.samples), 4),
            "max": round(max(self.samples), 4),
            "runs": len(self.samples),
            "samples": [round(s, 4) for s in self.samples],
            "target": self.target,
            "met": self.met,
            "checks": self.extra_checks,
            "details": self.details,
        }

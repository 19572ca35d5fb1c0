"""What we know about models: what each allows, what it costs, and the families that name them.

A fixed list of model ids is always out of date, so the catalog describes **families**: a pattern of ids (every
`gpt-image-2*`, dated snapshots included) with the rules its members share. A provider declares its families in its
own module; the upstream's live list says which members a key can use now, and every listed id that matches a family
is offered with that family's options (see `ModelFamily.spec_for`). Prices are in `imagegen.pricing`; a price nobody
knows is None and shown as unknown, never as zero.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Self

from .pricing import Price
from .sizes import AUTO, parse_size

# Cloud jobs are capped at 4 images: enough to choose from, and a mistyped count cannot run up a bill.
CLOUD_MAX_PER_JOB = 4
SELF_HOSTED_MAX_PER_JOB = 8
# A model retiring within this many days is flagged ("retires on DATE") wherever it is offered.
RETIREMENT_NOTICE = timedelta(days=30)

__all__ = [
    "AUTO",
    "CLOUD_MAX_PER_JOB",
    "RETIREMENT_NOTICE",
    "SELF_HOSTED_MAX_PER_JOB",
    "ModelFamily",
    "ModelOption",
    "ModelSpec",
    "SizeRule",
    "parse_size",
]


@dataclass(frozen=True)
class SizeRule:
    """Free-form sizes: both sides multiples of `multiple`, within bounds."""

    multiple: int
    min_side: int
    max_side: int
    max_pixels: int | None = None
    min_pixels: int | None = None
    max_aspect: float | None = None  # longest side / shortest side

    def problem(self, width: int, height: int) -> str:
        """Why width × height breaks the rule, as the end of a sentence; "" when it does not."""
        if width % self.multiple or height % self.multiple:
            return f"both sides must be multiples of {self.multiple}"
        if not (self.min_side <= width <= self.max_side and self.min_side <= height <= self.max_side):
            return f"each side must be {self.min_side} to {self.max_side} pixels"
        if self.max_aspect is not None and max(width, height) / min(width, height) > self.max_aspect:
            return f"the longer side may be at most {self.max_aspect:g} times the shorter"
        pixels = width * height
        if self.max_pixels is not None and pixels > self.max_pixels:
            return f"it may have at most {self.max_pixels:,} pixels"
        if self.min_pixels is not None and pixels < self.min_pixels:
            return f"it must have at least {self.min_pixels:,} pixels"
        return ""

    def allows(self, width: int, height: int) -> bool:
        return not self.problem(width, height)

    def summary(self) -> str:
        """The rule in a few words, for a field's help (the full rule is in `describe` and in refusals)."""
        text = f"sides multiples of {self.multiple}, up to {self.max_side} px"
        return text + (f", at most {self.max_aspect:g}:1" if self.max_aspect else "")

    def describe(self) -> str:
        parts = [f"sides multiples of {self.multiple}, {self.min_side}–{self.max_side} px"]
        if self.max_aspect:
            parts.append(f"aspect up to {self.max_aspect:g}:1")
        if self.min_pixels:
            parts.append(f"at least {self.min_pixels:,} pixels")
        if self.max_pixels:
            parts.append(f"at most {self.max_pixels:,} pixels")
        return ", ".join(parts)


@dataclass(frozen=True)
class ModelSpec:
    """One model's rules. The generation options (imagegen.options) read these fields to decide what to offer."""

    provider_id: str
    id: str
    label: str
    family: str = ""  # the ModelFamily key it belongs to
    sizes: tuple[str, ...] = ("1024x1024",)  # the sizes offered by name; "auto" lets the model decide
    size_rule: SizeRule | None = None  # when set, any WxH it allows is valid too
    default_size: str = ""  # "" → the first of `sizes`
    qualities: tuple[str, ...] = ()
    default_quality: str = ""  # what the upstream uses when no quality is sent (it decides the price)
    styles: tuple[str, ...] = ()
    complexities: tuple[str, ...] = ()
    images_per_request: int = 1
    max_images_per_job: int = CLOUD_MAX_PER_JOB
    max_prompt_chars: int = 4000
    negative_prompt: bool = False
    seed: bool = False
    steps: bool = False
    cfg_scale: bool = False
    samplers: tuple[str, ...] = ()  # self-hosted engines: the names their live lists give
    schedulers: tuple[str, ...] = ()
    edits: bool = False  # can change an existing image from an instruction
    masks: bool = False  # takes a painted mask with an edit
    strength: bool = False  # an edit takes how far it may move from the image (img2img's denoising strength)
    max_input_images: int = 0
    price: Price | None = field(default=None, hash=False, compare=False)
    shutdown_date: date | None = None
    extra: dict[str, object] = field(default_factory=dict, hash=False, compare=False)

    @property
    def input_images(self) -> bool:
        return self.max_input_images > 0

    @property
    def initial_size(self) -> str:
        return self.default_size or (self.sizes[0] if self.sizes else "")

    @property
    def initial_quality(self) -> str:
        """The quality a new request starts on: medium where offered (a sensible, priced middle), else the default."""
        if not self.qualities:
            return ""
        if "medium" in self.qualities:
            return "medium"
        return self.default_quality if self.default_quality in self.qualities else self.qualities[0]

    def size_problem(self, size: str) -> str:
        """Why this model cannot make `size`, as a sentence; "" when it can."""
        if size in self.sizes:
            return ""
        dims = parse_size(size)
        offered = ", ".join(self.sizes)
        if self.size_rule is None:
            return f"{self.label} makes only these sizes: {offered}."
        if dims is None:
            return f"Write a size as width x height in pixels, e.g. {self.initial_size}."
        problem = self.size_rule.problem(*dims)
        return f"{self.label} cannot make {dims[0]}x{dims[1]}: {problem}." if problem else ""

    def allows_size(self, size: str) -> bool:
        return not self.size_problem(size)

    def is_retired(self, today: date) -> bool:
        return self.shutdown_date is not None and today >= self.shutdown_date

    def retires_soon(self, today: date) -> bool:
        return self.shutdown_date is not None and today < self.shutdown_date <= today + RETIREMENT_NOTICE

    @property
    def retiring_on(self) -> date | None:
        """The shutdown date when it falls within the notice period from today (UTC), else None."""
        today = datetime.now(UTC).date()
        return self.shutdown_date if self.retires_soon(today) else None

    def replace(self, **changes: object) -> Self:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]  # fields are checked by replace at run time


@dataclass(frozen=True)
class ModelOption(ModelSpec):
    """A model as offered right now: the spec plus whether this key/endpoint can use it, and why not."""

    available: bool = True
    unavailable_reason: str = ""
    source: str = "catalog"  # "live": confirmed by the upstream's list; "catalog": the list was not available
    note: str = ""
    # False for a dated snapshot whose alias is offered too ("GPT Image 2 (2026-04-21)" beside "GPT Image 2"): the
    # dialog's menu shows the alias only, and the snapshot when it is asked for by id (Generate again, the CLI).
    in_menu: bool = True

    @classmethod
    def from_spec(cls, spec: ModelSpec, **changes: object) -> ModelOption:
        values = {f.name: getattr(spec, f.name) for f in dataclasses.fields(ModelSpec)}
        return cls(**{**values, **changes})


SNAPSHOT_DATE = re.compile(r"-\d{4}-\d{2}-\d{2}$")  # "gpt-image-2-2026-04-21": a dated build of an alias


@dataclass(frozen=True)
class ModelFamily:
    """Every model id matching `pattern` (a full match), with the rules they share in `template`.

    `label_for` names a member from the pattern's match ("gpt-image-2.6-sunburst" → "GPT Image 2.6 Sunburst");
    `adjust` changes the template for a member (a newer version that offers more qualities). `known_ids` are the
    members we know exist, offered when the live list cannot be fetched; `shutdown` holds the catalog's own
    retirement dates by id, for upstreams whose list does not say.
    """

    key: str
    label: str
    pattern: str
    template: ModelSpec
    label_for: Callable[[re.Match[str]], str] | None = None
    adjust: Callable[[ModelSpec, re.Match[str]], ModelSpec] | None = None
    known_ids: tuple[str, ...] = ()
    shutdown: dict[str, date] = field(default_factory=dict, hash=False, compare=False)

    def spec_for(self, model_id: str) -> ModelSpec | None:
        match = re.fullmatch(self.pattern, model_id)
        if match is None:
            return None
        label = self.label_for(match) if self.label_for else self.label
        spec = self.template.replace(id=model_id, label=label, family=self.key)
        if self.adjust is not None:
            spec = self.adjust(spec, match)
        undated = SNAPSHOT_DATE.sub("", model_id)  # a dated snapshot retires with its alias
        shutdown = self.shutdown.get(model_id) or self.shutdown.get(undated) or self.shutdown.get(self.key)
        return spec.replace(shutdown_date=shutdown) if shutdown else spec


def match_family(families: Iterable[ModelFamily], model_id: str) -> ModelSpec | None:
    """The spec of `model_id` from the first family that names it, or None."""
    for family in families:
        spec = family.spec_for(model_id)
        if spec is not None:
            return spec
    return None


def fold_snapshots(options: list[ModelOption]) -> list[ModelOption]:
    """Dated snapshots out of the menu where their alias is offered: writers choose a model, not a build of it."""
    aliases = {o.id for o in options if o.available and not SNAPSHOT_DATE.search(o.id)}
    return [
        o.replace(in_menu=False) if o.available and SNAPSHOT_DATE.sub("", o.id) in aliases - {o.id} else o
        for o in options
    ]


def snapshot_suffix(match: re.Match[str]) -> str:
    """ " (2026-04-21)" for a dated snapshot (a `date` group in the pattern), else ""."""
    when = match.groupdict().get("date")
    return f" ({when})" if when else ""

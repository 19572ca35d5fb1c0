"""How many images were made and what they cost: per month, per user, per provider.

Spend follows the budget's rule (limits.spend_this_month): a job's actual cost where known (reported by the provider,
computed from its tokens, or free), else its estimate — counting only jobs that may have cost something (unfinished,
made an image, or have a cost on record). A job that failed before any image and reported nothing was not charged
upstream, so it adds nothing here either. A job whose cost nobody knows is counted apart ("unknown") and never
added as $0. The admin's usage page and `manage.py imagegen usage` both read these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, TypedDict

from django.db.models import Case, Count, DecimalField, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from .config import PROVIDER_LABELS
from .limits import start_of_month
from .models import MAY_HAVE_COST, GenerationJob

Grouping = Literal["user", "provider", "model", "project"]

# The budget's own rule (imagegen.models), so every total here agrees with what the budget counts.
_MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=4)
_ZERO = Value(Decimal(0), output_field=_MONEY)

# What each grouping is keyed by in the database, and how it is named to an admin.
_GROUP_FIELDS: dict[str, str] = {
    "user": "user__username",
    "provider": "provider",
    "model": "model",
    "project": "project_title",
}


@dataclass(frozen=True)
class Usage:
    """Totals over some jobs. `estimated` is the part of `spend` that is an estimate (no reported cost);
    `unpriced` counts charged jobs whose price nobody knows, so the spend is a lower bound when it is above 0."""

    jobs: int = 0
    images: int = 0
    spend: Decimal = Decimal(0)
    estimated: Decimal = Decimal(0)
    unpriced: int = 0


@dataclass(frozen=True)
class MonthUsage(Usage):
    month: date = date.min  # the first day of the month, in the site's time zone


@dataclass(frozen=True)
class GroupUsage(Usage):
    key: str = ""  # the user name, provider id, model id or project title
    label: str = ""  # how to show it


def _aggregates() -> dict[str, object]:
    charged_cost = Case(
        When(MAY_HAVE_COST, then=Coalesce("actual_cost", "estimated_cost")),
        default=None,
        output_field=_MONEY,
    )
    # The part of the spend that is an estimate: no actual figure, or one worked out from the price per image.
    estimated_part = Case(
        When(
            MAY_HAVE_COST & (Q(actual_cost__isnull=True) | Q(cost_source=GenerationJob.CostSource.ESTIMATE)),
            then=Coalesce("actual_cost", "estimated_cost"),
        ),
        default=None,
        output_field=_MONEY,
    )
    unpriced = Case(
        When(MAY_HAVE_COST & Q(actual_cost__isnull=True, estimated_cost__isnull=True), then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    return {
        "jobs": Count("pk"),
        "images": Coalesce(Sum("images_made"), 0),
        "spend": Coalesce(Sum(charged_cost), _ZERO),
        "estimated": Coalesce(Sum(estimated_part), _ZERO),
        "unpriced": Coalesce(Sum(unpriced), 0),
    }


class UsageFields(TypedDict):
    """Usage's fields, as read from one aggregated row."""

    jobs: int
    images: int
    spend: Decimal
    estimated: Decimal
    unpriced: int


def _usage_fields(row: Mapping[str, Any]) -> UsageFields:
    return {
        "jobs": int(row["jobs"] or 0),
        "images": int(row["images"] or 0),
        "spend": Decimal(row["spend"] or 0),
        "estimated": Decimal(row["estimated"] or 0),
        "unpriced": int(row["unpriced"] or 0),
    }


def jobs_between(since: datetime | None = None, until: datetime | None = None) -> QuerySet[GenerationJob]:
    jobs = GenerationJob.objects.all()
    if since is not None:
        jobs = jobs.filter(created_at__gte=since)
    if until is not None:
        jobs = jobs.filter(created_at__lt=until)
    return jobs


def usage_of(jobs: QuerySet[GenerationJob]) -> Usage:
    """Totals over any set of jobs, e.g. the admin changelist's filtered queryset."""
    # order_by(): the model's default ordering must not leak into the aggregate query.
    return Usage(**_usage_fields(jobs.order_by().aggregate(**_aggregates())))


def usage_total(since: datetime | None = None, until: datetime | None = None) -> Usage:
    return usage_of(jobs_between(since, until))


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def _month_of(value: datetime | date) -> date:
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    return date(value.year, value.month, 1)


def usage_per_month(since: datetime, until: datetime | None = None) -> list[MonthUsage]:
    """One row per calendar month from `since`'s month to `until`'s (default now), oldest first; empty months
    included, so a chart's gaps are real gaps."""
    until_month = _month_of(until or timezone.now())
    rows = (
        jobs_between(since, until)
        .order_by()
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(**_aggregates())
    )
    found = {_month_of(row["month"]): _usage_fields(row) for row in rows}
    months = []
    month = _month_of(since)
    while month <= until_month:
        months.append(MonthUsage(month=month, **found[month]) if month in found else MonthUsage(month=month))
        month = add_months(month, 1)
    return months


def usage_by_month(months: int = 12, now: datetime | None = None) -> list[MonthUsage]:
    """The last `months` calendar months, this one included, oldest first."""
    first = start_of_month(now)
    oldest = add_months(first.date(), -(months - 1))
    # replace() on the local midnight keeps the site's time zone, whatever its offset that month.
    return usage_per_month(first.replace(year=oldest.year, month=oldest.month), now)


def _label(grouping: str, key: str | None) -> str:
    if grouping == "provider":
        return PROVIDER_LABELS.get(key or "", key or "")
    if grouping == "user" and key is None:
        return "(deleted user)"
    if grouping == "project" and not key:
        return "(no project)"
    return key or ""


def usage_by(
    grouping: Grouping, since: datetime | None = None, until: datetime | None = None
) -> list[GroupUsage]:
    """Totals per user, provider, model or project between `since` and `until`; highest spend first, then most
    images, so the rows an admin asks about come first."""
    try:
        field = _GROUP_FIELDS[grouping]
    except KeyError:
        raise ValueError(
            f"cannot group usage by {grouping!r}; use one of {', '.join(_GROUP_FIELDS)}"
        ) from None
    rows = jobs_between(since, until).order_by().values(field).annotate(**_aggregates())
    result = [
        GroupUsage(key=row[field] or "", label=_label(grouping, row[field]), **_usage_fields(row))
        for row in rows
    ]
    return sorted(result, key=lambda r: (-r.spend, -r.images, r.label.lower()))


def format_usd(amount: Decimal | None) -> str:
    """Dollars to the cent, or to the hundredth of a cent when there is more (FLUX costs $0.003 an image):
    rounding a total to the cent would hide what the rows beside it add up to."""
    if amount is None:
        return "unknown"
    cents = amount.quantize(Decimal("0.01"))
    if cents == amount:
        return f"${cents:,}"
    return f"${amount.quantize(Decimal('0.0001')):,}"


def cost_text(job: GenerationJob) -> str:
    """A job's money in a line: the estimate, and once it is over, what it cost and how we know — or that it may
    have been charged though nothing came back. The job panel and `imagegen generate` both say this."""
    from .providers import model_spec  # the registry imports nothing of ours; imported late all the same

    spec = model_spec(job.provider, job.model)
    if job.cost_source == GenerationJob.CostSource.FREE or (
        spec is not None and spec.price and spec.price.kind == "free"
    ):
        return "free (self-hosted)"
    if job.estimated_cost is None:
        estimate = "estimate unknown"
    elif job.estimate_assumed:
        estimate = f"about {format_usd(job.estimated_cost)} assumed (the price is unknown)"
    else:
        estimate = f"estimate {format_usd(job.estimated_cost)}"
    if not job.is_finished:
        return estimate
    if job.actual_cost is not None:
        return f"{estimate} · cost {format_usd(job.actual_cost)}, {job.get_cost_source_display()}"
    if job.may_have_cost:
        return f"{estimate} · may have been charged (no answer came back), so the estimate counts"
    if job.images_made == 0:
        return f"{estimate} · nothing charged"
    return f"{estimate} · cost unknown"


def spend_text(row: Usage) -> str:
    """The spend as a person reads it: "$1.20", or "$1.20 + 2 jobs of unknown cost" (never folded in as $0)."""
    text = format_usd(row.spend)
    if row.unpriced:
        text += f" + {row.unpriced} job{'s' if row.unpriced != 1 else ''} of unknown cost"
    return text


def month_label(month: date, short: bool = False) -> str:
    return month.strftime("%b %Y" if short else "%B %Y")


def total(rows: Iterable[Usage]) -> Usage:
    rows = list(rows)
    return Usage(
        jobs=sum(r.jobs for r in rows),
        images=sum(r.images for r in rows),
        spend=sum((r.spend for r in rows), Decimal(0)),
        estimated=sum((r.estimated for r in rows), Decimal(0)),
        unpriced=sum(r.unpriced for r in rows),
    )


# --- As text, for `manage.py imagegen usage` ---------------------------------------------------------------------


def _table(first: str, rows: Sequence[tuple[str, Usage]]) -> list[str]:
    """A plain-text table: the name left-aligned, the numbers right-aligned."""
    cells = [(first, "JOBS", "IMAGES", "SPEND", "ESTIMATED", "UNKNOWN")]
    cells += [
        (name, str(u.jobs), str(u.images), format_usd(u.spend), format_usd(u.estimated), str(u.unpriced))
        for name, u in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return [
        "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)).rstrip()
        for row in cells
    ]


def text_report(since: datetime) -> list[str]:
    """Totals since `since`, then per month, per provider and per user."""
    overall = usage_total(since)
    lines = [
        f"Since {since:%Y-%m-%d} ({timezone.get_current_timezone_name()}):",
        f"{overall.jobs} job(s), {overall.images} image(s), spend {format_usd(overall.spend)}"
        f" (estimated: {format_usd(overall.estimated)}).",
    ]
    if overall.unpriced:
        lines.append(
            f"{overall.unpriced} job(s) have a cost nobody knows (a model with no known price); they are not in "
            "the spend, which is therefore a lower bound (UNKNOWN counts them)."
        )
    sections: list[tuple[str, str, list[tuple[str, Usage]]]] = [
        ("Per month", "MONTH", [(month_label(m.month), m) for m in usage_per_month(since)]),
        ("Per provider", "PROVIDER", [(r.label, r) for r in usage_by("provider", since)]),
        ("Per user", "USER", [(r.label, r) for r in usage_by("user", since)]),
    ]
    for title, first, rows in sections:
        lines += ["", title, *(_table(first, rows) if rows else ["  (none)"])]
    return lines

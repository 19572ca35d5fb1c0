"""The limits a writer meets when submitting: images per day, the monthly budget, and unfinished jobs.

Each refusal says which limit, how much is used, and when it resets, so the writer knows what to do.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.db.models import Case, F, Sum, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from .config import EffectiveConfig
from .models import MAY_HAVE_COST, GenerationJob

# A writer may queue a few generations at once, but not flood the worker (or the bill) by double-clicking.
MAX_UNFINISHED_PER_USER = 3


class LimitReached(Exception):
    """A limit stops this request; `str()` is the message for the writer."""

    def __init__(self, message: str, *, limit: str) -> None:
        super().__init__(message)
        self.message = message
        self.limit = limit


@dataclass(frozen=True)
class Counted:
    """What a request counts against the budget: its estimate, or an assumed price when nobody knows the real one."""

    cost: Decimal | None
    assumed: bool = False


def start_of_day(now: datetime | None = None) -> datetime:
    local = timezone.localtime(now or timezone.now())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def start_of_month(now: datetime | None = None) -> datetime:
    return start_of_day(now).replace(day=1)


def start_of_next_month(now: datetime | None = None) -> datetime:
    first = start_of_month(now)
    days = calendar.monthrange(first.year, first.month)[1]
    return first + timedelta(days=days)


def _in(delta: timedelta) -> str:
    minutes = max(1, int(delta.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def images_used_today(user: User, now: datetime | None = None) -> int:
    """Images counted against the daily limit: made by finished jobs, asked for by unfinished ones."""
    counted = Case(
        When(status__in=GenerationJob.UNFINISHED, then=F("images_requested")),
        default=F("images_made"),
    )
    total = GenerationJob.objects.filter(user=user, created_at__gte=start_of_day(now)).aggregate(
        n=Coalesce(Sum(counted), 0)
    )["n"]
    return int(total)


def spend_this_month(now: datetime | None = None) -> Decimal:
    """Spend across all users this month: the actual cost where known, else the estimate of jobs that may cost.

    Jobs that failed or were cancelled without an image, without a cost on record, and without any chance of having
    been billed (imagegen.models.MAY_HAVE_COST) were not charged upstream.
    A job whose cost nobody knows adds nothing here; under the "refuse" policy such jobs cannot start while a
    budget is set, and under "allow" they carry an assumed estimate, so the budget never counts them as $0.
    """
    charged = GenerationJob.objects.filter(created_at__gte=start_of_month(now)).filter(MAY_HAVE_COST)
    total = charged.aggregate(s=Sum(Coalesce("actual_cost", "estimated_cost")))["s"]
    return Decimal(total or 0)


def check_limits(
    *, user: User, count: int, estimated_cost: Decimal | None, config: EffectiveConfig
) -> Counted:
    """Raise LimitReached when this request would pass a limit; else return what it counts against the budget."""
    now = timezone.now()
    unfinished = GenerationJob.objects.filter(user=user, status__in=GenerationJob.UNFINISHED).count()
    if unfinished >= MAX_UNFINISHED_PER_USER:
        raise LimitReached(
            f"You already have {unfinished} generations queued or running (at most {MAX_UNFINISHED_PER_USER}). "
            "Wait for one to finish, or cancel one, then try again.",
            limit="unfinished",
        )

    daily = config.daily_limit.value
    if daily is not None:
        used = images_used_today(user, now)
        if used + count > daily:
            reset = start_of_day(now) + timedelta(days=1)
            left = max(0, daily - used)
            raise LimitReached(
                f"Daily image limit: you have used {used} of {daily} images today, and this request asks for "
                f"{count} ({left} left). The limit resets at midnight ({timezone.get_current_timezone_name()}), "
                f"in {_in(reset - now)}.",
                limit="daily",
            )

    budget = config.monthly_budget.value
    if budget is None or estimated_cost == 0:  # a free (self-hosted) request spends nothing
        return Counted(estimated_cost)
    counted = Counted(estimated_cost)
    if estimated_cost is None:
        if config.unknown_price.value != "allow":
            raise LimitReached(
                f"This model's price is unknown, so it cannot be checked against the monthly budget of "
                f"${budget:.2f}. Choose a model with a known price, or ask an admin.",
                limit="budget",
            )
        counted = Counted(config.assumed_price.value * count, assumed=True)
    spent = spend_this_month(now)
    assert counted.cost is not None
    if spent + counted.cost > budget:
        reset_on = f"{start_of_next_month(now):%B} 1"
        what = "an assumed" if counted.assumed else "about"
        raise LimitReached(
            f"Monthly budget: ${spent:.2f} of ${budget:.2f} is spent this month, and this request would add "
            f"{what} ${counted.cost:.2f}. The budget resets on {reset_on}; an admin can raise it.",
            limit="budget",
        )
    return counted

"""Recovering from a crashed worker: jobs left running long past their provider's timeout, and queued jobs no
worker picked up, are failed with a message that says what to do. Run by the worker (once a minute) and by
`manage.py imagegen cleanup`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from .config import PROVIDER_LABELS, EffectiveConfig, get_config
from .models import GenerationJob

Status = GenerationJob.Status

# How long a job may run past its provider's timeout before we call it stuck: three attempts plus backoff.
STUCK_MARGIN = timedelta(minutes=2)
# A queued job nobody picked up in this long means no worker is running.
QUEUED_TOO_LONG = timedelta(hours=1)


def stuck_after(provider_id: str, config: EffectiveConfig) -> timedelta:
    timeout = config.provider(provider_id).timeout.value or 120
    return timedelta(seconds=float(timeout) * 3) + STUCK_MARGIN


def jobs_fail_stuck(*, now: Any = None, config: EffectiveConfig | None = None) -> int:
    """Fail jobs a crashed worker left running, and queued jobs no worker picked up. Returns how many."""
    now = now or timezone.now()
    config = config or get_config()
    count = 0
    for provider_id in PROVIDER_LABELS:
        count += GenerationJob.objects.filter(
            provider=provider_id, status=Status.RUNNING, started_at__lt=now - stuck_after(provider_id, config)
        ).update(
            status=Status.FAILED,
            finished_at=now,
            error_class="unavailable",
            error_message="The job stopped responding long after the provider's timeout (the worker may have "
            "restarted). Try again.",
        )
    count += GenerationJob.objects.filter(status=Status.QUEUED, created_at__lt=now - QUEUED_TOO_LONG).update(
        status=Status.FAILED,
        finished_at=now,
        error_class="unavailable",
        error_message="No worker picked this job up within an hour. Ask an admin to check that the worker "
        "(manage.py db_worker) is running, then try again.",
    )
    return count

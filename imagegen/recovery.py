"""Recovering from a crashed worker.

A running job beats a heartbeat (imagegen/progress.py). When the worker running it dies — killed, out of memory, the
machine restarted — the heartbeat stops, and the job is failed here with a message that says what happened and what
to do, together with its task-queue row, so neither stays "running". Queued jobs no worker picked up within an hour
are failed too (no worker is running at all). Called by every worker when it starts and now and then while idle
(imagegen/worker.py), by the writer's Cancel, and by `manage.py imagegen cleanup`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import GenerationJob, JobPreview
from .progress import HEARTBEAT_STALE_AFTER

log = logging.getLogger(__name__)

Status = GenerationJob.Status

# A queued job nobody picked up in this long means no worker is running.
QUEUED_TOO_LONG = timedelta(hours=1)

WORKER_LOST = (
    "The worker running this job stopped (no sign of life for over a minute), so its images, if any, are lost. "
    "Try again; if it keeps happening, ask an admin to check the worker (manage.py db_worker)."
)
NO_WORKER = (
    "No worker picked this job up within an hour. Ask an admin to check that the worker (manage.py db_worker) is "
    "running, then try again."
)


def stale_running(now: datetime | None = None) -> Q:
    """Running jobs whose heartbeat stopped (a job from before heartbeats counts from when it started)."""
    cutoff = (now or timezone.now()) - HEARTBEAT_STALE_AFTER
    return Q(status=Status.RUNNING) & (
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )


def jobs_fail_stuck(*, now: datetime | None = None) -> int:
    """Fail running jobs whose worker died and queued jobs no worker picked up; end their task rows. How many."""
    now = now or timezone.now()
    # Read first, write only when there is something to fail: idle workers call this every few seconds, and on
    # SQLite even an UPDATE that changes nothing takes the write lock.
    stale = list(GenerationJob.objects.filter(stale_running(now)).values_list("pk", "task_id"))
    abandoned = list(
        GenerationJob.objects.filter(status=Status.QUEUED, created_at__lt=now - QUEUED_TOO_LONG).values_list(
            "pk", "task_id"
        )
    )
    count = 0
    if stale:
        failed = _fail(
            GenerationJob.objects.filter(stale_running(now), pk__in=[pk for pk, _ in stale]),
            WORKER_LOST,
            now,
            may_have_cost=True,
        )
        count += failed
        _end_task_rows([task for _, task in stale], WORKER_LOST, now)
        log.warning("Failed %d running job(s) whose worker stopped: %s", failed, [pk for pk, _ in stale])
    if abandoned:
        count += _fail(
            GenerationJob.objects.filter(status=Status.QUEUED, pk__in=[pk for pk, _ in abandoned]),
            NO_WORKER,
            now,
        )
    return count


def job_fail_if_stale(job: GenerationJob, *, now: datetime | None = None) -> bool:
    """Fail this one job if its worker died (the writer pressed Cancel on it). True when it was failed."""
    now = now or timezone.now()
    if not _fail(
        GenerationJob.objects.filter(stale_running(now), pk=job.pk), WORKER_LOST, now, may_have_cost=True
    ):
        return False
    _end_task_rows([job.task_id], WORKER_LOST, now)
    return True


def _fail(jobs: QuerySet[GenerationJob], message: str, now: datetime, *, may_have_cost: bool = False) -> int:
    """Fail jobs; `may_have_cost` for running ones, whose request may already have reached the upstream (a dead
    worker's job counts against the budget at its estimate, never as $0). A dead worker's last preview goes too."""
    JobPreview.objects.filter(job__in=jobs).delete()
    return jobs.update(
        status=Status.FAILED,
        finished_at=now,
        error_class="unavailable",
        error_message=message,
        **({"may_have_cost": True} if may_have_cost else {}),
    )


def _end_task_rows(task_ids: Iterable[str], message: str, now: datetime) -> None:
    """Mark the dead worker's task-queue rows failed too, so the queue's own record does not say "running"."""
    ids = [task_id for task_id in task_ids if task_id]
    if not ids:
        return
    try:
        from django_tasks import TaskResultStatus
        from django_tasks_db.models import DBTaskResult
    except ImportError:  # another task backend keeps its own records
        return
    DBTaskResult.objects.filter(id__in=ids, status=TaskResultStatus.RUNNING).update(
        status=TaskResultStatus.FAILED,
        finished_at=now,
        exception_class_path="imagegen.recovery.WorkerLost",
        traceback=message,
        return_value=None,
    )

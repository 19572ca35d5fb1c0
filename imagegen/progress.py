"""Watching a running job: its heartbeat, progress the provider reports, and the writer's Cancel."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from .models import GenerationJob

log = logging.getLogger(__name__)

# A running job says it is alive this often (GenerationJob.heartbeat_at). Recovery (imagegen/recovery.py) fails a
# running job whose heartbeat is older than HEARTBEAT_STALE_AFTER: six missed beats, so a busy database or a long
# pause never fails a live job, while a killed worker's job is failed about a minute after it died.
HEARTBEAT_EVERY = timedelta(seconds=10)
HEARTBEAT_STALE_AFTER = timedelta(seconds=60)


class JobMonitor(threading.Thread):
    """Beside a running generation: beats the heartbeat, writes reported progress and notices cancellation.

    Providers report progress from their own threads; this one thread owns the database writes (and closes its
    connection), and checks the cancel flag at most twice a second. A failed write is logged and tried again on the
    next round: the heartbeat must outlive a database hiccup, or a live job would look dead.
    """

    def __init__(self, job_id: int, interval: float = 0.5) -> None:
        super().__init__(daemon=True, name=f"job-{job_id}-monitor")
        self.job_id = job_id
        self.interval = interval
        self.progress: float | None = None
        self.cancelled = False
        self._written: float | None = None
        self._last_beat = time.monotonic()  # the claim wrote the first heartbeat
        self._halt = threading.Event()

    def __enter__(self) -> JobMonitor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def report(self, fraction: float) -> None:
        self.progress = max(0.0, min(1.0, fraction))

    def should_cancel(self) -> bool:
        return self.cancelled

    def run(self) -> None:
        try:
            while not self._halt.wait(self.interval):
                try:
                    self._round()
                except Exception:  # a monitor must never take the job down with it
                    log.warning("Job %s: monitor could not reach the database; trying again", self.job_id)
                    connection.close()
        finally:
            connection.close()

    def _round(self) -> None:
        updates: dict[str, Any] = {}
        if self.progress is not None and self.progress != self._written:
            updates["progress"] = self.progress
        beat = time.monotonic() - self._last_beat >= HEARTBEAT_EVERY.total_seconds()
        if beat:
            updates["heartbeat_at"] = timezone.now()
        rows = GenerationJob.objects.filter(pk=self.job_id)
        if updates:
            rows.filter(status=GenerationJob.Status.RUNNING).update(**updates)
            self._written = updates.get("progress", self._written)
            if beat:
                self._last_beat = time.monotonic()
        self.cancelled = rows.filter(cancel_requested=True).exists()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)

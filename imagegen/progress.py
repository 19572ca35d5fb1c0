"""Watching a running job: progress the provider reports, and the writer's Cancel."""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.db import connection

from .models import GenerationJob

log = logging.getLogger(__name__)


class JobMonitor(threading.Thread):
    """Beside a running generation: writes reported progress and notices cancellation.

    Providers report progress from their own threads; this one thread owns the database writes (and closes its
    connection), and checks the cancel flag at most once a second.
    """

    def __init__(self, job_id: int, interval: float = 0.5) -> None:
        super().__init__(daemon=True, name=f"job-{job_id}-monitor")
        self.job_id = job_id
        self.interval = interval
        self.progress: float | None = None
        self.cancelled = False
        self._written: float | None = None
        self._halt = threading.Event()

    def report(self, fraction: float) -> None:
        self.progress = max(0.0, min(1.0, fraction))

    def should_cancel(self) -> bool:
        return self.cancelled

    def run(self) -> None:
        try:
            while not self._halt.wait(self.interval):
                updates: dict[str, Any] = {}
                if self.progress is not None and self.progress != self._written:
                    updates["progress"] = self._written = self.progress
                rows = GenerationJob.objects.filter(pk=self.job_id)
                if updates:
                    rows.update(**updates)
                self.cancelled = rows.filter(cancel_requested=True).exists()
        except Exception:  # a monitor must never take the job down with it
            log.exception("Job %s: progress monitor stopped", self.job_id)
        finally:
            connection.close()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)

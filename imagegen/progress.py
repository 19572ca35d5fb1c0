"""Watching a running job: its heartbeat, progress and previews the provider reports, and the writer's Cancel."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from .models import GenerationJob, JobPreview
from .providers.results import Preview

log = logging.getLogger(__name__)

# A running job says it is alive this often (GenerationJob.heartbeat_at). Recovery (imagegen/recovery.py) fails a
# running job whose heartbeat is older than HEARTBEAT_STALE_AFTER: six missed beats, so a busy database or a long
# pause never fails a live job, while a killed worker's job is failed about a minute after it died.
HEARTBEAT_EVERY = timedelta(seconds=10)
HEARTBEAT_STALE_AFTER = timedelta(seconds=60)
# Progress and previews reach the database at most this often: each write wakes every open dialog on the job.
PROGRESS_EVERY = 1.0


class JobMonitor(threading.Thread):
    """Beside a running generation: beats the heartbeat, writes reported progress and notices cancellation.

    Providers report progress (and previews) from their own threads; this one thread owns the database writes (and
    closes its connection). It checks the cancel flag every `interval` (twice a second) and writes progress and the
    latest preview at most once every PROGRESS_EVERY (a second) — at once when that much time has passed. A
    failed write is logged and tried again on the next round: the heartbeat must outlive a database hiccup, or a
    live job would look dead. The preview row goes when the job ends (services.job_run), never to a file.
    """

    def __init__(self, job_id: int, interval: float = 0.5, progress_every: float = PROGRESS_EVERY) -> None:
        super().__init__(daemon=True, name=f"job-{job_id}-monitor")
        self.job_id = job_id
        self.interval = interval
        self.progress_every = progress_every
        self.progress: float | None = None
        self.preview: Preview | None = None
        self.cancelled = False
        self._written: float | None = None
        self._preview_written: Preview | None = None
        self._previews = 0
        self._last_progress_write = float("-inf")
        self._last_beat = time.monotonic()  # the claim wrote the first heartbeat
        self._halt = threading.Event()
        self._due = (
            threading.Event()
        )  # a report arrived that may be written now: do not wait out the interval

    def __enter__(self) -> JobMonitor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def report(self, fraction: float | None, preview: Preview | None = None) -> None:
        if fraction is not None:
            self.progress = max(0.0, min(1.0, fraction))
        if preview is not None:
            self.preview = preview
        if time.monotonic() - self._last_progress_write >= self.progress_every:
            self._due.set()

    def should_cancel(self) -> bool:
        return self.cancelled

    def run(self) -> None:
        try:
            while True:
                self._due.wait(self.interval)
                self._due.clear()
                if self._halt.is_set():
                    break
                try:
                    self._round()
                except Exception:  # a monitor must never take the job down with it
                    log.warning("Job %s: monitor could not reach the database; trying again", self.job_id)
                    connection.close()
        finally:
            connection.close()

    def _round(self) -> None:
        updates: dict[str, Any] = {}
        progress_due = time.monotonic() - self._last_progress_write >= self.progress_every
        if progress_due and self.progress is not None and self.progress != self._written:
            updates["progress"] = self.progress
        if progress_due and self.preview is not None and self.preview is not self._preview_written:
            self._write_preview(self.preview)
        beat = time.monotonic() - self._last_beat >= HEARTBEAT_EVERY.total_seconds()
        if beat:
            updates["heartbeat_at"] = timezone.now()
        rows = GenerationJob.objects.filter(pk=self.job_id)
        if updates:
            rows.filter(status=GenerationJob.Status.RUNNING).update(**updates)
            if "progress" in updates:
                self._written = updates["progress"]
                self._last_progress_write = time.monotonic()
            if beat:
                self._last_beat = time.monotonic()
        self.cancelled = rows.filter(cancel_requested=True).exists()

    def _write_preview(self, preview: Preview) -> None:
        # Only while the job runs: a preview arriving after the outcome must not outlive it.
        if GenerationJob.objects.filter(pk=self.job_id, status=GenerationJob.Status.RUNNING).exists():
            self._previews += 1
            JobPreview.objects.update_or_create(
                job_id=self.job_id,
                defaults={
                    "image": preview.image,
                    "content_type": preview.content_type,
                    "number": self._previews,
                },
            )
        self._preview_written = preview
        self._last_progress_write = time.monotonic()

    def stop(self) -> None:
        self._halt.set()
        self._due.set()
        self.join(timeout=5)

"""Measuring several real `manage.py db_worker` processes on one queue: submit jobs, start workers, read what happened.

Used by tests/deploy/test_workers.py. The upstream is the stand-in as Stable Diffusion: it records every request with
its start time and duration, so overlap is read from what the upstream saw, not from timers in the test.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db import connections

from imagegen.models import GenerationJob
from imagegen.tasks import run_generation_job
from tests.worker_process import Workers

SD_MODEL = "v1-5-pruned-emaonly.safetensors [6ce0161689]"
TXT2IMG = "/sdapi/v1/txt2img"


def submit(*, project: Any, user: Any, count: int, tag: str) -> list[int]:
    """`count` queued jobs, one image each, and their tasks: what `job_create` leaves behind, without the per-writer
    limits (three unfinished jobs) that would stop one writer from queueing 200."""
    jobs = GenerationJob.objects.bulk_create(
        GenerationJob(
            user=user,
            project=project,
            project_title=project.title,
            provider="stable-diffusion",
            model=SD_MODEL,
            options={"size": "256x256", "steps": 1},
            prompt=f"{tag} {n}",
            composed_prompt=f"{tag} {n}",
            images_requested=1,
        )
        for n in range(count)
    )
    for job in jobs:
        run_generation_job.enqueue(job.pk)
    return [job.pk for job in jobs]


def wait_polling(workers: Workers, timeout: float = 60.0) -> None:
    """Until every worker started so far polls the queue (Django's start-up takes a second or two each)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = [(process, log) for process, log in workers.started if process.poll() is None]
        if all("Starting worker" in log.read_text(errors="replace") for _, log in running):
            return
        time.sleep(0.1)
    raise TimeoutError("the workers did not start polling the queue")


def wait_finished(job_ids: list[int], *, timeout: float) -> None:
    """Until none of the jobs is queued or running (or `timeout` seconds pass: then the test fails on the rows)."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not GenerationJob.objects.filter(pk__in=job_ids, status__in=GenerationJob.UNFINISHED).exists():
                return
            time.sleep(0.2)
    finally:
        connections.close_all()


@dataclass(frozen=True)
class Measured:
    """What the upstream saw of one run: each generation request's prompt, start and end."""

    prompts: list[str]
    intervals: list[tuple[float, float]]

    @classmethod
    def from_standin(cls, standin: Any) -> Measured:
        requests = standin.requests(TXT2IMG)
        return cls(
            prompts=[r["body"]["prompt"] for r in requests],
            intervals=[(r["time"], r["time"] + (r.get("duration") or 0.0)) for r in requests],
        )

    @property
    def span(self) -> float:
        return max(end for _, end in self.intervals) - min(start for start, _ in self.intervals)

    @property
    def peak_in_flight(self) -> int:
        """The most requests the upstream was answering at once."""
        events = sorted(
            [(start, 1) for start, _ in self.intervals] + [(end, -1) for _, end in self.intervals]
        )
        peak = current = 0
        for _, step in events:  # at equal times an end (-1) sorts first: touching requests do not overlap
            current += step
            peak = max(peak, current)
        return peak

    @property
    def mean_in_flight(self) -> float:
        """Requests in flight on average over the run: busy upstream time ÷ the run's span (1.0 = never idle, alone)."""
        return sum(end - start for start, end in self.intervals) / self.span

    @property
    def throughput(self) -> float:
        """Jobs per second of the run's span."""
        return len(self.intervals) / self.span

    def duplicates(self) -> list[str]:
        return [prompt for prompt, seen in Counter(self.prompts).items() if seen > 1]

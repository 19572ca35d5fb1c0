"""An idle worker notices a new job at once: LISTEN/NOTIFY on PostgreSQL, the change watch on SQLite (issue 15).

A real `manage.py db_worker` and the stand-in as Stable Diffusion, started with a 30 s polling interval: only the
wake-up (the notification sent on enqueue, or SQLite's change counter) can make it pick a job up within a second,
three times in a row.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.db import connection

from imagegen.models import GenerationJob
from imagegen.wakeup import Listener
from tests.deploy.workers import submit, wait_finished, wait_polling
from tests.standin.server import StandinServer
from tests.worker_process import db_workers  # noqa: F401 — the fixture

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandinServer]:
    from django.core.cache import cache

    with StandinServer() as server:
        server.script(family="a1111", delay=0.05)
        monkeypatch.setenv("AI_IMAGE_SD_ENDPOINT", server.url)  # the worker gets it at spawn
        cache.clear()
        yield server


def pick_up_time(job_id: int, timeout: float) -> float:
    """Seconds from now until the worker has claimed the job (it is no longer queued)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if not GenerationJob.objects.filter(pk=job_id, status=GenerationJob.Status.QUEUED).exists():
            return time.monotonic() - start
        time.sleep(0.005)
    return float("inf")


def test_an_idle_worker_wakes_when_a_job_is_enqueued(db_workers, upstream, project, owner):  # noqa: F811
    assert Listener.available() == (connection.vendor == "postgresql")
    # A poll every 30 s could not explain a pick-up within a second three times running.
    db_workers.start("--interval", "30")
    wait_polling(db_workers)
    time.sleep(1.0)  # the worker has looked at the empty queue and is waiting
    times = []
    for n in range(3):
        (job_id,) = submit(project=project, user=owner, count=1, tag=f"wake {n}")
        times.append(pick_up_time(job_id, timeout=10))
        wait_finished([job_id], timeout=30)
        time.sleep(0.3)  # idle again
    assert GenerationJob.objects.filter(status=GenerationJob.Status.SUCCEEDED).count() == 3
    assert max(times) < 1.0, times

"""Many workers: real `manage.py db_worker` processes share one queue (PostgreSQL; CI also runs it on SQLite). Every job runs exactly once, none is lost, and
four workers keep the upstream four times as busy as one.

Counted, not timed: requests the stand-in upstream received (one per job, by prompt), job rows, task rows and the
worker that ran each; overlap is read from the requests the upstream was answering at once. `make bench` turns the
same measurement into the 4-worker ÷ 1-worker throughput figure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from django_tasks_db.models import DBTaskResult

from imagegen.models import GenerationJob
from tests.deploy.workers import Measured, Workers, submit, wait_finished
from tests.e2e.conftest import worker_environment
from tests.standin.server import StandinServer

JOBS = 200
BASELINE_JOBS = 30
# Each generation takes this long upstream: long against a worker's own work per job (tens of milliseconds), so
# the run measures how well workers share the queue, not how fast one machine's two cores are.
UPSTREAM_DELAY = 0.5

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandinServer]:
    from django.core.cache import cache

    with StandinServer() as server:
        server.script(family="a1111", delay=UPSTREAM_DELAY)
        monkeypatch.setenv("AI_IMAGE_SD_ENDPOINT", server.url)  # the workers get it at spawn
        cache.clear()
        yield server


@pytest.fixture
def workers(transactional_db, upstream, tmp_path: Path) -> Iterator[Workers]:
    # Depends on the database fixture, so the workers are stopped before the test database is flushed.
    pool = Workers(env=worker_environment(), log_dir=tmp_path)
    yield pool
    pool.stop()
    print(pool.logs())  # shown when the test failed


def run(workers: Workers, upstream: StandinServer, *, count: int, jobs: int, project, user, tag: str):
    upstream.clear_requests()
    workers.start(count)
    workers.wait_ready()  # measured from when all of them wait on the queue, as in a running deployment
    job_ids = submit(project=project, user=user, count=jobs, tag=tag)
    wait_finished(job_ids, timeout=60 + 4 * jobs * UPSTREAM_DELAY / count)
    workers.stop()
    return job_ids, Measured.from_standin(upstream)


def assert_each_ran_exactly_once(job_ids: list[int], measured: Measured, tag: str) -> Counter[str]:
    """…and return how many jobs each worker ran."""
    assert sorted(measured.prompts) == sorted(f"{tag} {n}" for n in range(len(job_ids))), (
        measured.duplicates()
    )
    statuses = Counter(GenerationJob.objects.filter(pk__in=job_ids).values_list("status", flat=True))
    assert statuses == {"succeeded": len(job_ids)}
    jobs = GenerationJob.objects.filter(pk__in=job_ids)
    assert sorted(jobs.values_list("images_made", flat=True)) == [1] * len(job_ids)
    assert sum(job.candidates.count() for job in jobs) == len(job_ids)
    tasks = list(DBTaskResult.objects.filter(args_kwargs__args__0__in=job_ids))
    assert len(tasks) == len(job_ids)
    assert {task.status for task in tasks} == {"SUCCESSFUL"}
    assert all(len(task.worker_ids) == 1 for task in tasks)  # claimed by one worker, once
    return Counter(task.worker_ids[0] for task in tasks)


def test_four_workers_run_200_jobs_each_exactly_once_four_at_a_time(workers, upstream, project, owner):
    baseline_ids, alone = run(
        workers, upstream, count=1, jobs=BASELINE_JOBS, project=project, user=owner, tag="alone"
    )
    by_worker = assert_each_ran_exactly_once(baseline_ids, alone, "alone")
    assert len(by_worker) == 1 and alone.peak_in_flight == 1

    job_ids, shared = run(workers, upstream, count=4, jobs=JOBS, project=project, user=owner, tag="shared")
    by_worker = assert_each_ran_exactly_once(job_ids, shared, "shared")
    # All four took part, each a fair share (half of a quarter at least: one may start a moment after the others).
    assert len(by_worker) == 4 and min(by_worker.values()) >= JOBS // 8, by_worker
    assert shared.peak_in_flight == 4

    ratio = shared.mean_in_flight / alone.mean_in_flight
    print(
        f"1 worker: {alone.throughput:.2f} jobs/s, {alone.mean_in_flight:.2f} in flight; "
        f"4 workers: {shared.throughput:.2f} jobs/s, {shared.mean_in_flight:.2f} in flight, "
        f"jobs per worker {sorted(by_worker.values())}; overlap ratio {ratio:.2f}"
    )
    # Four workers keep the upstream busy with about four requests at a time where one kept it busy with one.
    assert ratio >= 3.0, f"4 workers overlap only {ratio:.2f}× as much as one"

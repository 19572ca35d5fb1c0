"""Figure 7 — many workers: jobs per second with 4 db_worker processes ÷ with 1, on the same queue.

Each job is one Stable Diffusion image that the stand-in takes UPSTREAM_S to make. The workers are started first and
measured from when all of them poll the queue (a running deployment); then the jobs are queued at once, and the clock
runs from queueing to the last job finished (its row). 4 workers get 4 times the jobs, so both runs last about as long.
Each run also checks what the multi-worker test checks: every job succeeded and reached the upstream exactly once.
"""

from __future__ import annotations

import time

from .harness import Stack
from .results import Figure
from .writer import USERNAME

UPSTREAM_S = 1.0
JOBS_PER_WORKER = 12


def _wait_polling(stack: Stack, workers: list, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all("Starting worker" in stack.log_path(w).read_text(errors="replace") for w in workers):
            return
        if any(w.poll() is not None for w in workers):
            raise RuntimeError(f"figure 7: a worker exited; see {stack.log_dir}")
        time.sleep(0.1)
    raise TimeoutError("figure 7: the workers did not start polling")


def _one_run(stack: Stack, count: int, tag: str) -> dict[str, float | int | bool]:
    from django.contrib.auth.models import User
    from django.db import connections

    from imagegen.models import GenerationJob
    from projects.models import Project
    from tests.deploy.workers import Measured, submit

    user = User.objects.get(username=USERNAME)
    project = Project.objects.get(slug=stack.slug)
    workers = [stack.start_db_worker(name=f"workers-{count}", verbosity=1) for _ in range(count)]
    try:
        _wait_polling(stack, workers)
        stack.standin.clear_requests()
        jobs = count * JOBS_PER_WORKER
        start = time.perf_counter()
        job_ids = submit(project=project, user=user, count=jobs, tag=tag)
        deadline = time.monotonic() + 60 + 3 * JOBS_PER_WORKER * UPSTREAM_S
        while GenerationJob.objects.filter(pk__in=job_ids, status__in=GenerationJob.UNFINISHED).exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"figure 7: {count} worker(s) did not finish {jobs} jobs")
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        succeeded = GenerationJob.objects.filter(pk__in=job_ids, status="succeeded").count()
    finally:
        connections.close_all()
        for worker in workers:
            stack.stop_process(worker)
    upstream = Measured.from_standin(stack.standin)
    expected = sorted(f"{tag} {n}" for n in range(jobs))
    return {
        "jobs": jobs,
        "seconds": round(elapsed, 3),
        "jobs_per_s": jobs / elapsed,
        "upstream_in_flight_mean": round(upstream.mean_in_flight, 3),
        "upstream_in_flight_peak": upstream.peak_in_flight,
        "each_ran_once": succeeded == jobs and sorted(upstream.prompts) == expected,
    }


def run(stack: Stack, rounds: int = 3) -> Figure:
    figure = Figure(
        "workers",
        "Many workers (4 db_worker processes)",
        "jobs/s with 4 workers ÷ with 1",
        "≥ 3.5",
        limit=3.5,
        higher_is_better=True,
    )
    if stack.worker is not None:  # the stack's own worker would take a share of the jobs
        stack.stop_process(stack.worker)
        stack.worker = None
    stack.standin.script(family="a1111", delay=UPSTREAM_S)
    runs: list[dict[str, dict[str, float | int | bool]]] = []
    try:
        for round_ in range(rounds):
            one = _one_run(stack, 1, f"bench-1-{round_}")
            four = _one_run(stack, 4, f"bench-4-{round_}")
            figure.samples.append(float(four["jobs_per_s"]) / float(one["jobs_per_s"]))
            runs.append({"one_worker": one, "four_workers": four})
    finally:
        stack.standin.reset()
        stack.worker = stack.start_db_worker()
    figure.extra_checks["every job ran exactly once"] = all(
        r[k]["each_ran_once"] for r in runs for k in ("one_worker", "four_workers")
    )
    for r in runs:
        for k in ("one_worker", "four_workers"):
            r[k]["jobs_per_s"] = round(r[k]["jobs_per_s"], 3)
    figure.details = {"upstream_s": UPSTREAM_S, "jobs_per_worker": JOBS_PER_WORKER, "runs": runs}
    return figure

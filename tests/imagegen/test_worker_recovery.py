"""A job whose worker dies does not stay "running" (issue 11 #2).

A running job beats a heartbeat; a job without one for a minute is failed with a clear message — by any worker when
it starts and while it is idle, by the writer's Cancel, and by `imagegen cleanup` — and its task-queue row ends too.
The last test kills a real `db_worker` with SIGKILL in the middle of a job and starts a fresh one.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from imagegen import progress, services
from imagegen.models import GenerationJob
from imagegen.recovery import WORKER_LOST
from tests.worker_process import db_workers  # noqa: F401 — the fixture

from .conftest import SD_MODEL

pytestmark = pytest.mark.django_db(transaction=True)

Status = GenerationJob.Status


def job_row(owner, project, **fields) -> GenerationJob:
    return GenerationJob.objects.create(
        user=owner, project=project, provider="stable-diffusion", model=SD_MODEL, prompt="p", composed_prompt="p",
        **fields,
    )  # fmt: skip


def task_row(job: GenerationJob, status: str) -> DBTaskResult:
    from imagegen.tasks import run_generation_job

    result = run_generation_job.enqueue(job.pk)
    DBTaskResult.objects.filter(pk=result.id).update(status=status)
    GenerationJob.objects.filter(pk=job.pk).update(task_id=str(result.id))
    return DBTaskResult.objects.get(pk=result.id)


def submit(client, project) -> GenerationJob:
    """Generate Image as the dialog submits it (one Stable Diffusion image); the job is queued for a worker."""
    client.post(
        reverse("imagegen:dialog", kwargs={"slug": project.slug}),
        {"provider": "stable-diffusion", "model": SD_MODEL, "prompt": "A harbour", "size": "512x512",
         "count": "1", "steps": "20", "action": "generate"},
    )  # fmt: skip
    return GenerationJob.objects.get()


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


def test_a_running_job_beats_its_heartbeat(project, owner, monkeypatch):
    monkeypatch.setattr(progress, "HEARTBEAT_EVERY", timedelta(seconds=0.2))
    job = job_row(owner, project, status=Status.RUNNING, started_at=ago(1), heartbeat_at=ago(1))
    first = job.heartbeat_at
    with progress.JobMonitor(job.pk, interval=0.05):
        deadline = time.monotonic() + 10
        while GenerationJob.objects.get(pk=job.pk).heartbeat_at == first and time.monotonic() < deadline:
            time.sleep(0.05)
    assert GenerationJob.objects.get(pk=job.pk).heartbeat_at > first


def test_the_heartbeat_survives_a_database_hiccup(project, owner, monkeypatch):
    monkeypatch.setattr(progress, "HEARTBEAT_EVERY", timedelta(seconds=0.1))
    job = job_row(owner, project, status=Status.RUNNING, started_at=ago(1), heartbeat_at=ago(1))
    real_round = progress.JobMonitor._round
    calls = {"n": 0}

    def flaky(self):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return real_round(self)

    monkeypatch.setattr(progress.JobMonitor, "_round", flaky)
    first = job.heartbeat_at
    with progress.JobMonitor(job.pk, interval=0.05):
        deadline = time.monotonic() + 10
        while GenerationJob.objects.get(pk=job.pk).heartbeat_at == first and time.monotonic() < deadline:
            time.sleep(0.05)
    assert calls["n"] > 1 and GenerationJob.objects.get(pk=job.pk).heartbeat_at > first


def test_a_claimed_job_records_its_first_beat_and_its_task(upstream, client_for, project):
    job = submit(client_for("editor"), project)
    task = DBTaskResult.objects.get()
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0.05", verbosity=0)
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED
    assert job.task_id == str(task.pk) and job.heartbeat_at >= job.started_at


def test_the_sweep_fails_dead_jobs_and_ends_their_task_rows_only(project, owner):
    dead = job_row(owner, project, status=Status.RUNNING, started_at=ago(300), heartbeat_at=ago(61))
    dead_task = task_row(dead, TaskResultStatus.RUNNING)
    alive = job_row(owner, project, status=Status.RUNNING, started_at=ago(7200), heartbeat_at=ago(5))
    alive_task = task_row(alive, TaskResultStatus.RUNNING)
    done = job_row(owner, project, status=Status.SUCCEEDED, started_at=ago(7200), finished_at=ago(7000))
    queued = job_row(owner, project, status=Status.QUEUED)
    queued_task = task_row(queued, TaskResultStatus.READY)

    assert services.jobs_fail_stuck() == 1

    dead.refresh_from_db()
    assert (dead.status, dead.error_class, dead.error_message) == (Status.FAILED, "unavailable", WORKER_LOST)
    ended = DBTaskResult.objects.get(pk=dead_task.pk)
    assert ended.status == TaskResultStatus.FAILED and ended.finished_at and WORKER_LOST in ended.traceback
    assert GenerationJob.objects.get(pk=alive.pk).status == Status.RUNNING
    assert DBTaskResult.objects.get(pk=alive_task.pk).status == TaskResultStatus.RUNNING
    assert GenerationJob.objects.get(pk=done.pk).finished_at == done.finished_at
    assert GenerationJob.objects.get(pk=queued.pk).status == Status.QUEUED
    assert DBTaskResult.objects.get(pk=queued_task.pk).status == TaskResultStatus.READY


def test_cancel_fails_a_dead_job_at_once_and_only_flags_a_live_one(project, owner, client_for):
    dead = job_row(owner, project, status=Status.RUNNING, started_at=ago(300), heartbeat_at=ago(90))
    dead_task = task_row(dead, TaskResultStatus.RUNNING)
    alive = job_row(owner, project, status=Status.RUNNING, started_at=ago(300), heartbeat_at=ago(3))
    client = client_for("owner")
    for job in (dead, alive):
        client.post(reverse("imagegen:cancel", kwargs={"slug": project.slug, "pk": job.pk}))
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.status, dead.error_message) == (Status.FAILED, WORKER_LOST)
    assert DBTaskResult.objects.get(pk=dead_task.pk).status == TaskResultStatus.FAILED
    assert (alive.status, alive.cancel_requested) == (Status.RUNNING, True)


def test_a_worker_sweeps_when_it_starts(project, owner):
    dead = job_row(owner, project, status=Status.RUNNING, started_at=ago(300), heartbeat_at=ago(120))
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert GenerationJob.objects.get(pk=dead.pk).status == Status.FAILED


def test_an_idle_worker_sweeps_now_and_then(project, owner, monkeypatch):
    from imagegen.worker import JobWorker

    monkeypatch.setattr(JobWorker, "sweep_every", 0.2)
    worker = JobWorker(
        queue_names=["default"], interval=0.05, batch=False, backend_name="default", startup_delay=False,
        max_tasks=None, worker_id="idle-test", excluded_queue_names=[],
    )  # fmt: skip
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        time.sleep(0.3)  # the start-up sweep has passed; this job dies afterwards
        dead = job_row(owner, project, status=Status.RUNNING, started_at=ago(300), heartbeat_at=ago(120))
        deadline = time.monotonic() + 20
        while GenerationJob.objects.get(pk=dead.pk).status == Status.RUNNING and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        worker.running = False
        thread.join(timeout=10)
    assert GenerationJob.objects.get(pk=dead.pk).status == Status.FAILED


def test_the_worker_runs_without_the_autoreloader_even_in_debug(settings):
    from imagegen.management.commands.db_worker import Command

    settings.DEBUG = True
    parser = Command().create_parser("manage.py", "db_worker")
    assert parser.parse_args([]).reload is False


def test_a_killed_worker_s_job_is_failed_by_a_fresh_worker_within_90_s(
    upstream,
    client_for,
    project,
    owner,
    db_workers,  # noqa: F811
):
    upstream.script(family="a1111", hang=True)  # the upstream holds the request: the job stays mid-flight
    job = submit(client_for("editor"), project)
    # Things the recovery must leave alone: a finished job, and a job another (live) worker is running.
    done = job_row(owner, project, status=Status.SUCCEEDED, started_at=ago(600), finished_at=ago(500))
    elsewhere = job_row(owner, project, status=Status.RUNNING, started_at=ago(3600), heartbeat_at=ago(1))
    elsewhere_task = task_row(elsewhere, TaskResultStatus.RUNNING)

    first = db_workers.start()
    upstream.wait_for("/sdapi/v1/txt2img", timeout=30)
    job.refresh_from_db()
    assert job.status == Status.RUNNING and job.task_id
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    killed_at = timezone.now()
    last_beat = GenerationJob.objects.get(pk=job.pk).heartbeat_at

    db_workers.start()  # a fresh worker, as after a restart
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        # The other worker's job stays alive: its worker keeps beating.
        GenerationJob.objects.filter(pk=elsewhere.pk).update(heartbeat_at=timezone.now())
        job.refresh_from_db()
        if job.status != Status.RUNNING:
            break
        time.sleep(0.5)
    upstream.release()

    assert job.status == Status.FAILED, "still running 90 s after its worker was killed"
    assert job.finished_at - killed_at <= timedelta(seconds=90)
    assert (
        job.finished_at - last_beat >= progress.HEARTBEAT_STALE_AFTER
    )  # not a moment before a minute of silence
    assert job.error_message == WORKER_LOST
    task = DBTaskResult.objects.get(pk=job.task_id)
    assert task.status == TaskResultStatus.FAILED and task.finished_at
    # Nothing else touched.
    assert GenerationJob.objects.get(pk=elsewhere.pk).status == Status.RUNNING
    assert DBTaskResult.objects.get(pk=elsewhere_task.pk).status == TaskResultStatus.RUNNING
    assert GenerationJob.objects.get(pk=done.pk).finished_at == done.finished_at
    assert GenerationJob.objects.count() == 3

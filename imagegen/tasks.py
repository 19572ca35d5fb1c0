"""The background task that runs a generation job (django-tasks; `manage.py db_worker` executes it)."""

from __future__ import annotations

from django_tasks import task

from . import services


@task()
def run_generation_job(job_id: int) -> str:
    """Run one job. The job row, not the task result, is the record: the return value is only for logs."""
    job = services.job_run(job_id=job_id)
    return job.status if job is not None else "missing"

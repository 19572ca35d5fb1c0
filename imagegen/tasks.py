"""The background task that runs a generation job (django-tasks; `manage.py db_worker` executes it)."""

from __future__ import annotations

from django_tasks import TaskContext, task

from . import services


@task(takes_context=True)
def run_generation_job(context: TaskContext, job_id: int) -> str:
    """Run one job. The job row, not the task result, is the record: the return value is only for logs.

    The job keeps the id of the task result running it, so recovery can end that row if the worker dies.
    """
    job = services.job_run(job_id=job_id, task_id=str(context.task_result.id))
    return job.status if job is not None else "missing"

"""`manage.py db_worker`: django-tasks-db's worker command, running Inkweld's JobWorker (imagegen/worker.py).

It takes over the library's command of the same name (this app is listed before django_tasks_db in INSTALLED_APPS,
as whitenoise's runserver_nostatic is before staticfiles): every option is the library's, two things differ —
the worker sweeps for jobs a stopped worker left running, and --reload is off unless asked for.
"""

from __future__ import annotations

import logging
import os
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.compat import TASKS_LOGGER
from django_tasks_db.management.commands import db_worker

from imagegen.worker import JobWorker
from imagegen.worker import logger as worker_logger


class Command(db_worker.Command):
    help = (
        "Run the background task worker (generation jobs). It also fails jobs whose worker stopped "
        "(no heartbeat for a minute), when it starts and while idle."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        for action in parser._actions:
            if action.dest == "reload":
                # The library turns the reloader on with DEBUG; then the PID a script holds is the reloader, and
                # killing it leaves the real worker running a job. Only on request here.
                action.default = False
                action.help = "Reload the worker on code changes (development only; default: off)."

    def configure_logging(self, verbosity: int) -> None:
        # --verbosity sets the library's loggers; the worker's own lines ("Starting worker …", the sweep) follow it.
        super().configure_logging(verbosity)
        logging.getLogger(worker_logger.name).setLevel(logging.getLogger(TASKS_LOGGER).level)

    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options: Any,
    ) -> None:
        self.configure_logging(verbosity)
        queue_names = queue_name.split(",")
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = JobWorker(
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded,
        )
        if reload and not batch:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()  # only the reloaded child handles signals
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()

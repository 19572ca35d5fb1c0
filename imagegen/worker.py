"""The task worker Inkweld runs: django-tasks-db's `db_worker`, plus what has to happen between tasks.

`manage.py db_worker` is this worker (imagegen/management/commands/db_worker.py overrides the library's command of
the same name, as whitenoise's runserver_nostatic overrides runserver). On top of the library's loop it:

* sweeps for jobs whose worker died (imagegen/recovery.py) when it starts, and every SWEEP_EVERY while idle, so a
  killed worker's job is failed about a minute after it stopped beating, by whichever worker is left;
* never runs under Django's autoreloader unless asked with --reload (the library defaults to it when DEBUG is on,
  and then the process a script holds is the reloader, not the worker).

The idle wait is one method, `wait_for_work(timeout)`. It waits on imagegen/wakeup.py's waiter and returns the
moment a task is enqueued: on PostgreSQL a LISTEN connection, on SQLite a watch of the database's change counter (a
commit by anyone wakes it; it then looks at the queue once). It still looks at the queue on its own, at --interval
or LISTEN_FALLBACK_S whichever is longer, for a wake-up it might have missed. The sweep keeps its own clock, so a
worker woken often still sweeps at its pace.
"""

from __future__ import annotations

import logging
import random
import time

from django.db import close_old_connections
from django.db.utils import OperationalError
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from .recovery import jobs_fail_stuck
from .wakeup import LISTEN_FALLBACK_S, waiter

logger = logging.getLogger("imagegen.worker")

# How often an idle worker looks for jobs whose worker died. With the heartbeat's 60 s (imagegen/progress.py) a dead
# worker's job is failed within about 70 s of its last beat.
SWEEP_EVERY = 10.0


class JobWorker(Worker):
    """django-tasks-db 0.13's Worker with a start-up sweep and an idle hook.

    `run()` follows the library's loop step for step (claim one ready task under a lock, run it, honour --batch and
    --max-tasks, stop on a signal); only the idle step is ours: `idle()`, which sweeps when due and then waits.
    """

    sweep_every = SWEEP_EVERY

    def run(self) -> None:
        logger.info("Starting worker worker_id=%s queues=%s", self.worker_id, ",".join(self.queue_names))
        self._next_sweep = 0.0
        # Listening before the first look at the queue: nothing enqueued after that look can go unnoticed.
        self.listener = waiter()
        self.listener.wait(0)  # opens its connection (and LISTENs, or reads the change counter)
        try:
            self._loop()
        finally:
            self.listener.close()

    def _loop(self) -> None:
        self.sweep()
        if self.startup_delay and self.interval:
            time.sleep(random.random())
        while self.running:
            close_old_connections()
            task_result, retrieved = self.claim_next()
            if task_result is not None:
                self.run_task(task_result)
            if self.batch and retrieved and task_result is None:
                logger.info("No more tasks to run for worker_id=%s - exiting gracefully.", self.worker_id)
                return
            if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                logger.info(
                    "Run maximum tasks (%d) on worker=%s - exiting gracefully.",
                    self._run_tasks,
                    self.worker_id,
                )
                return
            close_old_connections()
            # A Ctrl-C that just interrupted a task cleared self.running: exit instead of waiting.
            if self.running and task_result is None:
                self.idle()

    def claim_next(self) -> tuple[DBTaskResult | None, bool]:
        """The next ready task, claimed for this worker (None when there is none), and whether the queue answered."""
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        with exclusive_transaction(tasks.db):
            try:
                task_result = tasks.get_locked()
            except OperationalError as exc:
                if not is_locked_database_exception(exc):
                    raise
                return None, False  # SQLite is busy; it unlocks soon
            if task_result is not None:
                task_result.claim(self.worker_id)
        return task_result, True

    def idle(self) -> None:
        """Between tasks: sweep when due, then wait for work."""
        if time.monotonic() >= self._next_sweep:
            self.sweep()
        self.wait_for_work(self.interval)

    def wait_for_work(self, timeout: float) -> None:
        """Wait until a task may have been enqueued, or `timeout` (at least LISTEN_FALLBACK_S) has passed."""
        self.listener.wait(max(timeout, LISTEN_FALLBACK_S))

    def sweep(self) -> None:
        """Fail jobs whose worker died. A database hiccup here must not stop the worker: it tries again later."""
        self._next_sweep = time.monotonic() + self.sweep_every
        try:
            failed = jobs_fail_stuck()
        except Exception:
            logger.exception("Could not check for jobs left by a stopped worker; trying again later")
            return
        if failed:
            logger.warning("Failed %d job(s) left by a stopped worker, or queued with no worker", failed)

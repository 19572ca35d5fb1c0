"""Waking idle workers the moment a task is enqueued, on PostgreSQL (LISTEN/NOTIFY); SQLite keeps polling.

django-tasks sends `task_enqueued` after the backend stored the task row; django-tasks-db has no wake-up of its own.
So, beside it: the enqueue path NOTIFYs a channel (`wake_workers`, a receiver of that signal), and each idle worker
LISTENs on it over a connection of its own (`Listener`), as procrastinate's workers do. NOTIFY is transactional:
a task enqueued inside a transaction wakes the workers when it commits, never before its row is visible.

A notification can be missed (the listener reconnecting, a task deferred with run_after), so a listening worker
still polls, only rarely: every LISTEN_FALLBACK_S at least.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import psycopg
from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django_tasks import TaskResult
from django_tasks.backends.base import BaseTaskBackend
from django_tasks_db.models import DBTaskResult

log = logging.getLogger(__name__)

# One channel for every queue: a woken worker claims what its queues allow, and the others go back to sleep.
CHANNEL = "inkweld_tasks"
# A listening worker still looks at the queue this often, for the notification it might have missed.
LISTEN_FALLBACK_S = 5.0


def _task_database() -> BaseDatabaseWrapper:
    return connections[router.db_for_write(DBTaskResult)]


def wake_workers(sender: type[BaseTaskBackend], task_result: TaskResult, **kwargs: Any) -> None:
    """`task_enqueued` receiver: tell listening workers (PostgreSQL only; on SQLite workers poll)."""
    database = _task_database()
    if database.vendor != "postgresql":
        return
    with database.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, task_result.task.queue_name])


class Listener:
    """A connection of its own LISTENing on one channel; `wait()` returns as soon as something is notified.

    Its own connection, not the thread's Django connection: Django closes that one between tasks and requests
    (close_old_connections), and a closed connection forgets its LISTEN. A worker opens it before it first looks at
    the queue, so a task enqueued between that look and the wait is already a notification waiting to be read.
    """

    def __init__(self, channel: str = CHANNEL) -> None:
        self.channel = channel
        self._database = _task_database()
        self._connection: psycopg.Connection[Any] | None = None
        self.received: list[str] = []  # the payloads the last wait() read

    @staticmethod
    def available() -> bool:
        return _task_database().vendor == "postgresql"

    def open(self) -> psycopg.Connection[Any]:
        params = self._database.get_connection_params()
        connection: psycopg.Connection[Any] = self._database.get_new_connection(params)
        connection.autocommit = True
        connection.execute(f"LISTEN {self.channel}")
        self._connection = connection
        return connection

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for a notification; True when one came. A lost connection is reopened on
        the next call (after sleeping out this one's timeout, so a database that is down is not hammered)."""
        try:
            connection = self._connection
            if connection is None or connection.closed:
                connection = self.open()
            # stop_after=1: return on the first (with any that came in the same packet); later ones wait for the
            # next call.
            self.received = [n.payload for n in connection.notifies(timeout=timeout, stop_after=1)]
            return bool(self.received)
        except Exception:
            log.warning("Lost the connection that wakes this worker; polling until it is back", exc_info=True)
            self.close()
            self.received = []
            time.sleep(timeout)
            return False

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None

"""Waking idle workers the moment a task is enqueued: LISTEN/NOTIFY on PostgreSQL, a cheap change check on SQLite.

django-tasks sends `task_enqueued` after the backend stored the task row; django-tasks-db has no wake-up of its own.
So, beside it: the enqueue path NOTIFYs a channel (`wake_workers`, a receiver of that signal), and each idle worker
LISTENs on it over a connection of its own (`Listener`), as procrastinate's workers do. NOTIFY is transactional:
a task enqueued inside a transaction wakes the workers when it commits, never before its row is visible.

SQLite has no notifications. There an idle worker reads `PRAGMA data_version` every SQLITE_TICK_S on a connection
of its own (`ChangeWatch`): a read of a counter in shared memory, microseconds, that changes when another connection
commits. Only then does the worker look at the queue (which takes SQLite's write lock), so it notices a job within
a tick instead of claiming every polling interval.

A wake-up can be missed (the listener reconnecting, a task deferred with run_after), so a waiting worker still looks
at the queue on its own, only rarely: every LISTEN_FALLBACK_S at least.
"""

from __future__ import annotations

import logging
import sqlite3
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
# A waiting worker still looks at the queue this often, for the notification it might have missed.
LISTEN_FALLBACK_S = 5.0
# SQLite: how often a waiting worker reads data_version (0.6–1.5 % of a core here; a job waits half of it on average).
SQLITE_TICK_S = 0.01


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
        # psycopg directly, not Django's get_new_connection(): with the pool on (settings.DATABASE_POOL_SIZE) that
        # would borrow a pooled connection and keep it for good, and a LISTEN must not go back to the pool.
        params = self._database.get_connection_params()
        connection = psycopg.connect(**params, autocommit=True)
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


class ChangeWatch:
    """SQLite's stand-in for Listener: `wait()` returns as soon as another connection has committed something.

    Any commit wakes it (a progress write, a sign-in), not only an enqueue; the worker then looks at the queue
    once, finds nothing, and waits again: cheap, and far rarer than polling the queue itself. The web process's
    change feed (imagegen/live.py) watches with it too.
    """

    def __init__(self) -> None:
        self._database = _task_database()
        self._connection: sqlite3.Connection | None = None
        self._version: int | None = None

    def _read(self) -> int:
        if self._connection is None:
            # Its own connection: data_version counts the commits of *other* connections, and Django closes its
            # own between tasks.
            params = self._database.get_connection_params()
            self._connection = sqlite3.connect(
                params["database"], timeout=params.get("timeout", 5), uri=params.get("uri", False)
            )
            self._version = None
        version: int = self._connection.execute("PRAGMA data_version").fetchone()[0]
        return version

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for a commit by another connection; True when there was one."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                version = self._read()
                changed = self._version is not None and version != self._version
                self._version = version
                remaining = deadline - time.monotonic()
                if changed or remaining <= 0:
                    return changed
                time.sleep(min(SQLITE_TICK_S, remaining))
        except sqlite3.Error:
            log.warning("Could not watch the database for changes; polling instead", exc_info=True)
            self.close()
            time.sleep(max(0.0, deadline - time.monotonic()))
            return False

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


def waiter() -> Listener | ChangeWatch:
    """What an idle worker waits on: a LISTEN on PostgreSQL, the change watch on SQLite."""
    return Listener() if Listener.available() else ChangeWatch()

"""Waking idle workers the moment a task is enqueued: LISTEN/NOTIFY on PostgreSQL, a cheap change check on SQLite.

django-tasks sends `task_enqueued` after the backend stored the task row; django-tasks-db has no wake-up of its own.
So, beside it: the enqueue path NOTIFYs a channel (`wake_workers`, a receiver of that signal), and each idle worker
LISTENs on it over a connection of its own (`Listener`), as procrastinate's workers do. NOTIFY is transactional:
a task enqueued inside a transaction wakes the workers when it commits, never before its row is visible.

SQLite has no notifications. There an idle worker watches `PRAGMA data_version` on a connection of its own
(`ChangeWatch`): a read of a counter in shared memory, microseconds, that changes when another connection commits.
Only then does the worker look at the queue (which takes SQLite's write lock). When to read it, the kernel says:
every commit writes the database's files (its write-ahead log), and on Linux inotify wakes the watch the moment one
is written (`DatabaseFiles`); it then reads the counter every millisecond until the commit shows (the counter moves
just after the log is written), for at most SETTLE_S. Without inotify it reads the counter every SQLITE_TICK_S.

A wake-up can be missed (the listener reconnecting, a task deferred with run_after), so a waiting worker still looks
at the queue on its own, only rarely: every LISTEN_FALLBACK_S at least.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import psycopg
from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django_tasks import TaskResult
from django_tasks.backends.base import BaseTaskBackend
from django_tasks_db.models import DBTaskResult
from inotify_simple import INotify
from inotify_simple import flags as inotify_flags

log = logging.getLogger(__name__)

# One channel for every queue: a woken worker claims what its queues allow, and the others go back to sleep.
CHANNEL = "inkweld_tasks"
# A waiting worker still looks at the queue this often, for the notification it might have missed.
LISTEN_FALLBACK_S = 5.0
# SQLite without inotify: how often a waiting worker reads data_version (about 1 % of a core; a job waits half of
# it on average).
SQLITE_TICK_S = 0.01
# SQLite with inotify: after the database's files were written, data_version is read every SETTLE_TICK_S until the
# commit shows, for at most SETTLE_S; with nothing written, it is still read every FILES_RECHECK_S (a safety net
# for a write the kernel did not report, such as one on a network file system).
SETTLE_S = 0.02
SETTLE_TICK_S = 0.001
FILES_RECHECK_S = 1.0


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


class DatabaseFiles:
    """The kernel's word (inotify) that an SQLite database's files were written: the database itself, its
    write-ahead log or its rollback journal. The folder is watched, not the files: the log comes and goes."""

    def __init__(self, database: Path) -> None:
        self._names = {database.name, f"{database.name}-wal", f"{database.name}-journal"}
        self._inotify = INotify()
        try:
            self._inotify.add_watch(database.parent, inotify_flags.MODIFY | inotify_flags.CREATE)
        except OSError:
            self._inotify.close()
            raise

    @classmethod
    def watch(cls, database: object) -> DatabaseFiles | None:
        """A watch of this database's files; None where there is none to be had (not Linux, not a file, no
        inotify watches left): then the caller reads data_version on a timer."""
        if not isinstance(database, str | os.PathLike) or str(database).startswith("file:"):
            return None
        path = Path(database)
        if not path.is_file():
            return None
        try:
            return cls(path.resolve())
        except (OSError, AttributeError):  # AttributeError: a C library without inotify_init1 (not Linux)
            log.info("No inotify for %s: the change watch reads the database on a timer", path, exc_info=True)
            return None

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds; True when one of the database's files was written."""
        events = self._inotify.read(timeout=max(0, round(timeout * 1000)))
        return any(event.name in self._names for event in events)

    def close(self) -> None:
        self._inotify.close()


class ChangeWatch:
    """SQLite's stand-in for Listener: `wait()` returns as soon as another connection has committed something.

    Any commit wakes it (a progress write, a sign-in), not only an enqueue; the worker then looks at the queue
    once, finds nothing, and waits again: cheap, and far rarer than polling the queue itself. The web process's
    change feed (imagegen/live.py) watches with it too.
    """

    def __init__(self, database: str | None = None) -> None:
        """Watch `database` (a file path), by default the task queue's database."""
        self._params: dict[str, Any] = (
            {"database": database} if database else _task_database().get_connection_params()
        )
        self._connection: sqlite3.Connection | None = None
        self._version: int | None = None
        self._files: DatabaseFiles | None = None
        self._written_at = float("-inf")  # when the files were last written (time.monotonic)

    def _read(self) -> int:
        if self._connection is None:
            # Its own connection: data_version counts the commits of *other* connections, and Django closes its
            # own between tasks.
            params = self._params
            self._connection = sqlite3.connect(
                params["database"], timeout=params.get("timeout", 5), uri=params.get("uri", False)
            )
            self._version = None
            if self._files is None:
                # Django opens SQLite with uri=True whatever NAME is; a NAME that is a "file:" URI gets no watch.
                self._files = DatabaseFiles.watch(params["database"])
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
                if self._files is None:
                    time.sleep(min(SQLITE_TICK_S, remaining))
                elif time.monotonic() - self._written_at < SETTLE_S:
                    # Written just now: the commit shows in a moment.
                    time.sleep(min(SETTLE_TICK_S, remaining))
                elif self._files.wait(min(FILES_RECHECK_S, remaining)):
                    self._written_at = time.monotonic()
        except sqlite3.Error:
            log.warning("Could not watch the database for changes; polling instead", exc_info=True)
            self.close()
            time.sleep(max(0.0, deadline - time.monotonic()))
            return False

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
        files, self._files = self._files, None
        if files is not None:
            files.close()


def waiter() -> Listener | ChangeWatch:
    """What an idle worker waits on: a LISTEN on PostgreSQL, the change watch on SQLite."""
    return Listener() if Listener.available() else ChangeWatch()

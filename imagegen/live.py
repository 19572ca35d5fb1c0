"""Telling the open dialog: a running job's state, progress and preview pushed as server-sent events (issue 15).

The dialog's job panel connects to `jobs/<id>/events/` (htmx's SSE extension). The stream answers with two events:

* `progress` — the panel's progress block (bar, words, the latest preview), whenever one of them changed;
* `job` — the whole panel, when what the panel shows changed otherwise (queued → running, Stop asked, finished).
  The panel replaces itself with it, which closes this stream; an unfinished panel opens a fresh one.

A stream costs no thread while it waits: it sleeps on an asyncio.Event that this process's one ChangeFeed sets when
the job changed. On PostgreSQL the feed LISTENs to the NOTIFY a trigger sends on every write to a job or its preview
(migration 0010); on SQLite it watches the database's `data_version` and compares the jobs watched. Each stream
also looks for itself every RECHECK_S, for a change the feed could not see (an in-memory test database, a lost
connection). The panel keeps today's adaptive polling as the fallback for when the stream is unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass

from django.db import close_old_connections, connection
from django.db.models import F

from .models import GenerationJob, JobPreview
from .wakeup import Listener

log = logging.getLogger(__name__)

JOBS_CHANNEL = "inkweld_jobs"  # the trigger of migration 0010 notifies it with the job's id
SQLITE_CHECK_S = 0.02  # the feed reads SQLite's data_version this often (a few microseconds each)
RECHECK_S = 2.0  # a stream looks at its job at least this often, whatever the feed says
KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing a quiet stream


def panel_key(job: GenerationJob) -> str:
    """What the job panel shows apart from its progress block: when it changes, the whole panel is sent again."""
    return f"{job.status}:{int(job.cancel_requested)}"


Signature = tuple[object, ...]


def _signatures(job_ids: Iterable[int]) -> dict[int, Signature]:
    rows = GenerationJob.objects.filter(pk__in=list(job_ids)).values_list(
        "pk", "status", "cancel_requested", "progress", F("preview__number")
    )
    return {pk: tuple(rest) for pk, *rest in rows}


class ChangeFeed:
    """One per web process: a daemon thread that learns which watched jobs changed and wakes their streams."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[int, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._thread: threading.Thread | None = None

    def subscribe(self, job_id: int) -> asyncio.Event:
        event = asyncio.Event()
        with self._lock:
            self._waiters.setdefault(job_id, set()).add((asyncio.get_running_loop(), event))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="job-change-feed", daemon=True)
                self._thread.start()
        return event

    def unsubscribe(self, job_id: int, event: asyncio.Event) -> None:
        with self._lock:
            waiters = self._waiters.get(job_id, set())
            waiters.difference_update({w for w in waiters if w[1] is event})
            if not waiters:
                self._waiters.pop(job_id, None)

    def watched(self) -> list[int]:
        with self._lock:
            return list(self._waiters)

    def wake(self, job_ids: Iterable[int]) -> None:
        with self._lock:
            waiters = [w for job_id in job_ids for w in self._waiters.get(job_id, ())]
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    def _run(self) -> None:
        while True:
            try:
                if Listener.available():
                    self._listen()
                else:
                    self._watch_sqlite()
            except Exception:
                log.warning(
                    "The job change feed lost the database; streams recheck on their own", exc_info=True
                )
                close_old_connections()
                connection.close()
                time.sleep(RECHECK_S)

    def _listen(self) -> None:
        listener = Listener(JOBS_CHANNEL)
        try:
            while True:
                if listener.wait(RECHECK_S):
                    self.wake(int(p) for p in listener.received if p.isdigit())
        finally:
            listener.close()

    def _watch_sqlite(self) -> None:
        # data_version changes when another connection commits; it needs a connection that stays open.
        database = connection.get_new_connection(connection.get_connection_params())
        seen: dict[int, Signature] = {}
        version = None
        try:
            while True:
                now = database.execute("PRAGMA data_version").fetchone()[0]
                if now != version:
                    version = now
                    current = _signatures(self.watched())
                    self.wake(job_id for job_id, sig in current.items() if seen.get(job_id) != sig)
                    seen = current
                    connection.close()  # the ORM's read above; the next change opens it again
                time.sleep(SQLITE_CHECK_S)
        finally:
            database.close()


_feed = ChangeFeed()


@dataclass(frozen=True)
class Update:
    """What a stream sends next: an event name and its HTML, or nothing (`event` empty) when nothing changed."""

    event: str = ""
    html: str = ""
    progress_key: Signature = ()


def sse_message(event: str, html: str) -> str:
    data = "\n".join(f"data: {line}" for line in html.splitlines() or [""])
    return f"event: {event}\n{data}\n\n"


async def job_stream(
    job_id: int, *, shown: str, render: Callable[[str, Signature], Update | None]
) -> AsyncIterator[str]:
    """The event stream for one open panel. `render(shown, progress_key)` (run in a thread: it reads the database)
    answers what to send: None when the job is gone, a `job` update (then the stream ends), or a `progress` one."""
    from asgiref.sync import sync_to_async

    def look(shown: str, progress_key: Signature) -> Update | None:
        try:
            return render(shown, progress_key)
        finally:
            # An open dialog must not hold a database connection while it waits (CONN_MAX_AGE says how long one
            # may live, as for any request).
            close_old_connections()

    event = _feed.subscribe(job_id)
    progress_key: Signature = ()
    quiet_since = time.monotonic()
    try:
        yield "retry: 1000\n\n"  # the browser's own reconnect delay, should the connection drop
        while True:
            event.clear()
            update = await sync_to_async(look)(shown, progress_key)
            if update is None:
                return
            if update.event:
                yield sse_message(update.event, update.html)
                quiet_since = time.monotonic()
                if update.event == "job":
                    return
                progress_key = update.progress_key
            elif time.monotonic() - quiet_since >= KEEPALIVE_S:
                yield ": still running\n\n"
                quiet_since = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=RECHECK_S)
    finally:
        _feed.unsubscribe(job_id, event)


def preview_number(job_id: int) -> int | None:
    return JobPreview.objects.filter(job_id=job_id).values_list("number", flat=True).first()

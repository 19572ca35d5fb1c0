"""Telling the open dialog: a running job's state, progress and preview pushed as server-sent events (issue 15).

The dialog's job panel connects to `jobs/<id>/events/` (htmx's SSE extension). The stream answers with two events:

* `progress` — the panel's progress block (bar, words, the latest preview), whenever one of them changed;
* `job` — the whole panel, when what the panel shows changed otherwise (queued → running, Stop asked, finished).
  The panel replaces itself with it, which closes this stream; an unfinished panel opens a fresh one.

One ChangeFeed per web process reads the watched jobs' state for every stream: a daemon thread that, on PostgreSQL,
LISTENs to the NOTIFY a trigger sends on every write to a job or its preview (migration 0012), and on SQLite watches
the database's `data_version`; either way it then reads the state of the jobs that may have changed (one query, on
the thread's own connection) and wakes the streams whose job changed. It also reads every watched job each RECHECK_S,
for a change it could not be told about. A stream costs no thread and no database connection while it waits (it
sleeps on an asyncio.Event), and a progress event is rendered from the state the feed read: twenty open dialogs
cost the database one small query per change, not one connection each. A stream reads the database itself only
to render a whole panel, and whenever the feed has not been heard from lately (it lost its connection, or a test
database it cannot see). The panel keeps today's adaptive polling as the fallback for when the stream is unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from django.db import close_old_connections, connection
from django.db.models import F

from .models import GenerationJob, JobPreview
from .wakeup import ChangeWatch, Listener

log = logging.getLogger(__name__)

JOBS_CHANNEL = "inkweld_jobs"  # the trigger of migration 0012 notifies it with the job's id
RECHECK_S = 2.0  # the feed reads every watched job at least this often, whatever it was told
KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing a quiet stream

_T = TypeVar("_T")


def panel_key(job: GenerationJob | JobState) -> str:
    """What the job panel shows apart from its progress block: when it changes, the whole panel is sent again."""
    return f"{job.status}:{int(job.cancel_requested)}"


@dataclass(frozen=True)
class JobState:
    """What the feed reads of a watched job: enough to tell what changed and to draw the progress block."""

    pk: int
    status: str
    cancel_requested: bool
    progress: float | None
    preview: int | None  # the number of the picture forming, None while there is none

    @property
    def progress_key(self) -> tuple[float | None, int | None]:
        return (self.progress, self.preview)


def job_states(job_ids: Iterable[int]) -> dict[int, JobState]:
    rows = GenerationJob.objects.filter(pk__in=list(job_ids)).values_list(
        "pk", "status", "cancel_requested", "progress", F("preview__number")
    )
    return {row[0]: JobState(*row) for row in rows}


class ChangeFeed:
    """One per web process: a daemon thread that reads the watched jobs' state and wakes their streams."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[int, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        # job id → its state as last read (None: the job is gone); a job not read since it was watched is absent.
        self._states: dict[int, JobState | None] = {}
        self._watching = threading.Event()  # set while any stream is open: the SQLite watch idles otherwise
        self._heard_at = 0.0  # when the feed last read the database successfully (time.monotonic)
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def subscribe(self, job_id: int) -> asyncio.Event:
        event = asyncio.Event()
        with self._lock:
            self._waiters.setdefault(job_id, set()).add((asyncio.get_running_loop(), event))
            self._watching.set()
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
                self._states.pop(job_id, None)
            if not self._waiters:
                self._watching.clear()

    def watched(self) -> list[int]:
        with self._lock:
            return list(self._waiters)

    def state(self, job_id: int) -> tuple[bool, JobState | None]:
        """(whether the feed can answer for this job now, its state: None when it is gone)."""
        with self._lock:
            if job_id not in self._states or time.monotonic() - self._heard_at > 2 * RECHECK_S:
                return False, None
            return True, self._states[job_id]

    def refresh(self, job_ids: Iterable[int]) -> None:
        """Read these jobs (those still watched) and wake the streams of the ones that changed."""
        watched = set(self.watched())
        wanted = watched.intersection(job_ids)
        current = job_states(wanted) if wanted else {}
        with self._lock:
            self._heard_at = time.monotonic()
            changed = []
            for job_id in wanted:
                if job_id in self._waiters:
                    state = current.get(job_id)
                    if job_id not in self._states or self._states[job_id] != state:
                        self._states[job_id] = state
                        changed.append(job_id)
            waiters = [w for job_id in changed for w in self._waiters.get(job_id, ())]
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    def stop(self) -> None:
        """End the feed's thread (within RECHECK_S) and close its connections: for tests; a web process never does."""
        self._stopped.set()
        self._watching.set()
        if self._thread is not None:
            self._thread.join(timeout=3 * RECHECK_S)

    def _run(self) -> None:
        try:
            while not self._stopped.is_set():
                try:
                    if Listener.available():
                        self._listen()
                    else:
                        self._watch_sqlite()
                except Exception:
                    log.warning(
                        "The job change feed lost the database; streams read their jobs themselves",
                        exc_info=True,
                    )
                    connection.close()
                    self._stopped.wait(RECHECK_S)
        finally:
            connection.close()

    def _listen(self) -> None:
        listener = Listener(JOBS_CHANNEL)
        try:
            listener.wait(0)  # LISTEN before the first read: no change after it goes unnoticed
            next_full = 0.0
            while not self._stopped.is_set():
                if time.monotonic() >= next_full:
                    next_full = time.monotonic() + RECHECK_S
                    self.refresh(self.watched())
                elif listener.received:
                    self.refresh(int(p) for p in listener.received if p.isdigit())
                listener.wait(max(0.0, next_full - time.monotonic()))
        finally:
            listener.close()

    def _watch_sqlite(self) -> None:
        watch = ChangeWatch()  # data_version, on a connection of its own
        try:
            watch.wait(0)
            next_full = 0.0
            while not self._stopped.is_set():
                if not self._watching.wait(timeout=RECHECK_S):
                    continue  # no stream open: nothing to read
                if watch.wait(max(0.0, next_full - time.monotonic())) or time.monotonic() >= next_full:
                    next_full = time.monotonic() + RECHECK_S
                    self.refresh(self.watched())
        finally:
            watch.close()


_feed = ChangeFeed()


def sse_message(event: str, html: str) -> str:
    data = "\n".join(f"data: {line}" for line in html.splitlines() or [""])
    return f"event: {event}\n{data}\n\n"


async def job_stream(
    job_id: int,
    *,
    shown: str,
    render_panel: Callable[[], str | None],
    render_progress: Callable[[JobState], str],
) -> AsyncIterator[str]:
    """The event stream for one open panel, whose panel_key the browser has as `shown`.

    `render_panel()` (run in a thread: it reads the database) renders the whole panel, None when the job is gone;
    `render_progress(state)` renders the progress block from a state alone (no database: it runs on the loop).
    """
    from asgiref.sync import sync_to_async

    def in_thread(read: Callable[[], _T]) -> Callable[[], Awaitable[_T]]:
        def run() -> _T:
            try:
                return read()
            finally:
                # An open dialog must not hold a database connection while it waits (CONN_MAX_AGE says how long
                # one may live, as for any request; with the pool on, this lends it back).
                close_old_connections()

        return sync_to_async(run)

    event = _feed.subscribe(job_id)
    sent: tuple[float | None, int | None] | None = None  # the progress block last sent
    quiet_since = time.monotonic()
    try:
        yield "retry: 1000\n\n"  # the browser's own reconnect delay, should the connection drop
        while True:
            event.clear()
            known, state = _feed.state(job_id)
            if not known:  # the feed has not read this job yet, or has not been heard from lately
                state = await in_thread(lambda: job_states([job_id]).get(job_id))()
            if state is None:
                return
            if panel_key(state) != shown:
                html = await in_thread(render_panel)()
                if html is not None:
                    yield sse_message("job", html)
                return
            if state.progress_key != sent:
                # The first is sent too: the block may have changed between the panel's render and this stream.
                yield sse_message("progress", render_progress(state))
                sent = state.progress_key
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= KEEPALIVE_S:
                yield ": still running\n\n"
                quiet_since = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=RECHECK_S)
    finally:
        _feed.unsubscribe(job_id, event)


def preview_number(job_id: int) -> int | None:
    return JobPreview.objects.filter(job_id=job_id).values_list("number", flat=True).first()

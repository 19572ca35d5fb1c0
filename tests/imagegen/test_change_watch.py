"""SQLite's change watch (imagegen/wakeup.py): woken by the kernel when the database is written, not by a timer.

An idle worker and the web process's change feed wait on it. It must return as soon as another connection commits,
and with nothing written it must hardly read the database at all: that is an idle worker's whole cost. Each test
watches a database file of its own, so they run the same whatever database the suite itself uses.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagegen import wakeup
from imagegen.wakeup import ChangeWatch, DatabaseFiles


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "inkweld.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")  # as settings.py opens every connection
        connection.execute("CREATE TABLE job (id INTEGER PRIMARY KEY, status TEXT)")
    return path


@pytest.fixture
def watch(database: Path) -> Iterator[ChangeWatch]:
    watch = ChangeWatch(str(database))
    assert watch.wait(0) is False  # opens it and reads where the database stands
    yield watch
    watch.close()


class Reads:
    """Counts the watch's reads of data_version."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, watch: ChangeWatch) -> None:
        self.count = 0
        real = watch._read

        def counted() -> int:
            self.count += 1
            return real()

        monkeypatch.setattr(watch, "_read", counted)


def commit_later(database: Path, delay: float = 0.2) -> threading.Thread:
    def write() -> None:
        time.sleep(delay)
        with sqlite3.connect(database) as connection:
            connection.execute("INSERT INTO job (status) VALUES ('queued')")

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def test_a_commit_by_another_connection_wakes_the_watch(monkeypatch, database, watch) -> None:
    # No timer could explain it: without a write the watch would sleep for a minute.
    monkeypatch.setattr(wakeup, "SQLITE_TICK_S", 60.0)
    monkeypatch.setattr(wakeup, "FILES_RECHECK_S", 60.0)
    writer = commit_later(database)
    start = time.monotonic()
    assert watch.wait(30.0) is True
    assert time.monotonic() - start < 10.0
    writer.join()
    assert watch.wait(0) is False  # that commit was seen once, not again


def test_commits_made_while_nobody_waited_are_seen_at_once(database, watch) -> None:
    commit_later(database, delay=0).join()
    assert watch.wait(0) is True


def test_with_nothing_written_the_watch_hardly_reads_the_database(monkeypatch, database, watch) -> None:
    monkeypatch.setattr(wakeup, "FILES_RECHECK_S", 0.2)
    reads = Reads(monkeypatch, watch)
    # Another file in the same folder is written: not the database, so nothing to read.
    (database.parent / "notes.txt").write_text("a writer's notes")
    assert watch.wait(1.0) is False
    # About one read per FILES_RECHECK_S (a timer every SQLITE_TICK_S would have read it a hundred times).
    assert reads.count <= 8, reads.count


def test_without_inotify_the_watch_reads_on_a_timer(monkeypatch, database) -> None:
    monkeypatch.setattr(DatabaseFiles, "watch", classmethod(lambda cls, database: None))
    watch = ChangeWatch(str(database))
    try:
        watch.wait(0)
        reads = Reads(monkeypatch, watch)
        writer = commit_later(database)
        assert watch.wait(30.0) is True
        writer.join()
        assert reads.count > 5  # it found the commit by reading every SQLITE_TICK_S
    finally:
        watch.close()


def test_there_is_no_kernel_watch_for_a_database_that_is_not_a_file(tmp_path: Path) -> None:
    assert DatabaseFiles.watch(":memory:") is None
    assert DatabaseFiles.watch("file:memdb1?mode=memory&cache=shared") is None
    assert DatabaseFiles.watch(str(tmp_path / "missing.sqlite3")) is None

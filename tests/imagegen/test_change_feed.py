"""Twenty open dialogs on one job cost the database one read per change, not one each (issue 15).

The web process's one change feed (imagegen/live.py) reads the watched jobs when the database says something
changed (PostgreSQL's NOTIFY, SQLite's data_version), and each open stream renders its progress block from what the
feed read. Here twenty event streams of the real `job_stream` run on one event loop against the test database, with
the feed's own thread, while this test writes progress as a worker would.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from django.db import close_old_connections, transaction

from imagegen import live
from imagegen.models import GenerationJob, JobPreview

from .conftest import SD_MODEL

pytestmark = pytest.mark.django_db(transaction=True)

STREAMS = 20
PROGRESS = [0.25, 0.5, 0.75]


@pytest.fixture
def feed(monkeypatch: pytest.MonkeyPatch):
    """A fresh feed for this test, stopped (its thread and connection gone) before the test database is."""
    reads: list[int] = []
    real = live.job_states

    def counted(job_ids):
        job_ids = list(job_ids)
        reads.append(len(job_ids))
        return real(job_ids)

    monkeypatch.setattr(live, "job_states", counted)
    fresh = live.ChangeFeed()
    monkeypatch.setattr(live, "_feed", fresh)
    fresh.reads = reads  # type: ignore[attr-defined]
    yield fresh
    fresh.stop()


def worker_writes(job_id: int, started: threading.Event) -> None:
    """What a worker writes while it runs a job, a change at a time: progress, a preview, then the end."""
    try:
        started.wait(10)
        for progress in PROGRESS:
            time.sleep(0.3)
            GenerationJob.objects.filter(pk=job_id).update(progress=progress)
            if progress == 0.5:
                time.sleep(0.3)
                JobPreview.objects.create(job_id=job_id, number=1, image=b"x", content_type="image/png")
        time.sleep(0.3)
        with transaction.atomic():  # as services._finish ends a job: its preview goes with it
            GenerationJob.objects.filter(pk=job_id).update(status="succeeded", progress=1.0)
            JobPreview.objects.filter(job_id=job_id).delete()
    finally:
        close_old_connections()


async def follow(job_id: int, opened: list[int]) -> list[tuple[str, str]]:
    def render_panel() -> str:
        return f"panel of {GenerationJob.objects.get(pk=job_id).status}"

    def render_progress(state: live.JobState) -> str:
        return f"{state.progress} preview {state.preview}"

    received = []
    stream = live.job_stream(
        job_id, shown="running:0", render_panel=render_panel, render_progress=render_progress
    )
    async for chunk in stream:
        if chunk.startswith("event: "):
            name, data = chunk.split("\n")[:2]
            received.append((name.removeprefix("event: "), data.removeprefix("data: ")))
        if len(received) == 1 and chunk.startswith("event: "):
            opened.append(job_id)
    return received


def test_twenty_open_dialogs_cost_one_read_per_change(feed, owner, project):
    job = GenerationJob.objects.create(
        user=owner, project=project, provider="stable-diffusion", model=SD_MODEL, prompt="p",
        composed_prompt="p", status="running",
    )  # fmt: skip
    started = threading.Event()
    writer = threading.Thread(target=worker_writes, args=(job.pk, started))
    writer.start()

    async def main() -> list[list[tuple[str, str]]]:
        opened: list[int] = []
        tasks = [asyncio.create_task(follow(job.pk, opened)) for _ in range(STREAMS)]
        while len(opened) < STREAMS:
            await asyncio.sleep(0.01)
        reads_before.append(len(feed.reads))
        started.set()  # every stream has sent its first progress block: now the worker writes
        return await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)

    reads_before: list[int] = []
    streams: list[list[tuple[str, str]]] = []
    # A loop of its own in a thread of its own, as a web process runs its streams (and beside any loop a browser
    # test left in this one).
    loop = threading.Thread(target=lambda: streams.extend(asyncio.run(main())))
    loop.start()
    try:
        loop.join(40)
    finally:
        started.set()
        writer.join(10)
    assert len(streams) == STREAMS
    for received in streams:
        # Each dialog saw every step, the preview as it came, and then the finished panel.
        assert received == [
            ("progress", "None preview None"),
            ("progress", "0.25 preview None"),
            ("progress", "0.5 preview None"),
            ("progress", "0.5 preview 1"),
            ("progress", "0.75 preview 1"),
            ("job", "panel of succeeded"),
        ], received
    # Five changes, each read once by the feed for all twenty dialogs (and its read of every watched job each
    # RECHECK_S); twenty streams reading for themselves would make it a hundred or more.
    reads = feed.reads[reads_before[0] :]
    assert 5 <= len(reads) <= 10, reads

"""The dialog is told, not asking (issue 15): a running job's panel gets server-sent events from the real server.

The web server is the one `make run` and production use (gunicorn with uvicorn workers on the ASGI app), the worker
a real `manage.py db_worker`, the upstream the stand-in as Stable Diffusion. Read over HTTP as a browser's
EventSource reads it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.urls import reverse

from bench.writer import events as read_events
from imagegen.models import GenerationJob, JobPreview
from tests.web_server import WebServer
from tests.worker_process import db_workers  # noqa: F401 — the fixture

from .conftest import SD_MODEL
from .test_serve import signed_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def web(tmp_path: Path, settings, upstream) -> Iterator[WebServer]:
    settings.ALLOWED_HOSTS = ["*"]
    server = WebServer(tmp_path)
    server.start()
    yield server
    server.kill()
    for log in sorted(tmp_path.glob("web-*.log")):
        print(f"--- {log.name} ---\n{log.read_text(errors='replace')[-4000:]}")


def submit(session: requests.Session, web: WebServer, project, prompt: str = "A harbour") -> GenerationJob:
    response = session.post(
        f"{web.url}{reverse('imagegen:dialog', kwargs={'slug': project.slug})}",
        {"provider": "stable-diffusion", "model": SD_MODEL, "prompt": prompt, "size": "512x512", "count": "1",
         "steps": "20", "action": "generate", "csrfmiddlewaretoken": session.csrf},  # type: ignore[attr-defined]
        headers={"HX-Request": "true", "HX-Target": "generate-dialog-body", "X-CSRFToken": session.csrf},  # type: ignore[attr-defined]
        timeout=30,
    )  # fmt: skip
    assert response.status_code == 200, response.text[:500]
    assert "sse-connect" in response.text
    return GenerationJob.objects.get(prompt=prompt)


def events(session: requests.Session, url: str, *, timeout: float = 30) -> Iterator[tuple[str, str]]:
    """(event, data) pairs as an EventSource reads them from one connection."""
    with session.get(url, stream=True, timeout=timeout, headers={"Accept": "text/event-stream"}) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        yield from read_events(response)


def events_url(web: WebServer, project, job: GenerationJob, shown: str) -> str:
    path = reverse("imagegen:job_events", kwargs={"slug": project.slug, "pk": job.pk})
    return f"{web.url}{path}?shown={shown}"


def running_job(web, db_workers, upstream, project, owner) -> tuple[requests.Session, GenerationJob]:  # noqa: F811
    """A 3-second Stable Diffusion job, submitted by the owner and already upstream."""
    upstream.script(family="a1111", delay=3.0)
    db_workers.start()
    session = signed_in(owner)
    job = submit(session, web, project)
    upstream.wait_for("/sdapi/v1/txt2img", timeout=30)
    return session, job


def test_the_stream_pushes_progress_then_the_finished_panel(web, db_workers, upstream, project, owner):  # noqa: F811
    session, job = running_job(web, db_workers, upstream, project, owner)

    seen = list(events(session, events_url(web, project, job, "running:0")))
    names = [name for name, _ in seen]
    assert names[-1] == "job" and set(names[:-1]) == {"progress"}, names
    assert sum('value="' in data for _, data in seen[:-1]) >= 2  # progress with a figure, more than once
    final = seen[-1][1]
    assert "Succeeded" in final and "sse-connect" not in final and "Save to library" in final
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED


def test_a_panel_showing_an_old_state_gets_the_new_panel_at_once(web, db_workers, upstream, project, owner):  # noqa: F811
    upstream.script(family="a1111", delay=0.2)
    db_workers.start()
    session = signed_in(owner)
    job = submit(session, web, project)
    deadline = time.monotonic() + 30
    while GenerationJob.objects.filter(pk=job.pk, status__in=GenerationJob.UNFINISHED).exists():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    # The browser still shows "queued": the stream's first event is the finished panel, then it ends.
    (name, data), *rest = events(session, events_url(web, project, job, "queued:0"), timeout=10)
    assert name == "job" and "Succeeded" in data and rest == []


def test_open_streams_do_not_hold_up_the_media_tab(web, db_workers, upstream, project, owner):  # noqa: F811
    upstream.script(family="a1111", hang=True)
    session = signed_in(owner)
    job = submit(session, web, project)
    db_workers.start()
    upstream.wait_for("/sdapi/v1/txt2img", timeout=30)
    opened: list[requests.Response] = []
    for _ in range(40):  # more than any thread pool of gunicorn's two workers
        response = signed_in(owner).get(events_url(web, project, job, "running:0"), stream=True, timeout=10)
        assert response.status_code == 200
        opened.append(response)
    try:
        start = time.monotonic()
        tab = session.get(f"{web.url}{reverse('media:index', kwargs={'slug': project.slug})}", timeout=10)
        assert tab.status_code == 200 and time.monotonic() - start < 2.0
    finally:
        for response in opened:
            response.close()
        upstream.release()


def test_killing_the_web_server_mid_stream_loses_nothing(web, db_workers, upstream, project, owner):  # noqa: F811
    session, job = running_job(web, db_workers, upstream, project, owner)

    got: list[str] = []
    broken: list[BaseException] = []

    def read() -> None:
        try:
            for name, _ in events(session, events_url(web, project, job, "running:0")):
                got.append(name)
        except Exception as exc:  # the connection dies with the server
            broken.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    deadline = time.monotonic() + 10
    while not got and time.monotonic() < deadline:
        time.sleep(0.05)
    assert got, "the stream sent nothing before the kill"
    web.kill()
    reader.join(timeout=10)
    assert "job" not in got  # it really was cut off mid-job

    # The worker is not the web server: the job finishes, its image kept, its preview gone.
    deadline = time.monotonic() + 30
    while GenerationJob.objects.filter(pk=job.pk, status__in=GenerationJob.UNFINISHED).exists():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED and job.candidates.count() == 1
    assert not JobPreview.objects.filter(job=job).exists()

    # Reopening the dialog (the server back) shows the finished job and its image.
    web.start()
    panel = session.get(
        f"{web.url}{reverse('imagegen:job', kwargs={'slug': project.slug, 'pk': job.pk})}",
        headers={"HX-Request": "true", "HX-Target": "generate-dialog-body"},
        timeout=10,
    )
    assert panel.status_code == 200 and "Succeeded" in panel.text and "Save to library" in panel.text

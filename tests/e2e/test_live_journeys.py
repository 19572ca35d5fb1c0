"""Live generation in the browser (issue 15), on the server `make run` ships (gunicorn + uvicorn, ASGI): the dialog
is told over its event stream, the picture forms before the final image, and with the stream blocked the dialog
falls back to polling and the job still completes.
"""

from __future__ import annotations

import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, expect

from projects.models import Project
from tests.conftest import PASSWORD
from tests.standin.client import StandinClient
from tests.web_server import WebServer

from .test_generation_journeys import PROMPT, job_panel, open_dialog, open_media_tab

SLOW_UPSTREAM = 3.0
EVENTS = re.compile(r"/generate/jobs/\d+/events/")
POLL = re.compile(r"/generate/jobs/\d+/$")


@pytest.fixture
def asgi(live_server, upstream: StandinClient, tmp_path: Path) -> Iterator[WebServer]:
    """The ASGI server on the suite's database (after live_server, so it stops before the database is flushed)."""
    server = WebServer(tmp_path)
    server.start()
    for _ in range(
        4
    ):  # both uvicorn workers past their first imports and template compiles, as after any deploy
        urllib.request.urlopen(f"{server.url}/accounts/login/", timeout=30).read()
    yield server
    server.kill()


def sign_in_at(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def generate_with_stable_diffusion(page: Page, base: str, story: Project) -> None:
    open_media_tab(page, base, story)
    dialog = open_dialog(page)
    provider = dialog.get_by_label("Image service")
    if provider.count():
        page.locator("#generate-panel").evaluate("panel => { panel.dataset.stale = 'yes'; }")
        provider.select_option(label="Stable Diffusion WebUI")
        page.wait_for_selector("#generate-panel:not([data-stale]):not(.htmx-settling)")
    dialog.get_by_label("Prompt", exact=True).fill(PROMPT)
    dialog.get_by_label("Images").fill("1")
    dialog.get_by_label("Images").blur()
    dialog.get_by_role("button", name="Generate", exact=True).click()


def test_the_picture_forms_before_the_final_image_told_over_the_stream(
    page: Page, asgi: WebServer, story: Project, upstream: StandinClient, worker: subprocess.Popen[bytes]
) -> None:
    upstream.script(family="a1111", delay=SLOW_UPSTREAM)
    upstream.configure(sd_live_previews=True)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    sign_in_at(page, asgi.url, "editor")
    generate_with_stable_diffusion(page, asgi.url, story)

    panel = job_panel(page.locator("#generate-dialog"))
    preview = panel.locator("img.job-preview")
    expect(preview).to_be_visible(timeout=15_000)
    assert panel.locator(".candidate").count() == 0  # the preview came first
    assert preview.evaluate("img => img.complete && img.naturalWidth > 0")  # and it is a picture
    expect(panel.locator(".candidate")).to_have_count(1, timeout=20_000)
    expect(panel.locator("img.job-preview")).to_have_count(0)  # replaced by the image itself

    streams = [url for url in requests if EVENTS.search(url)]
    polls = [url for url in requests if POLL.search(url.split("?")[0])]
    assert 1 <= len(streams) <= 3 and polls == [], (streams, polls)  # told, not asking


def test_with_the_stream_blocked_the_dialog_polls_and_the_job_completes(
    page: Page, asgi: WebServer, story: Project, upstream: StandinClient, worker: subprocess.Popen[bytes]
) -> None:
    upstream.script(family="a1111", delay=SLOW_UPSTREAM)
    blocked: list[Request] = []

    def refuse(route) -> None:  # a proxy that will not pass event streams
        blocked.append(route.request)
        route.abort()

    page.route(EVENTS, refuse)
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url) if POLL.search(request.url) else None)
    sign_in_at(page, asgi.url, "editor")
    generate_with_stable_diffusion(page, asgi.url, story)

    panel = job_panel(page.locator("#generate-dialog"))
    expect(panel.locator(".candidate")).to_have_count(1, timeout=30_000)
    expect(panel.locator(".status-succeeded")).to_be_visible()
    assert blocked and polls  # the stream was tried and refused; polling did the work

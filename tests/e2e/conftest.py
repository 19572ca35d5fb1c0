"""The browser harness: Playwright driving Debian's Chromium against a live server.

Outside CI a missing Chromium makes these tests skip with a loud reason; in CI (CI=true) they fail instead.
"""

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Page

from projects.models import Document, Element, Project
from tests.standin.client import StandinClient
from tests.standin.fixtures import _standin_process_session, standin_process  # noqa: F401
from tests.worker_process import Workers

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]

# Every page, and so every screenshot, at the size the README shows.
VIEWPORT = {"width": 1280, "height": 800}

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test body are still
# synchronous and safe, so allow them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


PASSED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[PASSED] = report.passed
    return report


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM}: install Debian's 'chromium' package (make test does when it can)."
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip("!!! BROWSER TESTS SKIPPED: " + message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# Every page every journey visits is checked against the Content-Security-Policy: a `securitypolicyviolation` event
# or a CSP error on the console fails the test that caused it (the check runs when the test's browser context ends).
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => window.__inkweldCspViolation({
  page: location.href, directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile,
  line: e.lineNumber, sample: e.sample,
}), true);
"""


class CspViolations(list):
    def record(self, violation: dict) -> None:
        self.append(violation)

    def record_console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.append({"console": message.text, "page": message.page.url if message.page else ""})


@pytest.fixture
def csp_violations() -> CspViolations:
    return CspViolations()


@pytest.fixture
def context(browser, csp_violations):
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(15_000)
    context.expose_function("__inkweldCspViolation", csp_violations.record)
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    context.on("console", csp_violations.record_console)
    yield context
    context.close()
    assert list(csp_violations) == [], f"Content-Security-Policy violations: {list(csp_violations)}"


@pytest.fixture
def page(context, request):
    page = context.new_page()
    yield page
    # Every journey ends with an accessibility check of where it ended (tests/e2e/axe.py); journeys check the pages
    # on their way themselves. Not after a failure (the page is wherever the failure left it), and not in Django's
    # admin: its pages are Django's, and its stylesheet policy refuses the styles axe applies while it measures.
    ended = page.url if not page.is_closed() else ""
    if request.node.stash.get(PASSED, False) and ended.startswith("http") and "/admin/" not in ended:
        from tests.e2e import axe

        axe.check(page, f"the end of {request.node.name}")


@pytest.fixture
def sign_in(live_server):
    def do(page, username: str, password: str) -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()

    return do


# --- Screenshots -------------------------------------------------------------------------------------------------
# `make screenshots` sets SCREENSHOTS_DIR; the journeys call shot() at the moments the README shows. Otherwise a no-op,
# so the journeys in `make test` write nothing.
SCREENSHOTS_DIR = os.environ.get("SCREENSHOTS_DIR", "")


def shot(page: Page, name: str, *, full_page: bool = False) -> None:
    """Save the viewport (or the whole page) as SCREENSHOTS_DIR/<name>.png, when SCREENSHOTS_DIR is set."""
    if not SCREENSHOTS_DIR:
        return
    directory = Path(SCREENSHOTS_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    # Let pending images finish and the caret stop blinking, so the PNG shows what a person would see.
    page.wait_for_load_state("load")
    page.wait_for_function("() => Array.from(document.images).every(img => img.complete)")
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, caret="hide", animations="disabled")
    # A 256-colour palette: UI pictures look the same and the committed PNGs are about a third of the size.
    Image.open(path).convert("RGB").quantize(256).save(path, optimize=True)


# --- The app for real: a stand-in upstream process, the live server, and the task worker as a process ----------

TEST_OPENAI_KEY = "sk-e2e-standin-key-0123456789"


def point_app_at(
    standin: StandinClient, monkeypatch: pytest.MonkeyPatch, *, openai_key: str | None, comfyui: bool = False
) -> None:
    """Configure the app's upstreams through its normal settings: the live server reads os.environ per request,
    and the worker copies it when it is spawned. OpenRouter stays unconfigured (it needs a key we do not give), and
    ComfyUI (switched on by its endpoint) only where a test asks for it."""
    from django.core.cache import cache

    env = standin.env()
    env.pop("AI_IMAGE_OPENROUTER_BASE_URL")
    if not comfyui:
        env.pop("AI_IMAGE_COMFYUI_ENDPOINT")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if openai_key:
        monkeypatch.setenv("OPENAI_API_KEY", openai_key)
    # Providers cache their model lists per base URL; a previous test's answers must not leak in.
    cache.clear()


@pytest.fixture
def upstream(standin_process: StandinClient, monkeypatch: pytest.MonkeyPatch) -> StandinClient:  # noqa: F811
    """The session's stand-in process (reset for this test) as OpenAI (env key) and Stable Diffusion."""
    point_app_at(standin_process, monkeypatch, openai_key=TEST_OPENAI_KEY)
    return standin_process


@pytest.fixture
def start_worker(live_server: Any, tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Start `manage.py db_worker` on the suite's database with the environment as it is *now*.

    A factory, so a test can change its environment first (the worker reads it once, at spawn). Depends on live_server
    so the worker is stopped before the transactional test database is flushed.
    """
    workers = Workers(tmp_path)
    yield workers.start
    workers.stop_all()


@pytest.fixture
def worker(
    upstream: StandinClient, start_worker: Callable[[], subprocess.Popen[bytes]]
) -> subprocess.Popen[bytes]:
    return start_worker()


# --- A writer's project with something to work with --------------------------------------------------------------


@pytest.fixture
def story(project: Project) -> Project:
    """'Moonlit Harbour' with three worldbuilding elements and a document to insert images into."""
    Element.objects.create(
        project=project,
        kind=Element.Kind.CHARACTER,
        name="Mira Vale",
        description="A cartographer who maps other people's dreams.",
        attributes=[["Hair", "silver"]],
    )
    Element.objects.create(
        project=project,
        kind=Element.Kind.LOCATION,
        name="The Drowned Library",
        description="Half-submerged stacks lit by green lanterns.",
    )
    Element.objects.create(
        project=project,
        kind=Element.Kind.STYLE,
        name="Ink wash",
        description="Loose brush strokes in indigo.",
    )
    Document.objects.create(project=project, title="Chapter One", body="The tide came in at midnight.")
    return project

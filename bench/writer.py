"""What the bench does as a writer would: sign in over HTTP, submit the Generate dialog and follow its job as the
panel does (its polls, or its event stream), read the Media tab's pages, and seed a library to read.

The stack these run against (servers, worker, scratch database) is harness.py.
"""

from __future__ import annotations

import functools
import io
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from projects.models import Project

SD_CHECKPOINT = "v1-5-pruned-emaonly.safetensors [6ce0161689]"
USERNAME = "bench-writer"
PASSWORD = "bench-" + secrets.token_urlsafe(12)  # a throwaway account in a scratch database

FIRST_PAGE = 24  # tiles on the Media tab's first page (media_library.views.PAGE_SIZE)
BENCH_LIBRARY = 48  # items in the bench project's library: two full pages, as a writer's library has
REAL_FILES = 6  # real files (and thumbnails) a seeded library's rows point at
TILE = 'class="media-tile"'


def count_tiles(html: str) -> int:
    return html.count(TILE)


def require_full_page(html: str, what: str) -> None:
    """Raise unless the Media tab rendered a full first page: an empty library must never be measured silently."""
    tiles = count_tiles(html)
    if tiles != FIRST_PAGE:
        raise RuntimeError(f"{what}: the Media tab rendered {tiles} tiles, not {FIRST_PAGE}")


@functools.lru_cache(maxsize=REAL_FILES)
def drawn_png(seed: int) -> bytes:
    """A 1024×1024 PNG drawn by the stand-in's painter (the same bytes for the same seed, drawn once)."""
    from tests.standin.images import draw

    out = io.BytesIO()
    draw(1024, 1024, seed, f"Bench {seed}").save(out, "PNG")
    return out.getvalue()


def seed_library(project: Project, user: User, count: int) -> None:
    """Give `project` a library of `count` items, newest first as one grows over time.

    A few (REAL_FILES) are stored by the app itself from drawn images (file, WebP thumbnail, sizes); the rest are
    bulk-created rows pointing at those real files and thumbnails, so every tile's thumbnail can be fetched.
    """
    from django.utils import timezone

    from media_library.models import MediaItem
    from media_library.services import media_item_create_from_bytes

    real = [
        media_item_create_from_bytes(project=project, data=drawn_png(i), created_by=user, title=f"Drawn {i}")[
            0
        ]
        for i in range(min(count, REAL_FILES))
    ]
    now = timezone.now()
    rows = []
    for i in range(count - len(real)):
        model = real[i % len(real)]
        rows.append(
            MediaItem(
                project=project,
                file=model.file.name,
                thumbnail=model.thumbnail.name,
                thumbnail_width=model.thumbnail_width,
                thumbnail_height=model.thumbnail_height,
                content_type=model.content_type,
                width=model.width,
                height=model.height,
                size_bytes=model.size_bytes,
                sha256=f"{i:064x}",
                origin=MediaItem.Origin.GENERATED if i % 2 else MediaItem.Origin.UPLOADED,
                title=f"Scene {i}",
                alt_text=f"An illustration for scene {i}",
                created_by=user,
                generation={"prompt": f"Scene {i}", "provider": "stable-diffusion"} if i % 2 else {},
            )
        )
    created = MediaItem.objects.bulk_create(rows, batch_size=1000)
    # Spread created_at as a real library grows (bulk_create stamped them all "now"), oldest first.
    for age, item in enumerate(reversed(created), start=len(real) + 1):
        item.created_at = now - timedelta(minutes=age)
    MediaItem.objects.bulk_update(created, ["created_at"], batch_size=500)


class Browser:
    """A signed-in writer over HTTP, sending what htmx sends. One requests.Session (cookies, keep-alive)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base + path

    def sign_in(self, username: str = USERNAME, password: str = PASSWORD) -> None:
        page = self.http.get(self.url("/accounts/login/"), timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if token is None:
            raise RuntimeError("no CSRF token on the login form")
        answer = self.http.post(
            self.url("/accounts/login/"),
            data={"csrfmiddlewaretoken": token.group(1), "username": username, "password": password},
            timeout=10,
            allow_redirects=False,
        )
        if answer.status_code != 302:
            raise RuntimeError(f"sign-in failed: HTTP {answer.status_code}")

    @property
    def csrf(self) -> str:
        return self.http.cookies.get("csrftoken") or ""

    def htmx(self, method: str, path: str, target: str, **kwargs: Any) -> requests.Response:
        headers = {"HX-Request": "true", "HX-Target": target, "X-CSRFToken": self.csrf}
        return self.http.request(method, self.url(path), headers=headers, timeout=30, **kwargs)


POLL = re.compile(r'hx-get="([^"]+)" hx-trigger="load delay:([0-9.]+)(ms|s)')
STREAM = re.compile(r'sse-connect="([^"]+)"')


@dataclass
class Submitted:
    elapsed: float  # submit → the event (or poll) that shows the candidates, in seconds
    polls: int  # requests the dialog made after the submit: event streams opened, and polls
    status: str
    candidates: int
    html: str = ""
    first_preview: float | None = None  # submit → the first preview the dialog was sent, in seconds
    posted: float = 0.0  # submit → the POST's answer (the queued panel), in seconds
    submitted_at: float = (
        0.0  # the submit, by the wall clock (time.time()): the job rows' timestamps use it too
    )


def events(response: requests.Response) -> Iterator[tuple[str, str]]:
    """(event, data) pairs of a server-sent event stream, as an EventSource reads them."""
    name, data = "message", list[str]()
    for line in response.iter_lines(decode_unicode=True):
        if line == "":
            if data:
                yield name, "\n".join(data)
            name, data = "message", []
        elif line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])


def submit_and_wait(browser: Browser, slug: str, fields: dict[str, Any], limit: float = 120.0) -> Submitted:
    """Post the Generate Image form as the dialog does, then follow the job as the panel does: its event stream
    (`sse-connect`: `progress` events, then a `job` event with the next panel), or polling at the delay it renders
    when a panel has no stream."""
    data = {"action": "generate", "csrfmiddlewaretoken": browser.csrf, **fields}
    submitted_at, start = time.time(), time.perf_counter()
    answer = browser.htmx("POST", f"/projects/{slug}/generate/", "generate-panel", data=data)
    answer.raise_for_status()
    posted = time.perf_counter() - start
    requests_made = 0
    first_preview = None
    html = answer.text
    while (poll := POLL.search(html)) is not None:
        if time.perf_counter() - start > limit:
            raise TimeoutError(f"the job was not finished after {limit} s")
        requests_made += 1
        stream = STREAM.search(html)
        if stream is None:
            delay = float(poll.group(2)) / (1000 if poll.group(3) == "ms" else 1)
            time.sleep(delay)
            answer = browser.htmx("GET", poll.group(1).replace("&amp;", "&"), "generate-panel")
            answer.raise_for_status()
            html = answer.text
            continue
        url = stream.group(1).replace("&amp;", "&")
        with browser.http.get(browser.url(url), stream=True, timeout=limit) as response:
            response.raise_for_status()
            for name, text in events(response):
                if name == "progress" and first_preview is None and "job-preview" in text:
                    first_preview = time.perf_counter() - start
                if name == "job":
                    html = text
                    break
            else:
                raise RuntimeError("the event stream ended without the next panel")
    elapsed = time.perf_counter() - start
    status = re.search(r'class="status status-([a-z_]+)"', html)
    if status is None:
        raise RuntimeError("the job panel did not come back: " + html[:300])
    return Submitted(
        elapsed=elapsed,
        polls=requests_made,
        status=status.group(1),
        candidates=html.count('name="candidate"'),
        html=html,
        first_preview=first_preview,
        posted=posted,
        submitted_at=submitted_at,
    )

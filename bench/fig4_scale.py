"""Figure 4 — the Media tab at scale: server time and queries with 10,000 items ÷ with 30 items.

Both libraries fill the first page (24 tiles), so the ratio measures the library's size, not how many tiles render.
In-process (django.test.Client against the same scratch database), so the time is the server's alone.
The rows are bulk-created pointing at a few real files and thumbnails the app made itself from drawn images
(writer.seed_library); the first page's thumbnails are then fetched to count the image bytes a writer's
browser loads.
"""

from __future__ import annotations

import re
import statistics
import time

from .harness import Stack
from .results import Figure
from .writer import FIRST_PAGE, USERNAME, count_tiles, require_full_page, seed_library

BIG, SMALL = 10_000, 30
REQUESTS = 15  # per project per round
THUMBNAIL = re.compile(r'<img src="([^"]+/thumbnail/)"')


def seed(title: str, count: int) -> str:
    from django.contrib.auth.models import User

    from projects.services import project_create

    user = User.objects.get(username=USERNAME)
    project = project_create(owner=user, title=title)
    seed_library(project, user, count)
    return project.slug


def run(stack: Stack, rounds: int = 5) -> Figure:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    figure = Figure(
        "scale",
        "Media tab at 10,000 items",
        "server time 10,000 ÷ 30 items",
        "same queries, ≤ 1.5, ≤ 50 KB/item",
        limit=1.5,
    )
    big, small = seed("Bench library (large)", BIG), seed("Bench library (small)", SMALL)
    if connection.vendor == "postgresql":
        # What autovacuum does to a library that grew over time: statistics and the visibility map (index-only
        # counts). A bulk insert a second ago has neither yet.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE media_library_mediaitem")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username=USERNAME))
    urls = {BIG: f"/projects/{big}/media/", SMALL: f"/projects/{small}/media/"}
    for count, url in urls.items():
        for _ in range(3):  # warm: templates compiled, caches filled
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"figure 4: {url}: HTTP {response.status_code}")
        # Both pages must render a full first page, or the ratio would compare tile counts.
        require_full_page(response.content.decode(), f"figure 4 ({count} items)")
    queries = {}
    for count, url in urls.items():
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        queries[count] = len(captured.captured_queries)
    times: dict[int, list[float]] = {BIG: [], SMALL: []}
    for _ in range(rounds):
        medians = {}
        for count, url in urls.items():
            spent = []
            for _ in range(REQUESTS):
                start = time.perf_counter()
                client.get(url)
                spent.append(time.perf_counter() - start)
            medians[count] = statistics.median(spent)
            times[count].append(round(1000 * medians[count], 2))
        figure.samples.append(medians[BIG] / medians[SMALL])

    page = client.get(urls[BIG]).content.decode()
    thumbs = THUMBNAIL.findall(page)
    if len(thumbs) != FIRST_PAGE:  # a changed thumbnail URL must not turn the KB/item check into 0 ≤ 50
        raise RuntimeError(
            f"figure 4: found {len(thumbs)} thumbnail URLs on a page of {count_tiles(page)} tiles, "
            f"expected {FIRST_PAGE}: update THUMBNAIL"
        )
    image_bytes = 0
    for src in thumbs:
        response = client.get(src)
        body = response.getvalue()  # the streamed file's bytes, or the content of a plain answer
        if response.status_code != 200 or not body:
            raise RuntimeError(f"figure 4: thumbnail {src}: HTTP {response.status_code}, {len(body)} bytes")
        image_bytes += len(body)
    per_item_kb = image_bytes / len(thumbs) / 1024
    figure.extra_checks = {
        "same query count": queries[BIG] == queries[SMALL],
        "≤ 50 KB of images per item": per_item_kb <= 50,
    }
    figure.details = {
        "queries_10000": queries[BIG],
        "queries_30": queries[SMALL],
        "server_ms_10000": times[BIG],
        "server_ms_30": times[SMALL],
        "first_page_items": len(thumbs),
        "image_kb_per_item": round(per_item_kb, 1),
    }
    stack._close_db()
    return figure

"""Figure 4 — the Media tab at scale: server time and queries with 10,000 items ÷ with 10 items.

In-process (django.test.Client against the same scratch database), so the time is the server's alone.
10,000 rows are bulk-created pointing at a few real files and thumbnails the app made itself from drawn
images; the first page's thumbnails are then fetched to count the image bytes a writer's browser loads.
"""

from __future__ import annotations

import io
import statistics
import time
from datetime import timedelta

from .harness import USERNAME, Stack
from .results import Figure

BIG, SMALL = 10_000, 10
REAL_FILES = 6
REQUESTS = 15  # per project per round


def _drawn_png(seed: int) -> bytes:
    from tests.standin.images import draw

    out = io.BytesIO()
    draw(1024, 1024, seed, f"Bench {seed}").save(out, "PNG")
    return out.getvalue()


def seed(title: str, count: int) -> str:
    from django.contrib.auth.models import User
    from django.utils import timezone

    from media_library.models import MediaItem
    from media_library.services import media_item_create_from_bytes
    from projects.services import project_create

    user = User.objects.get(username=USERNAME)
    project = project_create(owner=user, title=title)
    real = [
        media_item_create_from_bytes(
            project=project, data=_drawn_png(i), created_by=user, title=f"Drawn {i}"
        )[0]
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
    return project.slug


def run(stack: Stack, rounds: int = 5) -> Figure:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    figure = Figure(
        "scale",
        "Media tab at 10,000 items",
        "server time 10,000 ÷ 10 items",
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
    for url in urls.values():
        for _ in range(3):
            assert client.get(url).status_code == 200  # warm: templates compiled, caches filled
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
    import re

    thumbs = re.findall(r'<img src="([^"]+/thumbnail/)"', page)
    image_bytes = 0
    for src in thumbs:
        response = client.get(src)
        image_bytes += sum(len(chunk) for chunk in response.streaming_content)
    per_item_kb = image_bytes / max(1, len(thumbs)) / 1024
    figure.extra_checks = {
        "same query count": queries[BIG] == queries[SMALL],
        "≤ 50 KB of images per item": per_item_kb <= 50,
    }
    figure.details = {
        "queries_10000": queries[BIG],
        "queries_10": queries[SMALL],
        "server_ms_10000": times[BIG],
        "server_ms_10": times[SMALL],
        "first_page_items": len(thumbs),
        "image_kb_per_item": round(per_item_kb, 1),
    }
    stack._close_db()
    return figure

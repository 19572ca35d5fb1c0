"""Figure 6 — throughput: Media tab requests per second ÷ /healthz requests per second, same gunicorn (2 workers).

/healthz (inkweld/health.py) is the framework's ceiling on this machine: a request through gunicorn and Django's
WSGI handler, answered by the first middleware (so none of the others run) — no database, no template. The
Media tab is the bench project's, seeded with a library (writer.BENCH_LIBRARY items), so it renders a full first
page of 24 tiles; the figure checks that before measuring. The load generator (bench/load.py: 2 processes ×
2 threads, plain http.client) shares the 2 cores, so absolute figures are the machine's; the ratio says how much
of the ceiling the page reaches.
"""

from __future__ import annotations

from .harness import Stack
from .load import requests_per_second
from .results import Figure
from .writer import FIRST_PAGE, require_full_page

SECONDS = 3.0


def run(stack: Stack, rounds: int = 3) -> Figure:
    figure = Figure("throughput", "Media tab throughput", "Media tab rps ÷ /healthz rps", "report")
    browser = stack.browser()
    cookie = "; ".join(f"{k}={v}" for k, v in browser.http.cookies.items())
    media = f"{stack.base}/projects/{stack.slug}/media/"
    first = browser.http.get(media, timeout=10)
    first.raise_for_status()
    require_full_page(first.text, "figure 6")
    page_rps, ceiling_rps, errors = [], [], 0
    for _ in range(rounds):
        ceiling, failed_a = requests_per_second(f"{stack.base}/healthz", {}, SECONDS)
        page, failed_b = requests_per_second(media, {"Cookie": cookie}, SECONDS)
        errors += failed_a + failed_b
        page_rps.append(round(page, 1))
        ceiling_rps.append(round(ceiling, 1))
        figure.samples.append(page / ceiling)
    figure.details = {
        "media_tab_rps": page_rps,
        "healthz_rps": ceiling_rps,
        "failed_requests": errors,
        "media_tab_tiles": FIRST_PAGE,
    }
    return figure

"""Figure 3 — responsiveness under load: Media tab p95 while 20 jobs run ÷ p95 with nothing running.

"Running" here: 20 jobs, each held by its own db_worker process in a request to a stand-in that answers in
UPSTREAM_S, so all 20 are status `running` together (19 extra workers plus the stack's one; memory allows it).
Their 20 dialogs stay open on the job panel's event stream, as a browser's does (issue 15; they polled before). The
idle windows have the same processes, no jobs and no dialogs: the workers waiting as idle workers do (LISTEN on
PostgreSQL, the change watch on SQLite; imagegen/wakeup.py). One client measures the Media tab, one request at a time: an idle
window, a busy window, an idle window, … and each busy p95 is divided by the mean of the idle p95s on either side
of it, so the shared machine's drift between windows mostly cancels.

The measured Media tab is the bench project's, seeded with a library (writer.BENCH_LIBRARY items), so it renders
a full first page of 24 tiles; the figure checks that before measuring. A dialog whose panel or stream does not
answer 200 (it would stop, and silently remove its load) fails the figure.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import re
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from .fig1_overhead import fields
from .harness import Stack
from .results import Figure, percentile
from .writer import FIRST_PAGE, Browser, require_full_page

JOBS = 20
UPSTREAM_S = 15.0  # long enough that all 20 stay running through a busy window on a loaded machine
SAMPLES = 100


def latencies(base: str, path: str, cookie: str, n: int, limit_s: float = 30.0) -> list[float]:
    """`n` sequential GETs (bounded by `limit_s`), each timed from send to last byte."""
    parts = urlsplit(base)
    out: list[float] = []
    deadline = time.perf_counter() + limit_s
    while len(out) < n and time.perf_counter() < deadline:
        conn = http.client.HTTPConnection(parts.netloc, timeout=10)
        start = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        response.read()
        out.append(time.perf_counter() - start)
        conn.close()
        if response.status != 200:
            raise RuntimeError(f"{path}: HTTP {response.status}")
    return out


STREAM = re.compile(r'sse-connect="([^"]+)"')


def _dialog(base: str, path: str, cookie: str, until: float, out: list[tuple[int, list[str]]]) -> None:
    """One open dialog following its job as the panel does: the panel, then its event stream (`progress` events,
    then a `job` event with the next panel, which may open a stream of its own). Appends (messages received — the
    panel and each event —, what the failures were)."""
    parts = urlsplit(base)
    headers = {"Cookie": cookie, "HX-Request": "true", "HX-Target": "generate-panel"}
    received = 0
    errors: list[str] = []
    try:
        html = _get(parts, path, headers)
        received += 1
        while (stream := STREAM.search(html)) is not None and time.perf_counter() < until:
            conn = http.client.HTTPConnection(parts.netloc, timeout=10)
            try:
                conn.request("GET", stream.group(1).replace("&amp;", "&"), headers={"Cookie": cookie})
                response = conn.getresponse()
                if response.status != 200:  # the dialog would fall back to polling: say so
                    raise RuntimeError(f"HTTP {response.status}")
                html = ""
                name, data = "message", list[str]()
                while not html:
                    line = response.readline().decode()
                    if not line:
                        raise RuntimeError("stream ended without the next panel")
                    line = line.rstrip("\r\n")
                    if line == "" and data:
                        received += 1
                        if name == "job":
                            html = "\n".join(data)
                        name, data = "message", []
                    elif line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        data.append(line[6:])
            finally:
                conn.close()
    except (OSError, http.client.HTTPException, RuntimeError) as e:
        errors.append(str(e) if isinstance(e, RuntimeError) else type(e).__name__)
    out.append((received, errors))


def _get(parts: SplitResult, path: str, headers: dict[str, str]) -> str:
    conn = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        html = response.read().decode()
    finally:
        conn.close()
    if response.status != 200:  # the dialog would stop: its load would silently go away
        raise RuntimeError(f"HTTP {response.status}")
    return html


def cookie_of(browser: Browser) -> str:
    return "; ".join(f"{k}={v}" for k, v in browser.http.cookies.items())


def dialogs(base: str, polled: list[tuple[str, str]], seconds: float) -> tuple[int, list[str]]:
    """Open dialogs polling their jobs (run in a child process so they do not share the measurer's GIL).

    Returns the polls answered 200 and the failures (non-200 answers, connection errors, dialogs that never ended).
    """
    until = time.perf_counter() + seconds
    results: list[tuple[int, list[str]]] = []
    threads = [
        threading.Thread(target=_dialog, args=(base, path, cookie, until, results)) for path, cookie in polled
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 15)
    errors = [error for _, errs in results for error in errs]
    errors += ["no result"] * (len(polled) - len(results))
    return sum(polls for polls, _ in results), errors


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_quiet(processes: list, limit_s: float = 40.0) -> None:
    """Until the processes together use under a fifth of a core (bounded by `limit_s`)."""
    deadline = time.monotonic() + limit_s
    time.sleep(1)
    while time.monotonic() < deadline:
        before = sum(_cpu_seconds(p.pid) for p in processes)
        time.sleep(0.5)
        if sum(_cpu_seconds(p.pid) for p in processes) - before < 0.1:
            return


def run(stack: Stack, rounds: int = 3) -> Figure:
    from imagegen.models import GenerationJob

    figure = Figure(
        "responsiveness",
        "Media tab p95 under load",
        "p95 with 20 jobs running, 20 dialogs open ÷ p95 idle",
        "≤ 1.3",
        limit=1.3,
    )
    browser = stack.browser()
    cookie = cookie_of(browser)
    load = stack.writers(JOBS)  # each job is another writer's (a writer may have only a few unfinished)
    media = f"/projects/{stack.slug}/media/"
    page = browser.http.get(browser.url(media), timeout=10)
    page.raise_for_status()
    require_full_page(page.text, "figure 3")
    extra = [stack.start_db_worker(interval=1.0, name="load-worker") for _ in range(JOBS - 1)]
    context = multiprocessing.get_context("spawn")
    idle_p95, busy_p95, ages, polls = [], [], [], []
    try:
        wait_quiet(extra)  # the extra workers' start-up (imports: CPU-heavy) must be over before measuring
        stack.standin.script(family="a1111", delay=UPSTREAM_S)
        # No live previews: the stand-in would draw 20 of them a second on the same two cores, where a real WebUI
        # draws them on its own GPU. (Previews are figure 8's.)
        stack.standin.configure(sd_live_previews=False)
        for _ in range(rounds):
            stack.wait_idle(timeout=UPSTREAM_S + 30)
            idle_p95.append(percentile(latencies(stack.base, media, cookie, SAMPLES), 95))
            first = (GenerationJob.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
            for slug, writer in load:
                data = {"action": "generate", "csrfmiddlewaretoken": writer.csrf, **fields()}
                writer.htmx(
                    "POST", f"/projects/{slug}/generate/", "generate-panel", data=data
                ).raise_for_status()
            submitted = time.perf_counter()
            polled = [
                (f"/projects/{slug}/generate/jobs/{pk}/", cookie_of(writer))
                for pk, (slug, writer) in zip(range(first, first + JOBS), load, strict=True)
            ]
            with context.Pool(1) as pool:
                pending = pool.apply_async(dialogs, (stack.base, polled, UPSTREAM_S + 5))
                deadline = time.monotonic() + 15
                while GenerationJob.objects.filter(pk__gte=first, status="running").count() < JOBS:
                    if time.monotonic() > deadline:
                        raise TimeoutError("figure 3: the 20 jobs did not all start")
                    time.sleep(0.1)
                ages.append(round(time.perf_counter() - submitted, 1))
                busy_p95.append(percentile(latencies(stack.base, media, cookie, SAMPLES), 95))
                still = GenerationJob.objects.filter(pk__gte=first, status="running").count()
                if still < JOBS:
                    raise RuntimeError(f"figure 3: only {still} jobs were still running at the end")
                answered, errors = pending.get(timeout=UPSTREAM_S + 30)
                if errors:
                    summary = ", ".join(f"{n} × {what}" for what, n in Counter(errors).items())
                    raise RuntimeError(f"figure 3: dialogs failed ({summary}): their load went missing")
                polls.append(answered)
            stack._close_db()
        stack.wait_idle(timeout=UPSTREAM_S + 30)
        idle_p95.append(percentile(latencies(stack.base, media, cookie, SAMPLES), 95))
    finally:
        for process in extra:
            stack.stop_process(process)
    # Each busy window against the idle ones on either side of it: the machine's own drift cancels out.
    for i, busy in enumerate(busy_p95):
        figure.samples.append(busy / ((idle_p95[i] + idle_p95[i + 1]) / 2))
    idle_p95 = [round(1000 * x, 1) for x in idle_p95]
    busy_p95 = [round(1000 * x, 1) for x in busy_p95]
    figure.details = {
        "jobs_running": JOBS,
        "upstream_s": UPSTREAM_S,
        "idle_p95_ms": idle_p95,
        "busy_p95_ms": busy_p95,
        "job_age_when_measuring_s": ages,
        "dialog_messages_per_round": polls,
        "dialog_failures": 0,  # any failure raises instead
        "media_tab_tiles": FIRST_PAGE,
    }
    return figure

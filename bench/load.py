"""A small load generator: threads with plain http.client connections, in a few processes (no GIL ceiling).

Bounded twice: every worker stops after `duration` seconds or `max_requests` requests, whichever comes first.
Only ever pointed at 127.0.0.1.
"""

from __future__ import annotations

import http.client
import multiprocessing
import threading
import time
from urllib.parse import urlsplit


def _thread(
    host: str, port: int, path: str, headers: dict[str, str], until: float, cap: int, out: list
) -> None:
    done = errors = 0
    latencies: list[float] = []
    conn: http.client.HTTPConnection | None = None
    while done + errors < cap and time.perf_counter() < until:
        start = time.perf_counter()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=10)
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors += 1
            else:
                done += 1
                latencies.append(time.perf_counter() - start)
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException):
            errors += 1
            if conn is not None:
                conn.close()
            conn = None
    if conn is not None:
        conn.close()
    out.append((done, errors, latencies))


def _process(
    url: str, headers: dict[str, str], duration: float, threads: int, cap: int
) -> tuple[int, int, float]:
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1", "load only ever goes to loopback"
    until = time.perf_counter() + duration
    results: list = []
    workers = [
        threading.Thread(
            target=_thread,
            args=(parts.hostname, parts.port, parts.path or "/", headers, until, cap // threads, results),
        )
        for _ in range(threads)
    ]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(duration + 15)
    elapsed = time.perf_counter() - start
    return sum(r[0] for r in results), sum(r[1] for r in results), elapsed


def requests_per_second(
    url: str,
    headers: dict[str, str],
    duration: float = 4.0,
    processes: int = 2,
    threads: int = 2,
    max_requests: int = 40_000,
) -> tuple[float, int]:
    """Completed 200s per second over the run, and how many requests failed."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        runs = pool.starmap(
            _process, [(url, headers, duration, threads, max_requests // processes)] * processes
        )
    done = sum(r[0] for r in runs)
    errors = sum(r[1] for r in runs)
    elapsed = max(r[2] for r in runs)
    return done / elapsed, errors

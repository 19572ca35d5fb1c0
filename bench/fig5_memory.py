"""Figure 5 — memory: the worker's peak RSS growth while a job receives 4 images of ~4 MB base64 ÷ decoded bytes.

What is measured: a fresh db_worker process is started and left idle; its VmRSS is read from /proc and its
peak (VmHWM) is reset to that (clear_refs 5). One Stable Diffusion job of 4 images is run, the stand-in making
each PNG ~3 MB (~4 MB of base64, ~16 MB of JSON in one answer). Then (VmHWM − idle VmRSS) ÷ the decoded
bytes of the 4 images stored. A fresh worker per run, so one run's freed-but-kept heap does not flatter the next.
"""

from __future__ import annotations

import time

from .fig1_overhead import fields
from .harness import Stack, reset_peak_rss, rss_kib
from .results import Figure
from .writer import submit_and_wait

IMAGE_BYTES = 3_000_000


def run(stack: Stack, runs: int = 3) -> Figure:
    from imagegen.models import Candidate, GenerationJob

    figure = Figure(
        "memory", "Worker memory (4 × 4 MB base64)", "peak RSS growth ÷ decoded bytes", "≤ 3", limit=3
    )
    browser = stack.browser()
    if stack.worker is not None:
        stack.stop_process(stack.worker)
        stack.worker = None
    stack.standin.script(family="a1111", delay=0.5, image_bytes_target=IMAGE_BYTES)
    growth_mb, decoded_mb, idle_mb, base64_mb = [], [], [], []
    try:
        for _ in range(runs):
            worker = stack.start_db_worker(name="memory-worker")
            time.sleep(4)  # started and idle: imports done, a few empty polls of the queue
            idle = rss_kib(worker.pid)
            if not reset_peak_rss(worker.pid):
                raise RuntimeError("figure 5 needs /proc/PID/clear_refs (Linux, same user)")
            stack.standin.clear_requests()
            done = submit_and_wait(browser, stack.slug, {**fields(count=4), "size": "1024x1024"})
            peak = rss_kib(worker.pid, "VmHWM")
            stack.stop_process(worker)
            if done.status != "succeeded" or done.candidates != 4:
                raise RuntimeError(f"figure 5: job ended {done.status} with {done.candidates} candidates")
            job = GenerationJob.objects.order_by("-pk").first()
            decoded = sum(Candidate.objects.filter(job=job).values_list("bytes", flat=True))
            stack._close_db()
            growth = (peak - idle) * 1024
            figure.samples.append(growth / decoded)
            growth_mb.append(round(growth / 2**20, 1))
            decoded_mb.append(round(decoded / 2**20, 1))
            idle_mb.append(round(idle / 1024, 1))
            base64_mb.append(round(decoded * 4 / 3 / 2**20, 1))
    finally:
        stack.worker = stack.start_db_worker()
    figure.details = {
        "idle_rss_mb": idle_mb,
        "peak_growth_mb": growth_mb,
        "decoded_mb": decoded_mb,
        "base64_mb_in_answer": base64_mb,
    }
    return figure

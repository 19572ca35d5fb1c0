"""Figure 8 — live generation (issue 15): what an idle worker costs, and how soon the writer sees the picture form.

* Idle worker CPU: a fresh `db_worker`, once it waits on the queue, is left alone for WINDOW_S; its CPU time over
  that window (utime + stime from /proc) ÷ the window, in % of one core. On PostgreSQL it sleeps on LISTEN; on
  SQLite it reads the database's change counter every 10 ms (imagegen/wakeup.py).
* Time to first preview: a Stable Diffusion job the stand-in takes UPSTREAM_S for, reporting live previews as the
  WebUI does (`current_image` on /progress); the time from the submit to the first progress event carrying a
  preview ÷ UPSTREAM_S.
"""

from __future__ import annotations

import time

from .fig1_overhead import fields
from .fig3_responsiveness import _cpu_seconds, wait_quiet
from .harness import Stack
from .results import Figure
from .writer import submit_and_wait

UPSTREAM_S = 2.0
WINDOW_S = 10.0


def run(stack: Stack, runs: int = 5) -> list[Figure]:
    on_postgres = stack.db is not None and stack.db.engine == "postgresql"
    idle = Figure(
        "idle_cpu",
        "Idle worker CPU",
        f"% of a core over {WINDOW_S:.0f} s idle",
        "≤ 0.5 % on PostgreSQL" if on_postgres else "report (SQLite: a change watch)",
        limit=0.5 if on_postgres else None,
    )
    worker = stack.start_db_worker(name="idle-worker")
    wait_quiet([worker])  # its start-up (imports, the first sweep) is over
    time.sleep(2.0)
    for _ in range(max(2, runs // 2)):
        before, start = _cpu_seconds(worker.pid), time.monotonic()
        time.sleep(WINDOW_S)
        idle.samples.append(100 * (_cpu_seconds(worker.pid) - before) / (time.monotonic() - start))
    stack.stop_process(worker)

    preview = Figure(
        "first_preview",
        "Time to first preview",
        "submit → first preview ÷ upstream (2.0 s)",
        "≤ 0.5",
        limit=0.5,
    )
    stack.standin.script(family="a1111", delay=UPSTREAM_S)
    stack.standin.configure(sd_live_previews=True)
    browser = stack.browser()
    for _ in range(runs):
        stack.wait_idle()
        done = submit_and_wait(browser, stack.slug, fields())
        if done.status != "succeeded" or done.first_preview is None:
            raise RuntimeError(f"figure 8: job ended {done.status}, first preview {done.first_preview}")
        preview.samples.append(done.first_preview / UPSTREAM_S)
    return [idle, preview]

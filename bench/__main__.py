"""`python -m bench [figure ...]`: run the figures (all by default), print the table, write the JSON.

Figures: overhead live fanout responsiveness scale memory throughput workers. `--quick` runs fewer repetitions.
Only a full run (every figure, no --quick) writes the committed docs/bench/latest.json; a partial or quick run
writes bench/results/latest.json (git-ignored) unless --out says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import (
    fig1_overhead,
    fig2_fanout,
    fig3_responsiveness,
    fig4_scale,
    fig5_memory,
    fig6_throughput,
    fig7_workers,
    fig8_live,
)
from .harness import REPO, Stack, ignore_signal, worker_interval
from .results import Figure

FIGURES = {
    "overhead": (fig1_overhead.run, {"runs": 11}, {"runs": 3}),
    "fanout": (fig2_fanout.run, {"runs": 5}, {"runs": 2}),
    "scale": (fig4_scale.run, {"rounds": 5}, {"rounds": 2}),
    "throughput": (fig6_throughput.run, {"rounds": 3}, {"rounds": 1}),
    "responsiveness": (fig3_responsiveness.run, {"rounds": 5}, {"rounds": 1}),
    "memory": (fig5_memory.run, {"runs": 3}, {"runs": 1}),
    "workers": (fig7_workers.run, {"rounds": 3}, {"rounds": 1}),
    "live": (fig8_live.run, {"runs": 5}, {"runs": 2}),
}
ORDER = ["overhead", "live", "fanout", "responsiveness", "scale", "memory", "throughput", "workers"]
OUT = REPO / "docs" / "bench" / "latest.json"  # the README's numbers: full runs only
SCRATCH_OUT = REPO / "bench" / "results" / "latest.json"  # git-ignored: partial and quick runs


def _terminate(signum: int, _frame: object) -> None:
    """SIGTERM/SIGHUP → SystemExit, so `with Stack()` stops gunicorn, the workers, the stand-in and the database."""
    for name in ("SIGTERM", "SIGHUP"):  # a second signal must not interrupt the clean-up
        signal.signal(getattr(signal, name), ignore_signal)
    print(f"bench: {signal.Signals(signum).name}: stopping the stack", file=sys.stderr, flush=True)
    raise SystemExit(128 + signum)


def machine(database: str) -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    load = os.getloadavg()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_kib / 2**20, 1),
        "python": platform.python_version(),
        "database": database,
        "os": platform.platform(terse=True),
        "load_average_at_start": [round(x, 2) for x in load],
        "worker_interval_s": worker_interval(),
    }


def fmt(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def table(figures: list[Figure]) -> str:
    rows = [("Figure", "Ratio", "Median", "Min–max", "Target", "Met")]
    for f in figures:
        met = {True: "yes", False: "NO", None: "—"}[f.met]
        rows.append(
            (f.name, f.unit, fmt(f.median), f"{fmt(min(f.samples))}–{fmt(max(f.samples))}", f.target, met)
        )
    lines = ["| " + " | ".join(r) + " |" for r in rows]
    lines.insert(1, "|" + "|".join(" --- " for _ in rows[0]) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("figures", nargs="*", choices=[*ORDER, []], help="default: all")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"JSON output (default {OUT.relative_to(REPO)} for a full run, "
        f"{SCRATCH_OUT.relative_to(REPO)} for a partial or --quick one)",
    )
    args = parser.parse_args(argv)
    chosen = [name for name in ORDER if name in (args.figures or ORDER)]
    full_run = chosen == ORDER and not args.quick
    out: Path = args.out if args.out is not None else (OUT if full_run else SCRATCH_OUT)
    for name in ("SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), _terminate)

    started = time.perf_counter()
    figures: list[Figure] = []
    with Stack() as stack:
        assert stack.db is not None
        info = machine(stack.db.version())
        for name in chosen:
            run, full, quick = FIGURES[name]
            print(f"bench: {name} …", file=sys.stderr, flush=True)
            figure_started = time.perf_counter()
            result = run(stack, **(quick if args.quick else full))
            made = result if isinstance(result, list) else [result]  # some runs give several figures
            made[0].details["seconds"] = round(time.perf_counter() - figure_started, 1)
            figures.extend(made)
            for figure in made:
                print(
                    f"bench: {figure.key}: median {fmt(figure.median)} ({figure.details})",
                    file=sys.stderr,
                    flush=True,
                )
    info["seconds"] = round(time.perf_counter() - started, 1)

    text = table(figures)
    print()
    print(text)
    print()
    print(
        f"Machine: {info['nproc']} cores ({info['cpu']}), {info['ram_gib']} GiB RAM, Python {info['python']}, "
        f"{info['database']}; load average at start {info['load_average_at_start']}; {info['seconds']} s."
    )
    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "complete": full_run,
        "machine": info,
        "figures": {f.key: f.as_json() for f in figures},
        "table_markdown": text,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    shown = out.resolve().relative_to(REPO) if out.resolve().is_relative_to(REPO) else out
    print(f"Wrote {shown}")
    if not full_run and args.out is None:
        print(f"({OUT.relative_to(REPO)} is left as it was: only a full run without --quick writes it.)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

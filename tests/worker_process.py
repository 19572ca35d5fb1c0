"""Running the real task worker (`manage.py db_worker`) as a process beside a test: its environment, and a starter
that stops what it started. Used by the browser tests and by the worker-recovery tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

from imagegen.config import SPECS

REPO_ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """A DATABASE_URL naming the database this test runs on (the test database, not the configured one)."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    if db["ENGINE"] == "django.db.backends.postgresql":
        user = quote(db.get("USER") or "", safe="")
        password = quote(db.get("PASSWORD") or "", safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = db.get("HOST") or "127.0.0.1"
        port = f":{db['PORT']}" if db.get("PORT") else ""
        return f"postgres://{auth}{host}{port}/{quote(db['NAME'], safe='')}"
    raise AssertionError(f"the test worker does not know how to reach {db['ENGINE']}")


def worker_environment() -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "inkweld.settings_test",
        "DATABASE_URL": database_url(),
        # settings_test makes a temporary MEDIA_ROOT per process: the worker must write where the server reads.
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    # Set-but-empty counts as unset, and it stops a developer's .env from filling in what the test left out.
    for spec in SPECS:
        env.setdefault(spec.env, "")
    return env


class Workers:
    """Start `manage.py db_worker` processes with the environment as it is *now*; `stop_all()` ends them and prints
    their logs (pytest shows them when the test failed)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = self.log_dir / f"worker-{len(self.started)}.log"
        command = [sys.executable, "manage.py", "db_worker", "--interval", "0.1", "--no-startup-delay", *args]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=worker_environment(), stdout=out, stderr=subprocess.STDOUT
            )
        self.started.append((process, log))
        return process

    def stop_all(self) -> None:
        for process, log in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            print(f"--- {log.name} ---\n{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture
def db_workers(tmp_path: Path) -> Iterator[Workers]:
    workers = Workers(tmp_path)
    yield workers
    workers.stop_all()

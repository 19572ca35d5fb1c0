"""The web server as the README's production command and `make run` run it — gunicorn with uvicorn workers on the
ASGI app — on the test's database, for tests that need what only it does (server-sent event streams)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.imagegen.test_serve import Served, free_port
from tests.worker_process import REPO_ROOT, worker_environment


class WebServer:
    """gunicorn as the README's production command runs it, on this test's database; can be killed and restarted."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log_dir = log_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.log_dir / f"web-{time.monotonic_ns()}.log"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "gunicorn"), "-c", "inkweld/gunicorn_conf.py",
                 "inkweld.asgi:application", "--bind", f"127.0.0.1:{self.port}"],
                cwd=REPO_ROOT, env={**worker_environment(), "DEBUG": "false"}, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        Served(self.process, self.port, log).wait_ready()

    def kill(self) -> None:
        """SIGKILL to gunicorn and its workers: no goodbye to the open streams."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

"""The bench's stack: a scratch database, the stand-in upstream, gunicorn, db_worker processes, a signed-in client
(what that client does as a writer is writer.py).

Everything it starts it stops, on error too (`with Stack() as stack:`). Nothing here is imported by the product.

The bench process itself is configured with the same environment as the servers (same scratch DATABASE_URL,
MEDIA_ROOT, keys), so it can seed rows and run in-process measurements against the same data.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import requests

if TYPE_CHECKING:
    from tests.standin.client import StandinClient, StandinProcess

from .writer import BENCH_LIBRARY, PASSWORD, USERNAME, Browser, seed_library

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


# Settings a developer's .env could fill in (django-environ's read_env only sets what is unset), each with the
# value the bench runs with. Set-but-empty counts as unset for the AI_IMAGE_* settings and as the default for
# the booleans; the numbers get their documented defaults. DEBUG, the keys, DATABASE_URL, MEDIA_ROOT, STATIC_ROOT,
# CACHE_URL, ALLOWED_HOSTS, LOG_LEVEL and the cookie/redirect settings are set in Stack._start.
PINNED_SETTINGS = {
    "SECRET_KEY_FALLBACKS": "",
    "CSRF_TRUSTED_ORIGINS": "",
    "ALLOW_SIGNUP": "true",
    "TIME_ZONE": "UTC",
    "CONN_MAX_AGE": "",  # its default: kept on SQLite, the pool on PostgreSQL
    "MEDIA_MAX_UPLOAD_BYTES": str(20 * 1024 * 1024),
    "MEDIA_MAX_PIXELS": "40000000",
    "MEDIA_SENDFILE_HEADER": "",  # Django sends the thumbnails' bytes (figure 4 counts them)
    "MEDIA_SENDFILE_PREFIX": "/protected-media/",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "false",
    "SECURE_HSTS_PRELOAD": "false",
    "SECURE_PROXY_SSL_HEADER": "false",
    "DEMO_ADMIN_PASSWORD": "",
    "DEMO_WRITER_PASSWORD": "",
}
# Not the app's settings, but they would change the servers the bench starts.
DROPPED = ("AI_IMAGE_", "DJANGO_", "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY")


def worker_interval() -> float:
    """The db_worker polling interval scripts/serve.sh runs with: the bench measures what `make run` ships."""
    text = (REPO / "scripts" / "serve.sh").read_text()
    match = re.search(r"db_worker[^\n]*--interval\s+([0-9.]+)", text)
    return float(match.group(1)) if match else 1.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int, field_name: str = "VmRSS") -> int:
    """A process's resident set (or peak, with VmHWM) in KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field_name} for pid {pid}")


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs). False where not permitted."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def ignore_signal(signum: int, _frame: object) -> None:
    """A handler that does nothing. Not SIG_IGN: that would be inherited by any process started meanwhile."""
    print(f"bench: {signal.Signals(signum).name} ignored: already stopping", file=sys.stderr, flush=True)


def _stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait(timeout=5)


@dataclass
class ScratchDatabase:
    """A fresh SQLite file under the temp dir, or (DATABASE_URL set) a scratch PostgreSQL database beside it."""

    tmp: Path
    url: str = ""
    engine: str = "sqlite"
    _pg_admin_url: str = ""
    _pg_name: str = ""

    def create(self) -> str:
        given = os.environ.get("DATABASE_URL", "")
        if not given:
            self.url = f"sqlite:///{self.tmp / 'bench.sqlite3'}"
            return self.url
        import psycopg

        parts = urlsplit(given)
        if not parts.scheme.startswith("postgres"):
            raise SystemExit(
                f"make bench: DATABASE_URL must be PostgreSQL or unset (SQLite), not {parts.scheme}"
            )
        self.engine = "postgresql"
        self._pg_name = f"inkweld_bench_{os.getpid()}"
        self._pg_admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
        with psycopg.connect(self._pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self._pg_name}"')
            conn.execute(f'CREATE DATABASE "{self._pg_name}"')
        self.url = urlunsplit(parts._replace(path=f"/{self._pg_name}"))
        return self.url

    def drop(self) -> None:
        if not self._pg_name:
            return
        import psycopg

        with psycopg.connect(self._pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')

    def version(self) -> str:
        from django.db import connection

        with connection.cursor() as cursor:
            if self.engine == "sqlite":
                cursor.execute("select sqlite_version()")
                return f"SQLite {cursor.fetchone()[0]} (WAL)"
            cursor.execute("show server_version")
            return f"PostgreSQL {cursor.fetchone()[0]}"


@dataclass
class Stack:
    """`with Stack() as stack:` — scratch database, stand-in, gunicorn (2 workers), one db_worker."""

    gunicorn_workers: int = 2
    start_worker: bool = True
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="inkweld-bench-")))
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: dict[int, Path] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    base: str = ""
    slug: str = ""
    db: ScratchDatabase | None = None
    standin: StandinClient = field(init=False, repr=False)  # set by start(), before anything reads it
    _standin_process: StandinProcess | None = None
    gunicorn: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    log_dir: Path | None = None

    # --- set-up -------------------------------------------------------------------------------------------------

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        from tests.standin import StandinProcess

        self.log_dir = self.tmp / "logs"
        self.log_dir.mkdir()
        self.db = ScratchDatabase(self.tmp)
        database_url = self.db.create()
        self._standin_process = StandinProcess()
        self.standin = self._standin_process.start()
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        from imagegen.config import SPECS  # plain module: no settings needed yet

        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(DROPPED)},
            # Every image-generation setting empty unless set below: a developer's .env must not fill them in
            # (a daily limit, an API key for the stand-in, another default provider would change the figures).
            **{spec.env: "" for spec in SPECS},
            **PINNED_SETTINGS,
            "SITE_URL": self.base,
            "DATABASE_URL": database_url,
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SALT_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "SECURE_HSTS_SECONDS": "0",
            "STATIC_ROOT": str(self.tmp / "static"),
            "MEDIA_ROOT": str(self.tmp / "media"),
            "LOG_LEVEL": "WARNING",
            "CACHE_URL": "locmemcache://inkweld-bench",
            "AI_IMAGE_ENABLED": "true",
            "AI_IMAGE_DEFAULT_PROVIDER": "stable-diffusion",
            "AI_IMAGE_SD_ENDPOINT": self.standin.url,
            "AI_IMAGE_OPENAI_BASE_URL": self.standin.url + "/v1",
            "OPENAI_API_KEY": "sk-bench",
            "AI_IMAGE_OPENROUTER_ENABLED": "false",
            "DJANGO_SETTINGS_MODULE": "inkweld.settings",
            "PYTHONPATH": str(REPO),
        }
        # The bench process talks to the same database and media folder as the servers, with the same settings.
        for name in [k for k in os.environ if k not in self.env]:
            del os.environ[name]
        os.environ.update(self.env)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        call_command("collectstatic", verbosity=0, interactive=False)
        self._seed()
        self._close_db()

        self.gunicorn = self.spawn(
            "gunicorn",
            [
                GUNICORN,
                "-c",
                "inkweld/gunicorn_conf.py",
                "inkweld.asgi:application",
                "-w",
                str(self.gunicorn_workers),
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
        )
        if self.start_worker:
            self.worker = self.start_db_worker()
        self._wait_http("/healthz")
        self.warm_up()

    def _seed(self) -> None:
        from django.contrib.auth.models import User

        from imagegen.permissions import allow_generating
        from projects.services import project_create

        user = User.objects.create_user(USERNAME, password=PASSWORD)
        allow_generating(user)  # a writer the site allows to spend credit
        project = project_create(owner=user, title="Bench novel")
        # Figures 3 and 6 time this project's Media tab: it must show a full first page, as a writer's does.
        seed_library(project, user, BENCH_LIBRARY)
        self.slug = project.slug

    @staticmethod
    def _close_db() -> None:
        from django.db import connections

        connections.close_all()

    def spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        assert self.log_dir is not None
        path = self.log_dir / f"{name}-{len(self.processes)}.log"
        log = path.open("wb")
        process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603 - our own commands
        log.close()
        self.processes.append(process)
        self.logs[process.pid] = path
        return process

    def log_path(self, process: subprocess.Popen[bytes]) -> Path:
        return self.logs[process.pid]

    def start_db_worker(
        self, interval: float | None = None, name: str = "worker", verbosity: int = 0
    ) -> subprocess.Popen[bytes]:
        """A `manage.py db_worker`; its log is log_path(process). Verbosity 1 logs "Starting worker" when it polls."""
        interval = worker_interval() if interval is None else interval
        return self.spawn(
            name,
            [
                PY,
                "manage.py",
                "db_worker",
                "--interval",
                str(interval),
                "--no-startup-delay",
                "--no-reload",
                "--verbosity",
                str(verbosity),
            ],
        )

    def stop_process(self, process: subprocess.Popen[bytes]) -> None:
        _stop(process)

    def _wait_http(self, path: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.gunicorn is not None and self.gunicorn.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_dir}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.base + path, timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"{self.base}{path} did not answer in {timeout} s")

    def warm_up(self) -> None:
        """One request per view in each gunicorn worker, so no figure pays for imports and first compiles."""
        browser = self.browser()
        for _ in range(self.gunicorn_workers * 3):
            browser.http.get(browser.url(f"/projects/{self.slug}/media/"), timeout=10)
            browser.htmx("GET", f"/projects/{self.slug}/generate/", "generate-dialog-body")

    def browser(self) -> Browser:
        browser = Browser(self.base)
        browser.sign_in()
        return browser

    def writers(self, n: int, prefix: str = "bench-load") -> list[tuple[str, Browser]]:
        """`n` more writers, each with a project of their own, signed in by a session made in the database
        (no password hashing: 20 sign-ins would cost seconds of CPU)."""
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
        from django.contrib.auth.models import User
        from django.contrib.sessions.backends.db import SessionStore

        from imagegen.permissions import allow_generating
        from projects.services import project_create

        out = []
        for i in range(n):
            user = User.objects.create_user(f"{prefix}-{i}")
            allow_generating(user)
            slug = project_create(owner=user, title=f"Load novel {i}").slug
            session = SessionStore()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.create()
            browser = Browser(self.base)
            browser.http.cookies.set("sessionid", session.session_key or "", domain="127.0.0.1", path="/")
            browser.htmx("GET", f"/projects/{slug}/generate/", "generate-dialog-body").raise_for_status()
            out.append((slug, browser))
        self._close_db()
        return out

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Until no job is queued or running (a figure must not start on the last one's leftovers)."""
        from imagegen.models import GenerationJob

        deadline = time.monotonic() + timeout
        try:
            while GenerationJob.objects.filter(status__in=["queued", "running"]).exists():
                if time.monotonic() > deadline:
                    raise TimeoutError("jobs still running")
                time.sleep(0.1)
        finally:
            self._close_db()

    # --- tear-down ----------------------------------------------------------------------------------------------

    def close(self) -> None:
        # A SIGTERM (bench/__main__.py turns it into SystemExit) must not cut the clean-up short.
        held = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGHUP):
                held[sig] = signal.signal(sig, ignore_signal)
        try:
            self._close()
        finally:
            for sig, handler in held.items():
                signal.signal(sig, handler)

    def _close(self) -> None:
        for process in reversed(self.processes):
            with contextlib.suppress(Exception):
                _stop(process)
        if self._standin_process is not None:
            with contextlib.suppress(Exception):
                self._standin_process.stop()
        with contextlib.suppress(Exception):
            self._close_db()
        if self.db is not None:
            with contextlib.suppress(Exception):
                self.db.drop()
        if os.environ.get("BENCH_KEEP_TMP"):
            print(f"bench: kept {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

"""`make run`'s server, `scripts/serve.sh`, as a person runs it (issue 11 #8, #9).

The script is started for real (gunicorn with uvicorn workers on the ASGI app, and the task worker), on this test's
database, with DEBUG on as `make run` has it (code reload included). Ctrl-C must leave no process behind, even with a
job in flight; and 30 simultaneous generation requests must all be answered.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse

from imagegen.models import GenerationJob
from imagegen.services import WORKER_STOPPED
from projects.models import Membership
from tests.worker_process import REPO_ROOT, worker_environment

from .conftest import SD_MODEL

pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_of(root: int) -> set[int]:
    """Every live descendant of `root`, from /proc (no psutil)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # The command name may hold spaces and parentheses: the fields after its last ")" are fixed.
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Served:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log
        self.url = f"http://127.0.0.1:{port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"serve.sh did not come up:\n{self.log.read_text()[-3000:]}")


@pytest.fixture
def serve(tmp_path: Path, upstream) -> Iterator[Served]:
    """scripts/serve.sh in a session of its own, as make run starts it (DEBUG on), on this test's database."""
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**worker_environment(), "DEBUG": "true", "PORT": str(port), "HOST": "127.0.0.1"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["scripts/serve.sh"], cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    served = Served(process, port, log)
    try:
        served.wait_ready()
        yield served
    finally:
        leftovers = children_of(process.pid)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        for pid in leftovers:  # only if the test failed: never leave the suite's own servers behind
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        print(log.read_text(errors="replace")[-4000:])


def generation(prompt: str = "A harbour at night") -> dict[str, str]:
    return {"provider": "stable-diffusion", "model": SD_MODEL, "prompt": prompt, "size": "512x512", "count": "1",
            "steps": "20", "action": "generate"}  # fmt: skip


def test_ctrl_c_leaves_no_process_behind_even_mid_job(serve, upstream, client_for, project):
    upstream.script(family="a1111", hang=True)  # the job stays in flight until the upstream is released
    client_for("editor").post(reverse("imagegen:dialog", kwargs={"slug": project.slug}), generation())
    job = GenerationJob.objects.get()
    upstream.wait_for("/sdapi/v1/txt2img", timeout=30)
    started = children_of(serve.process.pid)
    assert len(started) >= 4  # the worker, gunicorn's master and its two workers (and setsid's nothing)

    os.killpg(serve.process.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
    serve.process.wait(timeout=30)
    upstream.release()

    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in started if alive(pid)] == []
    with socket.socket() as s:
        s.bind(("127.0.0.1", serve.port))  # the port is free again
    job.refresh_from_db()
    assert (job.status, job.error_message) == (GenerationJob.Status.FAILED, WORKER_STOPPED)


def test_sigterm_to_the_script_alone_stops_everything(serve):
    started = children_of(serve.process.pid)
    serve.process.send_signal(signal.SIGTERM)
    serve.process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in started if alive(pid)] == []


def signed_in(user) -> requests.Session:
    """A browser-like session for `user`: a session row and a CSRF cookie, no password hashing."""
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    session = requests.Session()
    session.cookies.set("sessionid", store.session_key)
    session.csrf = secrets.token_hex(16)  # type: ignore[attr-defined] — an unmasked 32-character secret
    session.cookies.set("csrftoken", session.csrf)  # type: ignore[attr-defined]
    return session


def test_thirty_simultaneous_generation_requests_are_all_answered(serve, project, make_user):
    writers = []
    for i in range(30):
        user = make_user(f"writer{i}")
        Membership.objects.create(project=project, user=user, role=Membership.Role.EDITOR)
        writers.append(signed_in(user))
    url = f"{serve.url}{reverse('imagegen:dialog', kwargs={'slug': project.slug})}"
    start = threading.Barrier(len(writers))
    answers: list[object] = [None] * len(writers)

    def submit(i: int, session: requests.Session) -> None:
        start.wait()
        try:
            response = session.post(
                url, {**generation(f"Harbour {i}"), "csrfmiddlewaretoken": session.csrf},  # type: ignore[attr-defined]
                allow_redirects=False, timeout=60,
            )  # fmt: skip
            answers[i] = response.status_code
        except requests.RequestException as exc:
            answers[i] = repr(exc)

    threads = [threading.Thread(target=submit, args=(i, s)) for i, s in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert answers == [302] * 30  # each one redirected to its job: none dropped, none refused
    assert sorted(GenerationJob.objects.values_list("prompt", flat=True)) == sorted(
        f"Harbour {i}" for i in range(30)
    )

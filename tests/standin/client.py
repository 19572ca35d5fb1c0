"""Drive a stand-in that runs as its own process: `StandinClient(url)`, and `StandinProcess` to start one.

The client's methods have the same names and arguments as StandinServer's, so a fixture can give a test
either and the test does not care whether the stand-in shares its process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from .server import stand_in_env

REPO_ROOT = Path(__file__).resolve().parents[2]


class StandinClient:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def _call(
        self, method: str, route: str, *, json: Any = None, params: Any = None, timeout: float | None = None
    ) -> Any:
        response = self._session.request(
            method, f"{self.url}/_standin/{route}", json=json, params=params, timeout=timeout or self.timeout
        )
        if response.status_code == 408:
            raise TimeoutError(response.json()["error"])
        if response.status_code >= 400:
            # The stand-in says what it could not follow; a test should fail on that, loudly.
            raise ValueError(f"stand-in refused {method} /_standin/{route}: {response.text}")
        return response.json()

    def env(self) -> dict[str, str]:
        return stand_in_env(self.url)

    def health(self) -> bool:
        try:
            return bool(self._call("GET", "health", timeout=1)["ok"])
        except (requests.RequestException, ValueError):
            return False

    def script(self, *rules: dict[str, Any], **rule: Any) -> list[dict[str, Any]]:
        body = list(rules) if rules else ([rule] if rule else [])
        return self._call("POST", "script", json=body)["rules"]

    def add_rule(self, **rule: Any) -> list[dict[str, Any]]:
        return self._call("POST", "script/add", json=rule)["rules"]

    def configure(self, **config: Any) -> dict[str, Any]:
        return self._call("POST", "config", json=config)["config"]

    def reset(self) -> None:
        self._call("POST", "reset")

    def release(self) -> None:
        self._call("POST", "release")

    def requests(self, path: str | None = None, method: str | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in {"path": path, "method": method}.items() if v is not None}
        return self._call("GET", "requests", params=params)["requests"]

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def wait_for(
        self, path: str | None = None, count: int = 1, timeout: float = 10.0, answered: bool = False
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"count": count, "timeout": timeout, "answered": "1" if answered else "0"}
        if path is not None:
            params["path"] = path
        return self._call("GET", "wait", params=params, timeout=timeout + 5)["requests"]

    def describe(self) -> dict[str, Any]:
        return self._call("GET", "state")

    def usages(self, path: str | None = None) -> list[dict[str, Any]]:
        return self._call("GET", "usage", params={"path": path} if path else None)["usage"]

    def masks(self, path: str | None = None) -> list[dict[str, Any]]:
        return self._call("GET", "masks", params={"path": path} if path else None)["masks"]


class StandinProcess:
    """`python -m tests.standin` as a child process: `with StandinProcess() as standin: standin.url`.

    `standin` is a StandinClient. Extra arguments go to the command line (e.g. "--sd-auth", "u:p",
    "--sd-flavour", "forge", "--openai-models", "openai", "--comfyui-auth", "token").
    """

    def __init__(self, *args: str, port: int = 0, startup_timeout: float = 15.0) -> None:
        self.args = list(args)
        self.port = port
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.client: StandinClient | None = None

    def start(self) -> StandinClient:
        self._tmp = tempfile.TemporaryDirectory(prefix="standin-")
        port_file = Path(self._tmp.name) / "port"
        command = [
            sys.executable,
            "-m",
            "tests.standin",
            "--port",
            str(self.port),
            "--port-file",
            str(port_file),
            *self.args,
        ]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        }
        self.process = subprocess.Popen(command, cwd=REPO_ROOT, env=env)
        deadline = time.monotonic() + self.startup_timeout
        while not port_file.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"the stand-in exited at start-up with code {self.process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("the stand-in did not write its port in time")
            time.sleep(0.02)
        # Keep the port: restart() comes back on the same address, as an upstream back from an outage does.
        self.port = int(port_file.read_text())
        self.client = StandinClient(f"http://127.0.0.1:{self.port}")
        return self.client

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def restart(self) -> StandinClient:
        """Down, then up again on the same port (the script and recordings start afresh)."""
        self.stop()
        return self.start()

    def __enter__(self) -> StandinClient:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

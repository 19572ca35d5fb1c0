"""Fixtures for the stand-in's own tests: a fresh stand-in per test and small request helpers."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import pytest
import requests
from PIL import Image

from tests.standin.fixtures import _standin_process_session, standin, standin_process  # noqa: F401

OPENAI_AUTH = {"Authorization": "Bearer sk-test-standin-0000"}
OPENROUTER_AUTH = {"Authorization": "Bearer sk-or-v1-test-standin"}
# Every call has a timeout: a stuck stand-in must fail its test, not hang the suite.
TIMEOUT = 10


def get(url: str, **kwargs) -> requests.Response:
    return requests.get(url, timeout=kwargs.pop("timeout", TIMEOUT), **kwargs)


def post(url: str, **kwargs) -> requests.Response:
    return requests.post(url, timeout=kwargs.pop("timeout", TIMEOUT), **kwargs)


class TimeoutSession(requests.Session):
    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", TIMEOUT)
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with TimeoutSession() as session:
        yield session


def decode_image(b64: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(b64, validate=True)))
    image.load()
    return image

"""Fixtures for provider tests: a connection, replayed HTTP, a sleep that never waits, real images."""

from __future__ import annotations

import base64
import io
import os
from dataclasses import dataclass

import pytest
from PIL import Image

# The reference's valid 1x1 PNG.
TINY_PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
TINY_PNG = base64.b64decode(TINY_PNG_B64)


@dataclass(frozen=True)
class Conn:
    """Stands in for imagegen.config.ProviderConnection (the providers only see the Connection protocol)."""

    provider_id: str
    api_key: str
    base_url: str
    timeout: float = 30.0
    site_url: str = "https://inkweld.example"


def png(width: int = 64, height: int = 48, *, noisy: bool = True, fmt: str = "PNG") -> bytes:
    """A real image; noise does not compress, so the byte size is close to width x height x 3."""
    raw = os.urandom(width * height * 3) if noisy else bytes(width * height * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), raw).save(
        out, format=fmt, **({"compress_level": 1} if fmt == "PNG" else {})
    )
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture
def sleeps() -> list[float]:
    """Every wait the retry loop asked for; nothing actually sleeps."""
    return []


@pytest.fixture(autouse=True)
def _fresh_cache(fresh_cache: None) -> None:
    """Every provider test starts with no cached model list (tests/imagegen/conftest.py)."""

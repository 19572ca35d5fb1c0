"""Fixtures for the stand-in's own tests: a fresh stand-in per test and small request helpers."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
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


# ---------------------------------------------------------------- the official schemas (specs/, copied from
# the providers' published OpenAPI files; provenance inside each file)

SPECS = Path(__file__).parent / "specs"


def _schemas(name: str) -> dict:
    return json.loads((SPECS / name).read_text())


OPENAI_SPEC = _schemas("openai-images.json")
OPENROUTER_SPEC = _schemas("openrouter-images.json")


def schema_errors(schema: dict, instance: object) -> list[str]:
    """Every way `instance` breaks `schema` (draft 2020-12), as readable lines; [] when it conforms."""
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(instance)
    ]


def form_as_schema_instance(data: dict, files: list) -> dict:
    """A multipart edit as the spec's notes say to read it: numbers/booleans parsed, files counted."""
    instance: dict = {}
    for key, value in data.items():
        if isinstance(value, str) and value.lstrip("-").isdigit():
            instance[key] = int(value)
        elif value in ("true", "false"):
            instance[key] = value == "true"
        else:
            instance[key] = value
    images = [name for name, _ in files if name in ("image", "image[]")]
    if images:
        instance["image"] = images[0] if images == ["image"] else images
    if any(name == "mask" for name, _ in files):
        instance["mask"] = "mask.png"
    return instance


def png_bytes(
    size: tuple[int, int], mode: str = "RGB", colour: object = (40, 80, 120), fmt: str = "PNG"
) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, fmt)  # type: ignore[arg-type]
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")

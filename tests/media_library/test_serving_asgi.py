"""Under the real server (gunicorn + uvicorn workers, ASGI) an image is sent in chunks as it is read, not read whole
into memory first. Django does the latter with a plain FileResponse under ASGI, and says so in the log."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image

from media_library.services import media_item_create_from_bytes
from media_library.serving import CHUNK_BYTES
from tests.imagegen.test_serve import signed_in
from tests.web_server import WebServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def web(tmp_path: Path, settings) -> Iterator[WebServer]:
    settings.ALLOWED_HOSTS = ["*"]
    server = WebServer(tmp_path)
    server.start()
    yield server
    server.kill()


def noise_png(side: int = 1200) -> bytes:
    """A PNG of noise: it does not compress, so it is several chunks long (about 4 MB)."""
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(
        out, format="PNG", compress_level=1
    )
    return out.getvalue()


def test_an_image_is_streamed_in_chunks_whole_and_unchanged(web, tmp_path, project, owner):
    data = noise_png()
    assert len(data) > 4 * CHUNK_BYTES
    item, _ = media_item_create_from_bytes(project=project, data=data, created_by=owner, title="Noise")
    url = web.url + reverse("media:file", kwargs={"slug": project.slug, "pk": item.pk})
    with signed_in(owner).get(url, stream=True, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["Content-Length"] == str(len(data))
        assert response.headers["Content-Type"] == "image/png"
        received = b"".join(response.iter_content(64 * 1024))
    assert hashlib.sha256(received).hexdigest() == hashlib.sha256(data).hexdigest()
    log = "".join(path.read_text(errors="replace") for path in tmp_path.glob("web-*.log"))
    assert "must consume synchronous iterators" not in log

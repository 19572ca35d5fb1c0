"""Edit, variations, portraits and upscale through the views and the real worker, against the stand-in upstream.

What the stand-in received is asserted where the page cannot show it: the mask's repaint region, the images sent.
"""

from __future__ import annotations

import base64
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from PIL import Image, ImageDraw

from imagegen.models import GenerationJob
from media_library.models import MediaItem
from media_library.services import media_item_create_from_bytes
from projects.models import Element
from tests.standin.masks import repaint_bbox, repaint_overlap

from .conftest import SD_MODEL

pytestmark = pytest.mark.django_db(transaction=True)
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "generate-dialog-body"}


def run_worker() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0.05", verbosity=0)


def png(size=(640, 480), color=(200, 90, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def mask_png(size, box, *, mode="RGBA") -> bytes:
    """Our convention: opaque everywhere, transparent inside `box` (what to repaint)."""
    image = Image.new("RGBA", size, (0, 0, 0, 255))
    ImageDraw.Draw(image).rectangle([box[0], box[1], box[2] - 1, box[3] - 1], fill=(0, 0, 0, 0))
    out = io.BytesIO()
    image.convert(mode).save(out, format="PNG")
    return out.getvalue()


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


@pytest.fixture
def picture(project, owner) -> MediaItem:
    item, _ = media_item_create_from_bytes(project=project, data=png(), created_by=owner, title="Harbour")
    return item


def edit_url(project, item):
    return reverse("imagegen:edit", kwargs={"slug": project.slug, "pk": item.pk})


def test_smoke_sd_edit_with_mask(upstream, client_for, project, picture):
    client = client_for("editor")
    page = client.get(edit_url(project, picture), **HTMX)
    assert page.status_code == 200, page.content.decode()[:3000]
    html = page.content.decode()
    assert "Edit image" in html
    box = (100, 50, 300, 250)
    response = client.post(
        edit_url(project, picture),
        {"provider": "stable-diffusion", "model": SD_MODEL, "prompt": "make the sky red", "count": "1",
         "steps": "20", "strength": "0.6", "mask": data_url(mask_png((640, 480), box)), "action": "edit"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    job = GenerationJob.objects.get()
    run_worker()
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    (sent,) = upstream.requests("/sdapi/v1/img2img")
    assert repaint_bbox(sent["mask"]) == box
    assert repaint_overlap(sent["mask"], box) == 1.0

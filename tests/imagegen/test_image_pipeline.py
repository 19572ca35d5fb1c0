"""A generated image is decoded once on its way from the upstream to the library (media_library/images.py).

Decoding a 4K image costs tens of megabytes and tenths of a second; the worker's one decode checks it, sizes it and
makes its thumbnail, and the candidate carries what it found to the library.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, ImageFile

from imagegen.models import GenerationJob
from imagegen.services import job_run
from media_library.models import MediaItem
from tests.media_library.test_images import photo_with_exif

from .conftest import SD_MODEL

pytestmark = pytest.mark.django_db


class Decodes:
    """Counts the pixel decodes and header reads the app makes (the stand-in's own, on its thread, do not count)."""

    def __init__(self) -> None:
        self.decodes = 0
        self.opens = 0


def _from_the_app() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        if "/tests/standin/" in frame.f_code.co_filename:
            return False
        frame = frame.f_back  # type: ignore[assignment]
    return True


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Decodes]:
    counts = Decodes()
    real_load, real_open = ImageFile.ImageFile.load, Image.open

    def load(self: ImageFile.ImageFile):  # type: ignore[no-untyped-def]
        if self.tile and _from_the_app():  # a loaded image has no tiles left: a second load() decodes nothing
            counts.decodes += 1
        return real_load(self)

    def open_(*args, **kwargs):  # type: ignore[no-untyped-def]
        if _from_the_app():
            counts.opens += 1
        return real_open(*args, **kwargs)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    monkeypatch.setattr(Image, "open", open_)
    yield counts


def test_a_generated_image_is_decoded_once_from_upstream_to_library(upstream, client_for, project, counted):
    client = client_for("editor")
    client.post(
        reverse("imagegen:dialog", kwargs={"slug": project.slug}),
        {"provider": "stable-diffusion", "model": SD_MODEL, "prompt": "A harbour at night", "size": "768x512",
         "count": "2", "steps": "20", "seed": "", "negative_prompt": "", "action": "generate"},
    )  # fmt: skip
    job = GenerationJob.objects.get()
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.images_made == 2
    candidates = list(job.candidates.all())
    # The worker's decode made each candidate's thumbnail too.
    assert all(c.thumbnail and (c.thumbnail_width, c.thumbnail_height) == (320, 213) for c in candidates)

    client.post(
        reverse("imagegen:save", kwargs={"slug": project.slug, "pk": job.pk}),
        {"candidate": [c.pk for c in candidates]},
    )
    items = list(MediaItem.objects.filter(origin="generated"))
    assert len(items) == 2
    assert counted.decodes == 2 and counted.opens == 2  # one each, in the worker

    # What the library holds is whole and described as it is: the file with its parameters, the thumbnail.
    for item in items:
        with item.file.open("rb") as handle:
            stored = Image.open(io.BytesIO(handle.read()))
            stored.load()
        assert (stored.format, stored.size, item.content_type) == ("PNG", (768, 512), "image/png")
        assert stored.text["parameters"].startswith("A harbour at night")
        with item.thumbnail.open("rb") as handle:
            thumb = Image.open(io.BytesIO(handle.read()))
        assert (
            (thumb.format, thumb.size)
            == ("WEBP", (item.thumbnail_width, item.thumbnail_height))
            == (
                "WEBP",
                (320, 213),
            )
        )


def test_a_candidate_from_before_thumbnails_is_decoded_when_saved(upstream, client_for, project, counted):
    client = client_for("editor")
    client.post(
        reverse("imagegen:dialog", kwargs={"slug": project.slug}),
        {"provider": "stable-diffusion", "model": SD_MODEL, "prompt": "Old lighthouse", "size": "512x512",
         "count": "1", "steps": "20", "seed": "", "negative_prompt": "", "action": "generate"},
    )  # fmt: skip
    job = GenerationJob.objects.get()
    job_run(job_id=job.pk)
    [candidate] = job.candidates.all()
    candidate.thumbnail.delete(save=False)
    candidate.thumbnail_width = candidate.thumbnail_height = 0
    candidate.save()
    client.post(
        reverse("imagegen:save", kwargs={"slug": project.slug, "pk": job.pk}), {"candidate": [candidate.pk]}
    )
    item = MediaItem.objects.get(origin="generated")
    assert (item.width, item.height, item.thumbnail_width) == (512, 512, 320)
    assert counted.decodes == 2  # the worker's, and the one the missing thumbnail needs


def test_an_upload_that_must_be_turned_upright_is_decoded_once(project, client_for, counted):
    client_for("editor").post(
        reverse("media:upload", kwargs={"slug": project.slug}),
        {"files": [SimpleUploadedFile("phone.jpg", photo_with_exif(orientation=6))]},
    )
    item = MediaItem.objects.get(project=project)
    assert (item.width, item.height) == (30, 60)  # turned upright, from the one decode
    assert counted.decodes == 1

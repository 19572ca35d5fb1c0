"""A generated image is decoded by the worker only, never again on its way to the library (media_library/images.py).

Decoding a 4K image costs tens of megabytes and tenths of a second. The worker decodes each image twice: once to
check and size it while the writer waits, and once, after the job has finished and the dialog has been told, to make
its thumbnail (the slowest part, kept off the writer's wait). The candidate carries what was found to the library.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image, ImageFile

from imagegen.models import GenerationJob
from imagegen.services import job_run
from media_library.models import MediaItem
from projects.models import Project
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


def generate(
    client: Client, project: Project, prompt: str, *, count: int = 1, size: str = "512x512"
) -> GenerationJob:
    """Submit the dialog for Stable Diffusion and run the job as the worker would."""
    client.post(
        reverse("imagegen:dialog", kwargs={"slug": project.slug}),
        {"provider": "stable-diffusion", "model": SD_MODEL, "prompt": prompt, "size": size, "count": str(count),
         "steps": "20", "seed": "", "negative_prompt": "", "action": "generate"},
    )  # fmt: skip
    job = GenerationJob.objects.get()
    job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def test_a_generated_image_is_decoded_once_from_upstream_to_library(upstream, client_for, project, counted):
    client = client_for("editor")
    job = generate(client, project, "A harbour at night", count=2, size="768x512")
    assert job.images_made == 2
    candidates = list(job.candidates.all())
    # The worker made each candidate's thumbnail too, once the job had finished.
    assert all(c.thumbnail and (c.thumbnail_width, c.thumbnail_height) == (320, 213) for c in candidates)
    assert counted.decodes == 4 and counted.opens == 4  # per image: the check, then the thumbnail

    client.post(
        reverse("imagegen:save", kwargs={"slug": project.slug, "pk": job.pk}),
        {"candidate": [c.pk for c in candidates]},
    )
    items = list(MediaItem.objects.filter(origin="generated"))
    assert len(items) == 2
    assert counted.decodes == 4 and counted.opens == 4  # saving decoded nothing

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
    job = generate(client, project, "Old lighthouse")
    [candidate] = job.candidates.all()
    candidate.thumbnail.delete(save=False)
    candidate.thumbnail_width = candidate.thumbnail_height = 0
    candidate.save()
    client.post(
        reverse("imagegen:save", kwargs={"slug": project.slug, "pk": job.pk}), {"candidate": [candidate.pk]}
    )
    item = MediaItem.objects.get(origin="generated")
    assert (item.width, item.height, item.thumbnail_width) == (512, 512, 320)
    assert counted.decodes == 3  # the worker's two, and the one the missing thumbnail needs


def test_an_upload_that_must_be_turned_upright_is_decoded_once(project, client_for, counted):
    client_for("editor").post(
        reverse("media:upload", kwargs={"slug": project.slug}),
        {"files": [SimpleUploadedFile("phone.jpg", photo_with_exif(orientation=6))]},
    )
    item = MediaItem.objects.get(project=project)
    assert (item.width, item.height) == (30, 60)  # turned upright, from the one decode
    assert counted.decodes == 1


def test_the_thumbnails_are_made_after_the_job_is_finished(upstream, client_for, project, monkeypatch):
    """The writer is shown the images as soon as they are stored: the thumbnail (history, library) comes after."""
    from imagegen import services

    seen: list[tuple[str, bool]] = []
    real = services.thumbnail_of

    def thumbnail_of(data: bytes) -> tuple[bytes, int, int]:
        job = GenerationJob.objects.get()
        seen.append((job.status, all(c.file for c in job.candidates.all())))
        return real(data)

    monkeypatch.setattr(services, "thumbnail_of", thumbnail_of)
    job = generate(client_for("editor"), project, "Two gulls", count=2)
    assert seen == [("succeeded", True), ("succeeded", True)]
    assert [(c.thumbnail_width, c.thumbnail_height) for c in job.candidates.all()] == [(320, 320), (320, 320)]


def test_a_thumbnail_that_cannot_be_made_leaves_the_job_succeeded(upstream, client_for, project, monkeypatch):
    from imagegen import services

    def broken(data: bytes) -> tuple[bytes, int, int]:
        raise OSError("disk full")

    monkeypatch.setattr(services, "thumbnail_of", broken)
    client = client_for("editor")
    job = generate(client, project, "A gull")
    [candidate] = job.candidates.all()
    assert job.status == "succeeded" and candidate.file and not candidate.thumbnail
    # The history shows the image itself, and saving it makes the thumbnail then.
    history = client.get(reverse("imagegen:history", kwargs={"slug": project.slug})).content.decode()
    assert reverse("imagegen:candidate", kwargs={"slug": project.slug, "pk": candidate.pk}) + '"' in history
    client.post(
        reverse("imagegen:save", kwargs={"slug": project.slug, "pk": job.pk}), {"candidate": [candidate.pk]}
    )
    item = MediaItem.objects.get(origin="generated")
    assert (item.thumbnail_width, item.thumbnail_height) == (320, 320) and item.thumbnail

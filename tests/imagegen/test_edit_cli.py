"""`manage.py imagegen edit | upscale`: the dialog's validation, the same job, a new version's id with --save."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from imagegen.models import GenerationJob
from media_library.models import MediaItem
from media_library.services import media_item_create_from_bytes
from tests.standin.masks import repaint_bbox

from .conftest import SD_MODEL
from .test_job_cli import run, run_failing

jobs_run = pytest.mark.django_db(transaction=True)
BOX = (40, 20, 200, 120)


def png(size=(320, 240), color=(20, 120, 90)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def mask_file(tmp_path: Path, size=(320, 240), box=BOX, mode="RGBA") -> str:
    image = Image.new("RGBA", size, (0, 0, 0, 255))
    if box:
        ImageDraw.Draw(image).rectangle([box[0], box[1], box[2] - 1, box[3] - 1], fill=(0, 0, 0, 0))
    path = tmp_path / "mask.png"
    image.convert(mode).save(path)
    return str(path)


@pytest.fixture
def picture(project, owner) -> MediaItem:
    item, _ = media_item_create_from_bytes(project=project, data=png(), created_by=owner, title="Harbour")
    return item


def edit(picture: MediaItem, *extra: str) -> tuple[str, ...]:
    return ("edit", "--item", str(picture.pk), "--prompt", "make the sky red", "--provider", "stable-diffusion",
            "--model", SD_MODEL, "--steps", "20", *extra)  # fmt: skip


@jobs_run
def test_edit_with_a_mask_saves_a_version_and_prints_its_id(upstream, project, picture, tmp_path):
    out = run(*edit(picture, "--mask", mask_file(tmp_path), "--strength", "0.5", "--save"))
    job = GenerationJob.objects.get()
    version = MediaItem.objects.get(source=picture)
    assert (job.operation, job.source_item, job.status) == ("edit", picture, "succeeded")
    assert (
        f"Job {job.pk}: Stable Diffusion WebUI v1-5-pruned-emaonly edits “Harbour” (a mask over 21% of it)"
        in out
    )
    assert f"Saved media item {version.pk} (a version of media item {picture.pk}): " in out
    (sent,) = upstream.requests("/sdapi/v1/img2img")
    assert repaint_bbox(sent["mask"]) == BOX and sent["body"]["denoising_strength"] == 0.5


@jobs_run
def test_an_empty_mask_file_edits_the_whole_image_and_says_so(upstream, project, picture, tmp_path):
    out = run(*edit(picture, "--mask", mask_file(tmp_path, box=None)))
    assert out.startswith("The mask marks nothing to repaint, so the whole image will be edited.\n")
    assert "(the whole image)" in out
    (sent,) = upstream.requests("/sdapi/v1/img2img")
    assert "mask" not in sent["body"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("mask", "says"),
    [
        ({"size": (100, 100)}, "--mask: The mask is 100 × 100 pixels but the image is 320 × 240"),
        ({"mode": "RGB"}, "--mask: The mask has no transparency"),
    ],
    ids=["wrong-size", "no-alpha"],
)
def test_a_bad_mask_file_is_refused_before_anything_starts(upstream, project, picture, tmp_path, mask, says):
    error, _ = run_failing(*edit(picture, "--mask", mask_file(tmp_path, **mask)))
    assert error.returncode == 2 and says in str(error)
    assert GenerationJob.objects.count() == 0


@pytest.mark.django_db
def test_edit_refuses_a_model_that_cannot_edit_naming_those_that_can(upstream, project, picture):
    error, _ = run_failing("edit", "--item", str(picture.pk), "--prompt", "p", "--provider", "openai",
                           "--model", "dall-e-3")  # fmt: skip
    assert error.returncode == 2
    assert "--model dall-e-3: DALL·E 3 makes new images but cannot edit one. Models that can edit: " in str(
        error
    )
    assert "gpt-image-2" in str(error)


@pytest.mark.django_db
def test_edit_refuses_options_an_edit_does_not_take(upstream, project, picture):
    error, _ = run_failing(*edit(picture, "--strength", "3"))
    assert "--strength: Change strength may be at most 1 for" in str(error)
    error, _ = run_failing("edit", "--item", "999999", "--prompt", "p")
    assert "No media item with the id 999999" in str(error)
    error, _ = run_failing(*edit(picture, "--mask", "/nonexistent/mask.png"))
    assert "--mask /nonexistent/mask.png: no such file." in str(error)


@jobs_run
def test_upscale_saves_a_version_exactly_twice_the_size(upstream, project, picture):
    out = run("upscale", "--item", str(picture.pk), "--factor", "2", "--save")
    version = MediaItem.objects.get(source=picture)
    assert (version.width, version.height, version.operation) == (640, 480, "upscale")
    assert "upscales “Harbour” 2× with R-ESRGAN 4x+, to 640x480." in out
    assert f"Saved media item {version.pk} (a version of media item {picture.pk}): Harbour (upscale)" in out


@pytest.mark.django_db
def test_upscale_checks_the_upscaler_and_the_size(upstream, project, picture, settings):
    error, _ = run_failing("upscale", "--item", str(picture.pk), "--factor", "2", "--upscaler", "Waifu2x")
    assert "--upscaler: Select a valid choice. Waifu2x is not one of the available choices." in str(error)
    settings.MEDIA_MAX_PIXELS = 500_000
    error, _ = run_failing("upscale", "--item", str(picture.pk), "--factor", "4")
    assert "--factor: 4× would make 1280 × 960 pixels, more than the library keeps (500,000)." in str(error)
    assert GenerationJob.objects.count() == 0

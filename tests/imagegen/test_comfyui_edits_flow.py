"""ComfyUI edits and upscales through the dialog's views and `manage.py imagegen`, run by the real worker against
the in-process stand-in: what the dialog offers, the mask ComfyUI repaints with, portraits that never go, and the
versions the results become."""

from __future__ import annotations

import json
from html import unescape

import pytest

from imagegen.models import GenerationJob
from media_library.models import MediaItem
from media_library.services import media_item_create_from_bytes
from projects.models import Element
from tests.standin import comfyui_workflows
from tests.standin.masks import repaint_bbox, repaint_overlap

from .test_edits_flow import BOX, HTMX, data_url, finished, mask_png, png, save_all, submit, url
from .test_job_cli import run

pytestmark = pytest.mark.django_db(transaction=True)
CHECKPOINT = "v1-5-pruned-emaonly.safetensors"


@pytest.fixture
def comfyui(upstream, monkeypatch):
    """The stand-in as ComfyUI too (the `upstream` fixture leaves it off)."""
    monkeypatch.setenv("AI_IMAGE_COMFYUI_ENDPOINT", upstream.env()["AI_IMAGE_COMFYUI_ENDPOINT"])
    return upstream


@pytest.fixture
def picture(project, owner) -> MediaItem:
    item, _ = media_item_create_from_bytes(project=project, data=png(), created_by=owner, title="Harbour")
    return item


@pytest.fixture
def mira(project, owner) -> Element:
    portrait, _ = media_item_create_from_bytes(
        project=project, data=png((96, 128), (9, 80, 200)), created_by=owner
    )
    return Element.objects.create(project=project, kind="character", name="Mira Vale", image=portrait)


def comfyui_edit(**changes: str) -> dict[str, str]:
    data = {"provider": "comfyui", "model": CHECKPOINT, "prompt": "a green lamp", "count": "1", "steps": "8",
            "action": "edit"}  # fmt: skip
    return {**data, **changes}


def test_the_edit_dialog_offers_comfyuis_checkpoints_with_a_mask_and_says_portraits_stay(
    comfyui, client_for, project, picture, mira
):
    client = client_for("editor")
    address = url("edit", project, picture.pk)
    html = unescape(client.get(f"{address}?provider=comfyui", **HTMX).content.decode())
    assert "Take a mask: OpenAI, Stable Diffusion WebUI, ComfyUI." in html
    assert "Every model offered here takes a mask." in html and "v1-5-pruned-emaonly takes a mask." in html
    assert 'name="strength"' in html and "The result will be 640 × 480 pixels (the same size)." in html
    refreshed = client.post(
        address, comfyui_edit(action="refresh", **{f"element_{mira.pk}": "subject"}), **HTMX
    ).content.decode()
    assert "v1-5-pruned-emaonly takes no images, so no portrait goes along" in unescape(refreshed)


def test_a_comfyui_edit_repaints_where_the_mask_says_and_saves_a_version(
    comfyui, client_for, project, picture
):
    client = client_for("editor")
    job = submit(
        client, url("edit", project, picture.pk), comfyui_edit(strength="0.6", mask=data_url(mask_png()))
    )
    assert (job.provider, job.operation, job.options["size"], job.edit_details["mask"]) == (
        "comfyui", "edit", "640x480", "painted",
    )  # fmt: skip
    job = finished(job)
    # The picture and the mask went up for LoadImage; the mask the graph paints with is the painted box.
    image_upload, mask_upload = comfyui.requests("/upload/image")
    assert image_upload["uploaded"]["bytes"] == picture.file.size
    (painted,) = comfyui.masks("/prompt")
    assert (
        painted["mask"]["convention"] == "comfyui-alpha"
        and painted["mask"]["source"] == mask_upload["uploaded"]["name"]
    )
    assert repaint_bbox(painted["mask"]) == BOX and repaint_overlap(painted["mask"], BOX) == 1.0
    (sent,) = comfyui.requests("/prompt", method="POST")
    graph = sent["body"]["prompt"]
    assert graph["3"]["inputs"]["denoise"] == 0.6 and graph["3"]["inputs"]["steps"] == 8
    assert [graph[n]["class_type"] for n in ("10", "11", "12", "13")] == [
        "LoadImage", "LoadImage", "VAEEncode", "SetLatentNoiseMask",
    ]  # fmt: skip
    assert (job.cost_source, job.actual_cost) == ("free", 0)

    [version] = save_all(client, project, job)
    assert (version.width, version.height) == (640, 480)
    assert (version.source, version.operation) == (picture, "edit")
    assert version.generation["options"]["strength"] == 0.6


def test_a_portrait_never_goes_to_comfyui(comfyui, client_for, project, picture, mira):
    job = finished(
        submit(client_for("editor"), url("edit", project, picture.pk),
               comfyui_edit(**{f"element_{mira.pk}": "subject"}))
    )  # fmt: skip
    assert job.edit_details["portraits"] == []
    (upload,) = comfyui.requests("/upload/image")  # the image being edited, nothing else
    assert upload["uploaded"]["bytes"] == picture.file.size
    assert "Mira Vale" in job.composed_prompt  # the element is described in words instead


def test_upscale_2x_with_comfyui_makes_a_version_exactly_twice_the_size(
    comfyui, client_for, project, picture
):
    client = client_for("editor")
    refreshed = client.post(
        url("upscale", project, picture.pk), {"provider": "comfyui", "action": "refresh"}, **HTMX
    )
    page = unescape(refreshed.content.decode())
    assert "2× — 1280 × 960 px" in page
    assert '<option value="RealESRGAN_x4plus.pth"' in page and '<option value="RealESRGAN_x2plus.pth"' in page
    job = submit(client, url("upscale", project, picture.pk),
                 {"provider": "comfyui", "factor": "2", "upscaler": "RealESRGAN_x4plus.pth", "action": "upscale"})  # fmt: skip
    job = finished(job)
    (sent,) = comfyui.requests("/prompt", method="POST")
    assert sent["body"]["prompt"]["4"]["inputs"] | {"image": None} == {
        "image": None, "upscale_method": "lanczos", "width": 1280, "height": 960, "crop": "disabled",
    }  # fmt: skip
    assert (job.cost_source, job.actual_cost) == ("free", 0)
    [version] = save_all(client, project, job)
    assert (version.width, version.height) == (1280, 960)
    assert (version.source, version.operation) == (picture, "upscale")


def test_an_upscaler_comfyui_does_not_list_starts_nothing(comfyui, client_for, project, picture):
    response = client_for("editor").post(
        url("upscale", project, picture.pk),
        {"provider": "comfyui", "factor": "2", "upscaler": "8x-Imaginary.pth", "action": "upscale"},
        **HTMX,
    )
    assert (
        "Select a valid choice. 8x-Imaginary.pth is not one of the available choices."
        in response.content.decode()
    )
    assert GenerationJob.objects.count() == 0 and comfyui.requests("/upload/image") == []


def test_with_an_admin_workflow_that_has_no_place_for_the_image_comfyui_does_not_edit(
    comfyui, client_for, project, picture, monkeypatch
):
    monkeypatch.setenv("AI_IMAGE_COMFYUI_WORKFLOW", json.dumps(comfyui_workflows.inpaint("example.png")))
    html = unescape(
        client_for("editor")
        .get(url("edit", project, picture.pk) + "?provider=comfyui", **HTMX)
        .content.decode()
    )
    assert "v1-5-pruned-emaonly makes new images but cannot edit one." in html
    assert MediaItem.objects.count() == 1


# --- The command line: the same form, the same job ------------------------------------------------------------------


def test_imagegen_edit_with_a_mask_file_through_comfyui(comfyui, project, picture, tmp_path):
    mask = tmp_path / "mask.png"
    mask.write_bytes(mask_png())
    out = run("edit", "--item", str(picture.pk), "--prompt", "a green lamp", "--provider", "comfyui",
              "--model", CHECKPOINT, "--mask", str(mask), "--strength", "1", "--save")  # fmt: skip
    version = MediaItem.objects.get(source=picture)
    assert f"Saved media item {version.pk} (a version of media item {picture.pk})" in out
    (painted,) = comfyui.masks("/prompt")
    assert repaint_bbox(painted["mask"]) == BOX
    (sent,) = comfyui.requests("/prompt", method="POST")
    assert sent["body"]["prompt"]["12"]["class_type"] == "VAEEncodeForInpaint"  # full strength: ComfyUI's own


def test_imagegen_upscale_4x_through_comfyui_is_exactly_four_times(comfyui, project, picture):
    out = run("upscale", "--item", str(picture.pk), "--factor", "4", "--provider", "comfyui",
              "--upscaler", "RealESRGAN_x2plus.pth", "--save")  # fmt: skip
    version = MediaItem.objects.get(source=picture)
    assert f"Saved media item {version.pk}" in out
    assert (version.width, version.height, version.operation) == (2560, 1920, "upscale")

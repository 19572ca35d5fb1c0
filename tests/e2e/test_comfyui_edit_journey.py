"""A writer edits a saved image through ComfyUI in a real browser — paints a mask over it, saves the result as a
version — and upscales it 2×: the live server, `manage.py db_worker`, and the stand-in as its own process speaking
ComfyUI's API (uploads, queue, history, /view).

What the stand-in received proves what the page cannot show: the pixels the graph's mask marks for repainting
(LoadImage's MASK of the uploaded mask), held to the same tolerance as the other providers' masks
(test_edit_journeys: intersection-over-union ≥ 0.95, bounding box within 3 pixels of the strokes).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from media_library.models import MediaItem
from media_library.services import media_item_create_from_bytes
from projects.models import Project
from tests.conftest import PASSWORD
from tests.e2e.conftest import TEST_OPENAI_KEY, point_app_at
from tests.e2e.test_edit_journeys import (
    SIZE,
    assert_matches_painting,
    choose,
    open_edit,
    paint,
    scene,
    wait_for_candidate,
)
from tests.standin.client import StandinClient

CHECKPOINT = "v1-5-pruned-emaonly"
UPSCALER = "RealESRGAN_x4plus.pth"


@pytest.fixture
def comfyui_worker(
    standin_process: StandinClient,
    monkeypatch: pytest.MonkeyPatch,
    start_worker: Callable[[], subprocess.Popen[bytes]],
) -> subprocess.Popen[bytes]:
    """ComfyUI switched on beside OpenAI and AUTOMATIC1111, before the worker copies the environment."""
    point_app_at(standin_process, monkeypatch, openai_key=TEST_OPENAI_KEY, comfyui=True)
    return start_worker()


@pytest.fixture
def harbour(story: Project, owner) -> MediaItem:
    item, _ = media_item_create_from_bytes(
        project=story,
        data=scene(),
        created_by=owner,
        title="Harbour at dusk",
        alt_text="A lighthouse at dusk",
    )
    return item


def choose_provider(dialog: Locator, label: str) -> None:
    """Pick a provider in the Upscale dialog and wait for the panel it brings (its upscalers)."""
    page = dialog.page
    page.locator("#generate-panel").evaluate("panel => { panel.dataset.stale = 'yes'; }")
    dialog.get_by_label("Image service", exact=True).select_option(label=label)
    page.wait_for_selector("#generate-panel:not([data-stale]):not(.htmx-settling)")


def save_as_version(panel: Locator) -> None:
    panel.locator(".candidate input[name=candidate]").check()
    panel.get_by_role("button", name="Save to library").click()
    expect(panel.get_by_text("as a version of “Harbour at dusk”")).to_be_visible()


def test_paint_a_mask_edit_with_comfyui_then_upscale_2x(
    page: Page,
    live_server,
    sign_in,
    story: Project,
    harbour: MediaItem,
    standin_process: StandinClient,
    comfyui_worker: subprocess.Popen[bytes],
) -> None:
    standin = standin_process
    sign_in(page, "editor", PASSWORD)

    # Edit: ComfyUI's checkpoint takes a mask and a strength.
    dialog = open_edit(page, live_server.url, harbour)
    choose(dialog, "ComfyUI", CHECKPOINT)
    expect(dialog.get_by_text(f"{CHECKPOINT} takes a mask.")).to_be_visible()
    dialog.get_by_label("Instruction").fill("Make the lighthouse lamp glow green")
    dialog.get_by_label("Change strength").fill("0.6")
    paint(page, dialog.locator("canvas.mask-canvas"))
    expect(dialog.locator("[data-mask-status]")).to_contain_text("Mask painted: about")
    dialog.get_by_role("button", name="Edit image", exact=True).click()

    panel = wait_for_candidate(dialog)
    expect(panel.locator(".job-source")).to_contain_text("Edit of “Harbour at dusk”: within the mask")
    image_upload, mask_upload = standin.requests("/upload/image")
    (painted,) = standin.masks("/prompt")
    assert (
        painted["mask"]["convention"] == "comfyui-alpha"
    )  # LoadImage's MASK: 1 − alpha of the uploaded mask
    assert painted["mask"]["source"] == mask_upload["uploaded"]["name"]
    assert_matches_painting(painted["mask"])
    (sent,) = standin.requests("/prompt", method="POST")
    loaded = {
        node["inputs"]["image"]
        for node in sent["body"]["prompt"].values()
        if node["class_type"] == "LoadImage"
    }
    assert loaded == {image_upload["uploaded"]["name"], mask_upload["uploaded"]["name"]}
    assert sent["body"]["prompt"]["3"]["inputs"]["denoise"] == 0.6
    save_as_version(panel)
    edited = MediaItem.objects.get(source=harbour)
    assert (edited.operation, edited.width, edited.height) == ("edit", *SIZE)

    # Upscale the original 2× with one of ComfyUI's upscale models: exactly twice the size.
    page.goto(f"{live_server.url}{harbour.get_absolute_url()}")
    page.get_by_role("link", name="Upscale…").click()
    dialog = page.locator("#generate-dialog")
    expect(dialog.get_by_role("heading", name="Upscale image")).to_be_visible()
    choose_provider(dialog, "ComfyUI")
    dialog.get_by_label("2× — 2048 × 1536 px").check()
    dialog.get_by_label("Upscaler").select_option(UPSCALER)
    dialog.get_by_role("button", name="Upscale", exact=True).click()
    panel = wait_for_candidate(dialog)
    expect(panel.locator(".job-source")).to_contain_text(f"Upscale 2× of “Harbour at dusk” with {UPSCALER}")
    save_as_version(panel)
    upscaled = MediaItem.objects.get(source=harbour, operation="upscale")
    assert (upscaled.width, upscaled.height) == (2 * SIZE[0], 2 * SIZE[1])
    (_, sent) = standin.requests("/prompt", method="POST")
    assert sent["body"]["prompt"]["2"]["inputs"]["model_name"] == UPSCALER

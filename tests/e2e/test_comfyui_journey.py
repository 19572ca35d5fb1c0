"""A writer generates with ComfyUI in a real browser: the live server, `manage.py db_worker` and the stand-in as a
separate process speaking ComfyUI's API (queue, history, /view and the progress websocket)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from media_library.models import MediaItem
from projects.models import Project
from tests.conftest import PASSWORD
from tests.e2e.conftest import TEST_OPENAI_KEY, point_app_at, shot
from tests.e2e.test_generation_journeys import (
    PROMPT,
    choose_model,
    fill_form,
    job_panel,
    open_dialog,
    open_media_tab,
)
from tests.standin.client import StandinClient

# The prompt's run time on the stand-in, shared by its nodes and 30 sampler steps: long enough to watch progress.
RUN_TIME = 8.0


@pytest.fixture
def comfyui_worker(
    standin_process: StandinClient,
    monkeypatch: pytest.MonkeyPatch,
    start_worker: Callable[[], subprocess.Popen[bytes]],
) -> subprocess.Popen[bytes]:
    """ComfyUI switched on beside OpenAI and AUTOMATIC1111, before the worker copies the environment."""
    point_app_at(standin_process, monkeypatch, openai_key=TEST_OPENAI_KEY, comfyui=True)
    return start_worker()


def test_writer_generates_two_with_comfyui_watches_progress_and_saves_one(
    page: Page,
    live_server,
    sign_in,
    story: Project,
    standin_process: StandinClient,
    comfyui_worker: subprocess.Popen[bytes],
) -> None:
    standin = standin_process
    standin.script(family="comfyui", delay=RUN_TIME)
    sign_in(page, "editor", PASSWORD)
    open_media_tab(page, live_server.url, story)

    dialog = open_dialog(page)
    choose_model(dialog, "ComfyUI", "sd_xl_base_1.0")
    # A checkpoint's options: the ones ComfyUI's KSampler lists are offered to choose from.
    expect(dialog.get_by_label("Sampler")).to_contain_text(
        "DPM++ 2M"
    )  # the engine's id, as its own menu names it
    expect(dialog.get_by_label("Negative prompt")).to_be_visible()
    fill_form(dialog, count=2)
    expect(dialog.locator("#cost-estimate")).to_contain_text("Free")
    dialog.get_by_role("button", name="Generate", exact=True).click()

    panel = job_panel(dialog)
    expect(panel).to_contain_text("2 images with sd_xl_base_1.0")
    # Progress as ComfyUI reports its sampler steps on the websocket: a percentage part-way, not just "working".
    expect(panel.locator(".job-progress span")).to_have_text(re.compile(r"^[1-9]\d?%$"), timeout=20_000)
    shot(page, "comfyui-progress")

    candidates = panel.locator(".candidate")
    expect(candidates).to_have_count(2, timeout=30_000)
    expect(panel.locator(".status")).to_have_text("Succeeded")
    for image in candidates.locator("img").all():
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())

    panel.locator(".candidate input[name=candidate]").first.check()
    panel.get_by_role("button", name="Save to library").click()
    expect(panel.get_by_text("Saved 1 image to the library.")).to_be_visible()
    expect(panel.locator(".candidate-caption").filter(has_text="saved")).to_have_count(1)

    (item,) = MediaItem.objects.filter(project=story)
    assert (item.generation["provider"], item.generation["model"]) == (
        "comfyui",
        "sd_xl_base_1.0.safetensors",
    )
    assert (item.generation["provider_label"], item.generation["model_label"]) == (
        "ComfyUI",
        "sd_xl_base_1.0",
    )
    assert isinstance(
        item.generation["seed"], int
    )  # drawn for the writer, kept so the image can be made again
    # What went to ComfyUI: the writer's words in the built-in workflow, two in one batch, followed on the websocket.
    (submitted,) = standin.requests("/prompt", method="POST")
    graph = submitted["body"]["prompt"]
    assert graph["6"]["inputs"]["text"].startswith(PROMPT)
    assert "Subject: Mira Vale" in graph["6"]["inputs"]["text"]
    assert (
        graph["5"]["inputs"]["batch_size"] == 2
        and graph["4"]["inputs"]["ckpt_name"] == "sd_xl_base_1.0.safetensors"
    )
    assert graph["3"]["inputs"]["seed"] == item.generation["seed"]
    (socket,) = standin.requests("/ws")
    assert socket["client_id"] == submitted["body"]["client_id"]

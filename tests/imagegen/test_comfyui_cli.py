"""ComfyUI from the command line, end to end against the in-process stand-in: `imagegen status --live`,
`imagegen models comfyui`, `imagegen generate --provider comfyui --save`, and `imagegen set comfyui.workflow`
checking an admin's workflow against the server's nodes before it is saved."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from imagegen.models import GenerationJob
from media_library.models import MediaItem
from tests.imagegen.conftest import admin_value
from tests.imagegen.test_job_cli import jobs_run, run, run_failing
from tests.standin import comfyui_workflows
from tests.standin.server import StandinServer

Status = GenerationJob.Status
CHECKPOINT = "sd_xl_base_1.0.safetensors"


@pytest.fixture
def comfyui(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandinServer]:
    """The stand-in as ComfyUI only, behind a proxy asking for HTTP Basic: the one provider configured."""
    from django.core.cache import cache

    with StandinServer() as server:
        server.configure(comfyui_auth=["writer", "s3cret"])
        monkeypatch.setenv("AI_IMAGE_COMFYUI_ENDPOINT", server.env()["AI_IMAGE_COMFYUI_ENDPOINT"])
        monkeypatch.setenv("AI_IMAGE_COMFYUI_API_KEY", "writer:s3cret")
        cache.clear()
        yield server
        cache.clear()


def test_status_live_asks_comfyui(db, comfyui):
    out = run("status", "--live")
    assert "Image generation: available (default provider: ComfyUI)" in out
    assert "  ComfyUI — reachable: ComfyUI 0.3.75 answers; 2 checkpoint(s) installed." in out.splitlines()
    assert "s3cret" not in out
    assert comfyui.requests("/system_stats")[-1]["headers"]["authorization"].startswith("Basic ")


def test_status_live_fails_when_comfyui_is_down(db, comfyui, monkeypatch):
    with StandinServer() as gone:
        url = gone.url
    monkeypatch.setenv("AI_IMAGE_COMFYUI_ENDPOINT", url)
    error, out = run_failing("status", "--live")
    assert error.returncode == 1 and "ComfyUI (not reachable)" in str(error)
    assert "  ComfyUI — not reachable: The provider could not be reached" in out


def test_models_lists_the_checkpoints(db, comfyui):
    out = run("models", "comfyui")
    assert out.startswith("ComfyUI — 2 models (2 available), from the provider's live list\n")
    assert "  sd_xl_base_1.0.safetensors: sd_xl_base_1.0 — available" in out
    assert "    price: free (self-hosted)" in out
    assert "    images per job: up to 8" in out


@jobs_run
def test_generate_with_save_makes_media_items(comfyui, project, owner, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    comfyui.script(family="comfyui", delay=2)  # slow enough for progress to show
    out = run("generate", "--project", "moonlit-harbour", "--prompt", "A lighthouse at dusk",
              "--provider", "comfyui", "--model", CHECKPOINT, "--count", "2", "--seed", "7", "--size", "512x768",
              "--steps", "8", "--sampler", "dpmpp_2m", "--save")  # fmt: skip
    job = GenerationJob.objects.get()
    assert (job.status, job.provider, job.model, job.images_made) == (
        Status.SUCCEEDED,
        "comfyui",
        CHECKPOINT,
        2,
    )
    assert job.options["sampler"] == "dpmpp_2m" and job.options["steps"] == 8
    assert job.request_ids == [comfyui.requests("/prompt", method="POST")[0]["prompt_id"]]
    assert job.cost_source == "free"
    # Progress on the terminal as the sampler steps came over the websocket.
    assert "Queued" in out and "Running" in out and f"Job {job.pk}: Succeeded — 2 of 2 image(s) made" in out
    assert any(line.strip().endswith("%") and "Running" in line for line in out.splitlines())
    items = list(MediaItem.objects.filter(project=project).order_by("pk"))
    assert [(i.width, i.height, i.generation["seed"]) for i in items] == [(512, 768, 7), (512, 768, 7)]
    assert {i.generation["provider_label"] for i in items} == {"ComfyUI"}
    sent = comfyui.requests("/prompt", method="POST")[0]["body"]["prompt"]
    assert sent["3"]["inputs"]["sampler_name"] == "dpmpp_2m" and sent["5"]["inputs"]["batch_size"] == 2


def test_set_workflow_checks_it_against_the_servers_nodes(db, comfyui):
    broken = comfyui_workflows.txt2img()
    broken["3"]["inputs"]["sampler"] = broken["3"]["inputs"].pop("sampler_name")
    error, _ = run_failing("set", "comfyui.workflow", json.dumps(broken))
    assert error.returncode == 2
    assert str(error).startswith("comfyui.workflow: Node 3 (KSampler): unknown input 'sampler'")
    assert admin_value("comfyui.workflow") is None  # nothing saved

    out = run("set", "comfyui.workflow", json.dumps(comfyui_workflows.txt2img(steps=4)))
    assert admin_value("comfyui.workflow")["3"]["inputs"]["steps"] == 4
    assert out.startswith("comfyui.workflow: ")

    error, _ = run_failing(
        "set", "comfyui.workflow_inputs", "checkpoint = 4.ckpt_name; prompt = 6.text; steps = 3.cfg"
    )
    assert "Node 3 (KSampler): input 'cfg' takes FLOAT, not the steps (INT)." in str(error)
    run("set", "comfyui.workflow_inputs", "checkpoint = 4.ckpt_name; prompt = 6.text; steps = 3.steps")
    assert run("models", "comfyui").count("images per job: up to 8") == 2

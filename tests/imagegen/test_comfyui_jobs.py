"""ComfyUI jobs through the dialog and the real database worker, against the in-process stand-in: candidates with
their seed, a job cancelled while it runs (ComfyUI interrupted, the job Cancelled) and one interrupted by someone
else on the server (the job Failed, saying so)."""

from __future__ import annotations

import threading

import pytest
from django.urls import reverse

from imagegen import services
from imagegen.models import GenerationJob

from .test_job_lifecycle import run_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
CHECKPOINT = "v1-5-pruned-emaonly.safetensors"


@pytest.fixture
def comfyui(upstream, monkeypatch):
    """The stand-in as ComfyUI too (the `upstream` fixture leaves it off)."""
    monkeypatch.setenv("AI_IMAGE_COMFYUI_ENDPOINT", upstream.env()["AI_IMAGE_COMFYUI_ENDPOINT"])
    return upstream


def submit(client, project, **overrides: str) -> GenerationJob:
    data = {"provider": "comfyui", "model": CHECKPOINT, "prompt": "A harbour at night", "size": "512x512",
            "count": "2", "steps": "10", "action": "generate", **overrides}  # fmt: skip
    response = client.post(reverse("imagegen:dialog", kwargs={"slug": project.slug}), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return GenerationJob.objects.latest("pk")


def test_a_job_makes_its_batch_with_one_seed(comfyui, client_for, project):
    job = submit(client_for("editor"), project, seed="99", negative_prompt="fog")
    run_worker()
    job.refresh_from_db()
    assert (job.status, job.images_made, job.actual_cost, job.cost_source) == ("succeeded", 2, 0, "free")
    candidates = list(job.candidates.order_by("index"))
    assert [(c.width, c.height, c.seed, c.extra["batch_index"]) for c in candidates] == [
        (512, 512, 99, 0),
        (512, 512, 99, 1),
    ]
    (sent,) = comfyui.requests("/prompt", method="POST")
    graph = sent["body"]["prompt"]
    assert (graph["7"]["inputs"]["text"], graph["3"]["inputs"]["steps"]) == ("fog", 10)
    assert job.request_ids == [sent["prompt_id"]]


def test_cancel_interrupts_comfyui_and_the_job_is_cancelled(comfyui, client_for, project):
    comfyui.script(family="comfyui", delay=8.0)  # the first sampler step comes a few seconds in
    job = submit(client_for("editor"), project)
    seen: dict[str, float] = {}

    def watch_then_cancel() -> None:
        wait_for(lambda: (GenerationJob.objects.get(pk=job.pk).progress or 0) > 0, timeout=20)
        seen["progress"] = GenerationJob.objects.get(pk=job.pk).progress or 0
        services.job_cancel(job=GenerationJob.objects.get(pk=job.pk))

    watcher = threading.Thread(target=watch_then_cancel)
    watcher.start()
    run_worker()  # in this thread: the worker installs signal handlers
    watcher.join(timeout=20)
    job.refresh_from_db()
    assert 0 < seen["progress"] < 1  # reported from the websocket's sampler steps
    assert job.status == "cancelled" and job.candidates.count() == 0
    (interrupt,) = comfyui.requests("/interrupt")
    assert interrupt["interrupted"] is True
    assert comfyui.requests("/view") == []  # nothing fetched for a job nobody wants now


def test_a_prompt_stopped_on_the_server_fails_the_job_saying_so(comfyui, client_for, project):
    comfyui.script(family="comfyui", delay=8.0)  # the first sampler step comes a few seconds in
    job = submit(client_for("editor"), project)

    def someone_interrupts() -> None:
        wait_for(lambda: (GenerationJob.objects.get(pk=job.pk).progress or 0) > 0, timeout=20)
        comfyui.state.comfy.interrupt()

    watcher = threading.Thread(target=someone_interrupts)
    watcher.start()
    run_worker()
    watcher.join(timeout=20)
    job.refresh_from_db()
    assert (job.status, job.error_class) == ("failed", "cancelled")
    assert job.error_message.startswith("Someone stopped this generation on the ComfyUI server.")

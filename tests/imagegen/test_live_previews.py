"""The picture forming (issue 15): previews a provider reports reach the open dialog while the job runs, and are
gone when it ends — never a file, never in the library. Progress reaches the database at most once a second.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.urls import reverse

from imagegen import progress, services
from imagegen.models import GenerationJob, JobPreview
from imagegen.providers.results import Preview
from media_library.models import MediaItem
from tests.fixtures_projects import image_bytes
from tests.imagegen.conftest import SD_MODEL

pytestmark = pytest.mark.django_db(transaction=True)


def running_job(owner, project) -> GenerationJob:
    return GenerationJob.objects.create(
        user=owner, project=project, provider="stable-diffusion", model=SD_MODEL, prompt="p", composed_prompt="p",
        options={"size": "512x512", "count": 1, "steps": 20}, status="running",
    )  # fmt: skip


def test_progress_and_previews_are_written_at_most_once_a_second(owner, project):
    job = running_job(owner, project)
    png = image_bytes(color=(1, 2, 3))
    changes, previews = 0, set()
    with progress.JobMonitor(job.pk, interval=0.05) as monitor:
        seen = None
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < 2.5:
            n += 1
            monitor.report(n / 1000, preview=Preview(png, "image/png"))  # a provider reporting very often
            row = GenerationJob.objects.values_list("progress", flat=True).get(pk=job.pk)
            if row != seen:
                changes, seen = changes + 1, row
            previews.update(JobPreview.objects.filter(job=job).values_list("number", flat=True))
            time.sleep(0.01)
    assert 2 <= changes <= 4  # at 0 s (the first report), ~1 s, ~2 s
    assert 2 <= len(previews) <= 4


def test_webui_previews_show_while_the_job_runs_and_are_gone_after(upstream, owner, project, client_for):
    upstream.script(family="a1111", delay=3.0)
    job = GenerationJob.objects.create(
        user=owner, project=project, provider="stable-diffusion", model=SD_MODEL, prompt="A harbour",
        composed_prompt="A harbour", options={"size": "512x512", "count": 1, "steps": 20},
    )  # fmt: skip
    runner = threading.Thread(target=services.job_run, kwargs={"job_id": job.pk})
    runner.start()
    owner_client = client_for("owner")
    url = reverse("imagegen:preview", kwargs={"slug": project.slug, "pk": job.pk})
    deadline = time.monotonic() + 10
    while not JobPreview.objects.filter(job=job).exists():
        assert time.monotonic() < deadline, "no preview while the job ran"
        time.sleep(0.05)
    shown = owner_client.get(url)
    assert shown.status_code == 200 and shown["Content-Type"] == "image/png"
    assert shown["Cache-Control"] == "private, no-store"
    panel = owner_client.get(reverse("imagegen:job", kwargs={"slug": project.slug, "pk": job.pk}))
    assert url in panel.content.decode()  # the dialog shows it
    runner.join(timeout=30)

    job.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED
    assert not JobPreview.objects.exists()
    assert owner_client.get(url).status_code == 404
    assert MediaItem.objects.filter(project=project).count() == 0  # nothing reached the library
    panel = owner_client.get(reverse("imagegen:job", kwargs={"slug": project.slug, "pk": job.pk}))
    assert url not in panel.content.decode()


def watch_previews(job: GenerationJob) -> tuple[threading.Thread, list[int]]:
    """Run the job in a thread, as the worker does; the list collects the preview numbers seen while it ran."""
    seen: list[int] = []
    runner = threading.Thread(target=services.job_run, kwargs={"job_id": job.pk})
    runner.start()
    while runner.is_alive():
        number = JobPreview.objects.filter(job=job).values_list("number", flat=True).first()
        if number is not None and number not in seen:
            seen.append(number)
        time.sleep(0.02)
    return runner, seen


def test_openai_streams_partial_images_as_previews_while_someone_watches(upstream, owner, project):
    upstream.script(family="openai", delay=3.0)
    job = GenerationJob.objects.create(
        user=owner, project=project, provider="openai", model="gpt-image-2", prompt="A harbour",
        composed_prompt="A harbour", options={"size": "1024x1024", "quality": "low", "count": 1},
    )  # fmt: skip
    _, seen = watch_previews(job)
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED and job.candidates.count() == 1
    (call,) = upstream.requests("/v1/images/generations")
    assert call["body"]["stream"] is True and call["body"]["partial_images"] == 2
    assert len(seen) == 2  # both partial images, one a second apart at most, each before the image
    assert job.actual_cost is not None and job.actual_cost > 0  # the completed event's usage, priced
    assert not JobPreview.objects.exists()


def test_a_plain_call_does_not_stream(upstream, settings):
    """Without anyone watching (no progress callback: e.g. a script), OpenAI answers as usual, in one piece."""
    from imagegen.config import get_config
    from imagegen.providers import get_provider
    from imagegen.providers.results import GenerationRequest

    provider = get_provider("openai", get_config().connection("openai"))
    result = provider.generate(
        GenerationRequest(model="gpt-image-2", prompt="A harbour", size="1024x1024", count=1)
    )
    assert len(result.images) == 1
    (call,) = upstream.requests("/v1/images/generations")
    assert "stream" not in call["body"]


def test_the_stand_in_refuses_partial_images_out_of_range(upstream):
    import requests

    answer = requests.post(
        f"{upstream.url}/v1/images/generations",
        json={"model": "gpt-image-2", "prompt": "x", "stream": True, "partial_images": 4},
        headers={"Authorization": "Bearer sk-test-upstream-key-123"},
        timeout=10,
    )
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "partial_images"


def test_comfyui_preview_frames_show_while_the_job_runs(upstream, owner, project, monkeypatch):
    """ComfyUI sends a binary preview frame per sampler step on its websocket; the latest becomes the preview."""
    monkeypatch.setenv("AI_IMAGE_COMFYUI_ENDPOINT", upstream.env()["AI_IMAGE_COMFYUI_ENDPOINT"])
    upstream.script(family="comfyui", delay=3.0)
    job = GenerationJob.objects.create(
        user=owner, project=project, provider="comfyui", model="v1-5-pruned-emaonly.safetensors", prompt="A harbour",
        composed_prompt="A harbour", options={"size": "512x512", "count": 1, "steps": 10},
    )  # fmt: skip
    _, seen = watch_previews(job)
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error_message
    assert len(seen) >= 2  # more than one, at most one a second
    assert not JobPreview.objects.exists()

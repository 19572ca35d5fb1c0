"""A job's life with the real database worker (`manage.py db_worker`) against a stand-in upstream.

These run in real transactions: the worker and the job's progress monitor use their own connections.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from imagegen import saving, services
from imagegen.models import GenerationJob

from .conftest import SD_MODEL

# Storage-relevant: every test runs on the local disk and on a real S3-compatible server (tests/fixtures_storage.py).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("media_storage")]


def submit(client, project, **overrides) -> GenerationJob:
    data = {"provider": "stable-diffusion", "model": SD_MODEL, "prompt": "A harbour at night", "size": "512x512",
            "count": "2", "action": "generate"}  # fmt: skip
    if overrides.get("provider", "stable-diffusion") == "stable-diffusion":
        data["steps"] = "20"
    data.update(overrides)
    response = client.post(reverse("imagegen:dialog", kwargs={"slug": project.slug}), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return GenerationJob.objects.latest("pk")


def run_worker() -> None:
    """The real worker, until the queue is empty."""
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0.05", verbosity=0)


def test_submitted_job_is_run_by_the_worker(upstream, client_for, project):
    job = submit(client_for("editor"), project, seed="99")
    assert job.status == "queued"
    run_worker()
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert (job.images_made, job.progress, job.actual_cost) == (2, 1.0, 0)
    assert job.started_at <= job.finished_at
    candidates = list(job.candidates.all())
    assert [(c.width, c.height) for c in candidates] == [(512, 512), (512, 512)]
    assert [c.seed for c in candidates] == [99, 100]  # A1111 numbers a batch's seeds from the first
    (sent,) = upstream.requests("/sdapi/v1/txt2img")
    assert sent["body"]["prompt"] == "A harbour at night" and sent["body"]["batch_size"] == 2
    assert sent["body"]["override_settings"] == {"sd_model_checkpoint": SD_MODEL}

    # Running a finished job again changes nothing: no call upstream, no new images.
    services.job_run(job_id=job.pk)
    assert len(upstream.requests("/sdapi/v1/txt2img")) == 1 and job.candidates.count() == 2


def test_fan_out_for_a_one_image_per_call_model(upstream, client_for, project):
    job = submit(client_for("editor"), project, provider="openai", model="dall-e-3", size="1024x1024",
                 quality="standard", style="natural", count="3")  # fmt: skip
    run_worker()
    job.refresh_from_db()
    assert job.status == "succeeded" and job.images_made == 3
    calls = upstream.requests("/v1/images/generations")
    assert len(calls) == 3 and {c["body"]["n"] for c in calls} == {1}
    assert all(c["body"]["response_format"] == "b64_json" and c["body"]["style"] == "natural" for c in calls)
    assert str(job.actual_cost) == "0.1200"  # 3 x $0.040


def test_partial_success_keeps_the_images_that_came(upstream, client_for, project):
    upstream.script(family="a1111", fewer_images=1)
    job = submit(client_for("editor"), project, count="3")
    run_worker()
    job.refresh_from_db()
    assert job.status == "partly_succeeded"
    assert (job.images_made, job.candidates.count()) == (2, 2)
    assert "2 of 3 images were made" in job.error_message
    # The missing one is told by the service's name, as a failure that was raised is.
    assert "Stable Diffusion WebUI answered" in job.error_message and "provider" not in job.error_message


def test_failures_are_audited_with_their_class(upstream, client_for, project):
    upstream.script(family="openai", fail_with="content_policy")
    job = submit(client_for("editor"), project, provider="openai", model="dall-e-3", size="1024x1024",
                 quality="standard", style="vivid", count="1")  # fmt: skip
    run_worker()
    job.refresh_from_db()
    assert job.status == "failed" and job.error_class == "content_policy"
    assert "rephrase" in job.error_message
    assert job.request_ids and job.images_made == 0
    assert "sk-test-upstream-key-123" not in job.error_message + str(job.request_ids)


def test_rate_limit_then_success(upstream, client_for, project):
    upstream.script(family="openai", fail_with="rate_limit", fail_times=1, retry_after=7)
    job = submit(client_for("editor"), project, provider="openai", model="dall-e-3", size="1024x1024",
                 quality="standard", style="vivid", count="1")  # fmt: skip
    waits: list[float] = []
    services.job_run(
        job_id=job.pk, sleep=waits.append
    )  # the job's own run, with the waits recorded, not slept
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert len(upstream.requests("/v1/images/generations")) == 2
    assert waits == [7.0]  # the upstream's Retry-After, honoured


def test_a_failure_names_the_image_service(upstream, client_for, project):
    """The writer reads which service failed, not "the provider" (Provider.perform names it)."""
    upstream.script(family="openai", fail_with="rate_limit", retry_after=3)
    job = submit(client_for("editor"), project, provider="openai", model="dall-e-3", size="1024x1024",
                 quality="standard", style="vivid", count="1")  # fmt: skip
    services.job_run(job_id=job.pk, sleep=lambda seconds: None)
    job.refresh_from_db()
    assert (job.status, job.error_class) == ("failed", "rate_limited")
    assert job.error_message.startswith("OpenAI is receiving too many requests right now."), job.error_message
    assert "provider" not in job.error_message


def test_unavailable_provider_fails_with_a_reason(upstream, client_for, project, monkeypatch):
    job = submit(client_for("editor"), project)
    monkeypatch.setenv("AI_IMAGE_SD_ENABLED", "false")  # an admin switched it off while the job waited
    run_worker()
    job.refresh_from_db()
    assert job.status == "failed" and job.error_class == "unavailable"
    assert "disabled by AI_IMAGE_SD_ENABLED" in job.error_message


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_progress_is_reported_and_a_running_job_can_be_cancelled(upstream, client_for, project):
    upstream.script(family="a1111", delay=6.0)
    job = submit(client_for("editor"), project)
    seen: dict[str, float] = {}

    def watch_then_cancel() -> None:
        wait_for(lambda: (GenerationJob.objects.get(pk=job.pk).progress or 0) > 0)
        seen["progress"] = GenerationJob.objects.get(pk=job.pk).progress
        services.job_cancel(job=GenerationJob.objects.get(pk=job.pk))

    watcher = threading.Thread(target=watch_then_cancel)
    watcher.start()
    run_worker()  # in this thread: the worker installs signal handlers
    watcher.join(timeout=10)
    job.refresh_from_db()
    assert 0 < seen["progress"] < 1
    assert job.status == "cancelled" and job.candidates.count() == 0
    (interrupt,) = upstream.requests("/sdapi/v1/interrupt")
    (render,) = upstream.requests("/sdapi/v1/txt2img")
    # The WebUI was told to stop while it was still rendering, and the render ended on that interrupt (the stand-in
    # records which), not at its scripted 6 s, however fast or slow this machine is.
    assert render["time"] < interrupt["time"] < render["time"] + render["duration"]
    assert render["interrupted"] is True


def test_a_job_whose_heartbeat_stopped_is_failed_however_long_a_live_one_runs(upstream, project, owner):
    now = timezone.now()

    def running(**times) -> GenerationJob:
        return GenerationJob.objects.create(
            user=owner, project=project, provider="openai", model="dall-e-3", prompt="p", composed_prompt="p",
            status="running", **times,
        )  # fmt: skip

    dead = running(started_at=now - timedelta(minutes=3), heartbeat_at=now - timedelta(seconds=61))
    # A long Stable Diffusion run: started two hours ago, but its worker beat 5 s ago. The old rule
    # (3 × timeout + 2 min) failed it; the heartbeat keeps it.
    long_but_alive = running(started_at=now - timedelta(hours=2), heartbeat_at=now - timedelta(seconds=5))
    just_started = running(started_at=now - timedelta(seconds=30), heartbeat_at=None)
    assert services.jobs_fail_stuck() == 1
    dead.refresh_from_db()
    assert dead.status == "failed" and dead.error_class == "unavailable" and dead.finished_at
    assert "The worker running this job stopped" in dead.error_message and "Try again" in dead.error_message
    assert GenerationJob.objects.get(pk=long_but_alive.pk).status == "running"
    assert GenerationJob.objects.get(pk=just_started.pk).status == "running"


def test_subject_and_reference_images_go_upstream_where_the_model_takes_images(
    upstream, client_for, project, media_item, owner
):
    from media_library.services import media_item_create_from_bytes
    from projects.models import Element
    from tests.fixtures_projects import image_bytes

    portrait, _ = media_item_create_from_bytes(
        project=project, data=image_bytes(size=(96, 128), color=(9, 80, 200)), created_by=owner
    )
    compass = Element.objects.create(project=project, kind="item", name="The Compass", image=media_item)
    mira = Element.objects.create(project=project, kind="character", name="Mira", image=portrait)
    job = submit(client_for("editor"), project, provider="openai", model="gpt-image-1", size="1024x1024",
                 quality="low", count="1", **{f"element_{compass.pk}": "reference",
                                             f"element_{mira.pk}": "subject"})  # fmt: skip
    run_worker()
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    (sent,) = upstream.requests("/v1/images/edits")
    # The Subject's portrait first, then the Reference's image (imagegen/portraits.py).
    assert [f["size"] for f in sent["body"]["_files"]] == [portrait.size_bytes, media_item.size_bytes]
    assert "Reference: The Compass, an item." in sent["body"]["prompt"]
    assert upstream.requests("/v1/images/generations") == []


def test_without_image_input_a_reference_is_text_only(upstream, client_for, project, media_item):
    from projects.models import Element

    compass = Element.objects.create(project=project, kind="item", name="The Compass", image=media_item)
    job = submit(client_for("editor"), project, provider="openai", model="dall-e-3", size="1024x1024",
                 quality="standard", style="vivid", count="1", **{f"element_{compass.pk}": "reference"})  # fmt: skip
    run_worker()
    job.refresh_from_db()
    assert job.status == "succeeded"
    (sent,) = upstream.requests("/v1/images/generations")
    assert "Reference: The Compass, an item." in sent["body"]["prompt"]
    assert upstream.requests("/v1/images/edits") == []


def test_a_late_outcome_does_not_overwrite_a_recovered_job(upstream, client_for, project, monkeypatch):
    """A worker that comes back after its job was declared stuck must not flip it to succeeded."""
    job = submit(client_for("editor"), project, count="1")
    real_generate = services.get_provider

    def slow_provider(*args, **kwargs):
        provider = real_generate(*args, **kwargs)
        original = provider.generate

        def generate(*a, **k):
            result = original(*a, **k)
            GenerationJob.objects.filter(pk=job.pk).update(status="failed", error_class="unavailable")
            return result

        provider.generate = generate
        return provider

    monkeypatch.setattr(services, "get_provider", slow_provider)
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and job.error_class == "unavailable"
    # No images to save from a failed job, but what the upstream did stays on the record.
    assert job.candidates.count() == 0
    assert job.images_made == 1 and job.actual_cost == 0 and job.request_ids


def test_cleanup_keeps_saved_rows_but_not_a_second_copy_of_their_files(upstream, client_for, project, editor):
    from django.core.files.storage import default_storage

    job = submit(client_for("editor"), project, count="2")
    services.job_run(job_id=job.pk)
    first, second = job.candidates.all()
    [item] = saving.candidates_save(job=job, candidates=[first], user=editor)
    files = (first.file.name, second.file.name)
    assert Decimal(item.generation["cost"]) == 0  # self-hosted: per-image cost recorded
    assert saving.candidates_expire(older_than=timedelta(0)) == 1
    assert not default_storage.exists(files[0]) and not default_storage.exists(files[1])
    first.refresh_from_db()
    assert first.saved_item == item and not first.file
    assert default_storage.exists(item.file.name)


def test_per_image_cost_of_a_partly_made_job_uses_the_estimate_per_requested_image(project, owner):
    job = GenerationJob(estimated_cost=Decimal("0.16"), images_requested=4, images_made=2)
    assert Decimal(saving._cost_per_image(job)) == Decimal("0.04")
    job.actual_cost = Decimal("0.10")
    assert Decimal(saving._cost_per_image(job)) == Decimal("0.05")


def test_a_generated_image_over_the_upload_limit_can_still_be_saved(
    upstream, client_for, project, editor, settings
):
    job = submit(client_for("editor"), project, count="1")
    services.job_run(job_id=job.pk)
    candidate = job.candidates.get()
    settings.MEDIA_MAX_UPLOAD_BYTES = candidate.bytes - 1  # uploads this big would be refused
    [item] = saving.candidates_save(job=job, candidates=[candidate], user=editor)
    assert item.origin == "generated" and item.size_bytes >= candidate.bytes


def test_a_saved_candidate_whose_library_copy_was_deleted_is_cleaned_up(
    upstream, client_for, project, editor
):
    from media_library.services import media_item_delete

    client = client_for("editor")
    job = submit(client, project, count="1")
    services.job_run(job_id=job.pk)
    candidate = job.candidates.get()
    [item] = saving.candidates_save(job=job, candidates=[candidate], user=editor)
    saving.candidates_expire(older_than=timedelta(hours=1))  # young: nothing expires
    saving.candidates_expire(older_than=timedelta(0))  # the candidate's copy of the file goes
    media_item_delete(item=item)  # and then the writer deletes the saved image
    page = client.get(reverse("imagegen:job", kwargs={"slug": project.slug, "pk": job.pk})).content.decode()
    assert 'name="candidate"' not in page  # nothing left that could be "saved"
    response = client.post(reverse("imagegen:save", kwargs={"slug": project.slug, "pk": job.pk}),
                           {"candidate": [candidate.pk]})  # fmt: skip
    assert "Select at least one image to save." in response.content.decode()
    saving.candidates_expire(older_than=timedelta(hours=1))
    assert not job.candidates.exists()

"""The Generate Image dialog and its jobs, through the views, against a stand-in upstream."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.urls import reverse
from PIL import Image

from imagegen.models import Candidate, GenerationJob
from imagegen.services import job_run
from media_library.models import MediaItem
from projects.models import Element

from .conftest import SD_MODEL

# Storage-relevant: every test runs on the local disk and on a real S3-compatible server (tests/fixtures_storage.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_storage")]


def dialog_url(project):
    return reverse("imagegen:dialog", kwargs={"slug": project.slug})


def sd_request(**overrides):
    data = {"provider": "stable-diffusion", "model": SD_MODEL, "prompt": "A harbour at night", "size": "512x512",
            "count": "2", "steps": "20", "seed": "", "negative_prompt": "", "action": "generate"}  # fmt: skip
    data.update(overrides)
    return data


@pytest.fixture
def job(project, owner):
    return GenerationJob.objects.create(
        user=owner, project=project, provider="stable-diffusion", model=SD_MODEL, prompt="Old prompt",
        composed_prompt="Old prompt", options={"size": "512x512", "count": 1}, images_requested=1,
    )  # fmt: skip


@pytest.fixture
def candidate(job, make_image):
    from django.core.files.base import ContentFile

    c = Candidate(job=job, index=0, content_type="image/png", width=64, height=48, bytes=10, seed=7)
    c.file.save("1.png", ContentFile(make_image()), save=False)
    c.save()
    return c


# --- Who may do what ---------------------------------------------------------------------------------------


def project_urls(project, job, candidate, media_item):
    slug = project.slug
    media_item.origin = MediaItem.Origin.GENERATED
    media_item.generation = {"job_id": job.pk}
    media_item.save()
    return [
        ("get", reverse("imagegen:dialog", kwargs={"slug": slug})),
        ("post", reverse("imagegen:dialog", kwargs={"slug": slug})),
        ("get", reverse("imagegen:jobs", kwargs={"slug": slug})),
        ("get", reverse("imagegen:job", kwargs={"slug": slug, "pk": job.pk})),
        ("post", reverse("imagegen:cancel", kwargs={"slug": slug, "pk": job.pk})),
        ("post", reverse("imagegen:save", kwargs={"slug": slug, "pk": job.pk})),
        ("get", reverse("imagegen:again", kwargs={"slug": slug, "pk": job.pk})),
        ("get", reverse("imagegen:variations", kwargs={"slug": slug, "pk": media_item.pk})),
        ("get", reverse("imagegen:candidate", kwargs={"slug": slug, "pk": candidate.pk})),
    ]


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", "ok"), ("editor", "ok"), ("viewer", 403), ("outsider", 404), ("anonymous", "login")],
)
def test_every_generation_url_checks_access(
    upstream, client_for, project, job, candidate, media_item, role, expected
):
    client = client_for(role)
    for method, url in project_urls(project, job, candidate, media_item):
        # The dialog refuses a POST without one of its actions; "refresh" is the harmless one.
        response = getattr(client, method)(url, {"action": "refresh"} if method == "post" else {})
        if expected == "ok":
            assert response.status_code in (200, 302), (method, url, response.status_code)
            if response.status_code == 302:
                assert "/accounts/login/" not in response["Location"]
        elif expected == "login":
            assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url
        else:
            assert response.status_code == expected, (method, url)
    assert (
        not GenerationJob.objects.exclude(pk=job.pk)
        .filter(user__username__in=["viewer", "outsider"])
        .exists()
    )


def test_outsider_cannot_see_a_candidate_even_with_its_id(upstream, client_for, project, candidate):
    url = reverse("imagegen:candidate", kwargs={"slug": project.slug, "pk": candidate.pk})
    assert client_for("outsider").get(url).status_code == 404
    response = client_for("editor").get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "private" in response["Cache-Control"] and response["X-Content-Type-Options"] == "nosniff"


# --- The button --------------------------------------------------------------------------------------------


def media_tab(client, project):
    return client.get(reverse("media:index", kwargs={"slug": project.slug})).content.decode()


def test_button_for_editors_only(upstream, client_for, project):
    assert "Generate Image" in media_tab(client_for("editor"), project)
    assert "Generate Image" in media_tab(client_for("owner"), project)
    assert "Generate Image" not in media_tab(client_for("viewer"), project)


def test_no_button_when_generation_is_off(upstream, client_for, project, monkeypatch):
    monkeypatch.setenv("AI_IMAGE_ENABLED", "false")
    assert "Generate Image" not in media_tab(client_for("editor"), project)


def test_no_button_without_any_provider(client_for, project):
    assert "Generate Image" not in media_tab(client_for("editor"), project)


def test_button_hides_offline(upstream, client_for, project):
    html = media_tab(client_for("editor"), project)
    assert 'id="generate-image-button"' in html and "data-needs-online" in html


# --- The dialog --------------------------------------------------------------------------------------------


def test_dialog_opens_into_the_page_with_htmx_and_as_a_page_without(
    upstream, client_for, project, htmx_headers
):
    client = client_for("editor")
    partial = client.get(dialog_url(project), **htmx_headers).content.decode()
    assert "<html" not in partial and 'id="generate-title"' in partial and 'name="prompt"' in partial
    full = client.get(dialog_url(project)).content.decode()
    assert "<html" in full and 'name="prompt"' in full
    # Both providers the stand-in serves are offered; the current OpenAI model is chosen first.
    assert 'value="stable-diffusion"' in full and 'value="openai"' in full
    assert 'value="gpt-image-2" selected' in full


def test_changing_provider_refreshes_models_and_keeps_the_prompt(upstream, client_for, project, htmx_headers):
    client = client_for("editor")
    response = client.post(
        dialog_url(project), {"provider": "stable-diffusion", "model": "dall-e-3", "prompt": "Keep me",
                              "action": "refresh"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="generate-panel",
    )  # fmt: skip
    html = response.content.decode()
    assert SD_MODEL in html and "dall-e-3" not in html
    assert "Keep me" in html and 'name="negative_prompt"' in html
    assert "errorlist" not in html and 'class="error"' not in html
    assert not GenerationJob.objects.exists()


def test_preview_shows_the_composed_prompt_without_generating(upstream, client_for, project):
    mira = Element.objects.create(
        project=project, kind="character", name="Mira", description="A cartographer."
    )
    response = client_for("editor").post(
        dialog_url(project), sd_request(action="preview", **{f"element_{mira.pk}": "subject"})
    )
    assert "Subject: Mira, a character. A cartographer." in response.content.decode()
    assert not GenerationJob.objects.exists()


def test_invalid_submission_keeps_everything_and_makes_no_job(upstream, client_for, project):
    response = client_for("editor").post(
        dialog_url(project), sd_request(size="500x500", prompt="Keep me too")
    )
    html = response.content.decode()
    assert "cannot make 500x500: both sides must be multiples of 8" in html and "Keep me too" in html
    assert not GenerationJob.objects.exists()


@pytest.mark.parametrize("action", ["../../admin", "Generate", "generate ", "", None, "delete"])
def test_only_the_dialogs_own_actions_are_accepted(upstream, client_for, project, htmx_headers, action):
    data = sd_request()
    if action is None:
        del data["action"]
    else:
        data["action"] = action
    response = client_for("editor").post(dialog_url(project), data, **htmx_headers)
    assert response.status_code == 400
    assert "Unknown action" in response.content.decode()
    assert not GenerationJob.objects.exists()


def test_submit_records_the_job_and_returns_at_once(upstream, client_for, project, editor, htmx_headers):
    mira = Element.objects.create(
        project=project, kind="character", name="Mira", attributes=[["Hair", "silver"]]
    )
    response = client_for("editor").post(
        dialog_url(project), sd_request(**{f"element_{mira.pk}": "subject"}), **htmx_headers
    )
    job = GenerationJob.objects.get()
    assert (job.user, job.project, job.status, job.provider, job.model) == (
        editor, project, "queued", "stable-diffusion", SD_MODEL,
    )  # fmt: skip
    assert job.composed_prompt == "A harbour at night\n\nSubject: Mira, a character. Hair: silver."
    assert job.elements == [
        {"id": mira.pk, "name": "Mira", "kind": "character", "role": "subject", "image_id": None}
    ]
    assert job.options == {"size": "512x512", "count": 2, "steps": 20, "cfg_scale": 7.0}
    assert job.estimated_cost == 0
    html = response.content.decode()
    assert "Waiting to start" in html and 'hx-trigger="load delay:1s, poll"' in html
    assert 'hx-ext="sse" sse-connect="' in html  # told by the event stream; polling is its fallback
    assert upstream.requests("/sdapi/v1/txt2img") == []  # nothing generated in the request


def test_submit_without_javascript_redirects_to_the_job_page(upstream, client_for, project):
    response = client_for("editor").post(dialog_url(project), sd_request())
    job = GenerationJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("imagegen:job", kwargs={"slug": project.slug, "pk": job.pk})


def test_limits_are_enforced_with_a_message(upstream, client_for, project, monkeypatch):
    monkeypatch.setenv("AI_IMAGE_DAILY_LIMIT", "3")
    client = client_for("editor")
    client.post(dialog_url(project), sd_request(count="2"))
    response = client.post(dialog_url(project), sd_request(count="2"))
    assert "Daily image limit: you have used 2 of 3 images today" in response.content.decode()
    assert GenerationJob.objects.count() == 1


# --- A job's page, saving, cancelling ------------------------------------------------------------------------


def test_job_runs_and_its_candidates_can_be_saved_with_metadata(upstream, client_for, project, editor):
    client = client_for("editor")
    client.post(dialog_url(project), sd_request(seed="1234", negative_prompt="blurry"))
    job = GenerationJob.objects.get()
    job_run(job_id=job.pk)  # what the worker does (the worker itself: test_job_lifecycle.py)
    job.refresh_from_db()
    assert job.status == "succeeded" and job.images_made == 2
    page = client.get(reverse("imagegen:job", kwargs={"slug": project.slug, "pk": job.pk})).content.decode()
    assert page.count('name="candidate"') == 2 and "Save to library" in page and "load delay" not in page

    first = job.candidates.first()
    response = client.post(
        reverse("imagegen:save", kwargs={"slug": project.slug, "pk": job.pk}), {"candidate": [first.pk]},
        HTTP_HX_REQUEST="true", HTTP_HX_TARGET="generate-panel",
    )  # fmt: skip
    item = MediaItem.objects.get(origin="generated")
    assert json.loads(response["HX-Trigger"]) == {"media-saved": {"items": [item.pk]}}
    assert "Saved 1 image to the library" in response.content.decode()
    assert item.created_by == editor and item.project == project
    meta = item.generation
    assert (meta["prompt"], meta["provider"], meta["model"], meta["size"]) == (
        "A harbour at night", "stable-diffusion", SD_MODEL, "512x512",
    )  # fmt: skip
    assert meta["seed"] == first.seed and meta["negative_prompt"] == "blurry" and meta["job_id"] == job.pk
    with item.file.open("rb") as handle:
        text = Image.open(io.BytesIO(handle.read())).text["parameters"]
    assert text.startswith("A harbour at night\nNegative prompt: blurry\nSteps: 20, Seed: ")
    # Saving again does not store the image twice.
    client.post(
        reverse("imagegen:save", kwargs={"slug": project.slug, "pk": job.pk}), {"candidate": [first.pk]}
    )
    assert MediaItem.objects.filter(origin="generated").count() == 1


def test_saving_nothing_says_so(upstream, client_for, project, job, candidate):
    response = client_for("editor").post(
        reverse("imagegen:save", kwargs={"slug": project.slug, "pk": job.pk})
    )
    assert "Select at least one image to save." in response.content.decode()
    assert not MediaItem.objects.exists()


def test_cancel_a_queued_job(upstream, client_for, project, job):
    client_for("editor").post(reverse("imagegen:cancel", kwargs={"slug": project.slug, "pk": job.pk}))
    job.refresh_from_db()
    assert job.status == "cancelled"
    job_run(job_id=job.pk)  # the worker picking it up later changes nothing
    job.refresh_from_db()
    assert job.status == "cancelled" and upstream.requests("/sdapi/v1/txt2img") == []


def test_generate_again_and_try_again_keep_the_settings(upstream, client_for, project, job):
    mira = Element.objects.create(project=project, kind="character", name="Mira")
    job.elements = [{"id": mira.pk, "name": "Mira", "kind": "character", "role": "setting"}]
    job.options = {"size": "768x768", "count": 3, "steps": 12, "negative_prompt": "fog"}
    job.save()
    html = (
        client_for("editor")
        .get(reverse("imagegen:again", kwargs={"slug": project.slug, "pk": job.pk}))
        .content
    )
    html = html.decode()
    assert "Old prompt" in html and 'value="768x768" selected' in html and 'value="3"' in html
    assert 'value="12"' in html and "fog</textarea>" in html and 'value="setting" selected' in html


def test_failed_job_shows_the_reason_and_rephrase(upstream, client_for, project, job):
    job.status, job.error_class = "failed", "content_policy"
    job.error_message = "The provider's safety system rejected this prompt — rephrase it."
    job.save()
    html = (
        client_for("editor").get(reverse("imagegen:job", kwargs={"slug": project.slug, "pk": job.pk})).content
    )
    html = html.decode()
    assert "safety system refused this prompt: rephrase it" in html and "Rephrase the prompt" in html


def test_recent_jobs_on_the_media_tab(upstream, client_for, project, job):
    html = media_tab(client_for("editor"), project)
    assert "Recent generations" in html and "Old prompt" in html
    assert "Recent generations" not in media_tab(client_for("viewer"), project)


@pytest.mark.parametrize("bad", ["²", "99999999999999999999999", "-1", "abc", ""])
def test_save_with_a_malformed_candidate_id_is_a_message_not_an_error(
    upstream, client_for, project, job, bad
):
    url = reverse("imagegen:save", kwargs={"slug": project.slug, "pk": job.pk})
    response = client_for("editor").post(url, {"candidate": [bad]})
    assert response.status_code == 200
    assert "Select at least one image to save." in response.content.decode()


def test_saved_images_stay_visible_in_the_job_after_cleanup(upstream, client_for, project, editor):
    from datetime import timedelta

    from imagegen import services

    client = client_for("editor")
    client.post(dialog_url(project), sd_request(count="2"))
    job = GenerationJob.objects.get()
    job_run(job_id=job.pk)
    first = job.candidates.first()
    [item] = services.candidates_save(job=job, candidates=[first], user=editor)
    services.candidates_expire(older_than=timedelta(0))
    html = client.get(reverse("imagegen:job", kwargs={"slug": project.slug, "pk": job.pk})).content.decode()
    assert item.thumbnail_url() in html  # the saved one, from the library
    assert reverse("imagegen:candidate", kwargs={"slug": project.slug, "pk": first.pk}) not in html
    assert html.count('name="candidate"') == 1 and "Save to library" not in html
    detail = client.get(item.get_absolute_url()).content.decode()
    assert "Stable Diffusion WebUI" in detail


def test_writers_get_a_plain_message_when_generation_is_off(upstream, client_for, project, monkeypatch):
    monkeypatch.setenv("AI_IMAGE_ENABLED", "false")
    html = client_for("editor").get(dialog_url(project)).content.decode()
    assert "not available right now" in html and "AI_IMAGE_ENABLED" not in html


def test_recent_jobs_panel_is_ready_for_a_first_job(upstream, client_for, project):
    html = media_tab(client_for("editor"), project)
    assert 'id="recent-jobs"' in html and "dialog:closed from:body" in html


def test_a_self_hosted_job_says_free_not_zero_dollars(upstream, client_for, project, job):
    job.estimated_cost = job.actual_cost = 0
    job.status = "succeeded"
    job.save()
    html = (
        client_for("editor").get(reverse("imagegen:job", kwargs={"slug": project.slug, "pk": job.pk})).content
    )
    assert "free (self-hosted)" in html.decode() and "$0.000" not in html.decode()


def test_monthly_budget_at_submit(upstream, client_for, project, monkeypatch):
    monkeypatch.setenv("AI_IMAGE_MONTHLY_BUDGET", "0.10")
    client = client_for("editor")
    dalle = {"provider": "openai", "model": "dall-e-3", "prompt": "A lighthouse", "size": "1024x1024",
             "quality": "hd", "style": "vivid", "action": "generate"}  # fmt: skip
    client.post(dialog_url(project), {**dalle, "count": "1"})  # $0.08 of $0.10
    response = client.post(dialog_url(project), {**dalle, "count": "1"})
    assert "Monthly budget: $0.08 of $0.10 is spent this month" in response.content.decode()
    client.post(dialog_url(project), sd_request(count="1"))  # self-hosted: free, still allowed
    assert list(GenerationJob.objects.values_list("provider", flat=True).order_by("pk")) == [
        "openai",
        "stable-diffusion",
    ]


def test_a_generated_image_page_shows_what_was_asked_for(upstream, client_for, project, editor):
    client = client_for("editor")
    client.post(dialog_url(project), sd_request(count="1", seed="77", negative_prompt="fog"))
    job = GenerationJob.objects.get()
    job_run(job_id=job.pk)
    from imagegen import services

    [item] = services.candidates_save(job=job, candidates=list(job.candidates.all()), user=editor)
    page = client.get(item.get_absolute_url()).content.decode()
    for text in ("A harbour at night", "fog", "Stable Diffusion WebUI", "512 × 512", "77"):
        assert text in page


# --- Not set up (issue 19) ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "staff", "says"),
    [
        ("editor", False, "Image generation is not set up yet; ask an admin of this site to set it up."),
        ("owner", True, "Image generation is not set up yet: set it up in the AI Image Generation settings."),
        ("viewer", False, None),
    ],
)
def test_the_media_tab_says_in_one_line_that_generation_is_not_set_up(client_for, project, role, staff, says):
    """No provider is configured here: the button cannot show, and the line says why and what to do."""
    if staff:
        project.owner.is_staff = True
        project.owner.save()
    html = media_tab(client_for(role), project)
    assert "generate-image-button" not in html
    if says is None:
        assert "not set up" not in html
        return
    line = re.search(r'<p [^>]*id="generate-not-set-up"[^>]*>(.*?)</p>', html, re.S).group(1)
    assert re.sub(r"<[^>]+>", "", line) == says
    assert ("/admin/imagegen/" in line) is staff

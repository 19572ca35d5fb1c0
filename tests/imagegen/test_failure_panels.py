"""A failed job's panel (issue 19): one sentence, and the main action that fits the failure."""

from __future__ import annotations

import html as html_module
import re

import pytest
from django.urls import reverse

from imagegen.failures import FAILURES
from imagegen.models import GenerationJob
from imagegen.providers import provider_label
from imagegen.providers.errors import ERROR_CLASSES

from .conftest import SD_MODEL

pytestmark = pytest.mark.django_db
GPT = "gpt-image-2"
SWITCH = f"Use {provider_label('stable-diffusion')} instead"


def failed_job(project, owner, error_class, message=None):
    # As a job stores it: the class's stock message, naming the service (Provider.perform).
    message = message if message is not None else ERROR_CLASSES[error_class]("").naming("OpenAI").message
    return GenerationJob.objects.create(
        user=owner, project=project, provider="openai", model=GPT, prompt="A lighthouse", composed_prompt="x",
        options={"size": "1024x1024", "count": 1}, status="failed", error_class=error_class, error_message=message,
    )  # fmt: skip


def panel(client, project, job):
    html = client.get(reverse("imagegen:job", kwargs={"slug": project.slug, "pk": job.pk})).content.decode()
    alert = re.search(r'<div class="form-errors job-failure" role="alert">(.*?)</div>', html, re.S)
    actions = re.findall(
        r'<a class="button( button-primary)?" href="([^"]*)"\s+hx-get="[^"]*"[^>]*>([^<]+)</a>', html
    )
    return alert.group(1), [(label.strip(), bool(primary), href) for primary, href, label in actions]


# error class, the sentence shown, the main action, whether "Try again" is offered at all.
CASES = [
    ("content_policy", "OpenAI’s safety system refused this prompt: rephrase it and try again.",
     "Rephrase the prompt", False),
    ("quota_exhausted", "This site’s OpenAI account is out of credit: ask an admin to add some.",
     SWITCH, False),
    ("authentication", "OpenAI did not accept this site’s key: ask an admin to fix it in the settings.",
     SWITCH, False),
    ("unavailable", "OpenAI is not answering as it should right now: try again in a few minutes.", "Try again", True),
    ("rate_limited", "OpenAI is too busy right now: try again in a minute.", "Try again", True),
    ("bad_request", "OpenAI refused these settings: change them and try again.", "Change the settings", False),
    ("bad_response", "OpenAI answered without a usable image: try again.", "Try again", True),
]  # fmt: skip


@pytest.mark.parametrize(("error_class", "sentence", "main", "retry"), CASES)
def test_one_sentence_and_the_action_that_fits(
    upstream, client_for, project, owner, error_class, sentence, main, retry
):
    alert, actions = panel(client_for("editor"), project, failed_job(project, owner, error_class))
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", alert)).strip()
    # One sentence: the stock message of the class is not said a second time.
    assert text == sentence
    primary = [label for label, is_primary, _ in actions if is_primary]
    assert primary == [main]
    assert any(label == "Try again" for label, _, _ in actions) is retry


@pytest.mark.parametrize(("error_class", "sentence", "main", "retry"), CASES[:3])
def test_a_job_from_before_messages_named_the_service_says_it_once_too(
    upstream, client_for, project, owner, error_class, sentence, main, retry
):
    job = failed_job(project, owner, error_class, message=ERROR_CLASSES[error_class]("").message)
    alert, _ = panel(client_for("editor"), project, job)
    assert re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", alert)).strip() == sentence


@pytest.mark.parametrize(("error_class", "sentence", "main", "retry"), CASES[:3])
def test_the_live_region_announces_the_sentence_not_zero_images(
    upstream, client_for, project, owner, error_class, sentence, main, retry
):
    job = failed_job(project, owner, error_class)
    html = client_for("editor").get(reverse("imagegen:job", kwargs={"slug": project.slug, "pk": job.pk}))
    announced = re.search(r'data-announce="([^"]*)"', html.content.decode()).group(1)
    assert html_module.unescape(announced) == f"Failed: {sentence}"


def test_every_error_class_has_a_sentence():
    assert set(ERROR_CLASSES) <= set(FAILURES)


def test_out_of_credit_with_no_other_provider_says_ask_an_admin_and_offers_nothing_that_cannot_work(
    upstream, client_for, project, owner, monkeypatch
):
    monkeypatch.setenv("AI_IMAGE_SD_ENABLED", "false")
    alert, actions = panel(client_for("editor"), project, failed_job(project, owner, "quota_exhausted"))
    assert "ask an admin" in alert and actions == []


def test_switching_opens_the_form_on_the_other_provider_with_the_writers_words(
    upstream, client_for, project, owner, htmx_headers
):
    _, actions = panel(client_for("editor"), project, failed_job(project, owner, "quota_exhausted"))
    [(_, _, href)] = actions
    html = client_for("editor").get(href.replace("&amp;", "&"), **htmx_headers).content.decode()
    assert "A lighthouse</textarea>" in html
    assert re.search(r'<option value="stable-diffusion" selected>', html)
    assert SD_MODEL.split(" ")[0] in html


def test_the_providers_own_words_are_kept_when_they_add_something(upstream, client_for, project, owner):
    job = failed_job(
        project, owner, "bad_request", "The provider refused the request: size 10x10 is too small."
    )
    alert, _ = panel(client_for("editor"), project, job)
    assert "OpenAI refused these settings" in alert and "size 10x10 is too small" in alert
    assert "<details>" in alert


@pytest.fixture
def harbour(project, owner):
    from media_library.services import media_item_create_from_bytes

    from .test_edits_flow import png

    item, _ = media_item_create_from_bytes(project=project, data=png(), created_by=owner, title="Harbour")
    return item


def test_a_failed_edit_offers_another_provider_that_takes_its_mask(
    upstream, client_for, project, owner, harbour, htmx_headers
):
    from django.core.files.base import ContentFile

    from .test_edits_flow import mask_png

    job = failed_job(project, owner, "quota_exhausted")
    job.operation, job.source_item, job.prompt = "edit", harbour, "Add a red boat"
    job.mask.save("mask.png", ContentFile(mask_png()), save=False)
    job.save()
    _, actions = panel(client_for("editor"), project, job)
    # The WebUI takes a painted mask: it is offered, and opens the edit dialog filled in, on it.
    [(label, primary, href)] = actions
    assert (label, primary) == (SWITCH, True)
    html = client_for("editor").get(href.replace("&amp;", "&"), **htmx_headers).content.decode()
    assert "Add a red boat</textarea>" in html
    assert re.search(r'<option value="stable-diffusion" selected>', html)


def test_a_failed_upscale_offers_another_provider_that_upscales(
    upstream, client_for, project, owner, harbour, htmx_headers, monkeypatch
):
    from django.core.cache import cache

    monkeypatch.setenv("AI_IMAGE_COMFYUI_ENDPOINT", upstream.env()["AI_IMAGE_COMFYUI_ENDPOINT"])
    cache.clear()
    job = failed_job(project, owner, "unavailable")
    job.operation, job.source_item, job.provider = "upscale", harbour, "stable-diffusion"
    job.options = {"factor": 2}
    job.save()
    _, actions = panel(client_for("editor"), project, job)
    # OpenAI does not upscale: Try again, and ComfyUI, the other engine that does.
    assert [(label, primary) for label, primary, _ in actions] == [
        ("Try again", True),
        (f"Use {provider_label('comfyui')} instead", False),
    ]
    html = client_for("editor").get(actions[1][2].replace("&amp;", "&"), **htmx_headers).content.decode()
    assert re.search(r'<option value="comfyui" selected>', html)
    assert re.search(r'value="2"[^>]*checked|checked[^>]*value="2"', html)

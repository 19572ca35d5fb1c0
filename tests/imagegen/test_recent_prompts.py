"""Recent prompts: the writer's own latest prompts in this project, newest first and each once, offered in the
Generate dialog to reuse; choosing one keeps the rest of the form."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.urls import reverse

from imagegen.models import GenerationJob
from imagegen.services import recent_prompts
from projects.models import Project

from .conftest import SD_MODEL

pytestmark = pytest.mark.django_db


def job(project, user, prompt, **extra):
    return GenerationJob.objects.create(
        user=user, project=project, provider="stable-diffusion", model=SD_MODEL, prompt=prompt,
        composed_prompt=prompt, options={"size": "512x512", "count": 1}, **extra,
    )  # fmt: skip


def test_newest_first_each_once_only_mine_only_here_only_generations(project, editor, owner, make_user):
    other = Project.objects.create(owner=editor, title="Other", slug="other")
    for prompt in ["A harbour", "A lighthouse", "A harbour", "A storm"]:
        job(project, editor, prompt)
    job(project, owner, "The owner's prompt")
    job(other, editor, "Another project's prompt")
    job(project, editor, "Make the sky darker", operation=GenerationJob.Operation.EDIT)
    assert recent_prompts(project=project, user=editor) == ["A storm", "A harbour", "A lighthouse"]
    assert recent_prompts(project=project, user=editor, limit=2) == ["A storm", "A harbour"]
    assert recent_prompts(project=project, user=make_user("new")) == []


def test_the_dialog_offers_them_and_reusing_one_keeps_the_rest(upstream, client_for, project, editor):
    job(project, editor, "Lanterns & rain over the harbour")
    url = reverse("imagegen:dialog", kwargs={"slug": project.slug})
    client = client_for("editor")
    html = client.get(url).content.decode()
    assert "Recent prompts" in html and "Lanterns &amp; rain over the harbour" in html
    assert f"?reuse={quote('Lanterns & rain over the harbour', safe='/')}" in html
    # The link as htmx sends it, with the form's current values: the prompt is replaced, the model kept.
    reused = client.get(
        url,
        {"reuse": "Lanterns & rain over the harbour", "provider": "stable-diffusion", "model": SD_MODEL,
         "prompt": "what was typed", "steps": "33"},
        HTTP_HX_REQUEST="true", HTTP_HX_TARGET="generate-panel",
    ).content.decode()  # fmt: skip
    assert ">\nLanterns &amp; rain over the harbour</textarea>" in reused
    assert f'value="{SD_MODEL}" selected' in reused and 'value="33"' in reused
    assert "<html" not in reused
    # Nobody else's prompts.
    assert "Lanterns" not in client_for("owner").get(url).content.decode()

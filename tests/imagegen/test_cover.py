"""Generate cover on the project's overview (issue 19)."""

from __future__ import annotations

import re

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from imagegen.models import Candidate, GenerationJob

from .conftest import SD_MODEL

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "generate-dialog-body"}


def cover_url(project):
    return reverse("imagegen:cover", kwargs={"slug": project.slug})


@pytest.mark.parametrize(("role", "shown"), [("owner", True), ("editor", True), ("viewer", False)])
def test_the_overview_offers_generate_cover_to_those_who_may(upstream, client_for, project, role, shown):
    html = client_for(role).get(reverse("projects:detail", kwargs={"slug": project.slug})).content.decode()
    assert ("Generate cover" in html) is shown


@pytest.mark.parametrize(
    ("provider", "model", "size"),
    [("openai", "gpt-image-2", "1600x2560"), ("stable-diffusion", SD_MODEL, None)],
)
def test_the_dialog_starts_with_the_project_and_a_cover_size(
    upstream, client_for, project, provider, model, size
):
    project.description = "A lighthouse keeper's daughter finds a drowned library."
    project.save()
    query = {"provider": provider, "model": model}
    html = client_for("editor").get(cover_url(project), query, **HTMX).content.decode()
    assert "Cover for Moonlit Harbour" in html
    assert (
        "A book cover for “Moonlit Harbour”. A lighthouse keeper&#x27;s daughter finds a drowned library."
        in html
    )
    selected = re.search(r'<select name="size"[^>]*>.*?<option value="([^"]+)" selected', html, re.S).group(1)
    width, height = (int(side) for side in selected.split("x"))
    if size:
        assert selected == size
    assert height > width


def test_a_cover_job_offers_use_as_cover_first_after_saving(upstream, client_for, project, owner, make_image):
    client = client_for("editor")
    data = {"provider": "stable-diffusion", "model": SD_MODEL, "prompt": "A cover", "size": "512x768",
            "count": "1", "steps": "20", "action": "generate"}  # fmt: skip
    client.post(cover_url(project), data)
    job = GenerationJob.objects.get()
    assert job.purpose == "cover"
    candidate = Candidate(job=job, index=0, content_type="image/png", width=64, height=96, bytes=10)
    candidate.file.save("1.png", ContentFile(make_image(size=(64, 96))), save=False)
    candidate.save()
    job.status, job.images_made = "succeeded", 1
    job.save()
    html = client.post(reverse("imagegen:save", kwargs={"slug": project.slug, "pk": job.pk}),
                       {"candidate": candidate.pk}, HTTP_HX_REQUEST="true").content.decode()  # fmt: skip
    saved = html[html.index('class="saved-actions"') :]
    buttons = re.findall(r'<button type="submit" class="button( button-primary)?">([^<]+)</button>', saved)
    assert buttons[0] == (" button-primary", "Use as cover")
    assert [label for _, label in buttons].count("Use as cover") == 1

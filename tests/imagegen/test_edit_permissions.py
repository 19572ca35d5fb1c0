"""Every URL for iterating on an image, for the owner, an editor, a viewer, an outsider and an anonymous visitor.

Each takes the project's slug and goes through projects.access.project_view("edit"): the owner and editors may use
it; a viewer gets 403 and changes nothing; anyone else gets 404 (a project's existence must not leak); anonymous
visitors are sent to sign in. A POST that would start a job starts none unless the person may edit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from imagegen.models import Candidate, GenerationJob
from media_library.models import MediaItem
from media_library.services import media_item_create_from_bytes
from projects.models import Element
from tests.fixtures_projects import ROLES, image_bytes

from .conftest import SD_MODEL

pytestmark = pytest.mark.django_db
SD_FORM = {
    "provider": "stable-diffusion",
    "model": SD_MODEL,
    "prompt": "A harbour",
    "count": "1",
    "steps": "20",
}

# (URL name, which object its pk names, what a POST sends: a real submission, so a refused one must start nothing)
URLS: list[tuple[str, str, Callable[[dict[str, Any]], dict[str, Any]]]] = [
    ("imagegen:edit", "item", lambda ctx: {**SD_FORM, "action": "edit"}),
    ("imagegen:edit_candidate", "candidate", lambda ctx: {**SD_FORM, "action": "edit"}),
    ("imagegen:variations", "generated", lambda ctx: {**SD_FORM, "size": "512x512", "action": "generate"}),
    (
        "imagegen:upscale",
        "item",
        lambda ctx: {"provider": "stable-diffusion", "factor": "2", "action": "upscale"},
    ),
    ("imagegen:portrait", "element", lambda ctx: {**SD_FORM, "size": "512x768", "action": "generate"}),
]


@pytest.fixture
def ctx(project, media_item, owner) -> dict[str, Any]:
    job = GenerationJob.objects.create(
        user=owner, project=project, provider="stable-diffusion", model=SD_MODEL, prompt="Old",
        composed_prompt="Old", options={"size": "512x512", "count": 1}, status="succeeded", images_made=1,
    )  # fmt: skip
    candidate = Candidate(job=job, index=0, content_type="image/png", width=64, height=48, bytes=10)
    candidate.file.save("1.png", ContentFile(image_bytes(color=(9, 9, 9))), save=False)
    candidate.save()
    generated, _ = media_item_create_from_bytes(
        project=project, data=image_bytes(color=(7, 7, 7)), origin=MediaItem.Origin.GENERATED,
        generation={"job_id": job.pk},
    )  # fmt: skip
    return {
        "item": media_item,
        "candidate": candidate,
        "generated": generated,
        "element": Element.objects.create(project=project, name="Mira"),
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "target", "data"), URLS, ids=[u[0] for u in URLS])
def test_every_iteration_url_checks_access(upstream, client_for, project, ctx, role, name, target, data):
    address = reverse(name, kwargs={"slug": project.slug, "pk": ctx[target].pk})
    client = client_for(role)
    jobs_before = GenerationJob.objects.count()
    got = client.get(address)
    posted = client.post(address, data(ctx))
    if role in ("owner", "editor"):
        assert got.status_code == 200, got.content.decode()[:2000]
        assert posted.status_code == 302 and GenerationJob.objects.count() == jobs_before + 1
        return
    assert GenerationJob.objects.count() == jobs_before  # nothing started
    if role == "viewer":
        assert (got.status_code, posted.status_code) == (403, 403)
    elif role == "outsider":
        assert (got.status_code, posted.status_code) == (404, 404)
    else:
        for response in (got, posted):
            assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(("name", "target", "data"), URLS, ids=[u[0] for u in URLS])
def test_another_project_s_objects_are_not_found(
    upstream, client_for, project, ctx, owner, name, target, data
):
    """The owner of both projects, asking for one project's image under the other's address: 404."""
    from projects.models import Project

    other = Project.objects.create(owner=owner, title="Other", slug="other")
    address = reverse(name, kwargs={"slug": other.slug, "pk": ctx[target].pk})
    client = client_for("owner")
    assert client.get(address).status_code == 404
    assert client.post(address, data(ctx)).status_code == 404
    assert GenerationJob.objects.count() == 1  # ctx's own job only


@pytest.mark.parametrize(
    "name", ["imagegen:edit", "imagegen:upscale", "imagegen:variations", "imagegen:portrait"]
)
def test_the_urls_take_get_and_post_only(upstream, client_for, project, ctx, name):
    target = {"imagegen:variations": "generated", "imagegen:portrait": "element"}.get(name, "item")
    address = reverse(name, kwargs={"slug": project.slug, "pk": ctx[target].pk})
    assert client_for("editor").put(address).status_code == 405
    assert client_for("editor").delete(address).status_code == 405

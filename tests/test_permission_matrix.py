"""Every project URL × every kind of person × GET and POST, generated from the URL resolver (issue 11).

The list of URLs is not written here: it is every pattern the resolver knows that takes a project slug. Each needs a
declaration below (who may use it, which objects its ids name, what a POST sends); a new project page without one
fails `test_every_project_url_is_declared`, and its matrix row fails too, so no page can skip its checks.

Who gets what, for every URL and method:
* anonymous visitors are sent to sign in;
* outsiders, and staff (even superusers) who are not members, get 404 — a project's existence must not leak;
* members below the URL's level get 403 and change nothing;
* members at or above it get the page (or 405 for a method the URL does not take).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from imagegen.models import Candidate, GenerationJob, JobPreview
from media_library.models import MediaItem
from media_library.services import media_item_create_from_bytes
from projects.models import Document, Element, Membership, Project
from tests.fixtures_projects import image_bytes
from tests.imagegen.conftest import upstream  # noqa: F401 — the stand-in, for the dialog's rows

SD_MODEL = "v1-5-pruned-emaonly.safetensors [6ce0161689]"
ROLES = ["owner", "editor", "viewer", "outsider", "staff", "anonymous"]
METHODS = ["get", "post"]
LEVELS = {"view": {"owner", "editor", "viewer"}, "edit": {"owner", "editor"}, "manage": {"owner"}}
Ctx = dict[str, Any]
GENERATE = {"provider": "stable-diffusion", "model": SD_MODEL, "prompt": "A harbour", "size": "512x512",
            "count": "1", "steps": "20", "action": "generate"}  # fmt: skip
ITERATE = {
    "provider": "stable-diffusion",
    "model": SD_MODEL,
    "prompt": "A harbour",
    "count": "1",
    "steps": "20",
}


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield prefix + str(pattern.pattern), namespace + pattern.name


def project_url_names() -> list[str]:
    """Every named URL whose route takes a project's slug, as the resolver has them now."""
    return sorted({name for route, name in _walk(get_resolver().url_patterns) if "<slug:slug>" in route})


@dataclass(frozen=True)
class Declared:
    level: str  # "view", "edit" or "manage"
    methods: frozenset[str] = frozenset({"get"})  # what the URL takes
    kwargs: Callable[[Ctx], dict[str, Any]] = lambda ctx: {}
    data: Callable[[Ctx], dict[str, Any]] = field(default=lambda ctx: {})
    ok: dict[str, int] = field(
        default_factory=lambda: {"get": 200, "post": 302}
    )  # what an allowed person gets
    upstream: bool = False  # needs the stand-in upstream (the Generate Image dialog)


BOTH = frozenset({"get", "post"})
POST = frozenset({"post"})


def pk(key: str) -> Callable[[Ctx], dict[str, Any]]:
    return lambda ctx: {"pk": ctx[key].pk}


DECLARED: dict[str, Declared] = {
    "projects:detail": Declared("view"),
    "projects:edit": Declared("edit", BOTH, data=lambda ctx: {"title": "Renamed", "description": "New"}),
    "projects:delete": Declared("manage", BOTH),
    "projects:member_add": Declared(
        "manage", POST, data=lambda ctx: {"username": "outsider", "role": "viewer"}
    ),
    "projects:member_remove": Declared("manage", POST, kwargs=pk("membership")),
    "projects:documents": Declared("view"),
    "projects:document_create": Declared(
        "edit", BOTH, data=lambda ctx: {"title": "Ch 2", "body": "Hi", "order": 2}
    ),
    "projects:document": Declared("view", kwargs=pk("document")),
    "projects:document_edit": Declared(
        "edit", BOTH, kwargs=pk("document"), data=lambda ctx: {"title": "X", "body": "", "order": 1}
    ),
    "projects:document_delete": Declared("edit", BOTH, kwargs=pk("document")),
    "projects:elements": Declared("view"),
    "projects:element_create": Declared(
        "edit", BOTH, data=lambda ctx: {"kind": "item", "name": "Key", "attributes": ""}
    ),
    "projects:element": Declared("view", kwargs=pk("element")),
    "projects:element_edit": Declared(
        "edit", BOTH, kwargs=pk("element"), data=lambda ctx: {"kind": "character", "name": "Z"}
    ),
    "projects:element_delete": Declared("edit", BOTH, kwargs=pk("element")),
    "media:index": Declared("view"),
    "media:upload": Declared(
        "edit",
        BOTH,
        data=lambda ctx: {"files": SimpleUploadedFile("new.png", image_bytes(color=(1, 2, 3)), "image/png")},
    ),
    "media:detail": Declared("view", kwargs=pk("item")),
    "media:edit": Declared("edit", BOTH, kwargs=pk("item"), data=lambda ctx: {"title": "T", "alt_text": "A"}),
    "media:delete": Declared("edit", BOTH, kwargs=pk("item")),
    "media:set_cover": Declared("edit", POST, kwargs=pk("item")),
    "media:insert": Declared(
        "edit", POST, kwargs=pk("item"), data=lambda ctx: {"document": ctx["document"].pk}
    ),
    "media:set_element_image": Declared(
        "edit", POST, kwargs=pk("item"), data=lambda ctx: {"element": ctx["element"].pk}
    ),
    "media:file": Declared("view", kwargs=pk("item")),
    "media:thumbnail": Declared("view", kwargs=pk("item")),
    "media:download": Declared("view", kwargs=pk("item")),
    "imagegen:dialog": Declared(
        "edit",
        BOTH,
        data=lambda ctx: dict(GENERATE),
        upstream=True,
    ),
    "imagegen:jobs": Declared("edit"),
    "imagegen:history": Declared("edit"),
    "imagegen:job": Declared("edit", kwargs=pk("job")),
    # The test client is WSGI: the stream answers 204 there (tests/imagegen/test_live_stream.py reads it over ASGI).
    "imagegen:job_events": Declared("edit", kwargs=pk("running_job"), ok={"get": 204, "post": 302}),
    "imagegen:preview": Declared("edit", kwargs=pk("running_job")),
    "imagegen:cancel": Declared("edit", POST, kwargs=pk("running_job")),
    "imagegen:save": Declared(
        "edit", POST, kwargs=pk("job"), data=lambda ctx: {"candidate": ctx["candidate"].pk}, ok={"post": 200}
    ),
    "imagegen:again": Declared("edit", kwargs=pk("job")),
    # Iterating on an image (issue 14): each POST is a real submission, so a refused one must start nothing.
    "imagegen:variations": Declared(
        "edit",
        BOTH,
        kwargs=pk("generated"),
        data=lambda ctx: {**ITERATE, "size": "512x512", "action": "generate"},
        upstream=True,
    ),
    "imagegen:edit": Declared(
        "edit", BOTH, kwargs=pk("item"), data=lambda ctx: {**ITERATE, "action": "edit"}, upstream=True
    ),
    "imagegen:edit_candidate": Declared(
        "edit", BOTH, kwargs=pk("candidate"), data=lambda ctx: {**ITERATE, "action": "edit"}, upstream=True
    ),
    "imagegen:upscale": Declared(
        "edit",
        BOTH,
        kwargs=pk("item"),
        upstream=True,
        data=lambda ctx: {"provider": "stable-diffusion", "factor": "2", "action": "upscale"},
    ),
    "imagegen:portrait": Declared(
        "edit",
        BOTH,
        kwargs=pk("element"),
        data=lambda ctx: {**ITERATE, "size": "512x768", "action": "generate"},
        upstream=True,
    ),
    "imagegen:cover": Declared(
        "edit", BOTH, data=lambda ctx: {**ITERATE, "size": "512x768", "action": "generate"}, upstream=True
    ),
    "imagegen:candidate": Declared("edit", kwargs=pk("candidate")),
}


def test_every_project_url_is_declared() -> None:
    """A project-scoped URL without a declaration would have no access checks here: add it to DECLARED."""
    found = set(project_url_names())
    assert found - set(DECLARED) == set(), "project URLs the matrix does not cover"
    assert set(DECLARED) - found == set(), "declarations for URLs that no longer exist"


@pytest.fixture
def staff(make_user):
    """Staff — a superuser even — with no part in the project."""
    return make_user("staff", is_staff=True, is_superuser=True)


@pytest.fixture
def ctx(project, media_item, owner, viewer, staff) -> Ctx:
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
    running = GenerationJob.objects.create(
        user=owner, project=project, provider="stable-diffusion", model=SD_MODEL, prompt="Now",
        composed_prompt="Now", status="queued",
    )  # fmt: skip
    JobPreview.objects.create(job=running, image=image_bytes(color=(5, 5, 5)), content_type="image/png")
    return {
        "project": project,
        "item": media_item,
        "generated": generated,
        "job": job,
        "running_job": running,
        "candidate": candidate,
        "document": Document.objects.create(project=project, title="Chapter 1", body="Once."),
        "element": Element.objects.create(project=project, name="Mira", attributes=[["Hair", "silver"]]),
        "membership": Membership.objects.get(project=project, user=viewer),
    }


@pytest.fixture
def people(client_for, staff) -> Callable[[str], Any]:
    from django.test import Client

    def make(role: str) -> Client:
        if role != "staff":
            return client_for(role)
        client = Client()
        client.force_login(staff)
        return client

    return make


def snapshot(project: Project) -> tuple[Any, ...]:
    """Everything a refused request might have changed."""
    return (
        Project.objects.filter(pk=project.pk).values_list("title", "description", "cover_id").first(),
        list(Document.objects.filter(project=project).values_list("pk", "title", "body")),
        list(Element.objects.filter(project=project).values_list("pk", "name", "image_id")),
        list(MediaItem.objects.filter(project=project).values_list("pk", "title", "alt_text")),
        list(Membership.objects.filter(project=project).values_list("user_id", "role")),
        list(GenerationJob.objects.values_list("pk", "status", "cancel_requested")),
        list(Candidate.objects.values_list("pk", "saved_item_id")),
    )


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", project_url_names())
def test_permission_matrix(name: str, role: str, method: str, ctx: Ctx, people, request) -> None:
    declared = DECLARED.get(name)
    assert declared is not None, f"{name} is not declared in the matrix"
    if declared.upstream:
        request.getfixturevalue("upstream")
    project = ctx["project"]
    url = reverse(name, kwargs={"slug": project.slug, **declared.kwargs(ctx)})
    before = snapshot(project)
    data = declared.data(ctx) if method == "post" else {}
    response = getattr(people(role), method)(url, data)

    if role == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login") + "?next=")
    elif role in {"outsider", "staff"}:
        assert response.status_code == 404
        assert project.title not in response.content.decode(errors="replace")
    elif role not in LEVELS[declared.level]:
        assert response.status_code == 403
    elif method not in declared.methods:
        assert response.status_code == 405
    else:
        assert response.status_code == declared.ok[method], response.content[:500]
        return
    assert snapshot(project) == before  # whoever was turned away changed nothing


def test_the_matrix_size() -> None:
    """Printed in the report: URLs × roles × methods."""
    names = project_url_names()
    print(f"permission matrix: {len(names)} project URLs × {len(ROLES)} roles × {len(METHODS)} methods "
          f"= {len(names) * len(ROLES) * len(METHODS)} requests")  # fmt: skip
    assert len(names) >= 34


def _unchecked_page(request, slug):  # pragma: no cover — never requested
    raise AssertionError


def test_a_new_project_page_without_a_declaration_is_noticed(settings) -> None:
    """The coverage check is not vacuous: a project URL added to the product shows up as undeclared."""
    from django.urls import clear_url_caches, path

    import inkweld.urls

    module = type(inkweld.urls)("matrix_probe_urls")
    module.urlpatterns = [
        *inkweld.urls.urlpatterns,
        path("projects/<slug:slug>/secret/", _unchecked_page, name="secret"),
    ]
    import sys

    sys.modules["matrix_probe_urls"] = module
    try:
        settings.ROOT_URLCONF = "matrix_probe_urls"
        clear_url_caches()
        assert set(project_url_names()) - set(DECLARED) == {"secret"}
    finally:
        del sys.modules["matrix_probe_urls"]
        clear_url_caches()

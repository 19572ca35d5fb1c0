"""Every project URL, for the owner, an editor, a viewer, an outsider and an anonymous visitor.

Outsiders get 404 (a project's existence must not leak), anonymous visitors are sent to sign in, viewers read but
change nothing (403, and nothing changed), editors change content, and only the owner deletes or manages members.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from media_library.models import MediaItem
from projects.models import Document, Element, Membership, Project
from tests.fixtures_projects import ROLES, image_bytes

Ctx = dict[str, Any]


@dataclass(frozen=True)
class Case:
    name: str  # the URL name
    level: str  # "view", "edit" or "manage"
    method: str = "get"
    kwargs: Callable[[Ctx], dict[str, Any]] = lambda ctx: {}
    data: Callable[[Ctx], dict[str, Any]] = field(default=lambda ctx: {})

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.name}"


def doc(ctx: Ctx) -> dict[str, Any]:
    return {"pk": ctx["document"].pk}


def elem(ctx: Ctx) -> dict[str, Any]:
    return {"pk": ctx["element"].pk}


def item(ctx: Ctx) -> dict[str, Any]:
    return {"pk": ctx["item"].pk}


CASES = [
    # Reading: everyone with a part in the project.
    Case("projects:detail", "view"),
    Case("projects:documents", "view"),
    Case("projects:document", "view", kwargs=doc),
    Case("projects:elements", "view"),
    Case("projects:element", "view", kwargs=elem),
    Case("media:index", "view"),
    Case("media:detail", "view", kwargs=item),
    Case("media:file", "view", kwargs=item),
    Case("media:thumbnail", "view", kwargs=item),
    Case("media:download", "view", kwargs=item),
    # Changing content: the owner and editors.
    Case("projects:edit", "edit"),
    Case("projects:edit", "edit", "post", data=lambda ctx: {"title": "Renamed", "description": "New"}),
    Case("projects:document_create", "edit"),
    Case(
        "projects:document_create",
        "edit",
        "post",
        data=lambda ctx: {"title": "Ch 2", "body": "Hi", "order": 2},
    ),
    Case("projects:document_edit", "edit", kwargs=doc),
    Case(
        "projects:document_edit",
        "edit",
        "post",
        kwargs=doc,
        data=lambda ctx: {"title": "X", "body": "", "order": 1},
    ),
    Case("projects:document_delete", "edit", kwargs=doc),
    Case("projects:document_delete", "edit", "post", kwargs=doc),
    Case("projects:element_create", "edit"),
    Case(
        "projects:element_create",
        "edit",
        "post",
        data=lambda ctx: {"kind": "item", "name": "Key", "attributes": ""},
    ),
    Case("projects:element_edit", "edit", kwargs=elem),
    Case(
        "projects:element_edit",
        "edit",
        "post",
        kwargs=elem,
        data=lambda ctx: {"kind": "character", "name": "Z"},
    ),
    Case("projects:element_delete", "edit", kwargs=elem),
    Case("projects:element_delete", "edit", "post", kwargs=elem),
    Case("media:upload", "edit"),
    Case(
        "media:upload",
        "edit",
        "post",
        data=lambda ctx: {"files": SimpleUploadedFile("new.png", image_bytes(color=(1, 2, 3)), "image/png")},
    ),
    Case("media:edit", "edit", kwargs=item),
    Case("media:edit", "edit", "post", kwargs=item, data=lambda ctx: {"title": "T", "alt_text": "A"}),
    Case("media:delete", "edit", kwargs=item),
    Case("media:delete", "edit", "post", kwargs=item),
    Case("media:set_cover", "edit", "post", kwargs=item),
    Case("media:insert", "edit", "post", kwargs=item, data=lambda ctx: {"document": ctx["document"].pk}),
    Case(
        "media:set_element_image",
        "edit",
        "post",
        kwargs=item,
        data=lambda ctx: {"element": ctx["element"].pk},
    ),
    # Managing the project: the owner alone.
    Case("projects:delete", "manage"),
    Case("projects:delete", "manage", "post"),
    Case(
        "projects:member_add", "manage", "post", data=lambda ctx: {"username": "outsider", "role": "viewer"}
    ),
    Case("projects:member_remove", "manage", "post", kwargs=lambda ctx: {"pk": ctx["membership"].pk}),
]

ALLOWED = {
    "view": {"owner", "editor", "viewer"},
    "edit": {"owner", "editor"},
    "manage": {"owner"},
}


@pytest.fixture
def ctx(project, media_item, viewer) -> Ctx:
    return {
        "project": project,
        "item": media_item,
        "document": Document.objects.create(project=project, title="Chapter 1", body="Once."),
        "element": Element.objects.create(project=project, name="Mira", attributes=[["Hair", "silver"]]),
        "membership": Membership.objects.get(project=project, user=viewer),
    }


def snapshot(project: Project) -> tuple[Any, ...]:
    """Everything a forbidden request might have changed."""
    return (
        Project.objects.filter(pk=project.pk).values_list("title", "description", "cover_id").first(),
        list(Document.objects.filter(project=project).values_list("pk", "title", "body")),
        list(Element.objects.filter(project=project).values_list("pk", "name", "image_id")),
        list(MediaItem.objects.filter(project=project).values_list("pk", "title", "alt_text")),
        list(Membership.objects.filter(project=project).values_list("user_id", "role")),
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_permission_matrix(case: Case, role: str, ctx: Ctx, client_for) -> None:
    project = ctx["project"]
    url = reverse(case.name, kwargs={"slug": project.slug, **case.kwargs(ctx)})
    before = snapshot(project)
    response = getattr(client_for(role), case.method)(url, case.data(ctx))

    if role == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login") + "?next=")
    elif role == "outsider":
        assert response.status_code == 404
        assert project.title not in response.content.decode()
    elif role in ALLOWED[case.level]:
        expected = 302 if case.method == "post" else 200
        assert response.status_code == expected, response.content[:500]
        return
    else:
        assert response.status_code == 403
    # Whoever was turned away changed nothing.
    assert snapshot(project) == before


@pytest.mark.parametrize(
    "name", ["media:set_cover", "media:insert", "media:set_element_image", "projects:member_add"]
)
def test_actions_that_change_things_refuse_get(name: str, ctx: Ctx, client_for) -> None:
    kwargs = {"slug": ctx["project"].slug}
    if name.startswith("media:"):
        kwargs["pk"] = ctx["item"].pk
    response = client_for("owner").get(reverse(name, kwargs=kwargs))
    assert response.status_code == 405


def test_member_remove_refuses_get(ctx: Ctx, client_for) -> None:
    url = reverse("projects:member_remove", kwargs={"slug": ctx["project"].slug, "pk": ctx["membership"].pk})
    assert client_for("owner").get(url).status_code == 405
    assert Membership.objects.filter(pk=ctx["membership"].pk).exists()


def test_forms_need_the_csrf_token(project, owner) -> None:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    page = client.get(reverse("projects:edit", kwargs={"slug": project.slug}))
    assert b"csrfmiddlewaretoken" in page.content
    response = client.post(reverse("projects:edit", kwargs={"slug": project.slug}), {"title": "Hijacked"})
    assert response.status_code == 403
    project.refresh_from_db()
    assert project.title == "Moonlit Harbour"


def test_unknown_project_and_other_projects_objects_are_404(ctx: Ctx, client_for, make_user) -> None:
    client = client_for("owner")
    assert client.get("/projects/no-such-project/").status_code == 404
    other = Project.objects.create(owner=make_user("zed"), title="Other", slug="other")
    foreign_doc = Document.objects.create(project=other, title="Secret")
    url = reverse("projects:document", kwargs={"slug": ctx["project"].slug, "pk": foreign_doc.pk})
    assert client.get(url).status_code == 404
    url = reverse("media:file", kwargs={"slug": other.slug, "pk": ctx["item"].pk})
    assert client.get(url).status_code == 404


def test_project_list_needs_sign_in_and_shows_only_own_projects(ctx: Ctx, client_for, make_user) -> None:
    Project.objects.create(owner=make_user("zed"), title="Zed's secret book", slug="zed")
    response = client_for("anonymous").get(reverse("projects:list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    viewer_page = client_for("viewer").get(reverse("projects:list")).content.decode()
    assert "Moonlit Harbour" in viewer_page
    assert "Zed&#x27;s secret book" not in viewer_page and "Zed's secret book" not in viewer_page
    outsider_page = client_for("outsider").get(reverse("projects:list")).content.decode()
    assert "Moonlit Harbour" not in outsider_page

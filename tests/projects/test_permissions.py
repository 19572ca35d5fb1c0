"""Project access beyond the matrix: refused methods, CSRF, other projects' objects, the project list.

The matrix itself — every project URL × owner, editor, viewer, outsider, staff and anonymous × GET and POST — is
generated from the URL resolver in tests/test_permission_matrix.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from projects.models import Document, Element, Membership, Project

Ctx = dict[str, Any]


@pytest.fixture
def ctx(project, media_item, viewer) -> Ctx:
    return {
        "project": project,
        "item": media_item,
        "document": Document.objects.create(project=project, title="Chapter 1", body="Once."),
        "element": Element.objects.create(project=project, name="Mira", attributes=[["Hair", "silver"]]),
        "membership": Membership.objects.get(project=project, user=viewer),
    }


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

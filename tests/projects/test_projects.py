"""Projects, members, documents and worldbuilding elements, as a writer uses them."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from media_library.models import MediaItem
from media_library.services import media_item_create_from_bytes
from projects.demo import seed_demo_project
from projects.models import Document, Element, Membership, Project
from tests.fixtures_projects import image_bytes


def url(name: str, project: Project, **kwargs) -> str:
    return reverse(name, kwargs={"slug": project.slug, **kwargs})


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- Projects ------------------------------------------------------------------------------------------


def test_create_a_project_gets_a_unique_slug(user_client, user) -> None:
    Project.objects.create(owner=user, title="Old", slug="the-sea")
    response = user_client.post(reverse("projects:create"), {"title": "The Sea", "description": "Salt."})
    project = Project.objects.get(title="The Sea")
    assert project.slug == "the-sea-2"
    assert project.owner == user
    assert response["Location"] == project.get_absolute_url()


def test_a_project_cannot_take_the_create_pages_address(user_client) -> None:
    user_client.post(reverse("projects:create"), {"title": "New"})
    assert Project.objects.get(title="New").slug == "new-2"


def test_the_list_shows_cards_with_cover_thumbnail_and_description(project, media_item, client_for) -> None:
    project.description = "Lanterns over still water."
    project.cover = media_item
    project.save()
    html = client_for("editor").get(reverse("projects:list")).content.decode()
    assert "Moonlit Harbour" in html and "Lanterns over still water." in html
    assert url("media:thumbnail", project, pk=media_item.pk) in html
    assert "Shared by owner" in html


def test_overview_shows_cover_description_and_members(project, media_item, client_for) -> None:
    project.cover = media_item
    project.description = "Lanterns."
    project.save()
    html = client_for("viewer").get(url("projects:detail", project)).content.decode()
    assert url("media:file", project, pk=media_item.pk) in html
    assert "Lanterns." in html
    for name in ["owner", "editor", "viewer"]:
        assert f'<span class="member-name">{name}</span>' in html
    assert "Add member" not in html and "Edit project" not in html


def test_edit_a_project_and_remove_its_cover(project, media_item, client_for) -> None:
    project.cover = media_item
    project.save()
    client_for("editor").post(
        url("projects:edit", project), {"title": "Harbour", "description": "D", "remove_cover": "on"}
    )
    project.refresh_from_db()
    assert (project.title, project.description, project.cover) == ("Harbour", "D", None)
    assert MediaItem.objects.filter(pk=media_item.pk).exists()  # only the reference goes


def test_delete_asks_and_says_what_goes_with_it(project, media_item, client_for) -> None:
    Document.objects.create(project=project, title="Ch 1")
    Element.objects.create(project=project, name="Mira")
    html = client_for("owner").get(url("projects:delete", project)).content.decode()
    assert "Delete “Moonlit Harbour”?" in html
    for text in [
        "1 document",
        "1 worldbuilding element",
        "1 image in the media library",
        "2 members lose access",
    ]:
        assert text in html


@pytest.mark.django_db(transaction=True)
def test_deleting_a_project_deletes_everything_and_the_files(project, media_item, client_for) -> None:
    project.cover = media_item
    project.save()
    Document.objects.create(project=project, title="Ch 1")
    Element.objects.create(project=project, name="Mira", image=media_item)
    storage = media_item.file.storage
    names = [media_item.file.name, media_item.thumbnail.name]
    response = client_for("owner").post(url("projects:delete", project))
    assert response["Location"] == reverse("projects:list")
    assert not Project.objects.exists()
    assert not (MediaItem.objects.exists() or Document.objects.exists() or Element.objects.exists())
    assert not any(storage.exists(name) for name in names)


# --- Members -------------------------------------------------------------------------------------------


def test_owner_adds_changes_and_removes_members(project, outsider, client_for) -> None:
    client = client_for("owner")
    response = client.post(
        url("projects:member_add", project), {"username": "Outsider", "role": "editor"}, follow=True
    )
    assert "Added outsider as an editor." in messages_of(response)
    membership = Membership.objects.get(project=project, user=outsider)
    assert membership.role == "editor"
    assert client_for("outsider").get(url("projects:detail", project)).status_code == 200

    response = client.post(
        url("projects:member_add", project), {"username": "outsider", "role": "viewer"}, follow=True
    )
    assert "Changed outsider as a viewer." in messages_of(response)
    membership.refresh_from_db()
    assert membership.role == "viewer"

    client.post(url("projects:member_remove", project, pk=membership.pk))
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert client_for("outsider").get(url("projects:detail", project)).status_code == 404


def test_adding_an_unknown_user_or_the_owner_is_explained(project, client_for) -> None:
    client = client_for("owner")
    response = client.post(
        url("projects:member_add", project), {"username": "nobody", "role": "viewer"}, follow=True
    )
    assert "There is no one called “nobody” here. Check the spelling." in messages_of(response)
    response = client.post(
        url("projects:member_add", project), {"username": "owner", "role": "viewer"}, follow=True
    )
    assert "That is the project's owner, who can already do everything." in messages_of(response)
    assert Membership.objects.filter(project=project).count() == 2


# --- Documents -----------------------------------------------------------------------------------------


def test_create_and_edit_a_document(project, client_for) -> None:
    client = client_for("editor")
    form = client.get(url("projects:document_create", project)).content.decode()
    assert "[[image:42]]" in form  # the embed syntax is explained where the writer types
    response = client.post(
        url("projects:document_create", project), {"title": "Chapter 1", "body": "It began.", "order": 1}
    )
    document = Document.objects.get()
    assert response["Location"] == document.get_absolute_url()
    client.post(
        url("projects:document_edit", project, pk=document.pk), {"title": "Ch. 1", "body": "It", "order": 3}
    )
    document.refresh_from_db()
    assert (document.title, document.body, document.order) == ("Ch. 1", "It", 3)


def test_documents_are_listed_in_order(project, client_for) -> None:
    Document.objects.create(project=project, title="Second", order=2)
    Document.objects.create(project=project, title="First", order=1)
    html = client_for("viewer").get(url("projects:documents", project)).content.decode()
    assert html.index("First") < html.index("Second")


def test_a_document_shows_its_images_escaped_text_and_removed_images(
    project, media_item, client_for, make_user
):
    other = Project.objects.create(owner=make_user("zed"), title="Other", slug="other")
    foreign, _ = media_item_create_from_bytes(project=other, data=image_bytes(color=(5, 5, 5)))
    document = Document.objects.create(
        project=project,
        title="Chapter 1",
        body=f"<b>Bold?</b>\n\n[[image:{media_item.pk}|The harbour]]\n\n[[image:99999]]\n\n[[image:{foreign.pk}]]\n",
    )
    html = client_for("viewer").get(url("projects:document", project, pk=document.pk)).content.decode()
    assert "&lt;b&gt;Bold?&lt;/b&gt;" in html and "<b>Bold?</b>" not in html
    assert f'<img src="{url("media:file", project, pk=media_item.pk)}"' in html
    assert "<figcaption>The harbour</figcaption>" in html
    assert html.count("Image removed") == 2  # the deleted id, and another project's image
    assert f"/{foreign.pk}/file/" not in html


def test_delete_a_document(project, client_for) -> None:
    document = Document.objects.create(project=project, title="Scrap")
    confirm = (
        client_for("editor").get(url("projects:document_delete", project, pk=document.pk)).content.decode()
    )
    assert "Delete the document “Scrap”?" in confirm
    client_for("editor").post(url("projects:document_delete", project, pk=document.pk))
    assert not Document.objects.exists()


# --- Worldbuilding -------------------------------------------------------------------------------------


def test_element_attributes_keep_the_writers_order(project, client_for) -> None:
    client = client_for("editor")
    client.post(
        url("projects:element_create", project),
        {
            "kind": "character",
            "name": "Mira",
            "description": "Maps dreams.",
            "attributes": "Hair: silver\n\nAge: 25\nNote: a: b",
        },
    )
    element = Element.objects.get()
    assert element.attributes == [["Hair", "silver"], ["Age", "25"], ["Note", "a: b"]]
    form = client.get(url("projects:element_edit", project, pk=element.pk)).content.decode()
    assert "Hair: silver\nAge: 25\nNote: a: b" in form
    page = client.get(element.get_absolute_url()).content.decode()
    assert page.index("Hair") < page.index("Age") < page.index("Note")


def test_element_aliases_are_kept_in_order_without_repeats_and_shown(project, client_for) -> None:
    client = client_for("editor")
    client.post(
        url("projects:element_create", project),
        {"kind": "character", "name": "Mira Vale", "aliases": " Mira,the   cartographer, mira ,,"},
    )
    element = Element.objects.get()
    assert element.aliases == ["Mira", "the cartographer"]
    assert element.names == ["Mira Vale", "Mira", "the cartographer"]
    form = client.get(url("projects:element_edit", project, pk=element.pk)).content.decode()
    assert 'value="Mira, the cartographer"' in form
    page = client.get(element.get_absolute_url()).content.decode()
    assert "Also called</span> Mira, the cartographer" in page
    assert (
        "Also called Mira, the cartographer" in client.get(url("projects:elements", project)).content.decode()
    )
    client.post(
        url("projects:element_edit", project, pk=element.pk),
        {"kind": "character", "name": "Mira Vale", "aliases": ""},
    )
    element.refresh_from_db()
    assert element.aliases == []


def test_an_attribute_line_without_a_colon_is_explained(project, client_for) -> None:
    response = client_for("editor").post(
        url("projects:element_create", project),
        {"kind": "item", "name": "Key", "attributes": "Brass\nAge: old"},
    )
    assert response.status_code == 200
    assert "Line 1 (“Brass”) needs a name and a colon, like “Hair: silver”." in response.content.decode()
    assert not Element.objects.exists()


def test_elements_are_grouped_by_kind_with_their_images(project, media_item, client_for) -> None:
    Element.objects.create(project=project, kind="style", name="Ink wash")
    Element.objects.create(project=project, kind="location", name="The Harbour", image=media_item)
    Element.objects.create(project=project, kind="character", name="Mira")
    html = client_for("viewer").get(url("projects:elements", project)).content.decode()
    assert (
        html.index('id="kind-character">Character <')
        < html.index('id="kind-location"')
        < html.index('id="kind-style"')
    )
    assert url("media:thumbnail", project, pk=media_item.pk) in html
    element = Element.objects.get(name="The Harbour")
    detail = client_for("viewer").get(element.get_absolute_url()).content.decode()
    assert url("media:file", project, pk=media_item.pk) in detail


def test_edit_an_element_and_remove_its_image(project, media_item, client_for) -> None:
    element = Element.objects.create(project=project, name="Mira", image=media_item)
    client_for("editor").post(
        url("projects:element_edit", project, pk=element.pk),
        {"kind": "character", "name": "Mira Vale", "attributes": "Age: 26", "remove_image": "on"},
    )
    element.refresh_from_db()
    assert (element.name, element.attributes, element.image) == ("Mira Vale", [["Age", "26"]], None)


# --- The demo project ----------------------------------------------------------------------------------


def test_seed_demo_project_is_idempotent(db) -> None:
    writer = User.objects.create_user("writer", password="x")
    assert seed_demo_project(writer) is True
    project = Project.objects.get(slug="demo")
    assert project.owner == writer and project.cover is not None
    kinds = set(project.elements.values_list("kind", flat=True))
    assert {"character", "location", "style"} <= kinds
    character = project.elements.get(kind="character")
    assert len(character.attributes) >= 2
    assert project.documents.exists()
    assert seed_demo_project(writer) is False
    assert Project.objects.count() == 1 and MediaItem.objects.count() == 1


def test_seed_demo_command_creates_the_demo_project(db, monkeypatch) -> None:
    monkeypatch.setenv("DEMO_WRITER_PASSWORD", "writer-pass-123")
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "Created the demo project (slug 'demo')." in out.getvalue()
    assert Project.objects.get(slug="demo").owner.username == "writer"

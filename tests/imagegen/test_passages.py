"""Illustrate this passage: a document's paragraph opens the dialog with the passage as the scene and the elements
it names in their roles; the job remembers the paragraph; the saved image goes right after it in one click."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.http import urlencode

from imagegen.models import GenerationJob
from imagegen.passages import ROLE_FOR_KIND, illustrate_url
from imagegen.services import job_run
from projects import embeds
from projects.models import Document, Element

from .conftest import SD_MODEL

pytestmark = pytest.mark.django_db

BODY = (
    "The tide came in at dusk.\n"
    "\n"
    "The cartographer unrolled her map in the Drowned Library.\n"
    "She held the compass close.\n"
    "\n"
    "[[image:999]]\n"
    "\n"
    "Nobody saw Admiral Miranda leave.\n"
)


@pytest.fixture
def world(project):
    mira = Element.objects.create(
        project=project, kind="character", name="Mira Vale", aliases=["the cartographer"]
    )
    library = Element.objects.create(project=project, kind="location", name="The Drowned Library")
    compass = Element.objects.create(project=project, kind="item", name="Brass Compass", aliases=["compass"])
    Element.objects.create(project=project, kind="character", name="Mira")  # only inside "Miranda"
    document = Document.objects.create(project=project, title="Chapter 1", body=BODY)
    return {"mira": mira, "library": library, "compass": compass, "document": document}


def open_dialog(client, project, document, paragraph, passage=None, **headers):
    url = illustrate_url(project, document, paragraph)
    return client.get(url + (f"&{urlencode({'passage': passage})}" if passage else ""), **headers)


# --- Paragraphs and the embed after one (projects.embeds) ----------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (1, "The tide came in at dusk.\n\n[[image:7]]\n\nThe cartographer unrolled"),
        (2, "She held the compass close.\n\n[[image:7]]\n\n[[image:999]]\n\nNobody"),
        (3, "Nobody saw Admiral Miranda leave.\n\n[[image:7]]\n"),
        (4, "Nobody saw Admiral Miranda leave.\n\n[[image:7]]\n"),  # gone since: at the end
    ],
)
def test_an_embed_goes_right_after_the_paragraph(number, expected) -> None:
    body = embeds.insert_embed_after_paragraph(BODY, number, 7)
    assert expected in body
    assert embeds.embedded_ids(body) == ([999, 7] if number >= 3 else [7, 999])
    # Every other paragraph is as it was.
    assert [p.text for p in embeds.paragraphs(body)] == [p.text for p in embeds.paragraphs(BODY)]


def test_paragraphs_are_counted_without_embeds_and_joined_lines() -> None:
    found = embeds.paragraphs(BODY)
    assert [p.number for p in found] == [1, 2, 3]
    assert (
        found[1].text
        == "The cartographer unrolled her map in the Drowned Library.\nShe held the compass close."
    )
    assert embeds.paragraph(BODY, 9) is None
    assert embeds.insert_embed_after_paragraph("One line, no newline", 1, 3, "Dawn") == (
        "One line, no newline\n\n[[image:3|Dawn]]\n"
    )


# --- The document page ---------------------------------------------------------------------------------------


def test_each_paragraph_has_an_illustrate_link_for_who_may_generate(upstream, client_for, project, world):
    document = world["document"]
    html = client_for("editor").get(document.get_absolute_url()).content.decode()
    for number in (1, 2, 3):
        assert f'id="paragraph-{number}" data-paragraph="{number}"' in html
        assert f'href="{illustrate_url(project, document, number)}"'.replace("&", "&amp;") in html
    assert 'id="generate-dialog"' in html and 'id="illustrate-selection"' in html
    viewer = client_for("viewer").get(document.get_absolute_url()).content.decode()
    assert 'id="paragraph-2"' in viewer and "Illustrate" not in viewer


def test_no_illustrate_link_when_generation_is_off(client_for, project, world):
    html = client_for("editor").get(world["document"].get_absolute_url()).content.decode()
    assert 'id="paragraph-1"' in html and "illustrate-link" not in html


# --- The dialog on a passage ---------------------------------------------------------------------------------


def test_the_dialog_opens_with_the_passage_and_the_elements_it_names_in_their_roles(
    upstream, client_for, project, world, htmx_headers
):
    html = open_dialog(client_for("editor"), project, world["document"], 2, **htmx_headers).content.decode()
    assert "The cartographer unrolled her map in the Drowned Library. She held the compass close." not in html
    assert "The cartographer unrolled her map in the Drowned Library.\nShe held the compass close." in html
    for key, role in (("mira", "subject"), ("library", "setting"), ("compass", "reference")):
        field = f'name="element_{world[key].pk}"'
        assert field in html
        select = html[html.index(field) :]
        select = select[: select.index("</select>")]
        assert f'<option value="{role}" selected>' in select, key
    # What was found, and by which words.
    assert (
        "as “The cartographer”" in html
        and '<strong>Brass Compass</strong> <span class="muted">as “compass”' in html
    )
    # Where the image belongs travels with the form.
    assert f'name="document" value="{world["document"].pk}"' in html and 'name="paragraph" value="2"' in html


def test_selected_words_are_the_scene_and_only_their_elements_are_chosen(
    upstream, client_for, project, world
):
    html = open_dialog(
        client_for("editor"), project, world["document"], 2, "She held the   compass"
    ).content.decode()
    assert ">\nShe held the compass</textarea>" in html
    assert '<option value="reference" selected>' in html
    assert '<option value="subject" selected>' not in html


def test_no_element_named_says_so(upstream, client_for, project, world):
    html = open_dialog(client_for("editor"), project, world["document"], 3).content.decode()
    assert "No worldbuilding element is named in this passage" in html
    assert "selected>Subject" not in html


@pytest.mark.parametrize(
    ("document", "paragraph"), [("other", "1"), ("mine", "9"), ("mine", "x"), ("mine", "²"), ("mine", "")]
)
def test_a_passage_that_is_not_there_is_404(
    upstream, client_for, project, world, make_user, document, paragraph
):
    from projects.models import Project

    other = Project.objects.create(owner=make_user("someone"), title="Other", slug="other")
    foreign = Document.objects.create(project=other, title="Theirs", body="Secret.")
    pk = foreign.pk if document == "other" else world["document"].pk
    url = reverse("imagegen:dialog", kwargs={"slug": project.slug})
    assert client_for("editor").get(url, {"document": pk, "paragraph": paragraph}).status_code == 404


@pytest.mark.parametrize(
    ("role", "status"),
    [("owner", 200), ("editor", 200), ("viewer", 403), ("outsider", 404), ("anonymous", 302)],
)
def test_who_may_open_the_dialog_on_a_passage(upstream, client_for, project, world, role, status):
    response = open_dialog(client_for(role), project, world["document"], 1)
    assert response.status_code == status
    if role == "anonymous":
        assert response["Location"].startswith("/accounts/login/")


def test_the_roles_follow_the_kinds() -> None:
    assert ROLE_FOR_KIND == {
        "character": "subject",
        "location": "setting",
        "item": "reference",
        "faction": "reference",
        "style": "style",
        "other": "reference",
    }


# --- Generate → Save → Insert after this paragraph ----------------------------------------------------------------


def generate_on_passage(client, project, world, **extra):
    data = {
        "provider": "stable-diffusion", "model": SD_MODEL, "prompt": "The cartographer in the Drowned Library",
        "size": "512x512", "count": "1", "steps": "20", "action": "generate",
        "document": str(world["document"].pk), "paragraph": "2", f"element_{world['mira'].pk}": "subject",
        **extra,
    }  # fmt: skip
    client.post(reverse("imagegen:dialog", kwargs={"slug": project.slug}), data)
    return GenerationJob.objects.latest("pk")


def test_the_job_remembers_the_paragraph_and_the_image_goes_right_after_it(
    upstream, client_for, project, world, media_storage
):
    client = client_for("editor")
    job = generate_on_passage(client, project, world)
    assert (job.target_document, job.target_paragraph) == (world["document"], 2)
    job_run(job_id=job.pk)
    save = reverse("imagegen:save", kwargs={"slug": project.slug, "pk": job.pk})
    html = client.post(save, {"candidate": [c.pk for c in job.candidates.all()]}).content.decode()
    assert "Insert after this paragraph" in html and "Paragraph 2 of “Chapter 1”" in html
    item = job.candidates.get().saved_item
    assert 'name="after_paragraph" value="2"' in html
    response = client.post(
        reverse("media:insert", kwargs={"slug": project.slug, "pk": item.pk}),
        {"document": world["document"].pk, "after_paragraph": "2"},
    )
    assert response["Location"].endswith(f"{world['document'].get_absolute_url()}#paragraph-2")
    world["document"].refresh_from_db()
    assert f"She held the compass close.\n\n[[image:{item.pk}]]\n\n[[image:999]]" in world["document"].body


def test_the_insert_menu_of_a_passage_s_job_starts_on_the_passage_s_document(
    upstream, client_for, project, world, media_storage
):
    # The project's first document is another one; the passage is in "Chapter 1".
    prologue = Document.objects.create(project=project, title="Prologue", body="Before it all.")
    Document.objects.filter(pk=world["document"].pk).update(order=1)
    client = client_for("editor")
    job = generate_on_passage(client, project, world)
    job_run(job_id=job.pk)
    save = reverse("imagegen:save", kwargs={"slug": project.slug, "pk": job.pk})
    html = client.post(save, {"candidate": [c.pk for c in job.candidates.all()]}).content.decode()
    assert html.index("Prologue") < html.index("At the end of “Chapter 1”"), (
        "the menu lists documents in order"
    )
    assert f'<option value="{world["document"].pk}" selected>At the end of “Chapter 1”</option>' in html
    assert f'<option value="{prologue.pk}">At the end of “Prologue”</option>' in html

    # A job not on a passage starts on the first document, as before.
    other = generate_on_passage(client, project, world, document="", paragraph="")
    job_run(job_id=other.pk)
    save = reverse("imagegen:save", kwargs={"slug": project.slug, "pk": other.pk})
    html = client.post(save, {"candidate": [c.pk for c in other.candidates.all()]}).content.decode()
    assert f'<option value="{prologue.pk}" selected>At the end of “Prologue”</option>' in html


def test_a_job_on_another_projects_document_is_not_tied_to_it(
    upstream, client_for, project, world, make_user
):
    from projects.models import Project

    other = Project.objects.create(owner=make_user("someone"), title="Other", slug="other")
    foreign = Document.objects.create(project=other, title="Theirs", body="Secret.")
    job = generate_on_passage(client_for("editor"), project, world, document=str(foreign.pk))
    assert job.target_document is None and job.target_paragraph is None


def test_generate_again_keeps_the_paragraph(upstream, client_for, project, world):
    client = client_for("editor")
    job = generate_on_passage(client, project, world)
    html = client.get(reverse("imagegen:again", kwargs={"slug": project.slug, "pk": job.pk})).content.decode()
    assert f'name="document" value="{world["document"].pk}"' in html and 'name="paragraph" value="2"' in html


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("outsider", 404)])
def test_only_editors_insert_after_a_paragraph(client_for, project, world, media_item, role, status):
    url = reverse("media:insert", kwargs={"slug": project.slug, "pk": media_item.pk})
    response = client_for(role).post(url, {"document": world["document"].pk, "after_paragraph": "1"})
    assert response.status_code == status
    world["document"].refresh_from_db()
    assert world["document"].body == BODY

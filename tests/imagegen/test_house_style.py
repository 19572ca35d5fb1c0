"""A house style per project: chosen among its Style elements, added to every generation as Style unless the writer
sets it to "Not in this image", and visible in the dialog and in the composed prompt (Preview prompt)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from imagegen.models import GenerationJob
from projects.models import Element, Project

from .conftest import SD_MODEL

pytestmark = pytest.mark.django_db

INK = "Style: Ink wash, a style. Loose brush strokes in muted indigo."


@pytest.fixture
def ink(project) -> Element:
    ink = Element.objects.create(
        project=project, kind="style", name="Ink wash", description="Loose brush strokes in muted indigo."
    )
    project.house_style = ink
    project.save()
    return ink


def dialog_url(project: Project) -> str:
    return reverse("imagegen:dialog", kwargs={"slug": project.slug})


def sd(**extra: str) -> dict[str, str]:
    return {"provider": "stable-diffusion", "model": SD_MODEL, "prompt": "A harbour at night", "size": "512x512",
            "count": "1", "steps": "20", **extra}  # fmt: skip


def role_selected(html: str, element: Element) -> str:
    select = html[html.index(f'name="element_{element.pk}"') :]
    select = select[: select.index("</select>")]
    return select[: select.index(" selected")].rsplit('value="', 1)[1].rstrip('"')


def test_the_dialog_opens_with_the_house_style_as_style_and_says_so(upstream, client_for, project, ink):
    html = client_for("editor").get(dialog_url(project)).content.decode()
    assert role_selected(html, ink) == "style"
    assert "The house style, <strong>Ink wash</strong>, is added to every generation" in html


@pytest.mark.parametrize(
    ("house_role", "expected_in_prompt"),
    [
        (None, True),  # not sent at all (the command line, a link): the default
        ("style", True),  # as the dialog opens
        ("", False),  # the writer set it to "Not in this image" for this generation
        ("reference", False),  # or gave it another role: then it goes as that, not as Style
    ],
)
def test_the_house_style_in_the_composed_prompt(
    upstream, client_for, project, ink, house_role, expected_in_prompt
):
    data = sd(action="preview")
    if house_role is not None:
        data[f"element_{ink.pk}"] = house_role
    html = client_for("editor").post(dialog_url(project), data).content.decode()
    assert "Prompt to be sent" in html
    assert (INK in html) is expected_in_prompt
    assert ("Reference: Ink wash, a style." in html) is (house_role == "reference")


def test_a_generation_records_the_house_style_and_a_removed_one_stays_removed_on_refresh(
    upstream, client_for, project, ink
):
    client = client_for("editor")
    client.post(dialog_url(project), sd(action="generate"))
    job = GenerationJob.objects.get()
    assert INK in job.composed_prompt
    assert job.elements[0]["name"] == "Ink wash" and job.elements[0]["role"] == "style"
    # Changing the model re-renders the form from what was posted: "Not in this image" stays "Not in this image".
    html = client.post(
        dialog_url(project), sd(action="refresh", **{f"element_{ink.pk}": ""})
    ).content.decode()
    assert role_selected(html, ink) == ""


def test_no_house_style_no_note(upstream, client_for, project):
    Element.objects.create(project=project, kind="style", name="Ink wash")
    html = client_for("editor").get(dialog_url(project)).content.decode()
    assert "house-style-note" not in html and " selected>Style" not in html


def test_a_house_style_that_is_no_longer_a_style_is_not_added(upstream, client_for, project, ink):
    Element.objects.filter(pk=ink.pk).update(kind="item")
    html = client_for("editor").post(dialog_url(project), sd(action="preview")).content.decode()
    assert "Ink wash" not in html.split("Prompt to be sent")[1]


# --- Choosing it ---------------------------------------------------------------------------------------------


def test_the_project_form_offers_only_its_own_style_elements(client_for, project, make_user):
    other = Project.objects.create(owner=make_user("someone"), title="Other", slug="other")
    theirs = Element.objects.create(project=other, kind="style", name="Their style")
    mira = Element.objects.create(project=project, kind="character", name="Mira")
    edit = reverse("projects:edit", kwargs={"slug": project.slug})
    client = client_for("editor")
    assert "House style" not in client.get(edit).content.decode()  # no Style element yet
    ink = Element.objects.create(project=project, kind="style", name="Ink wash")
    html = client.get(edit).content.decode()
    assert "House style" in html and "Ink wash" in html and "Their style" not in html and ">Mira<" not in html
    for foreign in (theirs, mira):
        response = client.post(edit, {"title": project.title, "house_style": foreign.pk})
        assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    client.post(edit, {"title": project.title, "house_style": ink.pk})
    project.refresh_from_db()
    assert project.house_style == ink
    ink.delete()
    project.refresh_from_db()
    assert project.house_style is None


def test_generate_again_repeats_the_job_as_it_was(upstream, client_for, project, ink):
    client = client_for("editor")
    client.post(dialog_url(project), sd(action="generate", **{f"element_{ink.pk}": ""}))
    without = GenerationJob.objects.get()
    again = reverse("imagegen:again", kwargs={"slug": project.slug, "pk": without.pk})
    assert role_selected(client.get(again).content.decode(), ink) == ""
    client.post(dialog_url(project), sd(action="generate"))
    with_style = GenerationJob.objects.latest("pk")
    again = reverse("imagegen:again", kwargs={"slug": project.slug, "pk": with_style.pk})
    assert role_selected(client.get(again).content.decode(), ink) == "style"

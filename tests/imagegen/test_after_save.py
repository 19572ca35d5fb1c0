"""After saving from the dialog (issue 19): names, the Subject as the element, actions answered in place."""

from __future__ import annotations

import html
import re

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from imagegen.models import Candidate, GenerationJob
from imagegen.services import candidates_save, default_names
from media_library.models import MediaItem
from media_library.services import media_item_create_from_bytes
from projects.models import Document, Element

from .conftest import SD_MODEL

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "generate-panel"}


@pytest.fixture
def elements(project):
    return {
        name: Element.objects.create(project=project, name=name, kind=kind)
        for name, kind in [("Aldous", "character"), ("Mira Vale", "character"), ("Harbour", "location")]
    }


def job_with(project, owner, make_image, *, elements=(), prompt="A storm over the old harbour, at dusk", n=2):
    job = GenerationJob.objects.create(
        user=owner, project=project, provider="stable-diffusion", model=SD_MODEL, prompt=prompt,
        composed_prompt=prompt, status="succeeded", images_requested=n, images_made=n,
        elements=[{"id": e.pk, "name": e.name, "kind": e.kind, "role": role} for e, role in elements],
    )  # fmt: skip
    for index in range(n):
        candidate = Candidate(job=job, index=index, content_type="image/png", width=64, height=48, bytes=10)
        candidate.file.save(f"{index}.png", ContentFile(make_image(color=(index, 40, 90))), save=False)
        candidate.save()
    return job


@pytest.mark.parametrize(
    ("roles", "taken", "expected"),
    [
        ([("Harbour", "setting"), ("Mira Vale", "subject")], [], ["Mira Vale 1", "Mira Vale 2"]),
        ([("Mira Vale", "subject")], ["Mira Vale 1", "Mira Vale 3"], ["Mira Vale 2", "Mira Vale 4"]),
        ([("Harbour", "setting")], [], ["A storm over the 1", "A storm over the 2"]),
        ([], ["A storm over the 1"], ["A storm over the 2", "A storm over the 3"]),
    ],
)
def test_default_names_are_short_and_distinct(project, owner, make_image, elements, roles, taken, expected):
    for n, title in enumerate(taken):
        media_item_create_from_bytes(project=project, data=make_image(color=(n, 1, 1)), title=title)
    job = job_with(project, owner, make_image, elements=[(elements[name], role) for name, role in roles])
    assert list(default_names(job, list(job.candidates.all())).values()) == expected


def test_the_names_given_are_the_titles_and_the_alt_text_describes(
    client_for, project, owner, make_image, elements
):
    job = job_with(project, owner, make_image, elements=[(elements["Mira Vale"], "subject")])
    first, second = job.candidates.all()
    client = client_for("editor")
    panel = client.get(reverse("imagegen:job", kwargs={"slug": project.slug, "pk": job.pk})).content.decode()
    assert f'name="name_{first.pk}" value="Mira Vale 1"' in panel and "Name of image 2" in panel

    client.post(reverse("imagegen:save", kwargs={"slug": project.slug, "pk": job.pk}),
                {"candidate": [first.pk, second.pk], f"name_{first.pk}": "Mira on the pier"}, **HTMX)  # fmt: skip
    titles = sorted(MediaItem.objects.values_list("title", "alt_text"))
    assert titles == [("Mira Vale 2", job.prompt), ("Mira on the pier", job.prompt)]
    # The grid's picture says what it shows, not its caption again.
    grid = client.get(reverse("media:index", kwargs={"slug": project.slug})).content.decode()
    assert f'alt="{job.prompt}"' in grid and 'alt="Mira on the pier"' not in grid


def test_the_element_menu_starts_on_the_subject(client_for, project, owner, make_image, elements):
    job = job_with(project, owner, make_image, n=1,
                   elements=[(elements["Harbour"], "setting"), (elements["Mira Vale"], "subject")])  # fmt: skip
    [candidate] = job.candidates.all()
    html = client_for("owner").post(reverse("imagegen:save", kwargs={"slug": project.slug, "pk": job.pk}),
                                    {"candidate": candidate.pk}, **HTMX).content.decode()  # fmt: skip
    selected = re.findall(r'<option value="(\d+)" selected>', html)
    assert selected == [str(elements["Mira Vale"].pk)]


@pytest.mark.parametrize(
    ("url_name", "data", "says"),
    [
        ("media:set_cover", {}, "“Mira Vale 1” is now the project cover."),
        ("media:set_element_image", {"element": "MIRA"}, "“Mira Vale 1” is now the image of “Mira Vale”."),
        ("media:insert", {"document": "DOC"}, "Added “Mira Vale 1” at the end of “Chapter 1”."),
        ("media:insert", {"document": "999999"}, "Choose one of this project's documents."),
        ("media:insert", {"place": "DOC:1"}, "Added “Mira Vale 1” after paragraph 1 of “Chapter 1”."),
        ("media:insert", {"place": "999999:1"}, "Choose one of this project's documents."),
    ],
)
def test_actions_from_the_dialog_answer_in_place(
    client_for, project, owner, make_image, elements, url_name, data, says
):
    document = Document.objects.create(
        project=project, title="Chapter 1", body="It began.\n\nIt ended.", order=1
    )
    job = job_with(project, owner, make_image, n=1, elements=[(elements["Mira Vale"], "subject")])
    [item] = candidates_save(job=job, candidates=list(job.candidates.all()), user=owner,
                             names=default_names(job, list(job.candidates.all())))  # fmt: skip
    data = {k: v.replace("MIRA", str(elements["Mira Vale"].pk)).replace("DOC", str(document.pk))
            for k, v in data.items()}  # fmt: skip
    url = reverse(url_name, kwargs={"slug": project.slug, "pk": item.pk})
    response = client_for("editor").post(url, data, **HTMX)
    # A sentence for the note beside the image (and the dialog's live region), not a redirect away.
    assert response.status_code == 200
    assert html.unescape(re.sub(r"<[^>]+>", "", response.content.decode())).strip() == says
    if "place" in data and "added" in says.lower():
        document.refresh_from_db()
        assert document.body == f"It began.\n\n[[image:{item.pk}]]\n\nIt ended.\n"
    # Without JavaScript the same action goes to the page it changed, as before.
    assert client_for("editor").post(url, data).status_code == 302

"""A project's generation history (issue 19): every job, newest first, paged and filtered; unsaved images saved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from imagegen.history import PER_PAGE
from imagegen.models import Candidate, GenerationJob
from imagegen.saving import CANDIDATE_MAX_AGE
from projects.models import Element

from .conftest import SD_MODEL

pytestmark = pytest.mark.django_db
GPT = "gpt-image-2"


def make_job(project, owner, n, **fields):
    values = {"provider": "stable-diffusion", "model": SD_MODEL, "status": "succeeded", "images_made": 1,
              "prompt": f"Harbour scene {n}", "composed_prompt": f"Harbour scene {n}",
              "created_at": timezone.now() - timedelta(minutes=n)}  # fmt: skip
    values.update(fields)
    return GenerationJob.objects.create(user=owner, project=project, **values)


def add_candidate(job, make_image, *, age=timedelta(minutes=5), index=0):
    candidate = Candidate(job=job, index=index, content_type="image/png", width=64, height=48, bytes=10,
                          created_at=timezone.now() - age)  # fmt: skip
    candidate.file.save("1.png", ContentFile(make_image()), save=False)
    candidate.save()
    return candidate


def history_url(project, **query):
    url = reverse("imagegen:history", kwargs={"slug": project.slug})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 200), ("editor", 200), ("viewer", 403), ("outsider", 404), ("anonymous", "login")],
)
def test_who_may_see_the_history(client_for, project, role, expected):
    response = client_for(role).get(history_url(project))
    if expected == "login":
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    else:
        assert response.status_code == expected


def test_every_job_newest_first_beyond_the_six_recent_ones_and_the_seventh_can_still_be_saved(
    client_for, project, owner, make_image
):
    jobs = [make_job(project, owner, n) for n in range(8)]  # jobs[0] is the newest
    seventh_last = jobs[6]
    candidate = add_candidate(seventh_last, make_image, age=timedelta(hours=2))
    client = client_for("editor")

    page = client.get(history_url(project)).content.decode()
    positions = [page.index(f"Harbour scene {n}<") for n in range(8)]
    assert positions == sorted(positions), "newest first"
    expires = timezone.localtime(candidate.created_at + CANDIDATE_MAX_AGE).strftime("%-d %b, %H:%M")
    assert "1 image not saved yet, kept until <time datetime=" in page and expires in page
    assert "Images nobody saved are kept for 24 hours" in page

    # The Media tab's recent list shows six, and leads here.
    media = client.get(reverse("media:index", kwargs={"slug": project.slug})).content.decode()
    assert "Harbour scene 6" not in media and history_url(project) in media

    # Its page (the dialog's panel, as a page) saves it.
    job_page = client.get(reverse("imagegen:job", kwargs={"slug": project.slug, "pk": seventh_last.pk}))
    assert "Save to library" in job_page.content.decode()
    client.post(reverse("imagegen:save", kwargs={"slug": project.slug, "pk": seventh_last.pk}),
                {"candidate": candidate.pk})  # fmt: skip
    candidate.refresh_from_db()
    assert candidate.saved_item is not None and candidate.saved_item.project == project
    assert "not saved yet" not in client.get(history_url(project)).content.decode()


def test_paged(client_for, project, owner):
    for n in range(PER_PAGE + 3):
        make_job(project, owner, n)
    client = client_for("owner")
    first = client.get(history_url(project)).content.decode()
    second = client.get(history_url(project, page=2)).content.decode()
    assert f"{PER_PAGE + 3} generations" in first and "Page 1 of 2" in first
    assert f"Harbour scene {PER_PAGE + 2}<" in second and f"Harbour scene {PER_PAGE + 2}<" not in first
    assert "match" not in second and "Clear" not in second  # a page number is no filter
    # Filters survive paging.
    filtered = client.get(history_url(project, status="succeeded", page=2)).content.decode()
    assert "generations match" in filtered and "status=succeeded&amp;page=1" in filtered


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ({}, {"plain", "failed", "gpt", "mira"}),
        ({"status": "failed"}, {"failed"}),
        ({"model": f"openai:{GPT}"}, {"gpt"}),
        ({"model": f"stable-diffusion:{SD_MODEL}"}, {"plain", "failed", "mira"}),
        ({"element": "MIRA"}, {"mira"}),
        ({"status": "succeeded", "element": "MIRA"}, {"mira"}),
        ({"status": "cancelled"}, set()),
    ],
)
def test_filters(client_for, project, owner, query, shown):
    mira = Element.objects.create(project=project, name="Mira", kind="character")
    make_job(project, owner, 1, prompt="plain")
    make_job(project, owner, 2, prompt="failed", status="failed", images_made=0)
    make_job(project, owner, 3, prompt="gpt", provider="openai", model=GPT)
    make_job(project, owner, 4, prompt="mira", elements=[{"id": mira.pk, "name": "Mira", "role": "subject"}])
    query = {k: (mira.pk if v == "MIRA" else v) for k, v in query.items()}
    response = client_for("owner").get(reverse("imagegen:history", kwargs={"slug": project.slug}), query)
    page = response.content.decode()
    listed = {p for p in ("plain", "failed", "gpt", "mira") if f">{p}<" in page}
    assert listed == shown
    if query.get("model", "").startswith("openai"):
        # The model filter offers labels, not ids.
        assert ">GPT Image 2<" in page


def test_the_results_panel_says_when_unsaved_images_expire(client_for, project, owner, make_image):
    job = make_job(project, owner, 0)
    candidate = add_candidate(job, make_image)
    page = client_for("owner").get(reverse("imagegen:job", kwargs={"slug": project.slug, "pk": job.pk}))
    expires = timezone.localtime(candidate.created_at + CANDIDATE_MAX_AGE).strftime("%-d %b, %H:%M")
    assert f"Images you do not save are kept until {expires} (24 hours)" in page.content.decode()


def test_each_row_shows_its_images_saved_from_the_library_unsaved_as_the_job_panel_shows_them(
    client_for, project, owner, make_image
):
    job = make_job(project, owner, 0, images_made=3)
    saved, waiting, expired = (add_candidate(job, make_image, index=n) for n in range(3))
    Candidate.objects.filter(pk=expired.pk).update(file="")
    # The worker makes a small WebP beside each candidate (imagegen/services.py); the list shows that.
    waiting.thumbnail.save("2-thumb.webp", ContentFile(make_image(fmt="WEBP")), save=False)
    waiting.thumbnail_width, waiting.thumbnail_height = 32, 24
    waiting.save()
    client = client_for("owner")
    client.post(reverse("imagegen:save", kwargs={"slug": project.slug, "pk": job.pk}),
                {"candidate": saved.pk, f"name_{saved.pk}": "Harbour at dawn"})  # fmt: skip
    saved.refresh_from_db()
    item = saved.saved_item

    page = client.get(history_url(project)).content.decode()
    row = page[page.index('class="history-row"') :]
    row = row[: row.index("</li>")]
    # The saved image is the library's thumbnail, named; the waiting one is the picture the job's panel shows.
    assert f'<img src="{item.thumbnail_url()}" alt="{item.display_title}"' in row
    candidate_url = reverse("imagegen:candidate", kwargs={"slug": project.slug, "pk": waiting.pk})
    assert (
        f'<img src="{candidate_url}?size=thumbnail" alt="Image 2, not saved yet" width="32" height="24"'
        in row
    )
    job_panel = client.get(
        reverse("imagegen:job", kwargs={"slug": project.slug, "pk": job.pk})
    ).content.decode()
    assert f'<img src="{candidate_url}"' in job_panel
    # The small one is what comes back for the list; the full picture stays at the plain address.
    small, full = client.get(f"{candidate_url}?size=thumbnail"), client.get(candidate_url)
    assert (small.status_code, small["Content-Type"], full["Content-Type"]) == (
        200,
        "image/webp",
        "image/png",
    )
    assert small["ETag"] != full["ETag"]
    # The expired one has nothing left to show.
    assert row.count("<img ") == 2
    assert "1 image not saved yet" in row


@pytest.mark.parametrize("count", [5, 60])
def test_the_history_costs_the_same_queries_for_5_or_60_jobs(
    client_for, project, owner, make_image, media_item, count, django_assert_max_num_queries
):
    for n in range(count):
        job = make_job(project, owner, n)
        add_candidate(job, make_image)
        Candidate.objects.filter(pk=add_candidate(job, make_image, index=1).pk).update(saved_item=media_item)
    client = client_for("owner")
    client.get(history_url(project))  # the session and the site's settings, loaded once
    # session, user, project with the role, the filters' choices (models, elements), count, page, their images
    with django_assert_max_num_queries(8):
        response = client.get(history_url(project))
    page = response.content.decode()
    assert page.count('class="history-row"') == min(count, PER_PAGE)
    assert page.count(media_item.thumbnail_url()) == min(count, PER_PAGE)

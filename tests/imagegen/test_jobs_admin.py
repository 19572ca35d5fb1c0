"""Django admin → Generation jobs: the read-only audit record, its filters, search and total cost."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from imagegen.admin_jobs import GenerationJobAdmin
from imagegen.models import Candidate, GenerationJob
from tests.imagegen.test_usage import at, make_job

Status = GenerationJob.Status
LIST_URL = reverse("admin:imagegen_generationjob_changelist")


def change_url(job: GenerationJob) -> str:
    return reverse("admin:imagegen_generationjob_change", args=[job.pk])


@pytest.fixture
def jobs(owner, editor, project) -> dict[str, GenerationJob]:
    ok = make_job(
        owner,
        project=project,
        created_at=at(2025, 3, 2),
        prompt="A lighthouse at dusk",
        composed_prompt="A lighthouse at dusk\n\nSubject: Mira Vale, a character.",
        images_requested=2,
        images_made=2,
        estimated_cost=Decimal("0.08"),
        actual_cost=Decimal("0.10"),
    )
    refused = make_job(
        editor,
        project=project,
        created_at=at(2025, 3, 3),
        prompt="A storm over the harbour",
        composed_prompt="A storm over the harbour",
        status=Status.FAILED,
        images_made=0,
        error_class="content_policy",
        error_message="The provider refused this prompt.",
    )
    sd = make_job(
        editor,
        project=None,
        project_title="Deleted project",
        created_at=at(2024, 11, 5),
        prompt="Ink wash harbour",
        composed_prompt="Ink wash harbour\n\nStyle: Ink wash, a style.",
        provider="stable-diffusion",
        model="v1-5-pruned-emaonly",
        images_made=1,
        estimated_cost=Decimal(0),
    )
    return {"ok": ok, "refused": refused, "sd": sd}  # fmt: skip


def listed(response) -> set[int]:
    return {job.pk for job in response.context["cl"].result_list}


def test_the_list_shows_every_job_with_its_outcome_and_cost(admin_client, jobs):
    response = admin_client.get(LIST_URL)
    assert response.status_code == 200
    assert listed(response) == {job.pk for job in jobs.values()}
    html = response.content.decode()
    for text in (
        "Moonlit Harbour",
        "Deleted project",
        "Stable Diffusion WebUI",
        "dall-e-3",
        "content_policy",
        "2 of 2",
        "0 of 1",
    ):
        assert text in html
    assert "$0.08" in html and "$0.10" in html


def test_no_add_no_delete_no_actions(admin_client, jobs):
    add = reverse("admin:imagegen_generationjob_add")
    html = admin_client.get(LIST_URL).content.decode()
    assert f'href="{add}"' not in html
    assert 'name="action"' not in html
    assert admin_client.get(add).status_code == 403
    delete = reverse("admin:imagegen_generationjob_delete", args=[jobs["ok"].pk])
    assert admin_client.get(delete).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert GenerationJob.objects.count() == 3


def test_the_change_view_shows_every_field_read_only_with_the_candidates(
    admin_client, jobs, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    job = jobs["ok"]
    candidate = Candidate(
        job=job, index=0, content_type="image/png", width=1024, height=1024, bytes=3, seed=42
    )
    candidate.file.save("1.png", ContentFile(b"png"), save=False)
    candidate.save()
    response = admin_client.get(change_url(job))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Subject: Mira Vale, a character." in html
    assert "<textarea" not in html and 'name="prompt"' not in html
    assert 'name="_save"' not in html  # read-only: no save buttons
    assert "Candidates (images the job returned)" in html and f"candidates/{job.pk}/1.png" in html
    assert "1024×1024" in html
    # Every model field is on the page (fieldsets list them all), and every one is read-only.
    model_admin = GenerationJobAdmin(GenerationJob, admin.site)
    shown = {name for _, options in model_admin.fieldsets for name in options["fields"]}
    assert shown == {f.name for f in GenerationJob._meta.concrete_fields} - {"id"}
    assert set(model_admin.readonly_fields) == shown


def test_posting_to_the_change_view_changes_nothing(admin_client, jobs):
    job = jobs["refused"]
    response = admin_client.post(
        change_url(job), {"status": "succeeded", "error_class": "", "prompt": "rewritten", "_save": "Save"}
    )
    assert response.status_code == 403
    job.refresh_from_db()
    assert (job.status, job.error_class, job.prompt) == (
        Status.FAILED,
        "content_policy",
        "A storm over the harbour",
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status__exact": "failed"}, {"refused"}),
        ({"provider": "stable-diffusion"}, {"sd"}),
        ({"model__exact": "dall-e-3"}, {"ok", "refused"}),
        ({"error_class": "content_policy"}, {"refused"}),
        ({"error_class": "-"}, {"ok", "sd"}),
        ({"created_at__year": "2024"}, {"sd"}),
        ({"created_at__year": "2025", "created_at__month": "3"}, {"ok", "refused"}),
        ({"q": "lighthouse"}, {"ok"}),
        ({"q": "Ink wash, a style"}, {"sd"}),  # the composed prompt is searched too
    ],
)
def test_filters_and_search(admin_client, jobs, query, expected):
    response = admin_client.get(LIST_URL, query)
    assert response.status_code == 200
    assert listed(response) == {jobs[name].pk for name in expected}


def test_filter_by_user_and_project(admin_client, jobs, editor, project):
    assert listed(admin_client.get(LIST_URL, {"user__id__exact": editor.pk})) == {
        jobs["refused"].pk,
        jobs["sd"].pk,
    }
    assert listed(admin_client.get(LIST_URL, {"project__id__exact": project.pk})) == {
        jobs["ok"].pk,
        jobs["refused"].pk,
    }
    html = admin_client.get(LIST_URL).content.decode()
    assert "Stable Diffusion WebUI" in html and "No error" in html  # filter choices named for people


def test_total_cost_of_the_filtered_jobs(admin_client, jobs):
    html = admin_client.get(LIST_URL).content.decode()
    # 0.10 reported + 0 for Stable Diffusion; the refused job made nothing and reported nothing: not charged.
    assert "Total cost of these 3 jobs: $0.10" in html
    assert "(estimated where the provider reported none)" in html
    html = admin_client.get(LIST_URL, {"provider": "stable-diffusion"}).content.decode()
    assert "Total cost of these 1 job: $0.00" in html
    # Over every page, not just the one shown.
    html = admin_client.get(LIST_URL, {"q": "harbour"}).content.decode()
    assert "Total cost of these 2 jobs: $0.00" in html


def test_estimated_part_of_the_total_is_shown(admin_client, owner):
    make_job(owner, estimated_cost=Decimal("0.04"))
    make_job(owner, estimated_cost=Decimal("0.04"), actual_cost=Decimal("0.05"))
    html = admin_client.get(LIST_URL).content.decode()
    assert "Total cost of these 2 jobs: $0.09" in html
    assert "$0.04 of it" in html


@pytest.mark.parametrize("codename", ["view_generationjob", None])
def test_staff_need_the_view_permission(make_user, jobs, codename):
    staff = make_user("staff", is_staff=True)
    if codename:
        staff.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(staff)
    expected = 200 if codename else 403
    assert client.get(LIST_URL).status_code == expected
    assert client.get(change_url(jobs["ok"])).status_code == expected
    assert client.post(change_url(jobs["ok"]), {"status": "failed"}).status_code == 403
    assert GenerationJob.objects.get(pk=jobs["ok"].pk).status == Status.SUCCEEDED


@pytest.mark.parametrize("month", ["9999-12", "1900-01", "garbage"])
def test_usage_page_ignores_months_it_does_not_list(admin_client, month):
    url = reverse("admin:imagegen_generationjob_usage")
    response = admin_client.get(url, {"month": month})
    assert response.status_code == 200

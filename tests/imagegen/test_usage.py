"""imagegen/usage.py (images and spend per month, user and provider) and the admin usage page."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from imagegen import usage
from imagegen.limits import spend_this_month
from imagegen.models import GenerationJob

Status = GenerationJob.Status
USAGE_URL = reverse("admin:imagegen_generationjob_usage")


def at(year: int, month: int, day: int = 15, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime(year, month, day, hour))


def make_job(user: User | None, **fields: Any) -> GenerationJob:
    """A finished job as the services would have recorded it; tests override what they are about."""
    values: dict[str, Any] = {
        "user": user,
        "project_title": "Moonlit Harbour",
        "provider": "openai",
        "model": "dall-e-3",
        "prompt": "A lighthouse at dusk",
        "composed_prompt": "A lighthouse at dusk",
        "images_requested": 1,
        "images_made": 1,
        "estimated_cost": Decimal("0.04"),
        "status": Status.SUCCEEDED,
    }
    values.update(fields)
    return GenerationJob.objects.create(**values)


@pytest.fixture
def now() -> datetime:
    return at(2025, 3, 20)


@pytest.fixture
def jobs(owner, editor, now) -> dict[str, GenerationJob]:
    """March 2025: every kind of job the spend rule distinguishes; one in January and one from last year."""
    return {
        "reported": make_job(owner, created_at=at(2025, 3, 2), images_requested=2, images_made=2,
                             estimated_cost=Decimal("0.08"), actual_cost=Decimal("0.10")),
        "estimated": make_job(editor, created_at=at(2025, 3, 3)),
        "failed_free": make_job(owner, created_at=at(2025, 3, 4), status=Status.FAILED, images_made=0,
                                error_class="content_policy"),
        "failed_charged": make_job(owner, created_at=at(2025, 3, 5), status=Status.FAILED, images_made=0,
                                   actual_cost=Decimal("0.02"), error_class="bad_response"),
        "queued": make_job(editor, created_at=at(2025, 3, 6), status=Status.QUEUED, images_made=0),
        "sd": make_job(editor, created_at=at(2025, 3, 7), provider="stable-diffusion", model="v1-5",
                       images_requested=4, images_made=4, estimated_cost=Decimal(0)),
        "unpriced": make_job(owner, created_at=at(2025, 3, 8), provider="openrouter", model="google/x",
                             estimated_cost=None),
        "january": make_job(owner, created_at=at(2025, 1, 10), estimated_cost=Decimal("1.50")),
        "last_year": make_job(owner, created_at=at(2024, 3, 10), estimated_cost=Decimal("9")),
    }  # fmt: skip


def test_spend_counts_only_jobs_that_may_have_cost_and_prefers_the_reported_cost(jobs, now):
    march = usage.usage_total(at(2025, 3, 1, 0), at(2025, 4, 1, 0))
    # 0.10 reported + 0.04 estimated + 0.02 reported on a failure + 0.04 queued + 0 SD; the free failure adds 0.
    assert march.spend == Decimal("0.20")
    assert march.estimated == Decimal("0.08")
    assert march.jobs == 7
    assert march.images == 2 + 1 + 4 + 1
    assert march.unpriced == 1
    # The same rule as the budget, so the usage page and the budget never disagree.
    assert march.spend == spend_this_month(now)


def test_usage_by_month_is_the_last_twelve_months_oldest_first_with_empty_ones(jobs, now):
    months = usage.usage_by_month(12, now=now)
    assert [m.month for m in months][:2] == [date(2024, 4, 1), date(2024, 5, 1)]
    assert months[-1].month == date(2025, 3, 1)
    assert len(months) == 12
    by_month = {m.month: m for m in months}
    assert by_month[date(2025, 3, 1)].spend == Decimal("0.20")
    assert by_month[date(2025, 1, 1)].spend == Decimal("1.50")
    assert by_month[date(2025, 2, 1)] == usage.MonthUsage(month=date(2025, 2, 1))
    assert date(2024, 3, 1) not in by_month  # thirteen months ago


def test_months_follow_the_site_time_zone(owner, settings):
    settings.TIME_ZONE = "America/New_York"
    # 02:00 UTC on 1 April is still 31 March in New York.
    make_job(owner, created_at=datetime(2025, 4, 1, 2, tzinfo=UTC))
    months = usage.usage_per_month(at(2025, 3, 1, 0), at(2025, 4, 30))
    assert [(m.month, m.jobs) for m in months] == [(date(2025, 3, 1), 1), (date(2025, 4, 1), 0)]


def test_usage_by_user_and_provider(jobs, owner, editor):
    since, until = at(2025, 3, 1, 0), at(2025, 4, 1, 0)
    by_user = {r.label: r for r in usage.usage_by("user", since, until)}
    assert by_user["owner"].spend == Decimal("0.12")
    assert by_user["owner"].jobs == 4
    assert by_user["editor"].spend == Decimal("0.08")
    assert by_user["editor"].images == 5
    providers = usage.usage_by("provider", since, until)
    assert [(r.label, r.images, r.spend) for r in providers] == [
        ("OpenAI", 3, Decimal("0.20")),
        ("Stable Diffusion WebUI", 4, Decimal("0")),
        ("OpenRouter", 1, Decimal("0")),
    ]
    with pytest.raises(ValueError, match="cannot group usage by"):
        usage.usage_by("colour", since, until)  # type: ignore[arg-type]


def test_a_deleted_user_is_named_as_such(owner):
    make_job(None, created_at=timezone.now())
    assert [r.label for r in usage.usage_by("user")] == ["(deleted user)"]


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (None, "unknown"),
        (Decimal(0), "$0.00"),
        (Decimal("0.003"), "$0.0030"),
        (Decimal("0.04"), "$0.04"),
        (Decimal("0.0830"), "$0.0830"),
        (Decimal("1234.5"), "$1,234.50"),
        (Decimal("1234.56789"), "$1,234.5679"),
    ],
)
def test_format_usd(amount, text):
    assert usage.format_usd(amount) == text


# --- the admin page ---------------------------------------------------------------------------------------------


def test_usage_page_shows_months_users_and_providers(admin_client, jobs, monkeypatch, now):
    monkeypatch.setattr(timezone, "now", lambda: now)
    page = admin_client.get(USAGE_URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Image generation usage" in html
    months = page.context["months"]
    assert months[0]["label"] == "March 2025" and months[0]["chosen"]
    # The unpriced OpenRouter job is named beside the spend, never added as $0.
    assert months[0]["spend"] == "$0.20 + 1 job of unknown cost"
    assert len(months) == 12
    # The chart is SVG with a title and the numbers as text, not only as shapes.
    assert 'role="img"' in html and 'aria-labelledby="usage-spend-title usage-spend-desc"' in html
    assert "Mar 2025: $0.20" in html and "Jan 2025: $1.50" in html
    by_user = {row["label"]: row for row in page.context["by_user"]}
    assert (
        by_user["owner"]["spend"] == "$0.12 + 1 job of unknown cost" and by_user["owner"]["percent"] == 100.0
    )
    assert by_user["editor"]["percent"] == round(8 / 12 * 100, 1)
    assert [row["label"] for row in page.context["by_provider"]] == [
        "OpenAI",
        "Stable Diffusion WebUI",
        "OpenRouter",
    ]


def test_usage_page_for_a_chosen_month(admin_client, jobs, monkeypatch, now):
    monkeypatch.setattr(timezone, "now", lambda: now)
    page = admin_client.get(USAGE_URL, {"month": "2025-01"})
    assert page.context["month_label"] == "January 2025"
    assert [(r["label"], r["spend"]) for r in page.context["by_user"]] == [("owner", "$1.50")]
    # Nonsense falls back to this month rather than failing.
    assert admin_client.get(USAGE_URL, {"month": "soon"}).context["month_label"] == "March 2025"


def test_usage_page_with_nothing_yet(admin_client):
    page = admin_client.get(USAGE_URL)
    assert page.status_code == 200
    assert "No generation jobs in" in page.content.decode()


def test_usage_page_asks_the_permission_to_view_jobs(make_user, jobs):
    staff = make_user("staff", is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get(USAGE_URL).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_generationjob"))
    assert client.get(USAGE_URL).status_code == 200
    anonymous = Client().get(USAGE_URL)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]


def test_changelist_links_to_usage(admin_client):
    html = admin_client.get(reverse("admin:imagegen_generationjob_changelist")).content.decode()
    assert f'href="{USAGE_URL}"' in html

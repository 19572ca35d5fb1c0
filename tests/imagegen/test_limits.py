"""Limits at submit time: which limit, how much is used, when it resets."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from imagegen.config import get_config
from imagegen.limits import MAX_UNFINISHED_PER_USER, LimitReached, check_limits, spend_this_month
from imagegen.models import GenerationJob

pytestmark = pytest.mark.django_db


def make_job(
    user, project, *, status="succeeded", requested=1, made=1, estimated="0.04", actual=None, when=None
):
    job = GenerationJob.objects.create(
        user=user, project=project, provider="openai", model="dall-e-3", prompt="p", composed_prompt="p",
        status=status, images_requested=requested, images_made=made,
        estimated_cost=Decimal(estimated) if estimated is not None else None,
        actual_cost=Decimal(actual) if actual is not None else None,
    )  # fmt: skip
    if when:
        GenerationJob.objects.filter(pk=job.pk).update(created_at=when)
    return job


def check(user, count=1, cost="0.04"):
    check_limits(user=user, count=count, estimated_cost=Decimal(cost) if cost else None, config=get_config())


def test_no_limits_by_default(editor, project):
    for _ in range(5):
        make_job(editor, project, requested=4, made=4)
    check(editor, count=4)


def test_at_most_three_unfinished_jobs(editor, owner, project):
    for _ in range(MAX_UNFINISHED_PER_USER):
        make_job(editor, project, status="running", made=0)
    check(owner)  # another writer is not affected
    with pytest.raises(LimitReached) as caught:
        check(editor)
    assert caught.value.limit == "unfinished"
    assert "3 generations queued or running" in caught.value.message and "cancel one" in caught.value.message


def test_daily_limit_counts_made_and_pending_images(editor, project, monkeypatch):
    monkeypatch.setenv("AI_IMAGE_DAILY_LIMIT", "5")
    make_job(editor, project, requested=4, made=2)  # finished: 2 count
    make_job(editor, project, status="queued", requested=2, made=0)  # pending: 2 count
    make_job(editor, project, status="failed", requested=4, made=0)  # failed: nothing made
    yesterday = timezone.now() - timezone.timedelta(days=1, hours=1)
    make_job(editor, project, requested=4, made=4, when=yesterday)  # yesterday's don't count
    check(editor, count=1)
    with pytest.raises(LimitReached) as caught:
        check(editor, count=2)
    message = caught.value.message
    assert caught.value.limit == "daily"
    assert "used 4 of 5 images today" in message and "asks for 2 (1 left)" in message
    assert "resets at midnight (UTC)" in message


def test_monthly_budget_counts_actual_else_estimated_spend(editor, owner, project, monkeypatch):
    monkeypatch.setenv("AI_IMAGE_MONTHLY_BUDGET", "1.00")
    make_job(owner, project, estimated="0.50", actual="0.45")
    make_job(editor, project, status="running", made=0, estimated="0.30")
    make_job(editor, project, status="failed", made=0, estimated="5.00")  # not charged
    last_month = timezone.now() - timezone.timedelta(days=40)
    make_job(editor, project, estimated="9.00", when=last_month)
    assert spend_this_month() == Decimal("0.75")
    check(editor, cost="0.25")
    with pytest.raises(LimitReached) as caught:
        check(editor, cost="0.26")
    assert caught.value.limit == "budget"
    assert "$0.75 of $1.00 is spent this month" in caught.value.message
    first = timezone.localtime().replace(day=28) + timezone.timedelta(days=4)
    assert f"resets on {first:%B} 1" in caught.value.message


def test_budget_refuses_an_unknown_price(editor, monkeypatch):
    monkeypatch.setenv("AI_IMAGE_MONTHLY_BUDGET", "10")
    with pytest.raises(LimitReached) as caught:
        check(editor, cost=None)
    assert "price is unknown" in caught.value.message


def test_budget_resets_with_the_month(editor, project, monkeypatch, settings):
    monkeypatch.setenv("AI_IMAGE_MONTHLY_BUDGET", "1")
    when = datetime(2026, 10, 31, 23, 0, tzinfo=timezone.get_current_timezone())
    make_job(editor, project, estimated="1.00", when=when)
    assert spend_this_month(datetime(2026, 11, 1, 1, 0, tzinfo=when.tzinfo)) == 0
    assert spend_this_month(datetime(2026, 10, 31, 23, 30, tzinfo=when.tzinfo)) == Decimal("1.00")


def test_a_free_self_hosted_request_passes_a_spent_budget(editor, project, monkeypatch):
    monkeypatch.setenv("AI_IMAGE_MONTHLY_BUDGET", "1")
    make_job(editor, project, estimated="1.50")
    check(editor, cost="0")
    with pytest.raises(LimitReached):
        check(editor, cost="0.01")

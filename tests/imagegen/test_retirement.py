"""Retirement warnings: the default model, or one used in the last 30 days, retiring within 30 days is named, with a
current model of the same family to switch to — on admin's settings page and in `imagegen status`."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from imagegen.config import get_config
from imagegen.models import GenerationJob
from imagegen.retirement import retirement_warnings

BASE = "https://api.openai.com/v1"
KEY = "sk-test-retire-0123456789abcdef"


@pytest.fixture
def live(db, monkeypatch, rsps, fresh_cache):
    """A key whose list says gpt-image-2 and gpt-image-2.5-flare retire in 20 days, 2.6 Sunburst does not."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    soon = f"{timezone.now().date() + timedelta(days=20):%Y-%m-%d}"
    later = f"{timezone.now().date() + timedelta(days=90):%Y-%m-%d}"
    items = [
        {"id": "gpt-image-2", "shutdown_date": soon},
        {"id": "gpt-image-2.5-flare", "shutdown_date": soon},
        {"id": "gpt-image-2.6-sunburst"},
        {"id": "gpt-image-2.6-flare", "shutdown_date": later},
    ]
    data = [{"object": "model", "created": 1, "owned_by": "openai", **item} for item in items]
    rsps.get(f"{BASE}/models", json={"object": "list", "data": data})
    return soon


def test_the_default_model_and_recently_used_ones_are_warned_about(live, owner):
    GenerationJob.objects.create(
        user=owner, provider="openai", model="gpt-image-2.5-flare", prompt="p", composed_prompt="p",
        created_at=timezone.now() - timedelta(days=10),
    )  # fmt: skip
    GenerationJob.objects.create(
        user=owner, provider="openai", model="gpt-image-2.6-flare", prompt="p", composed_prompt="p",
        created_at=timezone.now() - timedelta(days=40),  # used, but not in the last 30 days
    )  # fmt: skip
    messages = sorted(w.message() for w in retirement_warnings(get_config(), live=True))
    assert messages == [
        f"OpenAI: GPT Image 2 (the model new generations start on) retires on {live}. "
        "Switch to GPT Image 2.6 Sunburst, a current model of the same family.",
        f"OpenAI: GPT Image 2.5 Flare (used in the last 30 days) retires on {live}. "
        "Switch to GPT Image 2.6 Sunburst, a current model of the same family.",
    ]


def test_status_prints_the_warnings(live, rsps):
    warning = f"Warning: OpenAI: GPT Image 2 (the model new generations start on) retires on {live}."
    out = io.StringIO()
    call_command("imagegen", "status", stdout=out)
    assert warning not in out.getvalue() and len(rsps.calls) == 0  # plain status asks no upstream
    out = io.StringIO()
    call_command("imagegen", "status", "--live", stdout=out)
    assert warning in out.getvalue()
    out = io.StringIO()
    call_command("imagegen", "status", stdout=out)
    assert warning in out.getvalue()  # the list just fetched is remembered for a few minutes


def test_the_settings_page_shows_the_warnings_after_test_connection(live, admin_client):
    change = reverse("admin:imagegen_imagegenerationsettings_change", args=[1])
    assert "Retiring soon" not in admin_client.get(change).content.decode()  # a page load asks no upstream
    admin_client.post(reverse("admin:imagegen_imagegenerationsettings_test_connection"))
    html = admin_client.get(change).content.decode()
    assert "Retiring soon" in html
    assert f"GPT Image 2 (the model new generations start on) retires on {live}" in html


def test_nothing_retiring_means_no_warning(db, monkeypatch, rsps, fresh_cache):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    rsps.get(f"{BASE}/models", json={"object": "list", "data": [{"id": "gpt-image-2", "object": "model"}]})
    assert retirement_warnings(get_config(), live=True) == []

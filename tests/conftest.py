"""Fixtures shared by the whole suite: people, and clients signed in as them."""

import os

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.fixtures_projects import *  # noqa: F403
from tests.fixtures_storage import *  # noqa: F403

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def make_user(db):
    def make(username: str, **extra) -> User:
        return User.objects.create_user(username, f"{username}@example.com", PASSWORD, **extra)

    return make


@pytest.fixture
def user(make_user) -> User:
    return make_user("alice")


@pytest.fixture
def admin_user_(db) -> User:
    return User.objects.create_superuser("root", "root@example.com", PASSWORD)


@pytest.fixture
def user_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _clean_ai_image_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own AI_IMAGE_* / OPENAI_API_KEY (or a .env) must not change any test's outcome."""
    from imagegen.config import SPECS

    for name in list(os.environ):
        if name.startswith("AI_IMAGE_"):
            monkeypatch.delenv(name)
    for spec in SPECS:
        monkeypatch.delenv(spec.env, raising=False)

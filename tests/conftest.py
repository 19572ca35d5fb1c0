"""Fixtures shared by the whole suite: people, and clients signed in as them."""

import os

import pytest
from django.contrib.auth.models import User
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests.fixtures_projects import *  # noqa: F403
from tests.fixtures_storage import *  # noqa: F403

PASSWORD = "correct-horse-battery-staple"

# Property tests: no deadline (the machines are shared and noisy); in CI the same examples every run, so a red
# build is reproducible and never depends on luck. Locally examples vary and failures are kept in .hypothesis/.
hypothesis_settings.register_profile(
    "inkweld", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
hypothesis_settings.register_profile(
    "ci", parent=hypothesis_settings.get_profile("inkweld"), derandomize=True, database=None
)
hypothesis_settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else "inkweld")


@pytest.fixture
def make_user(db):
    """make_user(name, **fields) → a user who may generate images (as every account that existed before the
    permission did); `can_generate=False` for one who may not (a self-signed-up stranger)."""
    from imagegen.permissions import allow_generating

    def make(username: str, *, can_generate: bool = True, **extra) -> User:
        user = User.objects.create_user(username, f"{username}@example.com", PASSWORD, **extra)
        if can_generate:
            allow_generating(user)
        return user

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

"""Fixtures shared by the whole suite: people, and clients signed in as them."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.fixtures_projects import *  # noqa: F403

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

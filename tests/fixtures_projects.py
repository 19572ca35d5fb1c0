"""Project fixtures other apps' tests reuse: a project with an owner, an editor and a viewer, an outsider,
clients signed in as each, and image bytes to upload. Registered in tests/conftest.py.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from PIL import Image

from media_library.models import MediaItem
from media_library.services import media_item_create_from_bytes
from projects.models import Membership, Project

ROLES = ["owner", "editor", "viewer", "outsider", "anonymous"]


def image_bytes(
    fmt: str = "PNG",
    size: tuple[int, int] = (64, 48),
    color: tuple[int, int, int] = (200, 90, 40),
    **save: object,
) -> bytes:
    """A small real image in `fmt`; vary `color` to get different bytes (different SHA-256)."""
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt, **save)
    return out.getvalue()


@pytest.fixture
def make_image() -> Callable[..., bytes]:
    return image_bytes


@pytest.fixture
def owner(make_user) -> User:
    return make_user("owner")


@pytest.fixture
def editor(make_user) -> User:
    return make_user("editor")


@pytest.fixture
def viewer(make_user) -> User:
    return make_user("viewer")


@pytest.fixture
def outsider(make_user) -> User:
    return make_user("outsider")


@pytest.fixture
def project(owner, editor, viewer) -> Project:
    """'Moonlit Harbour', owned by `owner`, with `editor` as an editor and `viewer` as a viewer."""
    project = Project.objects.create(owner=owner, title="Moonlit Harbour", slug="moonlit-harbour")
    Membership.objects.create(project=project, user=editor, role=Membership.Role.EDITOR)
    Membership.objects.create(project=project, user=viewer, role=Membership.Role.VIEWER)
    return project


@pytest.fixture
def client_for(owner, editor, viewer, outsider) -> Callable[[str], Client]:
    """client_for("owner" | "editor" | "viewer" | "outsider" | "anonymous") → a Client signed in as that person."""
    people = {"owner": owner, "editor": editor, "viewer": viewer, "outsider": outsider}

    def make(role: str) -> Client:
        client = Client()
        if role != "anonymous":
            client.force_login(people[role])
        return client

    return make


@pytest.fixture
def media_item(project, owner) -> MediaItem:
    item, _ = media_item_create_from_bytes(
        project=project, data=image_bytes(size=(640, 480)), created_by=owner, title="Harbour sketch"
    )
    return item

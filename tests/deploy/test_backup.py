"""Backups: `manage.py dbbackup` + `mediabackup` on one install, `dbrestore` + `mediarestore` into an empty one.

Every command runs as an operator runs it: `manage.py` in its own process, configured by the environment only
(inkweld.settings, not the test settings). The source is the test database with a writer's project in it; the target
is a database that does not exist yet (SQLite) or is empty (PostgreSQL), with empty media storage (a folder, or a second
bucket). The two installs are then read through the app (tests/deploy/install_probe.py) and must hold the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from media_library.models import MediaItem
from media_library.services import media_item_create_from_bytes, media_item_set_cover
from projects.models import Document, Element, Project
from tests.fixtures_projects import image_bytes
from tests.fixtures_storage import S3Media
from tests.imagegen.conftest import save_admin
from tests.worker_process import database_url

ROOT = Path(__file__).resolve().parents[2]
RESTORED_BUCKET = "inkweld-test-restored"
SAVED_KEY = "sk-proj-backup-round-trip-0123456789"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def writers_project(
    media_storage: S3Media | None, settings, tmp_path: Path, project: Project, owner
) -> Project:
    """A project as a writer leaves it, its images stored where `media_storage` says (on disk: a folder of this
    test's own): elements, a document, an upload, a generated image as the cover, and a saved API key."""
    settings.MEDIA_ROOT = tmp_path / "source-media"
    Element.objects.create(project=project, kind=Element.Kind.CHARACTER, name="Mira Vale",
                           description="A cartographer.", attributes=[["Hair", "silver"]])  # fmt: skip
    Document.objects.create(project=project, title="Chapter One", body="The tide came in.\n\n[[image:1]]\n")
    media_item_create_from_bytes(
        project=project, data=image_bytes(size=(640, 480)), created_by=owner, title="Map"
    )
    generated, _ = media_item_create_from_bytes(
        project=project,
        data=image_bytes(color=(10, 90, 200)),
        created_by=owner,
        title="Harbour at night",
        origin=MediaItem.Origin.GENERATED,
        generation={"prompt": "A harbour at night", "provider": "stable-diffusion", "seed": 7},
    )
    media_item_set_cover(item=generated)
    save_admin(openai_api_key=SAVED_KEY, daily_limit=12)  # as an admin saves them
    return project


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AI_IMAGE_", "AWS_"))}
    secret_key, salt_key = settings.SECRET_KEY, settings.SALT_KEY
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "inkweld.settings",
            "DEBUG": "false",
            "SECRET_KEY": secret_key,
            "SALT_KEY": salt_key if isinstance(salt_key, str) else ",".join(salt_key),
            "SECURE_SSL_REDIRECT": "false",
            "ALLOWED_HOSTS": "testserver",
            "CACHE_URL": "",
            "MEDIA_SENDFILE_HEADER": "",
            "BACKUP_DIR": str(tmp_path / "backups"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def tree(folder: Path) -> dict[str, str]:
    """Every file below `folder`: relative name → SHA-256 of its bytes."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.rglob("*")
        if path.is_file()
    }


def item_names(item: MediaItem) -> tuple[str, str]:
    return item.file.name, item.thumbnail.name


def probe(env: dict[str, str]) -> dict[str, Any]:
    return json.loads(manage(env, "-m", "tests.deploy.install_probe"))


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """A DATABASE_URL for a fresh install on the suite's engine: a file not made yet, or an empty PostgreSQL database."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    import psycopg

    source = urlsplit(database_url())
    name = f"{connection.settings_dict['NAME']}_restored"
    admin = urlunsplit(source._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield urlunsplit(source._replace(path=f"/{name}"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def media_env(media_storage: S3Media | None, *, folder: Path, bucket: str | None = None) -> dict[str, str]:
    if media_storage is None:
        return {"MEDIA_ROOT": str(folder)}
    return {**media_storage.env(), **({"AWS_STORAGE_BUCKET_NAME": bucket} if bucket else {})}


@pytest.fixture
def restored_bucket(media_storage: S3Media | None) -> Iterator[str | None]:
    if media_storage is None:
        yield None
        return
    server = media_storage.server
    server.create_bucket(RESTORED_BUCKET)
    server.empty(RESTORED_BUCKET)
    yield RESTORED_BUCKET
    server.empty(RESTORED_BUCKET)


def test_a_backup_restores_into_an_empty_install(
    writers_project, media_storage, restored_bucket, empty_database, tmp_path
):
    source = {**base_env(tmp_path), "DATABASE_URL": database_url()}
    source.update(media_env(media_storage, folder=Path(str(settings.MEDIA_ROOT))))
    manage(source, "manage.py", "dbbackup")
    manage(source, "manage.py", "mediabackup")
    backups = sorted(p.name for p in (tmp_path / "backups").iterdir() if not p.name.endswith(".metadata"))
    assert [name.split("-2")[0] for name in backups] == ["inkweld-db", "inkweld-media"]

    target = {**base_env(tmp_path), "DATABASE_URL": empty_database}
    target.update(media_env(media_storage, folder=tmp_path / "restored-media", bucket=restored_bucket))
    # The latest backups, found by name alone: a new install has another host name and database name.
    manage(target, "manage.py", "dbrestore", "--noinput")
    manage(target, "manage.py", "mediarestore", "--noinput")
    assert "No migrations to apply." in manage(target, "manage.py", "migrate", "--noinput")

    before, after = probe(source), probe(target)
    assert after == before
    # …and what was compared is the real thing, not two empty installs.
    [project] = after["projects"]
    assert (project["title"], project["owner"], len(project["media"])) == ("Moonlit Harbour", "owner", 2)
    assert all(item["served"][0] == 200 and item["thumbnail"] == 200 for item in project["media"])
    assert project["cover"] == MediaItem.objects.get(origin="generated").sha256
    assert after["settings"]["daily_limit"] == 12
    # The key saved in admin reads back as itself (the probe prints only its hash).
    assert after["settings"]["openai_key_sha256"] == hashlib.sha256(SAVED_KEY.encode()).hexdigest()
    if media_storage is not None:
        assert media_storage.server.keys(RESTORED_BUCKET) == media_storage.keys()
    else:
        # The same files with the same bytes.
        restored = tree(tmp_path / "restored-media")
        assert restored == tree(tmp_path / "source-media")
        assert sorted(restored) == sorted(
            name for item in MediaItem.objects.all() for name in item_names(item)
        )

    # Without the same SALT_KEY the saved key cannot be read (the README says to keep it); everything else can.
    other_salt = probe({**target, "SALT_KEY": "a-different-salt"})
    assert (
        other_salt["settings"]["openai_key_undecryptable"]
        and other_salt["settings"]["openai_key_sha256"] is None
    )
    assert other_salt["projects"] == before["projects"]


def test_media_moves_from_the_disk_to_a_bucket_with_a_backup_and_a_restore(
    s3_server, settings, project, owner, tmp_path
):
    # What the README tells an operator moving to S3: mediabackup with the old settings, mediarestore with the new.
    settings.MEDIA_ROOT = tmp_path / "media"
    items = [
        media_item_create_from_bytes(
            project=project, data=image_bytes(color=(n, 2 * n, 3 * n)), created_by=owner
        )[0]
        for n in (1, 2)
    ]
    on_disk = {**base_env(tmp_path), "DATABASE_URL": database_url(), "MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    in_bucket = {**on_disk, **s3_server.env(RESTORED_BUCKET)}
    s3_server.create_bucket(RESTORED_BUCKET)
    s3_server.empty(RESTORED_BUCKET)
    try:
        manage(on_disk, "manage.py", "mediabackup")
        manage(in_bucket, "manage.py", "mediarestore", "--noinput")
        assert s3_server.keys(RESTORED_BUCKET) == sorted(name for item in items for name in item_names(item))
        for item in items:
            stored = s3_server.client().get_object(Bucket=RESTORED_BUCKET, Key=item.file.name)["Body"].read()
            assert hashlib.sha256(stored).hexdigest() == item.sha256
        # The app, now configured for the bucket, serves them.
        served = probe(in_bucket)["projects"][0]["media"]
        assert [(m["served"][0], m["thumbnail"]) for m in served] == [(200, 200), (200, 200)]
    finally:
        s3_server.empty(RESTORED_BUCKET)

"""Media in S3-compatible storage, against a real server (SeaweedFS, started by the suite: tests/s3server.py).

What is stored is read back by listing the bucket: uploads, thumbnails, candidates, saved images with their PNG
metadata, and that a delete or a cleanup leaves nothing behind. Media stays private: members get the bytes through
the app's access checks, outsiders get a 404, and the bucket refuses anyone without the app's key.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from imagegen import services
from imagegen.models import Candidate, GenerationJob
from media_library.models import MediaItem
from media_library.services import media_item_create_from_bytes
from projects.models import Project
from tests.fixtures_projects import image_bytes
from tests.fixtures_storage import S3Media
from tests.standin.server import StandinServer

SD_MODEL = "v1-5-pruned-emaonly.safetensors [6ce0161689]"


def url(name: str, project: Project, **kwargs: object) -> str:
    return reverse(name, kwargs={"slug": project.slug, **kwargs})


def item_keys(item: MediaItem) -> list[str]:
    return sorted([item.file.name, item.thumbnail.name])


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandinServer]:
    """The stand-in as the app's Stable Diffusion, through the app's normal settings."""
    from django.core.cache import cache

    with StandinServer() as server:
        monkeypatch.setenv("AI_IMAGE_SD_ENDPOINT", server.url)
        cache.clear()
        yield server
        cache.clear()


def generate(client, project: Project, count: int = 2) -> GenerationJob:
    data = {"provider": "stable-diffusion", "model": SD_MODEL, "prompt": "A harbour at night", "size": "512x512",
            "count": str(count), "steps": "20", "seed": "7", "action": "generate"}  # fmt: skip
    response = client.post(reverse("imagegen:dialog", kwargs={"slug": project.slug}), data)
    assert response.status_code == 302, response.content.decode()[:1000]
    job = GenerationJob.objects.latest("pk")
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    return job


# --- Where things are stored ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_upload_is_stored_in_the_bucket_file_and_thumbnail(
    s3_media: S3Media, project, client_for, settings, tmp_path
):
    # A folder of its own: the shared test MEDIA_ROOT also receives files from other tests' worker processes.
    media_root = tmp_path / "media"
    media_root.mkdir()
    settings.MEDIA_ROOT = str(media_root)
    data = image_bytes(size=(640, 480))
    upload = SimpleUploadedFile("harbour.png", data, content_type="image/png")
    response = client_for("editor").post(url("media:upload", project), {"files": [upload]})
    assert response.status_code == 302
    item = MediaItem.objects.get()
    assert s3_media.keys() == item_keys(item)
    assert s3_media.get(item.file.name) == data
    thumbnail = Image.open(io.BytesIO(s3_media.get(item.thumbnail.name)))
    assert (thumbnail.format, thumbnail.size) == ("WEBP", (320, 240))
    # Nothing went to the local disk.
    assert list(media_root.rglob("*")) == []


@pytest.mark.django_db(transaction=True)
def test_a_taken_name_gets_a_new_one_as_on_disk(s3_media: S3Media):
    # Two requests storing the same picture at once both save under its hash; neither may overwrite the other,
    # or the loser's clean-up would delete the winner's file (media_library.services).
    first = default_storage.save("media/1/ab/same.png", ContentFile(b"first"))
    second = default_storage.save("media/1/ab/same.png", ContentFile(b"second"))
    assert first == "media/1/ab/same.png" and second != first
    default_storage.delete(second)
    assert s3_media.keys() == [first] and s3_media.get(first) == b"first"


@pytest.mark.django_db(transaction=True)
def test_candidates_and_saved_images_with_their_png_metadata(
    s3_media: S3Media, upstream, project, client_for
):
    client = client_for("editor")
    job = generate(client, project, count=2)
    candidates = list(job.candidates.all())
    assert s3_media.keys() == sorted(name for c in candidates for name in (c.file.name, c.thumbnail.name))
    assert all(c.file.name.startswith(f"candidates/{job.pk}/") for c in candidates)

    # The dialog shows candidates from the bucket, through the app.
    shown = client.get(url("imagegen:candidate", project, pk=candidates[0].pk))
    assert shown.status_code == 200
    assert b"".join(shown.streaming_content) == s3_media.get(candidates[0].file.name)

    response = client.post(url("imagegen:save", project, pk=job.pk), {"candidate": [candidates[0].pk]})
    assert response.status_code in (200, 302)
    item = MediaItem.objects.get()
    assert set(item_keys(item)) <= set(s3_media.keys())
    stored = Image.open(io.BytesIO(s3_media.get(item.file.name)))
    assert stored.text["parameters"].startswith("A harbour at night\n")
    assert "Seed: 7" in stored.text["parameters"]


# --- Nothing left behind ---------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_deleting_items_and_projects_leaves_nothing_in_the_bucket(
    s3_media: S3Media, project, client_for, owner
):
    kept, _ = media_item_create_from_bytes(
        project=project, data=image_bytes(color=(1, 2, 3)), created_by=owner
    )
    gone, _ = media_item_create_from_bytes(
        project=project, data=image_bytes(color=(4, 5, 6)), created_by=owner
    )
    assert s3_media.keys() == sorted(item_keys(kept) + item_keys(gone))

    response = client_for("editor").post(url("media:delete", project, pk=gone.pk))
    assert response.status_code == 302
    assert s3_media.keys() == item_keys(kept)

    project.delete()
    assert s3_media.keys() == []


@pytest.mark.django_db(transaction=True)
def test_cleanup_leaves_only_the_saved_images_in_the_bucket(s3_media: S3Media, upstream, project, client_for):
    client = client_for("editor")
    job = generate(client, project, count=3)
    first, *_ = job.candidates.all()
    client.post(url("imagegen:save", project, pk=job.pk), {"candidate": [first.pk]})
    item = MediaItem.objects.get()
    assert (
        len(s3_media.keys()) == 3 * 2 + 2
    )  # three candidates and their thumbnails, the saved file and its own

    # A day later the hourly cleanup runs.
    Candidate.objects.update(created_at=timezone.now() - timedelta(hours=25))
    call_command("imagegen", "cleanup", stdout=io.StringIO())
    assert s3_media.keys() == item_keys(item)

    client.post(url("media:delete", project, pk=item.pk))
    assert s3_media.keys() == []


@pytest.mark.django_db(transaction=True)
def test_deleting_a_project_takes_its_candidates_and_masks_from_the_bucket(
    s3_media: S3Media, upstream, project, client_for
):
    job = generate(client_for("editor"), project, count=2)
    job.mask.save("painted.png", ContentFile(image_bytes()), save=True)  # as an edit keeps the painted mask
    assert len(s3_media.keys()) == 2 * 2 + 1
    project.delete()
    assert s3_media.keys() == []


# --- Private ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_members_get_the_bytes_through_the_app_outsiders_get_nothing(
    s3_media: S3Media, upstream, project, client_for, owner
):
    item, _ = media_item_create_from_bytes(
        project=project, data=image_bytes(size=(640, 480)), created_by=owner
    )
    job = generate(client_for("owner"), project, count=1)
    candidate = job.candidates.get()
    # Who may see what: viewers see the library; candidates are shown in the dialog, to those who can generate.
    served = [
        (url("media:file", project, pk=item.pk), item.file.name, "viewer"),
        (url("media:thumbnail", project, pk=item.pk), item.thumbnail.name, "viewer"),
        (url("media:download", project, pk=item.pk), item.file.name, "viewer"),
        (url("imagegen:candidate", project, pk=candidate.pk), candidate.file.name, "editor"),
    ]
    outsider, anonymous = client_for("outsider"), client_for("anonymous")
    for target, key, member in served:
        # A member gets the bytes from the app itself: no redirect, no bucket URL, no signature to pass on.
        response = client_for(member).get(target)
        assert response.status_code == 200, target
        assert b"".join(response.streaming_content) == s3_media.get(key)
        assert "Location" not in response and "private" in response["Cache-Control"]
        assert outsider.get(target).status_code == 404
        anonymous_response = anonymous.get(target)
        assert anonymous_response.status_code == 302
        assert anonymous_response["Location"].startswith(reverse("login"))

    # The pages members see name no bucket and carry no signed URL.
    for page in (url("media:index", project), url("media:detail", project, pk=item.pk)):
        html = client_for("viewer").get(page).content.decode()
        assert (
            s3_media.server.endpoint_url not in html and "X-Amz-" not in html and s3_media.bucket not in html
        )


@pytest.mark.django_db(transaction=True)
def test_the_bucket_refuses_anyone_without_the_key(s3_media: S3Media, project, owner):
    item, _ = media_item_create_from_bytes(project=project, data=image_bytes(), created_by=owner)
    endpoint = s3_media.server.endpoint_url
    for key in item_keys(item):
        assert requests.get(f"{endpoint}/{s3_media.bucket}/{key}", timeout=10).status_code == 403
    assert requests.get(f"{endpoint}/{s3_media.bucket}/", timeout=10).status_code == 403  # no listing either
    # With the key, the object is there: the 403s above are about access, not a missing object.
    assert s3_media.get(item.file.name)[:8] == b"\x89PNG\r\n\x1a\n"


def test_sendfile_cannot_be_combined_with_a_bucket():
    from tests.deploy.settings_probe import run_settings

    result = run_settings(AWS_STORAGE_BUCKET_NAME="media", MEDIA_SENDFILE_HEADER="X-Accel-Redirect")
    assert result.returncode != 0
    assert "unset MEDIA_SENDFILE_HEADER" in result.stderr


def test_a_bucket_in_the_environment_selects_django_storages_with_its_own_settings():
    from tests.deploy.settings_probe import run_settings

    result = run_settings(
        "print(settings.STORAGES['default']['BACKEND'])",
        "from django.core.files.storage import default_storage as s",
        "print(s.bucket_name, s.endpoint_url, s.region_name, s.access_key, s.location, s.file_overwrite,"
        " s.default_acl, s.querystring_auth)",
        AWS_STORAGE_BUCKET_NAME="inkweld-media",
        AWS_S3_ENDPOINT_URL="http://seaweedfs:8333",
        AWS_S3_REGION_NAME="eu-west-1",
        AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY="not-printed",
        AWS_LOCATION="inkweld",
    )
    assert result.returncode == 0, result.stderr
    backend, options = result.stdout.splitlines()
    assert backend == "storages.backends.s3.S3Storage"
    assert options == "inkweld-media http://seaweedfs:8333 eu-west-1 AKIDEXAMPLE inkweld False None True"


def test_without_a_bucket_media_stays_on_the_local_disk():
    from tests.deploy.settings_probe import run_settings

    result = run_settings("print(settings.STORAGES['default']['BACKEND'])")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.core.files.storage.FileSystemStorage"

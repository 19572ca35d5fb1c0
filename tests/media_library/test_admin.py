"""Media items in Django admin: deleting one there removes its files too; file links go through access checks."""

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from media_library.models import MediaItem
from projects.models import Project

# Storage-relevant: every test runs on the local disk and on a real S3-compatible server (tests/fixtures_storage.py).
pytestmark = pytest.mark.usefixtures("media_storage")


@pytest.mark.django_db(transaction=True)
def test_deleting_in_admin_removes_the_files(admin_client, media_item):
    names = [media_item.file.name, media_item.thumbnail.name]
    assert all(default_storage.exists(n) for n in names)
    url = reverse("admin:media_library_mediaitem_delete", args=[media_item.pk])
    admin_client.post(url, {"post": "yes"})
    assert not MediaItem.objects.exists()
    assert not any(default_storage.exists(n) for n in names)


@pytest.mark.django_db(transaction=True)
def test_deleting_a_project_removes_its_media_files(media_item):
    names = [media_item.file.name, media_item.thumbnail.name]
    Project.objects.all().delete()
    assert not any(default_storage.exists(n) for n in names)


@pytest.mark.django_db
def test_admin_links_to_the_protected_view_not_a_public_url(admin_client, media_item):
    html = admin_client.get(
        reverse("admin:media_library_mediaitem_change", args=[media_item.pk])
    ).content.decode()
    assert "media-not-served" not in html
    assert media_item.get_absolute_url() in html

"""The Media tab, an item's actions, and the private file views."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from media_library.models import MediaItem
from media_library.services import media_item_create_from_bytes
from projects.models import Document, Element, Project
from tests.fixtures_projects import image_bytes

# Storage-relevant: every test runs on the local disk and on a real S3-compatible server (tests/fixtures_storage.py).
pytestmark = pytest.mark.usefixtures("media_storage")


def url(name: str, project: Project, **kwargs) -> str:
    return reverse(name, kwargs={"slug": project.slug, **kwargs})


def add_rows(project: Project, count: int, **fields) -> None:
    """Media rows without files: enough for the grid, which never opens a file."""
    MediaItem.objects.bulk_create(
        MediaItem(
            project=project,
            file=f"media/{project.pk}/x/{n}.png",
            thumbnail=f"media/{project.pk}/thumbs/{n}.webp",
            thumbnail_width=320,
            thumbnail_height=240,
            content_type="image/png",
            width=640,
            height=480,
            size_bytes=1000,
            sha256=f"{n:064x}",
            title=f"Row {n}",
            **fields,
        )
        for n in range(count)
    )


# --- Serving -------------------------------------------------------------------------------------------


def test_files_are_served_privately_with_the_right_headers(media_item, client_for) -> None:
    response = client_for("viewer").get(url("media:file", media_item.project, pk=media_item.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "private" in response["Cache-Control"]
    assert response["ETag"] == f'"{media_item.sha256}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    with media_item.file.open("rb") as handle:
        assert b"".join(response.streaming_content) == handle.read()


def test_thumbnails_are_webp_with_their_own_etag(media_item, client_for) -> None:
    response = client_for("viewer").get(url("media:thumbnail", media_item.project, pk=media_item.pk))
    assert response["Content-Type"] == "image/webp"
    assert response["ETag"] == f'"{media_item.sha256}-thumb"'
    assert b"".join(response.streaming_content)[8:12] == b"WEBP"
    assert "private" in response["Cache-Control"]


def test_a_current_copy_gets_304(media_item, client_for) -> None:
    client = client_for("editor")
    target = url("media:file", media_item.project, pk=media_item.pk)
    response = client.get(target, headers={"If-None-Match": f'"{media_item.sha256}"'})
    assert response.status_code == 304
    assert response["ETag"] == f'"{media_item.sha256}"'
    assert "private" in response["Cache-Control"]
    assert client.get(target, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_download_is_an_attachment_named_after_the_title(media_item, client_for) -> None:
    response = client_for("viewer").get(url("media:download", media_item.project, pk=media_item.pk))
    assert response["Content-Disposition"] == 'attachment; filename="Harbour sketch.png"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_proxy_can_send_the_bytes(media_item, client_for, settings) -> None:
    settings.MEDIA_SENDFILE_HEADER = "X-Accel-Redirect"
    settings.MEDIA_SENDFILE_PREFIX = "/protected-media/"
    response = client_for("viewer").get(url("media:file", media_item.project, pk=media_item.pk))
    assert response["X-Accel-Redirect"] == f"/protected-media/{media_item.file.name}"
    assert response.content == b""
    assert response["Content-Type"] == "image/png"
    assert response["ETag"] == f'"{media_item.sha256}"'


def test_media_is_never_on_a_public_url(media_item, client) -> None:
    assert client.get("/media-not-served/" + media_item.file.name).status_code == 404


# --- The grid ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [5, 500])
def test_the_grid_costs_the_same_queries_for_5_or_500_items(
    count, project, client_for, django_assert_max_num_queries
) -> None:
    add_rows(project, count)
    client = client_for("viewer")
    # session, user, project with the role, count, page of items
    with django_assert_max_num_queries(5):
        response = client.get(url("media:index", project))
    assert response.status_code == 200
    assert len(re.findall(r'class="media-tile"', response.content.decode())) == min(count, 24)


def test_the_grid_loads_thumbnails_never_originals(project, client_for) -> None:
    for n in range(3):
        media_item_create_from_bytes(project=project, data=image_bytes(color=(n, n, n)), title=f"Pic {n}")
    html = client_for("viewer").get(url("media:index", project)).content.decode()
    sources = re.findall(r'<img src="([^"]+)"[^>]*loading="lazy"', html)
    assert len(sources) == 3
    assert all(src.endswith("/thumbnail/") for src in sources)
    assert "/file/" not in html and "/download/" not in html
    assert 'width="64" height="48"' in html


def test_the_grid_is_newest_first_and_paginated(project, client_for) -> None:
    add_rows(project, 30)
    client = client_for("viewer")
    first = client.get(url("media:index", project)).content.decode()
    # bulk_create gives equal timestamps; the higher pk is the newer one.
    assert first.index("Row 29") < first.index("Row 28")
    assert "Row 5" not in first and "Page 1 of 2" in first
    second = client.get(url("media:index", project), {"page": 2}).content.decode()
    assert "Row 5" in second and "Row 29" not in second


def test_filter_by_origin_and_search_by_title_or_prompt(project, client_for) -> None:
    media_item_create_from_bytes(project=project, data=image_bytes(color=(1, 1, 1)), title="Lighthouse photo")
    media_item_create_from_bytes(
        project=project,
        data=image_bytes(color=(2, 2, 2)),
        origin=MediaItem.Origin.GENERATED,
        title="Generated one",
        generation={"prompt": "A storm over the harbour", "provider": "openai"},
    )
    client = client_for("viewer")
    index = url("media:index", project)
    generated = client.get(index, {"origin": "generated"}).content.decode()
    assert "Generated one" in generated and "Lighthouse photo" not in generated
    uploaded = client.get(index, {"origin": "uploaded"}).content.decode()
    assert "Lighthouse photo" in uploaded and "Generated one" not in uploaded
    by_prompt = client.get(index, {"q": "STORM"}).content.decode()
    assert "Generated one" in by_prompt and "Lighthouse photo" not in by_prompt
    by_title = client.get(index, {"q": "lighthouse"}).content.decode()
    assert "Lighthouse photo" in by_title and "Generated one" not in by_title
    nothing = client.get(index, {"q": "zebra"}).content.decode()
    assert "No images match." in nothing


def test_viewers_see_no_upload_or_actions(media_item, client_for) -> None:
    client = client_for("viewer")
    index = client.get(url("media:index", media_item.project)).content.decode()
    assert url("media:upload", media_item.project) not in index and ">Upload<" not in index
    detail = client.get(url("media:detail", media_item.project, pk=media_item.pk)).content.decode()
    assert "Set as project cover" not in detail and "Delete image" not in detail
    assert "Download" in detail


def test_the_header_slot_includes_the_generate_button_once_it_exists(
    media_item, client_for, settings, tmp_path
):
    client = client_for("editor")
    index = url("media:index", media_item.project)
    assert "Generate Image" not in client.get(index).content.decode()
    (tmp_path / "imagegen").mkdir()
    (tmp_path / "imagegen" / "_generate_button.html").write_text(
        '<button type="button">Generate Image for {{ project.title }}</button>'
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    html = client.get(index).content.decode()
    assert "Generate Image for Moonlit Harbour" in html


# --- Detail and actions --------------------------------------------------------------------------------


def test_detail_shows_the_full_image_and_generation_metadata(project, owner, client_for) -> None:
    element = Element.objects.create(project=project, name="Mira Vale")
    item, _ = media_item_create_from_bytes(
        project=project,
        data=image_bytes(size=(300, 200)),
        origin=MediaItem.Origin.GENERATED,
        created_by=owner,
        title="Mira at the window",
        generation={
            "prompt": "Mira at the window, <b>rain</b>",
            "provider": "openai",
            "model": "gpt-image-1",
            "size": "1024x1024",
            "seed": 42,
            "elements": [{"id": element.pk, "name": "Mira Vale", "kind": "character", "role": "subject"}],
        },
    )
    html = client_for("viewer").get(url("media:detail", project, pk=item.pk)).content.decode()
    assert f'src="{url("media:file", project, pk=item.pk)}"' in html
    for text in [
        "Mira at the window, &lt;b&gt;rain&lt;/b&gt;",
        "openai",
        "gpt-image-1",
        "Square · 1024 × 1024",
        "42",
    ]:
        assert text in html
    assert "Mira Vale" in html and "Subject" in html
    assert "300 \u00d7 200 px" in html
    assert f"[[image:{item.pk}]]" in html


def test_set_cover_insert_and_set_element_image(media_item, client_for) -> None:
    project = media_item.project
    document = Document.objects.create(project=project, title="Chapter 1", body="It was dark.")
    element = Element.objects.create(project=project, name="The Harbour", kind="location")
    client = client_for("editor")

    client.post(url("media:set_cover", project, pk=media_item.pk))
    project.refresh_from_db()
    assert project.cover == media_item

    response = client.post(
        url("media:insert", project, pk=media_item.pk), {"document": document.pk}, follow=True
    )
    document.refresh_from_db()
    assert document.body == f"It was dark.\n\n[[image:{media_item.pk}]]\n"
    assert f'src="{url("media:file", project, pk=media_item.pk)}"' in response.content.decode()

    client.post(url("media:set_element_image", project, pk=media_item.pk), {"element": element.pk})
    element.refresh_from_db()
    assert element.image == media_item


def test_the_image_page_inserts_after_the_paragraph_the_writer_chooses(media_item, client_for) -> None:
    project = media_item.project
    document = Document.objects.create(
        project=project, title="Chapter 1", body="It was dark.\n\nThe boats came home.\n\nDawn."
    )
    client = client_for("editor")
    page = client.get(url("media:detail", project, pk=media_item.pk)).content.decode()
    # The dialog's places: after each paragraph, by how it starts, or at the end (where it starts).
    assert '<label for="id_place">Insert into document</label>' in page
    assert f'<option value="{document.pk}:2">After ¶2 “The boats came home.”</option>' in page
    assert f'<option value="{document.pk}" selected>At the end of “Chapter 1”</option>' in page

    response = client.post(url("media:insert", project, pk=media_item.pk), {"place": f"{document.pk}:2"})
    document.refresh_from_db()
    assert document.body == f"It was dark.\n\nThe boats came home.\n\n[[image:{media_item.pk}]]\n\nDawn.\n"
    assert response["Location"].endswith("#paragraph-2")


def test_the_image_page_does_not_repeat_its_alt_text_as_a_caption(media_item, client_for) -> None:
    media_item.alt_text = "Boats at dawn by the pier"
    media_item.save()
    page = (
        client_for("viewer").get(url("media:detail", media_item.project, pk=media_item.pk)).content.decode()
    )
    assert 'alt="Boats at dawn by the pier"' in page
    assert "<figcaption>" not in page
    # The writer can still read what a screen reader says, once, among the details.
    assert page.count("Boats at dawn by the pier") == 2  # the alt attribute and the details
    assert "<dt>Alt text</dt><dd>Boats at dawn by the pier</dd>" in page


def test_actions_refuse_another_projects_document_or_element(media_item, client_for, make_user) -> None:
    other = Project.objects.create(owner=make_user("zed"), title="Other", slug="other")
    foreign_doc = Document.objects.create(project=other, title="Theirs", body="")
    foreign_el = Element.objects.create(project=other, name="Theirs")
    client = client_for("owner")
    client.post(url("media:insert", media_item.project, pk=media_item.pk), {"document": foreign_doc.pk})
    client.post(
        url("media:set_element_image", media_item.project, pk=media_item.pk), {"element": foreign_el.pk}
    )
    foreign_doc.refresh_from_db()
    foreign_el.refresh_from_db()
    assert foreign_doc.body == "" and foreign_el.image is None


def test_edit_title_and_alt_text(media_item, client_for) -> None:
    client_for("editor").post(
        url("media:edit", media_item.project, pk=media_item.pk),
        {"title": "Dawn", "alt_text": "Boats at dawn"},
    )
    media_item.refresh_from_db()
    assert (media_item.title, media_item.alt_text) == ("Dawn", "Boats at dawn")


def test_deleting_a_used_image_says_where_and_clears_every_reference(media_item, client_for) -> None:
    project = media_item.project
    project.cover = media_item
    project.save()
    element = Element.objects.create(project=project, name="Mira", image=media_item)
    keep = media_item_create_from_bytes(project=project, data=image_bytes(color=(9, 9, 9)))[0]
    document = Document.objects.create(
        project=project,
        title="Chapter 1",
        body=f"Before.\n\n[[image:{media_item.pk}|The harbour]]\n\n[[image:{keep.pk}]]\n\nAfter.\n",
    )
    client = client_for("editor")

    confirm = client.get(url("media:delete", project, pk=media_item.pk)).content.decode()
    assert "the project cover" in confirm
    assert "the image of “Mira”" in confirm
    assert "the document “Chapter 1”" in confirm

    response = client.post(url("media:delete", project, pk=media_item.pk), follow=True)
    assert not MediaItem.objects.filter(pk=media_item.pk).exists()
    project.refresh_from_db()
    element.refresh_from_db()
    document.refresh_from_db()
    assert project.cover is None
    assert element.image is None
    assert document.body == f"Before.\n\n[[image:{keep.pk}]]\n\nAfter.\n"
    message = next(str(m) for m in response.context["messages"])
    assert message.startswith(
        "Deleted “Harbour sketch”. It was removed from the project cover, the image of “Mira”"
    )
    assert "“Chapter 1”" in message


@pytest.mark.django_db(transaction=True)
def test_deleting_removes_the_files(project, owner) -> None:
    from media_library.services import media_item_delete

    item, _ = media_item_create_from_bytes(project=project, data=image_bytes())
    storage = item.file.storage
    names = [item.file.name, item.thumbnail.name]
    assert all(storage.exists(name) for name in names)
    media_item_delete(item=item)
    assert not any(storage.exists(name) for name in names)

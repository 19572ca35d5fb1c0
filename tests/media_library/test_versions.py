"""Versions: lineage on media items, the version strip, and what deleting a version with descendants does.

The rule (media_library/versions.py): deleting an image that versions were made from keeps those versions and
re-links them — to the deleted image's own source, or, when it was an original, each becomes an original of its
own history with its versions under it. The confirmation page says which before anything is deleted.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from media_library import versions
from media_library.models import MediaItem
from media_library.services import media_item_create_from_bytes, media_item_delete
from tests.fixtures_projects import image_bytes

# Storage-relevant: every test runs on the local disk and on a real S3-compatible server (tests/fixtures_storage.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_storage")]
Op = MediaItem.Operation


@pytest.fixture
def make(project, owner):
    colors = iter(range(1, 250))

    def make(title: str, source: MediaItem | None = None, operation: str = "", **generation) -> MediaItem:
        item, created = media_item_create_from_bytes(
            project=project, data=image_bytes(color=(next(colors), 3, 5)), created_by=owner, title=title,
            source=source, operation=operation, generation=generation,
        )  # fmt: skip
        assert created
        return item

    return make


@pytest.fixture
def tree(make) -> dict[str, MediaItem]:
    """original → edit → upscale (of the edit); original → variation; edit → second edit."""
    original = make("Original")
    edit = make("Edit", original, Op.EDIT, prompt="make her hair silver")
    variation = make("Variation", original, Op.VARIATION, prompt="A harbour")
    upscale = make("Upscale", edit, Op.UPSCALE, options={"factor": 2})
    second = make("Second edit", edit, Op.EDIT, prompt="add a lantern")
    return {"original": original, "edit": edit, "variation": variation, "upscale": upscale, "second": second}


def refreshed(*items: MediaItem) -> list[MediaItem]:
    return [MediaItem.objects.get(pk=i.pk) for i in items]


def strip(item: MediaItem) -> list[tuple[int, str, str, int | None]]:
    return [(v.number, v.item.title, v.label, v.source_number) for v in versions.history(item)]


def test_a_version_links_to_its_source_and_to_the_first_image(tree):
    original, edit, upscale = tree["original"], tree["edit"], tree["upscale"]
    assert (edit.source, edit.original, edit.operation) == (original, original, "edit")
    assert (upscale.source, upscale.original) == (edit, original)  # the first image, not its direct source
    assert (original.source, original.original, original.operation) == (None, None, "")


def test_the_strip_reads_each_version_after_the_one_it_was_made_from(tree, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        rows = strip(tree["upscale"])
    assert rows == [
        (1, "Original", "Original", None),
        (2, "Edit", "Edit", 1),
        (3, "Upscale", "Upscale 2×", 2),
        (4, "Second edit", "Edit", 2),
        (5, "Variation", "Variation", 1),
    ]
    history = versions.history(tree["second"])
    assert [v.follows_previous for v in history] == [False, True, True, False, False]
    assert [v.instruction for v in history] == ["", "make her hair silver", "", "add a lantern", "A harbour"]
    assert strip(tree["original"]) == strip(tree["variation"])  # the same history from any of its images


def test_an_image_without_versions_has_no_strip(make):
    assert versions.history(make("Alone")) == []


def test_deleting_a_version_re_links_its_versions_to_its_source(tree):
    refs = media_item_delete(item=tree["edit"])
    upscale, second = refreshed(tree["upscale"], tree["second"])
    assert (upscale.source, upscale.original) == (tree["original"], tree["original"])
    assert (second.source, second.operation) == (
        tree["original"],
        "edit",
    )  # still an edit, of the image before
    assert refs.relinked is not None and refs.relinked.new_source == tree["original"]
    # Each after the one it was made from, older first: the variation predates both.
    assert [row[1] for row in strip(tree["original"])] == ["Original", "Variation", "Upscale", "Second edit"]


def test_deleting_an_original_makes_each_version_the_original_of_its_own_history(tree):
    media_item_delete(item=tree["original"])
    edit, variation, upscale, second = refreshed(
        tree["edit"], tree["variation"], tree["upscale"], tree["second"]
    )
    assert (edit.source, edit.original) == (None, None)
    assert (variation.source, variation.original) == (None, None)
    assert (upscale.source, upscale.original) == (edit, edit)
    assert (second.source, second.original) == (edit, edit)
    assert [row[1] for row in strip(upscale)] == ["Edit", "Upscale", "Second edit"]
    assert strip(variation) == []  # alone now


def test_deleting_a_version_without_versions_changes_nothing_else(tree):
    refs = media_item_delete(item=tree["upscale"])
    assert not refs.relinked
    assert [row[1] for row in strip(tree["original"])] == ["Original", "Edit", "Second edit", "Variation"]


def test_the_confirmation_says_what_happens_to_the_versions(client_for, project, tree):
    client = client_for("editor")
    page = client.get(reverse("media:delete", kwargs={"slug": project.slug, "pk": tree["edit"].pk}))
    assert (
        "2 versions were made from it (“Upscale”, “Second edit”); they stay, linked to “Original”, the image it "
        "was made from."
    ) in page.content.decode()
    page = client.get(reverse("media:delete", kwargs={"slug": project.slug, "pk": tree["original"].pk}))
    assert "they stay, each as the original of its own version history." in page.content.decode()
    done = client.post(
        reverse("media:delete", kwargs={"slug": project.slug, "pk": tree["edit"].pk}), follow=True
    )
    assert "Deleted “Edit”. 2 versions were made from it" in done.content.decode()


def test_deleting_in_admin_re_links_too(admin_client, tree):
    url = reverse("admin:media_library_mediaitem_delete", args=[tree["edit"].pk])
    admin_client.post(url, {"post": "yes"})
    assert not MediaItem.objects.filter(pk=tree["edit"].pk).exists()
    assert refreshed(tree["upscale"])[0].source == tree["original"]


def test_the_page_shows_the_strip_and_marks_this_version(client_for, project, tree):
    html = client_for("viewer").get(tree["upscale"].get_absolute_url()).content.decode()
    assert 'class="version-strip"' in html and 'Versions <span class="muted">(5)</span>' in html
    assert html.count('aria-current="true"') == 1
    current = html.split('aria-current="true"')[1][:600]
    assert tree["upscale"].get_absolute_url() in current and "Upscale 2×" in current
    assert "“make her hair silver”" in html and '<span class="muted">of 2</span>' in html  # version 4


def test_an_image_without_versions_shows_no_strip(client_for, make):
    html = client_for("viewer").get(make("Alone").get_absolute_url()).content.decode()
    assert "version-strip" not in html


def test_any_version_can_be_the_cover_or_an_element_image(client_for, project, tree):
    from projects.models import Element

    client = client_for("editor")
    upscale = tree["upscale"]
    client.post(reverse("media:set_cover", kwargs={"slug": project.slug, "pk": upscale.pk}))
    project.refresh_from_db()
    assert project.cover == upscale
    mira = Element.objects.create(project=project, name="Mira")
    client.post(reverse("media:set_element_image", kwargs={"slug": project.slug, "pk": upscale.pk}),
                {"element": mira.pk})  # fmt: skip
    mira.refresh_from_db()
    assert mira.image == upscale


def test_the_same_picture_saved_again_keeps_its_place(make, project, owner, tree):
    """Dedup by content: a 'version' whose bytes the project already holds is the existing item, unchanged."""
    first = tree["variation"]
    with first.file.open("rb") as handle:
        data = handle.read()
    item, created = media_item_create_from_bytes(project=project, data=data, source=tree["second"],
                                                 operation=Op.EDIT)  # fmt: skip
    assert not created and item == first and refreshed(first)[0].source == tree["original"]

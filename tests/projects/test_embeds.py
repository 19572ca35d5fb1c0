from types import SimpleNamespace

from projects import embeds


def fake_item(pk: int, alt_text: str = ""):
    return SimpleNamespace(pk=pk, width=640, height=480, title=f"Item {pk}", alt_text=alt_text)


def url_for(item) -> str:
    return f"/img/{item.pk}"


def test_embedded_ids_in_order_without_repeats() -> None:
    body = "Text [[image:9]] inline is not an embed\n[[image:3]]\n  [[image:1|Dawn]]  \n[[image:3]]\n"
    assert embeds.embedded_ids(body) == [3, 1]


def test_append_embed_adds_its_own_paragraph() -> None:
    assert embeds.append_embed("Once.\n\n", 7) == "Once.\n\n[[image:7]]\n"
    assert embeds.append_embed("", 7, "A cap]tion") == "[[image:7|A caption]]\n"


def test_remove_embeds_only_removes_that_image() -> None:
    body = "A.\n\n[[image:7]]\n\nB.\n\n[[image:8]]\n[[image:7|again]]\n"
    assert embeds.remove_embeds(body, 7) == "A.\n\nB.\n\n[[image:8]]\n"
    assert embeds.remove_embeds("[[image:7]]\n", 7) == ""


def test_render_escapes_text_and_shows_images() -> None:
    body = "<script>alert(1)</script>\nsecond line\n\n[[image:5|Dawn & dusk]]\n\n[[image:6]]"
    html = embeds.render_body(body, [fake_item(5, alt_text='"quoted"')], url_for)
    assert "<script>" not in html
    assert "<p>&lt;script&gt;alert(1)&lt;/script&gt;<br>second line</p>" in html
    assert '<img src="/img/5" alt="&quot;quoted&quot;" width="640" height="480" loading="lazy">' in html
    assert "<figcaption>Dawn &amp; dusk</figcaption>" in html
    assert '<p class="embed-missing">Image removed</p>' in html  # 6 is not among the items


def test_alt_text_describes_the_image_and_never_repeats_the_caption() -> None:
    # No alt text of its own: the item's title stands in, not the caption (a screen reader would read it twice).
    html = embeds.render_body("[[image:5|Dawn over the harbour]]", [fake_item(5)], url_for)
    assert 'alt="Item 5"' in html and "<figcaption>Dawn over the harbour</figcaption>" in html
    # A title the same as the caption: the caption alone names it.
    named = SimpleNamespace(pk=6, width=640, height=480, title="Dawn", alt_text="")
    html = embeds.render_body("[[image:6|Dawn]]", [named], url_for)
    assert 'alt=""' in html and "<figcaption>Dawn</figcaption>" in html
    # Alt text of its own describes it, whatever the caption says.
    html = embeds.render_body(
        "[[image:7|Dawn]]", [fake_item(7, alt_text="Boats at dawn by the pier")], url_for
    )
    assert 'alt="Boats at dawn by the pier"' in html


# --- Hostile embeds (issue 11): what only looks like an embed is text, and never reaches the database -------------

import re  # noqa: E402

import pytest  # noqa: E402
from django.urls import reverse  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from projects.models import Document  # noqa: E402

TOO_LONG = "[[image:99999999999999999999]]"  # 20 digits: past a 64-bit integer
HUGE = "[[image:2" + "7" * 5000 + "]]"  # past Python's int() digit limit


@pytest.mark.parametrize(
    "line", [TOO_LONG, HUGE, "[[image:²]]", "[[image:٣]]", "[[image:-1]]", "[[image:1e3]]", "[[image: 4]]"]
)
def test_a_malformed_embed_is_text_not_an_id(line: str) -> None:
    assert embeds.embedded_ids(f"Before.\n{line}\nAfter.") == []
    html = embeds.render_body(line, [], url_for)
    assert html == f"<p>{line}</p>"


def test_the_longest_id_a_database_holds_is_still_an_embed() -> None:
    assert embeds.embedded_ids("[[image:" + "9" * 18 + "]]") == [10**18 - 1]


def test_a_document_with_an_out_of_range_embed_opens(project, client_for) -> None:
    document = Document.objects.create(project=project, title="Ch 1", body=f"Once.\n\n{TOO_LONG}\n")
    response = client_for("viewer").get(
        reverse("projects:document", kwargs={"slug": project.slug, "pk": document.pk})
    )
    assert response.status_code == 200
    assert TOO_LONG in response.content.decode()


def test_an_image_stays_viewable_and_deletable_beside_a_huge_embed(project, media_item, client_for) -> None:
    # The text prefilter in media_item_references finds "[[image:<pk>" in this body; the parser must then say no.
    body = "[[image:" + str(media_item.pk) + "7" * 5000 + "]]\n"
    document = Document.objects.create(project=project, title="Ch 1", body=body)
    client = client_for("editor")
    kwargs = {"slug": project.slug, "pk": media_item.pk}
    assert client.get(reverse("media:detail", kwargs=kwargs)).status_code == 200
    assert client.get(reverse("media:delete", kwargs=kwargs)).status_code == 200
    assert client.post(reverse("media:delete", kwargs=kwargs)).status_code == 302
    document.refresh_from_db()
    assert document.body == body  # not an embed of this image, so left as the writer typed it


# Property tests: for any body a writer can type, the parser and the renderer answer, never raise.
numbers = st.integers(min_value=0, max_value=10**30).map(str) | st.text("0123456789²٣-", max_size=30)
captions = st.just("") | st.text(max_size=12).map(lambda c: "|" + c.replace("\n", " "))
embed_like = st.builds(lambda n, c: f"[[image:{n}{c}]]", numbers, captions)
lines = embed_like | st.text(
    alphabet=st.sampled_from(list("[]:|image0123456789²٣ \tabc<>&\"'"))
    | st.characters(exclude_characters="\n\r"),
    max_size=60,
)
bodies = st.lists(lines, max_size=8).map("\n".join)
ids = st.integers(min_value=1, max_value=10**18 - 1)


@given(body=bodies)
def test_any_body_parses_to_ids_a_database_can_hold(body: str) -> None:
    for media_id in embeds.embedded_ids(body):
        assert 0 <= media_id < 2**63


@given(body=bodies)
def test_any_body_renders_as_escaped_html(body: str) -> None:
    html = str(embeds.render_body(body, [fake_item(1), fake_item(2)], url_for))
    # Only our own tags, whatever the writer typed.
    tags = set(re.findall(r"</?([a-zA-Z]+)", html))
    assert tags <= {"p", "br", "figure", "img", "figcaption"}


@given(body=bodies, media_id=ids, caption=st.text(max_size=40))
def test_an_appended_embed_is_found_and_removed_again(body: str, media_id: int, caption: str) -> None:
    with_embed = embeds.append_embed(body, media_id, caption)
    assert media_id in embeds.embedded_ids(with_embed)
    assert media_id not in embeds.embedded_ids(embeds.remove_embeds(with_embed, media_id))


# --- Line endings: a browser sends a textarea's lines with CRLF -------------------------------------------------


def test_embeds_in_a_body_with_crlf_line_endings_are_found_rendered_and_removed() -> None:
    body = "Intro\r\n\r\n[[image:1|Dawn]]\r\nmore\r\n\r\n[[image:2]]\r\n"
    assert embeds.embedded_ids(body) == [1, 2]
    html = embeds.render_body(body, [fake_item(1), fake_item(2)], url_for)
    assert html.count('class="doc-figure"') == 2 and "Image removed" not in html
    assert "<figcaption>Dawn</figcaption>" in html
    assert embeds.embedded_ids(embeds.remove_embeds(body, 1)) == [2]


def test_a_document_saved_from_a_browser_shows_its_image(project, media_item, client_for) -> None:
    from django.urls import reverse

    from projects.models import Document

    client = client_for("editor")
    body = f"Intro\r\n\r\n[[image:{media_item.pk}]]\r\nmore"
    client.post(
        reverse("projects:document_create", args=[project.slug]), {"title": "Ch 1", "body": body, "order": 1}
    )
    document = Document.objects.get(title="Ch 1")
    assert "\r" not in document.body  # stored with plain newlines
    page = client.get(document.get_absolute_url()).content.decode()
    assert 'class="doc-figure"' in page and "Image removed" not in page


# --- Choosing where an image goes (issue 19) ------------------------------------------------------------------

BODY = "It was night.\n\nThe harbour slept.\r\n\r\n[[image:3]]\n\nMira woke.\n"


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (1, "It was night.\n\n[[image:9]]\n\nThe harbour slept.\n\n[[image:3]]\n\nMira woke.\n"),
        (2, "It was night.\n\nThe harbour slept.\n\n[[image:9]]\n\n[[image:3]]\n\nMira woke.\n"),
        (3, "It was night.\n\nThe harbour slept.\n\n[[image:3]]\n\nMira woke.\n\n[[image:9]]\n"),
        # No such paragraph (the body was shortened since the place was chosen): at the end, the rest untouched.
        (99, "It was night.\n\nThe harbour slept.\r\n\r\n[[image:3]]\n\nMira woke.\n\n[[image:9]]\n"),
    ],
)
def test_an_image_goes_after_the_paragraph_chosen(after, expected):
    assert embeds.insert_embed_after_paragraph(BODY, after, 9) == expected


def test_paragraphs_are_offered_by_how_they_start():
    # Numbered as "Insert after this paragraph" numbers them: embedded images are not paragraphs of text.
    long = "A sentence that goes on well past the forty characters a menu can show."
    assert embeds.paragraph_openings(f"{BODY}\n{long}") == [
        (1, "It was night."), (2, "The harbour slept."), (3, "Mira woke."), (4, long[:39].rstrip() + "…"),
    ]  # fmt: skip

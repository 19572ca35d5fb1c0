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

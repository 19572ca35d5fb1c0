"""The per-paragraph "Illustrate" link, in a real browser: a ✦ beside its paragraph, never a line under it. On a
laptop (1280×800) it shows when the paragraph is pointed at or the link is reached with Tab; on a phone (390×844,
touch), where nothing hovers, it is always there, big enough for a finger. Either way it opens the dialog on its
paragraph."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from projects.models import Document, Project
from tests.conftest import PASSWORD
from tests.e2e import axe
from tests.e2e.conftest import shot
from tests.e2e.test_passage_journey import BODY

# For each paragraph: its box, its link's box, the link's opacity, and the space below the paragraph's margin
# before the next block starts (0 when nothing sits between two paragraphs).
LAYOUT = """
() => Array.from(document.querySelectorAll("#document-body p[data-paragraph]")).map(p => {
  const box = p.getBoundingClientRect();
  const link = p.nextElementSibling.querySelector(".illustrate-link");
  const linkBox = link.getBoundingClientRect();
  const next = p.nextElementSibling.nextElementSibling;
  const margin = parseFloat(getComputedStyle(p).marginBottom);
  return {
    top: box.top, bottom: box.bottom, right: box.right,
    linkTop: linkBox.top, linkLeft: linkBox.left, linkRight: linkBox.right,
    linkWidth: linkBox.width, linkHeight: linkBox.height,
    opacity: getComputedStyle(link).opacity,
    extra: next ? next.getBoundingClientRect().top - box.bottom - margin : 0,
  };
})
"""


def document(story: Project) -> Document:
    return Document.objects.create(project=story, title="Chapter Two", body=BODY)


def assert_beside_not_under(layout: list[dict]) -> None:
    for n, p in enumerate(layout, start=1):
        assert p["extra"] < 1, f"paragraph {n}: {p['extra']:.0f}px more below it than its margin"
        assert p["top"] - 12 <= p["linkTop"] < p["bottom"], f"paragraph {n}: its link is not beside it"
        assert p["linkLeft"] >= p["right"], f"paragraph {n}: its link covers its text"


def test_on_a_laptop_the_link_shows_on_hover_or_focus_and_takes_no_line(
    page: Page, live_server, sign_in, story: Project, upstream
) -> None:
    chapter = document(story)
    sign_in(page, "editor", PASSWORD)
    page.goto(f"{live_server.url}{chapter.get_absolute_url()}")
    links = page.locator(".illustrate-link")
    expect(links).to_have_count(3)
    page.mouse.move(0, 0)
    layout = page.evaluate(LAYOUT)
    assert_beside_not_under(layout)
    assert [p["opacity"] for p in layout] == ["0", "0", "0"], "shown before anyone points at a paragraph"

    # Pointing at a paragraph shows its link, and only its.
    page.locator("#paragraph-2").hover()
    expect(links.nth(1)).to_have_css("opacity", "1")
    expect(links.nth(0)).to_have_css("opacity", "0")
    shot(page, "illustrate-hover")

    # The keyboard reaches it: Tab from the document's last action (Delete…) lands on the first paragraph's link.
    page.mouse.move(0, 0)
    page.get_by_role("link", name="Delete…").focus()
    page.keyboard.press("Tab")
    expect(links.nth(0)).to_be_focused()
    expect(links.nth(0)).to_have_css("opacity", "1")
    expect(links.nth(0)).to_have_accessible_name("Illustrate paragraph 1")
    shot(page, "illustrate-focus")
    axe.check(page, "document, an Illustrate link focused")
    page.keyboard.press("Enter")
    dialog = page.locator("#generate-dialog")
    expect(dialog.get_by_label("Prompt", exact=True)).to_contain_text("The tide came in at midnight")


def test_on_a_phone_the_link_is_always_there_beside_its_paragraph(
    browser, live_server, sign_in, story: Project, upstream
) -> None:
    chapter = document(story)
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, "editor", PASSWORD)
        page.goto(f"{live_server.url}{chapter.get_absolute_url()}")
        assert not page.evaluate("matchMedia('(hover: hover)').matches"), "a phone, where nothing hovers"
        layout = page.evaluate(LAYOUT)
        assert_beside_not_under(layout)
        for n, p in enumerate(layout, start=1):
            assert p["opacity"] == "1", f"paragraph {n}: its link is hidden on a touch screen"
            assert p["linkWidth"] >= 44 and p["linkHeight"] >= 44, f"paragraph {n}: smaller than a finger"
            assert p["linkRight"] <= 390, f"paragraph {n}: its link is off the screen"
        shot(page, "illustrate-phone")
        axe.check(page, "document on a phone")
        page.locator(".illustrate-link").nth(1).tap()
        dialog = page.locator("#generate-dialog")
        expect(dialog.get_by_label("Prompt", exact=True)).to_contain_text("The cartographer unrolled her map")
    finally:
        context.close()

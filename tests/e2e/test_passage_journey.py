"""Illustrate this passage, in a real browser: select words in a paragraph that names two elements (one by an
alias) → the Generate dialog opens with the passage, both elements in their roles and the project's house style →
Generate (the stand-in upstream, a real worker) → Save → "Insert after this paragraph" puts the image right there."""

from __future__ import annotations

import re
import subprocess

from playwright.sync_api import Page, expect

from media_library.models import MediaItem
from projects.models import Document, Element, Project
from tests.conftest import PASSWORD
from tests.e2e.conftest import shot
from tests.standin.client import StandinClient

GENERATIONS = "/v1/images/generations"
SCENE = "The cartographer unrolled her map across a table in the Drowned Library"
BODY = (
    "The tide came in at midnight, and the harbour bells rang once.\n"
    "\n"
    f"{SCENE}, and the green lanterns swung as if someone had opened a door below the water.\n"
    "\n"
    "Nobody in the town would speak of it the next morning."
)


def select_words(page: Page, paragraph: int, words: str) -> None:
    """Select `words` inside paragraph `paragraph` as a reader would, by dragging across them (a DOM range)."""
    page.evaluate(
        """([number, words]) => {
          const p = document.getElementById("paragraph-" + number);
          const text = p.firstChild;
          const start = text.data.indexOf(words);
          const range = document.createRange();
          range.setStart(text, start);
          range.setEnd(text, start + words.length);
          const selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
        }""",
        [paragraph, words],
    )


def test_illustrate_a_selected_passage_and_insert_the_image_after_its_paragraph(
    page: Page, live_server, sign_in, story: Project, upstream: StandinClient, worker: subprocess.Popen[bytes]
) -> None:
    mira = Element.objects.get(project=story, name="Mira Vale")
    mira.aliases = ["the cartographer"]
    mira.save()
    story.house_style = Element.objects.get(project=story, name="Ink wash")
    story.save()
    document = Document.objects.create(project=story, title="Chapter Two", body=BODY)

    sign_in(page, "editor", PASSWORD)
    page.goto(f"{live_server.url}{document.get_absolute_url()}")
    expect(page.locator(".illustrate-link")).to_have_count(3)
    button = page.get_by_role("link", name="Illustrate this passage")
    # Words selected across two paragraphs: the passage is the words only (not the links between), placed after the
    # paragraph where the selection ends.
    page.evaluate(
        """() => {
          const range = document.createRange();
          range.setStart(document.getElementById("paragraph-1").firstChild, 4);
          range.setEnd(document.getElementById("paragraph-2").firstChild, 16);
          getSelection().removeAllRanges();
          getSelection().addRange(range);
        }"""
    )
    expect(button).to_be_visible()
    href = button.get_attribute("href") or ""
    assert "paragraph=2" in href and "passage=tide%20came" in href and "Illustrate" not in href
    assert href.endswith("The%20cartographer")
    select_words(page, 2, SCENE)
    expect(button).to_have_attribute("href", re.compile("passage=The%20cartographer%20unrolled"))
    shot(page, "passage-select")
    button.click()

    dialog = page.locator("#generate-dialog")
    expect(dialog.get_by_role("heading", name="Generate Image")).to_be_visible()
    expect(dialog.get_by_label("Prompt", exact=True)).to_have_value(SCENE)
    # Both elements, found by alias and by name, in the roles their kinds suggest; the house style as Style.
    expect(dialog.get_by_label("Mira Vale")).to_have_value("subject")
    expect(dialog.get_by_label("The Drowned Library")).to_have_value("setting")
    expect(dialog.get_by_label("Ink wash")).to_have_value("style")
    matches = dialog.locator("#passage-matches")
    expect(matches).to_contain_text("Mira Vale as “The cartographer” → Subject")
    expect(matches).to_contain_text("The Drowned Library → Setting")  # by its own name: nothing more to say
    expect(dialog.locator("#house-style-note")).to_contain_text("The house style, Ink wash, is added")
    dialog.get_by_role("button", name="Preview prompt").click()
    expect(dialog.locator("#prompt-preview")).to_contain_text("Style: Ink wash, a style.")
    shot(page, "passage-dialog")

    dialog.get_by_role("button", name="Generate", exact=True).click()
    panel = dialog.locator(".job-panel")
    expect(panel.locator(".candidate")).to_have_count(1, timeout=30_000)
    sent = upstream.requests(GENERATIONS)[-1]["body"]["prompt"]
    assert sent.startswith(SCENE)
    assert "Subject: Mira Vale, a character." in sent and "Setting: The Drowned Library, a location." in sent
    assert "Style: Ink wash, a style." in sent

    panel.locator(".candidate input[name=candidate]").check()
    panel.get_by_role("button", name="Save to library").click()
    insert = panel.get_by_role("button", name="Insert after this paragraph")
    expect(insert).to_be_visible()
    expect(panel).to_contain_text("Paragraph 2 of “Chapter Two”")
    shot(page, "passage-saved")
    insert.click()
    # The answer comes beside the image, in the dialog; the document behind has the image right after paragraph 2.
    expect(panel.locator(".saved-note")).to_contain_text("after paragraph 2 of “Chapter Two”")
    page.goto(f"{live_server.url}{document.get_absolute_url()}")
    item = MediaItem.objects.get(project=story)
    figure = page.locator("#paragraph-2 ~ figure.doc-figure").first
    expect(figure.locator("img")).to_be_visible()
    order = page.evaluate(
        """() => Array.from(document.querySelectorAll(".document-body > p[data-paragraph], .document-body > figure"))
                 .map(el => el.tagName === "FIGURE" ? "figure" : el.dataset.paragraph)"""
    )
    assert order == ["1", "2", "figure", "3"]
    document.refresh_from_db()
    assert f"{SCENE}, and the green lanterns" in document.body
    assert document.body.index(f"[[image:{item.pk}]]") < document.body.index("Nobody in the town")
    page.locator("#paragraph-2").scroll_into_view_if_needed()
    shot(page, "passage-inserted")

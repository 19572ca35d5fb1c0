"""Phone and tablet: every page of the writer's journeys, and the open Generate dialog, at 360×740 and 820×1180 —
nothing sticks out of the viewport and the page never scrolls sideways; a row too long for the screen (the tabs)
scrolls within itself or wraps.

A page fails when `document.documentElement.scrollWidth > clientWidth`, or when a visible element's right edge is
past the viewport (or its left edge before it), unless it sits inside something that scrolls or clips sideways on
purpose; the open dialog fails when its own content is wider than it.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from imagegen.models import GenerationJob
from media_library.models import MediaItem
from media_library.services import media_item_create_from_bytes
from projects.models import Document, Element, Project
from tests.conftest import PASSWORD
from tests.e2e.conftest import shot
from tests.fixtures_projects import image_bytes

SIZES = {"phone": {"width": 360, "height": 740}, "tablet": {"width": 820, "height": 1180}}

# What sticks out, as short descriptions ("div.options-grid right=412"); empty when everything fits.
STICKING_OUT = """
() => {
  const root = document.documentElement;
  const width = root.clientWidth;
  const found = [];
  if (root.scrollWidth > width) { found.push(`page scrollWidth ${root.scrollWidth} > ${width}`); }
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.classList.length ? "." + Array.from(el.classList).join(".") : "");
  // Inside a container that scrolls or clips sideways (the tab row), content may extend past the screen.
  const contained = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (a.tagName === "DIALOG") { return false; }
      if (getComputedStyle(a).overflowX !== "visible") { return true; }
    }
    return false;
  };
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || el.closest("[hidden], template, noscript")) { continue; }
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") { continue; }
    // Moved off-screen on purpose until focused (the skip link).
    if (el.classList.contains("visually-hidden") || box.right <= 0) { continue; }
    if ((box.right > width + 0.5 || box.left < -0.5) && !contained(el)) {
      found.push(`${describe(el)} left=${Math.round(box.left)} right=${Math.round(box.right)}`);
    }
  }
  const dialog = document.querySelector("dialog[open]");
  if (dialog && dialog.scrollWidth > dialog.clientWidth + 1) {
    found.push(`dialog content ${dialog.scrollWidth} wider than the dialog ${dialog.clientWidth}`);
  }
  return found.slice(0, 12);
}
"""

# Controls a finger must hit: links and buttons in the page's own content, at least 44 px one way and the other.
SMALL_TARGETS = """
() => Array.from(document.querySelectorAll(
    ".tabs a, .actions a, .actions button, .button, button, .illustrate-link, .dialog-footer *, summary"
  )).filter(el => {
    const box = el.getBoundingClientRect();
    return box.width && box.height && !el.closest("[hidden]") && getComputedStyle(el).visibility !== "hidden"
      && (box.height < 43.5 || box.width < 43.5);
  }).map(el => `${el.tagName.toLowerCase()} “${el.textContent.trim().slice(0, 30)}” ${Math.round(el.getBoundingClientRect().width)}×${Math.round(el.getBoundingClientRect().height)}`)
  .slice(0, 12)
"""


@pytest.fixture
def book(story: Project, owner) -> dict[str, object]:
    mira = Element.objects.get(project=story, name="Mira Vale")
    mira.aliases = ["the cartographer"]
    mira.save()
    story.house_style = Element.objects.get(project=story, name="Ink wash")
    story.save()
    document = Document.objects.create(
        project=story,
        title="Chapter Two: The Long Title of a Chapter That Goes On",
        body="The cartographer unrolled her map in the Drowned Library, where green lanterns swung.\n\n"
        "Averyveryverylongwordthatawriterpastedfromsomewhereelsewithoutanyspacesatallintheentireline.",
    )
    item, _ = media_item_create_from_bytes(
        project=story, data=image_bytes(size=(1200, 800)), created_by=owner, title="Harbour at dusk"
    )
    job = GenerationJob.objects.create(
        user=owner, project=story, provider="stable-diffusion", model="v1-5-pruned-emaonly.safetensors [6ce0161689]",
        prompt="A harbour at dusk with a very long prompt " * 6, composed_prompt="A harbour at dusk",
        options={"size": "512x512", "count": 1}, images_requested=1, status=GenerationJob.Status.FAILED,
        error_class="unavailable", error_message="The provider could not be reached.",
    )  # fmt: skip
    return {"document": document, "item": item, "mira": mira, "job": job}


def pages(story: Project, book: dict) -> list[tuple[str, str]]:
    slug = story.slug
    document: Document = book["document"]  # type: ignore[assignment]
    item: MediaItem = book["item"]  # type: ignore[assignment]
    mira: Element = book["mira"]  # type: ignore[assignment]
    return [
        ("projects", "/projects/"),
        ("new-project", "/projects/new/"),
        ("overview", f"/projects/{slug}/"),
        ("project-edit", f"/projects/{slug}/edit/"),
        ("documents", f"/projects/{slug}/documents/"),
        ("document", document.get_absolute_url()),
        ("document-edit", f"{document.get_absolute_url()}edit/"),
        ("worldbuilding", f"/projects/{slug}/worldbuilding/"),
        ("element", mira.get_absolute_url()),
        ("element-edit", f"{mira.get_absolute_url()}edit/"),
        ("media", f"/projects/{slug}/media/"),
        ("media-item", item.get_absolute_url()),
        ("media-item-edit", f"{item.get_absolute_url()}edit/"),
        ("media-item-delete", f"{item.get_absolute_url()}delete/"),
        ("upload", f"/projects/{slug}/media/upload/"),
        ("new-document", f"/projects/{slug}/documents/new/"),
        ("new-element", f"/projects/{slug}/worldbuilding/new/"),
        ("document-delete", f"{document.get_absolute_url()}delete/"),
        ("generate-page", f"/projects/{slug}/generate/"),
        ("illustrate-page", f"/projects/{slug}/generate/?document={document.pk}&paragraph=1"),
        ("history", f"/projects/{slug}/generate/history/"),
        ("job", f"/projects/{slug}/generate/jobs/{book['job'].pk}/"),  # type: ignore[attr-defined]
        ("edit-image", f"/projects/{slug}/generate/edit/{item.pk}/"),
        ("upscale", f"/projects/{slug}/generate/upscale/{item.pk}/"),
        ("portrait", f"/projects/{slug}/generate/portrait/{mira.pk}/"),
        ("cover", f"/projects/{slug}/generate/cover/"),
    ]


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_and_the_dialog_fit_phone_and_tablet(
    browser, live_server, story: Project, book, upstream, size: str
) -> None:
    viewport = SIZES[size]
    context = browser.new_context(viewport=viewport, has_touch=True, is_mobile=size == "phone")
    context.set_default_timeout(15_000)
    page: Page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill("editor")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        problems: dict[str, list[str]] = {}
        small: dict[str, list[str]] = {}
        for name, path in pages(story, book):
            response = page.goto(f"{live_server.url}{path}")
            assert response is not None and response.status == 200, (name, response and response.status)
            problems[name] = page.evaluate(STICKING_OUT)
            small[name] = page.evaluate(SMALL_TARGETS)

        # The open dialogs: Generate Image on the Media tab, and Illustrate on a paragraph.
        page.goto(f"{live_server.url}/projects/{story.slug}/media/")
        page.locator("#generate-image-button").click()
        dialog = page.locator("#generate-dialog")
        expect(dialog.get_by_label("Prompt", exact=True)).to_be_visible()
        problems["generate-dialog"] = page.evaluate(STICKING_OUT)
        small["generate-dialog"] = page.evaluate(SMALL_TARGETS)
        if size == "phone":
            shot(page, "generate-dialog-phone")

        page.goto(f"{live_server.url}{book['document'].get_absolute_url()}")  # type: ignore[attr-defined]
        page.locator(".illustrate-link").first.click()
        expect(dialog.get_by_label("Prompt", exact=True)).to_contain_text("The cartographer")
        if size == "phone":
            shot(page, "illustrate-dialog-phone")
        problems["illustrate-dialog"] = page.evaluate(STICKING_OUT)
        small["illustrate-dialog"] = page.evaluate(SMALL_TARGETS)
        # The dialog's far side is reachable: its last option field and the Generate button are on screen when
        # scrolled to.
        generate = dialog.get_by_role("button", name="Generate", exact=True)
        generate.scroll_into_view_if_needed()
        box = generate.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
    finally:
        context.close()
    sticking_out = {k: v for k, v in problems.items() if v}
    too_small = {k: v for k, v in small.items() if v}
    assert not sticking_out, "Sticking out:\n" + "\n".join(f"{k}: {v}" for k, v in sticking_out.items())
    assert not too_small, "Smaller than a finger:\n" + "\n".join(f"{k}: {v}" for k, v in too_small.items())

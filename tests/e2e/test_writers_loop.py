"""The writer's loop, in the browser (issue 19): a cover from the overview, named and used without leaving the
dialog; the Media grid updated in place; the full generation history. axe-core checks every page on the way."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from imagegen.models import Candidate, GenerationJob
from media_library.models import MediaItem
from projects.models import Project
from tests.conftest import PASSWORD
from tests.e2e import axe
from tests.e2e.test_edit_journeys import choose, wait_for_candidate
from tests.fixtures_projects import image_bytes

SD = ("Stable Diffusion WebUI", "v1-5-pruned-emaonly")


def save_the_image(panel: Locator, *, name: str = "") -> None:
    """Tick the one candidate, give it `name` if any, and save it to the library."""
    panel.locator(".candidate input[name=candidate]").check()
    if name:
        panel.get_by_label("Name of image 1").fill(name)
    panel.get_by_role("button", name="Save to library").click()
    expect(panel.get_by_text("Saved 1 image to the library.")).to_be_visible()


def test_generate_a_cover_name_it_and_use_it_without_leaving_the_dialog(
    page: Page, live_server, sign_in, story: Project, upstream, worker
) -> None:
    story.description = "A cartographer maps the dreams of a drowned town."
    story.save()
    sign_in(page, "editor", PASSWORD)
    page.goto(f"{live_server.url}{story.get_absolute_url()}")
    axe.check(page, "overview")

    opener = page.get_by_role("link", name="Generate cover")
    opener.click()
    dialog = page.locator("#generate-dialog")
    expect(dialog.get_by_role("heading", name="Cover for Moonlit Harbour")).to_be_visible()
    expect(dialog.get_by_label("Prompt", exact=True)).to_have_value(
        "A book cover for “Moonlit Harbour”. A cartographer maps the dreams of a drowned town."
    )
    # The model the dialog starts on, at its ebook-cover size.
    expect(dialog.get_by_label("Model", exact=True).locator("option:checked")).to_have_text("GPT Image 2")
    size = dialog.get_by_label("Size", exact=True).locator("option:checked").inner_text()
    assert "Ebook cover" in size, size
    axe.check(page, "Generate cover dialog")

    dialog.get_by_role("button", name="Generate", exact=True).click()
    panel = wait_for_candidate(dialog)
    expect(panel.locator(".candidates-expiry")).to_contain_text("Images you do not save are kept until")
    axe.check(page, "results")

    save_the_image(panel, name="Harbour cover")
    item = MediaItem.objects.get(title="Harbour cover")

    # Use as cover comes first, and answers beside the image: the dialog stays until Close.
    actions = panel.locator(".saved-actions button")
    expect(actions.first).to_have_text("Use as cover")
    actions.first.click()
    expect(panel.locator(".saved-note")).to_have_text("“Harbour cover” is now the project cover.")
    expect(page.locator("#generate-live")).to_have_text("“Harbour cover” is now the project cover.")
    expect(dialog).to_be_visible()
    story.refresh_from_db()
    assert story.cover == item
    axe.check(page, "after Use as cover")

    dialog.get_by_role("button", name="Close", exact=True).last.click()
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    # The overview behind the dialog shows the new cover, without a reload.
    expect(page.locator("#project-cover img")).to_have_attribute(
        "src", re.compile(rf"/media/{item.pk}/file/$")
    )
    axe.check(page, "overview with the new cover")


def test_saved_images_appear_in_the_grid_highlighted_and_focus_returns_to_generate_image(
    page: Page, live_server, sign_in, story: Project, upstream, worker
) -> None:
    sign_in(page, "editor", PASSWORD)
    page.goto(f"{live_server.url}/projects/{story.slug}/media/")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    axe.check(page, "Media tab, empty")
    button = page.locator("#generate-image-button")
    button.click()
    dialog = page.locator("#generate-dialog")
    choose(dialog, *SD)
    dialog.get_by_label("Prompt", exact=True).fill("The harbour at night")
    dialog.get_by_label("Mira Vale").select_option(label="Subject")
    dialog.get_by_role("button", name="Generate", exact=True).click()
    panel = wait_for_candidate(dialog)
    expect(panel.get_by_label("Name of image 1")).to_have_value("Mira Vale 1")
    save_the_image(panel)
    # The element menu starts on the Subject.
    expect(panel.locator(".saved-actions select[name=element] option:checked")).to_have_text("Mira Vale")
    axe.check(page, "saved, in the dialog")
    # Insert chooses the place: after the first paragraph, not always at the end; the dialog stays.
    panel.get_by_label("Where in which document").select_option(index=0)
    panel.get_by_role("button", name="Insert into document").click()
    expect(panel.locator(".saved-note")).to_contain_text("after paragraph 1 of")

    dialog.get_by_role("button", name="Close", exact=True).last.click()
    tile = page.locator(".media-tile-new")
    expect(tile).to_have_count(1)
    expect(tile).to_contain_text("Mira Vale 1")
    expect(button).to_be_focused()
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    axe.check(page, "Media tab with the new image")


def test_the_history_lists_every_job_and_an_old_unsaved_image_can_still_be_saved(
    page: Page, live_server, sign_in, story: Project, upstream
) -> None:
    owner = story.owner
    jobs = []
    for n in range(8):  # jobs[0] is the newest; the Media tab lists six
        job = GenerationJob.objects.create(
            user=owner, project=story, provider="stable-diffusion", model=SD[1], prompt=f"Harbour scene {n}",
            composed_prompt=f"Harbour scene {n}", status="succeeded", images_requested=1, images_made=1,
            created_at=timezone.now() - timedelta(minutes=10 * n),
        )  # fmt: skip
        candidate = Candidate(job=job, index=0, content_type="image/png", width=64, height=48, bytes=10,
                              created_at=job.created_at)  # fmt: skip
        candidate.file.save("1.png", ContentFile(image_bytes(color=(n * 20, 90, 40))), save=False)
        candidate.save()
        jobs.append(job)

    sign_in(page, "editor", PASSWORD)
    page.goto(f"{live_server.url}/projects/{story.slug}/media/")
    expect(page.locator(".recent-job")).to_have_count(6)
    page.get_by_role("link", name="All generations, with images not saved yet").click()
    expect(page.get_by_role("heading", name="Generation history")).to_be_visible()
    rows = page.locator(".history-row")
    expect(rows).to_have_count(8)
    axe.check(page, "generation history")

    seventh = rows.nth(6)
    expect(seventh).to_contain_text("Harbour scene 6")
    expect(seventh).to_contain_text("1 image not saved yet, kept until")
    seventh.get_by_role("link", name="Harbour scene 6").click()
    dialog = page.locator("#generate-dialog")
    panel = dialog.locator(".job-panel")
    expect(panel).to_be_visible()
    save_the_image(panel)
    axe.check(page, "history: saved from the dialog")
    saved = Candidate.objects.get(job=jobs[6]).saved_item
    assert saved is not None and saved.project == story


def test_the_accessibility_check_fails_on_a_serious_violation(page: Page) -> None:
    """The check is live: a picture with no text alternative (critical) fails it; a page without one passes."""
    page.set_content("<html lang='en'><title>t</title><main><img src='data:,'></main></html>")
    with pytest.raises(AssertionError, match="image-alt"):
        axe.check(page, "a bad page")
    page.set_content(
        "<html lang='en'><title>t</title><main><h1>Map</h1><img src='data:,' alt='A map'></main></html>"
    )
    assert axe.check(page, "a good page") == []


def test_a_candidate_opens_large_and_the_arrows_go_through_them_without_ticking_it(
    page: Page, live_server, sign_in, story: Project, upstream, worker
) -> None:
    sign_in(page, "editor", PASSWORD)
    page.goto(f"{live_server.url}/projects/{story.slug}/media/")
    page.locator("#generate-image-button").click()
    dialog = page.locator("#generate-dialog")
    choose(dialog, *SD)
    dialog.get_by_label("Prompt", exact=True).fill("The harbour at night")
    dialog.get_by_label("Images").fill("2")
    dialog.get_by_label("Images").blur()
    dialog.get_by_role("button", name="Generate", exact=True).click()
    panel = dialog.locator(".job-panel")
    expect(panel.locator(".candidate")).to_have_count(2, timeout=30_000)

    first = panel.get_by_role("link", name="Image 1, larger")
    first.click()
    lightbox = page.locator("dialog.lightbox")
    expect(lightbox).to_be_visible()
    expect(lightbox.locator(".lightbox-caption")).to_have_text(re.compile(r"^Image 1 of 2 · "))
    expect(lightbox.get_by_role("button", name="← Previous")).to_be_disabled()
    axe.check(page, "lightbox")
    page.keyboard.press("ArrowRight")
    expect(lightbox.locator(".lightbox-caption")).to_have_text(re.compile(r"^Image 2 of 2 · "))
    expect(lightbox.get_by_role("button", name="Next →")).to_be_disabled()
    expect(lightbox.locator("img")).to_have_attribute("src", re.compile(r"/candidates/\d+/$"))
    page.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()
    # Back in the Generate dialog, on the picture it was opened from; looking did not choose.
    expect(dialog).to_be_visible()
    expect(panel.get_by_role("link", name="Image 2, larger")).to_be_focused()
    expect(panel.locator("input[name=candidate]:checked")).to_have_count(0)
    panel.get_by_role("checkbox", name=re.compile(r"Keep image 1\b")).check()
    expect(panel.locator("input[name=candidate]:checked")).to_have_count(1)

"""The writer's journeys with the Generate Image dialog, in a real browser.

The app runs for real: the live server, `manage.py db_worker` as its own process, and the stand-in upstream as a third
process the app reaches only through its normal settings (see conftest.py). Assertions are about what the writer sees,
plus what the stand-in received where that proves something the page cannot (the prompt that went upstream).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Locator, Page, expect

from media_library.models import MediaItem
from projects.models import Document, Project
from tests.conftest import PASSWORD
from tests.e2e.conftest import TEST_OPENAI_KEY, point_app_at, shot
from tests.standin.client import StandinClient, StandinProcess

GENERATIONS = "/v1/images/generations"
# Long enough for a poll or two to show the job running; the journey waits on what it sees, never on this.
SLOW_UPSTREAM = 3.0
PROMPT = "A lighthouse keeper's daughter reading a map by lantern light"


# --- helpers ------------------------------------------------------------------------------------------------------


def open_media_tab(page: Page, base_url: str, project: Project) -> None:
    page.goto(f"{base_url}/projects/{project.slug}/")
    page.get_by_role("navigation", name="Project sections").get_by_role("link", name="Media").click()
    expect(page.get_by_role("heading", name="Media", exact=True)).to_be_visible()


def open_dialog(page: Page) -> Locator:
    page.locator("#generate-image-button").click()
    dialog = page.locator("#generate-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name="Generate Image")).to_be_visible()
    return dialog


@contextmanager
def form_refresh(page: Page) -> Iterator[None]:
    """Changing the provider or model re-renders the dialog's form (htmx). Wait until the new form is in, so the next
    step types into it and not into the old one that is about to be replaced."""
    page.locator("#generate-panel").evaluate("panel => { panel.dataset.stale = 'yes'; }")
    yield
    page.wait_for_selector("#generate-panel:not([data-stale]):not(.htmx-settling)")


def choose_model(dialog: Locator, provider: str, model: str) -> None:
    page = dialog.page
    if dialog.get_by_label("Image service").locator("option:checked").inner_text() != provider:
        with form_refresh(page):
            dialog.get_by_label("Image service").select_option(label=provider)
    with form_refresh(page):
        dialog.get_by_label("Model").select_option(label=model)
    expect(dialog.get_by_label("Model").locator("option:checked")).to_have_text(model)


def fill_form(dialog: Locator, *, count: int = 2) -> None:
    dialog.get_by_label("Prompt", exact=True).fill(PROMPT)
    dialog.get_by_label("Images").fill(str(count))
    # A number field reports its change (and so updates the estimate) when it loses focus, as when a person moves on.
    dialog.get_by_label("Images").blur()
    dialog.get_by_label("Mira Vale").select_option(label="Subject")
    dialog.get_by_label("The Drowned Library").select_option(label="Setting")


def job_panel(dialog: Locator) -> Locator:
    return dialog.locator(".job-panel")


# --- 1. The happy path --------------------------------------------------------------------------------------------


def test_writer_generates_saves_and_uses_images(
    page: Page, live_server, sign_in, story: Project, upstream: StandinClient, worker: subprocess.Popen[bytes]
) -> None:
    upstream.script(family="openai", delay=SLOW_UPSTREAM)
    sign_in(page, "editor", PASSWORD)
    open_media_tab(page, live_server.url, story)
    expect(page.get_by_role("heading", name="No images yet")).to_be_visible()

    dialog = open_dialog(page)
    # Two providers are configured: Stable Diffusion first (self-hosted: free), then OpenAI with a priced model.
    with form_refresh(page):
        dialog.get_by_label("Image service").select_option(label="Stable Diffusion WebUI")
    expect(dialog.get_by_label("Model")).to_contain_text("v1-5-pruned-emaonly")
    expect(dialog.locator("#cost-estimate")).to_contain_text("Free")
    choose_model(dialog, "OpenAI", "GPT Image 1")
    fill_form(dialog, count=2)
    # GPT Image 1, 1024 × 1024, medium (its default, though the provider switch passed through other models): $0.042.
    expect(dialog.get_by_label("Quality")).to_have_value("medium")
    expect(dialog.locator("#cost-estimate")).to_contain_text("$0.084")
    shot(page, "dialog")

    dialog.get_by_role("button", name="Generate", exact=True).click()
    panel = job_panel(dialog)
    # The first answer is the job itself, before the upstream (3 s) can have answered: progress, and a way to stop.
    expect(panel.locator(".job-progress progress")).to_be_visible()
    expect(panel.get_by_role("button", name="Cancel")).to_be_visible()
    expect(panel).to_contain_text("2 images with GPT Image 1")
    upstream.wait_for(GENERATIONS)
    expect(panel.locator(".status-running")).to_be_visible()
    shot(page, "progress")

    candidates = panel.locator(".candidate")
    expect(candidates).to_have_count(2, timeout=20_000)
    expect(panel.locator(".status")).to_have_text("Succeeded")
    for image in candidates.locator("img").all():
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    # What went upstream: the writer's words, then the elements' context by role.
    sent = upstream.requests(GENERATIONS)[-1]["body"]
    assert sent["model"] == "gpt-image-1"
    assert sent["n"] == 2
    assert sent["prompt"].startswith(PROMPT)
    assert "Subject: Mira Vale, a character. A cartographer who maps other people's dreams." in sent["prompt"]
    assert "Setting: The Drowned Library, a location." in sent["prompt"]
    assert "Ink wash" not in sent["prompt"]  # no role: not used

    for box in panel.locator(".candidate input[name=candidate]").all():
        box.check()
    shot(page, "results")
    panel.get_by_role("button", name="Save to library").click()
    expect(panel.get_by_text("Saved 2 images to the library.")).to_be_visible()
    # Nothing left to choose: the saved images and their actions, no greyed "Choose the images to keep".
    expect(panel.locator(".saved-item")).to_have_count(2)
    expect(panel.get_by_text("Choose the images to keep")).to_have_count(0)

    # Closing the dialog refreshes the Media tab behind it: both images are in the grid.
    dialog.get_by_role("button", name="Close", exact=True).first.click()
    expect(dialog).to_be_hidden()
    tiles = page.locator(".media-tile").filter(has=page.locator(".badge-generated"))
    expect(tiles).to_have_count(2)
    # The whole page: the grid's captions end just below the 800 px viewport.
    shot(page, "media-tab", full_page=True)

    first, second = MediaItem.objects.filter(project=story).order_by("pk")
    page.locator(f'.media-tile a[href$="/media/{first.pk}/"]').click()
    details = page.locator(".attributes")
    expect(details.locator("dd.prompt")).to_contain_text(PROMPT)
    expect(details).to_contain_text("GPT Image 1")  # the label writers read, not the id
    expect(details).to_contain_text("Mira Vale")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0",
        arg=page.locator(".media-detail-image img").element_handle(),
    )
    shot(page, "item-detail")

    page.get_by_role("button", name="Set as project cover").click()
    expect(page.get_by_text("is now the project cover")).to_be_visible()
    page.get_by_role("navigation", name="Project sections").get_by_role("link", name="Overview").click()
    cover = page.locator("figure.cover img")
    expect(cover).to_have_attribute("src", re.compile(rf"/media/{first.pk}/file/$"))
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=cover.element_handle())

    page.goto(f"{live_server.url}/projects/{story.slug}/media/{second.pk}/")
    place = page.get_by_label("Insert into document")
    expect(place.locator("option:checked")).to_have_text("At the end of “Chapter One”")
    place.select_option(label="After ¶1 “The tide came in at midnight.”")
    page.get_by_role("button", name="Insert", exact=True).click()
    expect(page.get_by_role("heading", name="Chapter One")).to_be_visible()
    figure = page.locator(".document-body figure.doc-figure img")
    expect(figure).to_have_count(1)
    expect(figure).to_have_attribute("src", re.compile(rf"/media/{second.pk}/"))
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=figure.element_handle())
    assert f"[[image:{second.pk}" in Document.objects.get(project=story).body


# --- 2. Failures --------------------------------------------------------------------------------------------------


def start_job(page: Page, base_url: str, project: Project) -> Locator:
    """Media tab → dialog → a filled-in form → Generate; returns the dialog."""
    open_media_tab(page, base_url, project)
    dialog = open_dialog(page)
    choose_model(dialog, "OpenAI", "GPT Image 1")
    fill_form(dialog, count=1)
    dialog.get_by_role("button", name="Generate", exact=True).click()
    expect(job_panel(dialog)).to_be_visible()
    return dialog


def failed_job(
    page: Page, base_url: str, story: Project, upstream: StandinClient, failure: str
) -> tuple[Locator, Locator]:
    """The writer generates with OpenAI, which fails with `failure`; returns the dialog and its failed panel."""
    upstream.script(family="openai", fail_with=failure)
    dialog = start_job(page, base_url, story)
    panel = job_panel(dialog)
    expect(panel.locator(".status")).to_have_text("Failed", timeout=20_000)
    return dialog, panel


def test_a_refused_prompt_is_explained_and_try_again_keeps_the_form(
    page: Page, live_server, sign_in, story: Project, upstream: StandinClient, worker: subprocess.Popen[bytes]
) -> None:
    sign_in(page, "editor", PASSWORD)
    dialog, panel = failed_job(page, live_server.url, story, upstream, "content_policy")
    alert = panel.get_by_role("alert")
    expect(alert).to_contain_text("safety system refused this prompt")
    expect(panel.locator(".candidate")).to_have_count(0)
    # A refusal is final: asked once, never retried.
    assert len(upstream.requests(GENERATIONS)) == 1

    # A refusal cannot be retried as it is: the main action is to rephrase, and no Try again is offered.
    expect(panel.get_by_role("link", name="Try again")).to_have_count(0)
    panel.get_by_role("link", name="Rephrase the prompt").click()
    form = dialog.locator("form.generate-form")
    expect(form.get_by_label("Prompt", exact=True)).to_have_value(PROMPT)
    expect(form.get_by_label("Model").locator("option:checked")).to_have_text("GPT Image 1")
    expect(form.get_by_label("Mira Vale")).to_have_value("subject")
    expect(form.get_by_label("The Drowned Library")).to_have_value("setting")
    expect(form.get_by_label("Ink wash")).to_have_value("")
    expect(form.get_by_role("button", name="Generate", exact=True)).to_be_enabled()


def test_out_of_credit_offers_the_other_provider_in_place_and_no_try_again(
    page: Page, live_server, sign_in, story: Project, upstream: StandinClient, worker: subprocess.Popen[bytes]
) -> None:
    sign_in(page, "editor", PASSWORD)
    dialog, panel = failed_job(page, live_server.url, story, upstream, "quota")
    alert = panel.get_by_role("alert")
    expect(alert).to_have_text("This site’s OpenAI account is out of credit: ask an admin to add some.")
    expect(panel.get_by_role("link", name="Try again")).to_have_count(0)
    switch = panel.locator(".failure-actions .button-primary")
    expect(switch).to_have_text(re.compile(r"^Use Stable Diffusion WebUI instead$"))
    switch.click()
    # The same dialog, now on the other provider, with the writer's words kept.
    form = dialog.locator("form.generate-form")
    expect(form.get_by_label("Image service").locator("option:checked")).to_have_text(
        re.compile("Stable Diffusion WebUI")
    )
    expect(form.get_by_label("Prompt", exact=True)).to_have_value(PROMPT)
    expect(form.get_by_label("Mira Vale")).to_have_value("subject")


def test_a_rate_limit_is_waited_out_and_the_job_succeeds(
    page: Page, live_server, sign_in, story: Project, upstream: StandinClient, worker: subprocess.Popen[bytes]
) -> None:
    upstream.script(family="openai", fail_with="rate_limit", fail_times=1, retry_after=0.2)
    sign_in(page, "editor", PASSWORD)
    dialog = start_job(page, live_server.url, story)

    panel = job_panel(dialog)
    expect(panel.locator(".candidate")).to_have_count(1, timeout=20_000)
    expect(panel.locator(".status")).to_have_text("Succeeded")
    expect(panel.get_by_role("alert")).to_have_count(0)
    # Proof that the 429 happened and was retried, not skipped: two calls, the first refused.
    statuses = [r["status"] for r in upstream.requests(GENERATIONS)]
    assert statuses == [429, 200]


@pytest.fixture
def upstream_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandinProcess]:
    """A stand-in of this test's own, so the test can take it down without affecting the others."""
    process = StandinProcess()
    client = process.start()
    point_app_at(client, monkeypatch, openai_key=TEST_OPENAI_KEY)
    yield process
    process.stop()


def test_an_unreachable_upstream_says_unavailable_and_what_to_do(
    page: Page,
    live_server,
    sign_in,
    story: Project,
    upstream_process: StandinProcess,
    start_worker: Callable[[], subprocess.Popen[bytes]],
) -> None:
    start_worker()
    sign_in(page, "editor", PASSWORD)
    open_media_tab(page, live_server.url, story)
    dialog = open_dialog(page)
    choose_model(dialog, "OpenAI", "GPT Image 1")
    fill_form(dialog, count=1)

    upstream_process.stop()  # the upstream goes down while the writer is about to press Generate
    dialog.get_by_role("button", name="Generate", exact=True).click()

    panel = job_panel(dialog)
    expect(panel.locator(".status")).to_have_text("Failed", timeout=30_000)
    alert = panel.get_by_role("alert")
    expect(alert).to_contain_text(
        "OpenAI is not answering as it should right now: try again in a few minutes."
    )
    expect(panel.locator(".failure-actions .button-primary")).to_have_text("Try again")
    # Another provider is available: offered beside it, in place.
    expect(panel.get_by_role("link", name=re.compile(r"^Use .* instead$"))).to_be_visible()
    shot(page, "failed")


# --- 3. Offline ---------------------------------------------------------------------------------------------------


def test_generate_image_goes_away_while_offline(
    page: Page, context, live_server, sign_in, story: Project, upstream: StandinClient
) -> None:
    sign_in(page, "editor", PASSWORD)
    open_media_tab(page, live_server.url, story)
    button = page.locator("#generate-image-button")
    expect(button).to_be_visible()

    context.set_offline(True)
    expect(button).to_be_hidden()
    context.set_offline(False)
    expect(button).to_be_visible()

    # With the dialog open, going offline explains itself and Generate cannot be pressed.
    dialog = open_dialog(page)
    notice = dialog.locator("[data-offline-notice]")
    generate = dialog.get_by_role("button", name="Generate", exact=True)
    expect(notice).to_be_hidden()
    context.set_offline(True)
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("You are offline")
    expect(generate).to_be_disabled()
    context.set_offline(False)
    expect(notice).to_be_hidden()
    expect(generate).to_be_enabled()


# --- 4. Keyboard --------------------------------------------------------------------------------------------------


def tab_to(page: Page, selector: str, *, limit: int = 40) -> None:
    """Press Tab until `selector` has focus, as a keyboard user would; fail if it is never reached."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def focused_is(page: Page, selector: str) -> bool:
    return bool(page.evaluate("s => document.activeElement?.matches(s) ?? false", selector))


def test_the_dialog_works_with_the_keyboard_alone(
    page: Page, live_server, sign_in, story: Project, upstream: StandinClient, worker: subprocess.Popen[bytes]
) -> None:
    sign_in(page, "editor", PASSWORD)
    open_media_tab(page, live_server.url, story)
    dialog = page.locator("#generate-dialog")

    # Open with Enter, close with Esc: focus goes back to the button that opened it.
    tab_to(page, "#generate-image-button")
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(dialog.locator("form.generate-form")).to_be_visible()
    assert focused_is(page, "#generate-dialog select, #generate-dialog textarea")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#generate-image-button")).to_be_focused()
    # Closed means emptied: nothing left in the page to go on polling unseen.
    expect(dialog.locator("#generate-panel")).to_have_count(0)

    # Open again, fill it in and submit, all from the keyboard.
    page.keyboard.press("Enter")
    expect(dialog.locator("form.generate-form")).to_be_visible()
    tab_to(page, "#generate-dialog textarea[name=prompt]")
    page.keyboard.type("A harbour at dawn")
    tab_to(page, "#generate-dialog select[name^=element_]")
    page.keyboard.press("ArrowDown")  # the first element (by kind, then name): Not in this image → Subject
    tab_to(page, '#generate-dialog button[value="generate"]')
    page.keyboard.press("Enter")

    panel = job_panel(dialog)
    expect(panel.locator(".candidate")).to_have_count(1, timeout=20_000)
    # The Generate button went away with the form; focus stayed in the dialog rather than falling to the page.
    assert page.evaluate("document.getElementById('generate-dialog').contains(document.activeElement)")
    sent = upstream.requests(GENERATIONS)[-1]["body"]["prompt"]
    assert sent.startswith("A harbour at dawn")
    assert "Subject: Mira Vale, a character." in sent

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#generate-image-button")).to_be_focused()

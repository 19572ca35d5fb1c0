"""Who sees what, in the browser: viewers see the library but cannot generate; outsiders see nothing at all.

Generation is configured (the stand-in as OpenAI and Stable Diffusion), so a missing Generate Image button is about the
person, not about the configuration: the editor's view in the same setup shows it.
"""

from __future__ import annotations

from django.urls import reverse
from playwright.sync_api import Page, expect

from imagegen.models import GenerationJob
from media_library.models import MediaItem
from projects.models import Project
from tests.conftest import PASSWORD
from tests.standin.client import StandinClient


def test_a_viewer_sees_the_media_tab_without_generate_image(
    page: Page, live_server, sign_in, project: Project, media_item: MediaItem, upstream: StandinClient
) -> None:
    media_url = f"{live_server.url}{reverse('media:index', args=[project.slug])}"
    GenerationJob.objects.create(
        user=project.owner, project=project, provider="openai", model="gpt-image-1", prompt="A harbour at dawn",
        composed_prompt="A harbour at dawn", status="succeeded",
    )  # fmt: skip

    sign_in(page, "editor", PASSWORD)
    page.goto(media_url)
    expect(page.locator("#generate-image-button")).to_be_visible()  # the setup does offer generation
    expect(page.locator("#recent-jobs")).to_contain_text("A harbour at dawn")  # and editors see the jobs
    page.context.clear_cookies()

    sign_in(page, "viewer", PASSWORD)
    page.goto(media_url)
    expect(page.get_by_role("heading", name="Media", exact=True)).to_be_visible()
    expect(page.locator(".media-tile").filter(has_text="Harbour sketch")).to_be_visible()
    expect(page.get_by_role("link", name="Generate Image")).to_have_count(0)
    expect(page.locator("#generate-dialog")).to_have_count(0)
    expect(page.get_by_role("link", name="Upload")).to_have_count(0)
    expect(page.locator("#recent-jobs")).to_have_count(0)
    expect(page.get_by_text("A harbour at dawn")).to_have_count(0)

    # Typing the dialog's address does not get round it.
    response = page.goto(f"{live_server.url}{reverse('imagegen:dialog', args=[project.slug])}")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="You can’t do that here")).to_be_visible()


def test_an_outsider_gets_the_not_found_page(
    page: Page, live_server, sign_in, project: Project, outsider, upstream: StandinClient
) -> None:
    sign_in(page, "outsider", PASSWORD)
    for url in (
        reverse("media:index", args=[project.slug]),
        reverse("imagegen:dialog", args=[project.slug]),
    ):
        response = page.goto(f"{live_server.url}{url}")
        assert response is not None and response.status == 404
        expect(page.get_by_role("heading", name="This page isn’t in the manuscript")).to_be_visible()
        expect(page.get_by_text("Moonlit Harbour")).to_have_count(0)
        expect(page.locator("#generate-image-button")).to_have_count(0)

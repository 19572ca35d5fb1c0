"""The admin's journey: an OpenAI key entered in Django admin turns OpenAI on for writers, and never shows again.

The environment has no OPENAI_API_KEY (only the stand-in's base URLs), so OpenAI can become available only through the
key the admin saves. Stable Diffusion is configured by its endpoint, so writers can generate before and after.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from projects.models import Project
from tests.conftest import PASSWORD
from tests.e2e.conftest import VIEWPORT, point_app_at, shot
from tests.standin.client import StandinClient

ADMIN_KEY = "sk-admin-entered-7f3a9c2e5b1d"


@pytest.fixture
def upstream_without_key(standin_process: StandinClient, monkeypatch: pytest.MonkeyPatch) -> StandinClient:
    point_app_at(standin_process, monkeypatch, openai_key=None)
    return standin_process


def writers_providers(browser: Browser, base_url: str, project: Project) -> list[str]:
    """What an editor, in a browser of their own, is offered under Provider in the Generate Image dialog."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(f"{base_url}/accounts/login/")
        page.get_by_label("Username").fill("editor")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{base_url}/projects/{project.slug}/media/")
        page.locator("#generate-image-button").click()
        dialog = page.locator("#generate-dialog")
        expect(dialog.locator("form.generate-form")).to_be_visible()
        provider = dialog.locator("[name=provider]")
        if provider.evaluate("el => el.tagName") == "INPUT":
            return [provider.input_value()]  # one provider: a hidden field, nothing to choose
        return provider.locator("option").all_inner_texts()
    finally:
        context.close()


def test_admin_saves_an_openai_key_and_writers_get_openai(
    page: Page,
    browser: Browser,
    live_server,
    sign_in,
    admin_user_: User,
    project: Project,
    upstream_without_key: StandinClient,
) -> None:
    standin = upstream_without_key
    assert writers_providers(browser, live_server.url, project) == ["stable-diffusion"]

    sign_in(page, "root", PASSWORD)
    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("link", name="AI Image Generation", exact=True).first.click()
    expect(page.get_by_role("heading", name="Change AI Image Generation")).to_be_visible()
    expect(page.locator("#imagegen-status-openai")).to_contain_text("not available")

    page.get_by_label("OpenAI API key").fill(ADMIN_KEY)
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text("changed successfully")
    key_input = page.get_by_label("OpenAI API key")
    expect(key_input).to_have_value("")  # write-only: never sent back to the browser
    expect(key_input).to_have_attribute("placeholder", "********")
    expect(page.locator(".form-row.field-openai_api_key_new")).to_contain_text("set — from admin")
    expect(page.locator("#imagegen-status-openai")).to_contain_text("available")
    assert ADMIN_KEY not in page.content()

    standin.clear_requests()
    page.get_by_role("button", name="Test connection").click()
    openai_status = page.locator("#imagegen-status-openai .live-check")
    expect(openai_status).to_contain_text("reachable")
    expect(page.locator("#imagegen-status-test")).to_contain_text("Checked")
    assert ADMIN_KEY not in page.content()
    # The check really went to the stand-in, with the key the admin saved (decrypted only for the upstream).
    checks = standin.requests("/v1/models")
    assert checks, "Test connection did not call the OpenAI stand-in"
    assert checks[-1]["headers"]["authorization"] == f"Bearer {ADMIN_KEY}"
    shot(page, "admin-settings")
    # The page is long: a second picture of the OpenAI section, where the saved key shows only as its mask.
    openai_section = page.locator("fieldset").filter(
        has=page.get_by_role("heading", name="OpenAI", exact=True)
    )
    openai_section.evaluate("el => { el.scrollIntoView({block: 'start'}); window.scrollBy(0, -16); }")
    shot(page, "admin-openai-key")

    assert writers_providers(browser, live_server.url, project) == [
        "OpenAI",
        "Stable Diffusion WebUI",
    ]

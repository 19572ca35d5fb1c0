from playwright.sync_api import expect

from tests.conftest import PASSWORD


def test_sign_in_and_out_in_a_browser(page, live_server, user, sign_in):
    sign_in(page, "alice", PASSWORD)
    expect(page.locator(".account-menu summary")).to_have_text("alice")
    page.locator(".account-menu summary").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_wrong_password_is_explained(page, live_server, user, sign_in):
    sign_in(page, "alice", "wrong")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")

"""Issue 11 in the browser: every page keeps to the Content-Security-Policy (and the check really notices a breach),
an editor who may not spend credit sees why, and a locked-out sign-in says until when — at desktop and phone width.

Every browser test fails on a CSP violation (tests/e2e/conftest.py); this file adds the pages no journey visits.
"""

from __future__ import annotations

import time

from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Page, expect

from imagegen.permissions import NOT_ALLOWED
from projects.models import Membership, Project
from tests.conftest import PASSWORD
from tests.standin.client import StandinClient
from tests.test_permission_matrix import DECLARED, ctx, project_url_names, staff  # noqa: F401 — fixtures

from .conftest import shot

PHONE = {"width": 360, "height": 740}


def no_sideways_scroll(page: Page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def test_the_check_notices_a_violation(page: Page, live_server, csp_violations) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    # What an injected script or handler would be: the policy blocks it, and the harness hears about it.
    page.evaluate("""() => {
        const s = document.createElement("script"); s.textContent = "window.injected = 1"; document.head.appendChild(s);
        document.body.setAttribute("style", "color: red");
    }""")
    wanted = {"script-src-elem", "style-src-attr"}
    deadline = time.monotonic() + 5
    while not wanted <= {v.get("directive") for v in csp_violations} and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    directives = {v.get("directive") for v in csp_violations}
    assert any("Content Security Policy" in v.get("console", "") for v in csp_violations)  # the console too
    assert wanted <= directives, list(csp_violations)
    assert page.evaluate("() => window.injected") is None  # and it did not run
    csp_violations.clear()  # seen and accounted for: the fixture's own check would fail on them otherwise


def test_every_page_keeps_to_the_policy(
    page: Page,
    live_server,
    sign_in,
    ctx,  # noqa: F811 — the matrix's fixture
    owner: User,
    upstream: StandinClient,
) -> None:
    owner.is_staff = owner.is_superuser = True  # the owner is also the site's admin, to reach every page
    owner.save()
    sign_in(page, "owner", PASSWORD)
    project = ctx["project"]
    pages = []
    for name in project_url_names():
        declared = DECLARED[name]
        if "get" in declared.methods:
            pages.append(reverse(name, kwargs={"slug": project.slug, **declared.kwargs(ctx)}))
    pages += [
        reverse("projects:list"),
        reverse("projects:create"),
        reverse("password_change"),
        reverse("admin:index"),
        reverse("admin:imagegen_imagegenerationsettings_change", args=[1]),
        reverse("admin:imagegen_generationjob_changelist"),
        reverse("admin:imagegen_generationjob_usage"),
        reverse("admin:imagegen_generationjob_change", args=[ctx["job"].pk]),
        reverse("admin:auth_user_changelist"),
        reverse("admin:auth_user_change", args=[owner.pk]),
        reverse("admin:axes_accessattempt_changelist"),
    ]
    for path in pages:
        if path.endswith("/download/"):  # an attachment: the browser downloads it, there is no page to render
            response = page.request.get(f"{live_server.url}{path}")
            assert response.status == 200 and "sandbox" in response.headers["content-security-policy"]
            continue
        if path.endswith(
            "/events/"
        ):  # a job's event stream, not a page (the WSGI live server answers it 204)
            assert page.request.get(f"{live_server.url}{path}").status == 204
            continue
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, path
        policy = response.headers.get("content-security-policy", "")
        if "text/html" in response.headers.get("content-type", ""):
            assert "script-src 'self'" in policy and "style-src 'self'" in policy, path
        else:  # an image: its own, stricter policy
            assert "sandbox" in policy, path
        page.wait_for_load_state("load")
    # The dialog and Test connection swap content in with htmx under the same policy.
    page.goto(f"{live_server.url}{reverse('media:index', args=[project.slug])}")
    page.get_by_role("link", name="Generate Image").click()
    expect(page.locator("#generate-dialog")).to_be_visible()
    page.get_by_label("Model").select_option(index=0)
    page.goto(f"{live_server.url}{reverse('admin:imagegen_imagegenerationsettings_change', args=[1])}")
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#imagegen-status")).to_contain_text("checked", ignore_case=True)


def test_an_editor_not_allowed_to_generate_sees_why(
    page: Page, live_server, sign_in, project: Project, make_user, upstream: StandinClient
) -> None:
    stranger = make_user("stranger", can_generate=False)
    Membership.objects.create(project=project, user=stranger, role=Membership.Role.EDITOR)
    sign_in(page, "stranger", PASSWORD)
    media = f"{live_server.url}{reverse('media:index', args=[project.slug])}"
    for name, size in [("not-allowed", None), ("not-allowed-phone", PHONE)]:
        if size:
            page.set_viewport_size(size)
        page.goto(media)
        expect(page.get_by_role("link", name="Generate Image")).to_have_count(0)
        expect(page.locator("#generate-not-allowed")).to_have_text(NOT_ALLOWED)
        expect(page.locator("#generate-not-allowed")).to_be_in_viewport()
        no_sideways_scroll(page)
        shot(page, name)


def test_a_locked_out_sign_in_says_until_when(page: Page, live_server, user: User) -> None:
    for name, size in [("locked-out", None), ("locked-out-phone", PHONE)]:
        if size:
            page.set_viewport_size(size)
        for attempt in range(6):
            page.goto(f"{live_server.url}/accounts/login/")
            page.get_by_label("Username").fill("alice")
            page.get_by_label("Password").fill(PASSWORD if attempt == 5 else f"wrong-{attempt}")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state()
        expect(page.get_by_role("heading", name="Too many attempts")).to_be_visible()
        expect(page.locator("#locked-out-message")).to_contain_text("so it is paused until")
        no_sideways_scroll(page)
        shot(page, name)
        page.context.clear_cookies()

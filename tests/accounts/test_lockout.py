"""Password guessing (issue 11 #3): after a few wrong passwords a username is locked out from that address for a
cool-off period, on the site's sign-in and the admin's, with a page that says when to try again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.accounts.test_settings import run_python
from tests.conftest import PASSWORD

LOGIN = reverse("login")
ADMIN_LOGIN = reverse("admin:login")
LIMIT = 5  # the default LOGIN_FAILURE_LIMIT


def sign_in(client: Client, username: str, password: str, url: str = LOGIN, **meta: str):
    return client.post(url, {"username": username, "password": password}, **meta)


def signed_in_as(client: Client) -> str | None:
    response = client.get(reverse("home"), follow=True)
    user = response.context["user"]
    return user.username if user.is_authenticated else None


def guess(client: Client, username: str, times: int = 50, url: str = LOGIN, **meta: str) -> list[int]:
    return [sign_in(client, username, f"wrong-{i}", url, **meta).status_code for i in range(times)]


def test_fifty_wrong_passwords_then_the_right_one_does_not_sign_in(client, user):
    statuses = guess(client, "alice")
    assert statuses[: LIMIT - 1] == [200] * (LIMIT - 1)  # the form again, "enter a correct password"
    assert set(statuses[LIMIT:]) == {429}
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many attempts" in page and "failed too many times, so it is paused until" in page
    assert signed_in_as(client) is None


def test_the_page_says_when_to_try_again(client, user, settings):
    settings.TIME_ZONE = "UTC"
    guess(client, "alice", LIMIT)
    last = AccessAttempt.objects.get(username="alice").attempt_time
    page = sign_in(client, "alice", PASSWORD).content.decode()
    until = timezone.localtime(last + timedelta(minutes=15))
    assert f"{until:%H:%M} UTC" in page and "in about 15 minutes" in page


def test_after_the_cool_off_the_right_password_works(client, user):
    guess(client, "alice", LIMIT)
    assert sign_in(client, "alice", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert sign_in(client, "alice", PASSWORD).status_code == 302
    assert signed_in_as(client) == "alice"


def test_the_admin_login_is_guarded_too(client, admin_user_):
    statuses = guess(client, "root", 20, url=ADMIN_LOGIN)
    assert set(statuses[LIMIT:]) == {429}
    response = sign_in(client, "root", PASSWORD, url=ADMIN_LOGIN)
    assert response.status_code == 429 and "Too many attempts" in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302  # still sent to log in


def test_it_is_the_username_from_that_address(client, user, make_user):
    make_user("bob")
    guess(client, "alice", LIMIT, REMOTE_ADDR="203.0.113.7")
    assert sign_in(client, "alice", PASSWORD, REMOTE_ADDR="203.0.113.7").status_code == 429
    # Alice elsewhere, and Bob from the same address, sign in as usual.
    assert sign_in(Client(), "alice", PASSWORD, REMOTE_ADDR="198.51.100.9").status_code == 302
    assert sign_in(Client(), "bob", PASSWORD, REMOTE_ADDR="203.0.113.7").status_code == 302


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(client, user):
    for i in range(LIMIT):
        sign_in(client, "alice", "wrong", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
    assert sign_in(client, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="10.0.0.99").status_code == 429


def test_behind_the_proxy_the_address_is_the_one_the_proxy_adds(client, user, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    behind = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_PROTO": "https"}
    # A guesser writes a fresh X-Forwarded-For each time; the proxy appends the real address after it.
    for i in range(LIMIT):
        sign_in(client, "alice", "wrong", **behind, HTTP_X_FORWARDED_FOR=f"10.0.0.{i}, 203.0.113.7")
    assert (
        sign_in(client, "alice", PASSWORD, **behind, HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.7").status_code
        == 429
    )
    # Someone else behind the same proxy is a different address.
    assert (
        sign_in(Client(), "alice", PASSWORD, **behind, HTTP_X_FORWARDED_FOR="198.51.100.9").status_code == 302
    )
    assert AccessAttempt.objects.get().ip_address == "203.0.113.7"


def test_no_password_is_kept_in_the_attempt_records(client, user):
    guess(client, "alice", 3)
    sign_in(client, "alice", "hunter2-secret-guess")
    record = AccessAttempt.objects.get()
    assert "hunter2-secret-guess" not in record.post_data and "wrong-" not in record.post_data


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, "5 0:15:00"), ({"LOGIN_FAILURE_LIMIT": "3", "LOGIN_COOLOFF_MINUTES": "60"}, "3 1:00:00")],
)
def test_limit_and_cool_off_come_from_the_environment(env, expected):
    code = (
        "import django; from django.conf import settings; django.setup(); "
        "print(settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME)"
    )
    result = run_python(code, SECRET_KEY="s" * 60, SALT_KEY="salt", **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected

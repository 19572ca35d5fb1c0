import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from tests.conftest import PASSWORD


def test_home_sends_anonymous_visitors_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_sign_in_and_out(client, user):
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD}, follow=True)
    assert response.context["user"].is_authenticated
    assert b"alice" in response.content
    response = client.post(reverse("logout"), follow=True)
    assert not response.context["user"].is_authenticated


def test_sign_in_with_wrong_password_says_so(client, user):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


@pytest.mark.django_db
def test_sign_up_creates_account_and_signs_in(client, settings):
    settings.ALLOW_SIGNUP = True
    page = client.get(reverse("login"))
    assert reverse("signup").encode() in page.content
    response = client.post(
        reverse("signup"),
        {"username": "newwriter", "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"},
        follow=True,
    )
    assert User.objects.filter(username="newwriter").exists()
    assert response.context["user"].username == "newwriter"


@pytest.mark.django_db
def test_sign_up_shows_mismatched_passwords(client, settings):
    settings.ALLOW_SIGNUP = True
    response = client.post(
        reverse("signup"),
        {"username": "x", "password1": "a-long-pass-phrase-9", "password2": "other-pass-9876"},
    )
    assert response.status_code == 200
    assert b"The two password fields" in response.content
    assert not User.objects.filter(username="x").exists()


@pytest.mark.django_db
def test_sign_up_off(client, settings):
    settings.ALLOW_SIGNUP = False
    assert client.get(reverse("signup")).status_code == 404
    response = client.post(
        reverse("signup"),
        {"username": "z", "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"},
    )
    assert response.status_code == 404
    assert not User.objects.filter(username="z").exists()
    assert reverse("signup").encode() not in client.get(reverse("login")).content


def test_change_password(user_client, user):
    response = user_client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "brand-new-pass-42",
            "new_password2": "brand-new-pass-42",
        },
        follow=True,
    )
    assert b"Password changed" in response.content
    user.refresh_from_db()
    assert user.check_password("brand-new-pass-42")


def test_change_password_needs_sign_in(client, db):
    response = client.get(reverse("password_change"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_sign_up_passwords_are_hidden_from_error_reports(client, db, settings):
    settings.ALLOW_SIGNUP = True
    response = client.post(
        reverse("signup"),
        {"username": "u", "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"},
    )
    assert set(response.wsgi_request.sensitive_post_parameters) == {"password1", "password2"}

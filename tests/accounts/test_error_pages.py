import pytest
from django.test import Client
from django.urls import path

from accounts import views


def boom(request):
    raise RuntimeError("kaboom")


urlpatterns = [path("boom/", boom)]
handler500 = views.server_error


@pytest.mark.django_db
def test_404_is_friendly(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"This page isn" in response.content
    assert b"Back to your projects" in response.content


@pytest.mark.django_db
def test_403_page(rf):
    response = views.permission_denied(rf.get("/"))
    assert response.status_code == 403
    assert b"You can" in response.content


@pytest.mark.django_db
@pytest.mark.urls("tests.accounts.test_error_pages")
def test_500_is_friendly_and_hides_details():
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content
    assert b"kaboom" not in response.content

"""/healthz answers a load balancer's probe: plain HTTP, an IP address as Host, no database."""

from django.test import Client


def test_healthz_answers_plain_http_probes_to_an_ip_in_production(settings, db, django_assert_num_queries):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["inkweld.example.com"]
    with django_assert_num_queries(0):
        response = Client().get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Cache-Control"] == "no-store"


def test_other_paths_still_get_the_https_redirect(settings, db):
    settings.SECURE_SSL_REDIRECT = True
    response = Client().get("/accounts/login/", HTTP_HOST="localhost")
    assert response.status_code == 301 and response["Location"].startswith("https://")

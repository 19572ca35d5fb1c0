"""Django admin → AI Image Generation: a singleton form with write-only keys, effective values and status."""

import logging

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.views.debug import SafeExceptionReporterFilter

from imagegen.models import ImageGenerationSettings

from .conftest import admin_value

KEY = "sk-proj-test-admin-secret-0123456789"
CHANGE_URL = reverse("admin:imagegen_imagegenerationsettings_change", args=[1])
LIST_URL = reverse("admin:imagegen_imagegenerationsettings_changelist")


def form_data(**overrides: str) -> dict[str, str]:
    """The form as a browser submits it untouched: every switch on "use environment", every field blank."""
    data = {
        "enabled": "unknown",
        "default_provider": "",
        "openai_enabled": "unknown",
        "openai_api_key_new": "",
        "openai_base_url": "",
        "openai_timeout": "",
        "openrouter_enabled": "unknown",
        "openrouter_api_key_new": "",
        "openrouter_base_url": "",
        "openrouter_timeout": "",
        "sd_enabled": "unknown",
        "sd_endpoint": "",
        "sd_api_key_new": "",
        "sd_timeout": "",
        "daily_limit": "",
        "monthly_budget": "",
        "_continue": "Save and continue editing",
    }
    return {**data, **overrides}


def save(client: Client, **overrides: str):
    return client.post(CHANGE_URL, form_data(**overrides), follow=True)


def test_the_list_opens_the_one_form(admin_client):
    response = admin_client.get(LIST_URL)
    assert response.status_code == 302
    assert response["Location"] == CHANGE_URL
    page = admin_client.get(CHANGE_URL)
    assert page.status_code == 200
    assert ImageGenerationSettings.objects.count() == 1
    assert "AI Image Generation" in page.content.decode()


def test_no_add_and_no_delete(admin_client):
    ImageGenerationSettings.load()
    assert admin_client.get(reverse("admin:imagegen_imagegenerationsettings_add")).status_code == 403
    assert (
        admin_client.get(reverse("admin:imagegen_imagegenerationsettings_delete", args=[1])).status_code
        == 403
    )
    assert 'class="deletelink"' not in admin_client.get(CHANGE_URL).content.decode()


@pytest.mark.parametrize("codename", [None, "view_imagegenerationsettings"])
def test_staff_without_change_permission_are_refused(make_user, client, codename):
    staff = make_user("staff", is_staff=True)
    if codename:
        staff.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(staff)
    assert client.get(LIST_URL).status_code == 403
    assert client.get(CHANGE_URL).status_code == 403
    assert client.post(CHANGE_URL, form_data(openai_api_key_new=KEY)).status_code == 403
    assert admin_value("openai.api_key") is None


def test_staff_with_change_permission_may_edit(make_user, client):
    staff = make_user("staff", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="change_imagegenerationsettings"))
    client.force_login(staff)
    assert client.get(CHANGE_URL).status_code == 200
    save(client, daily_limit="4")
    assert ImageGenerationSettings.load().daily_limit == 4


def test_non_staff_are_sent_to_the_admin_login(user_client):
    response = user_client.get(CHANGE_URL)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_entering_a_key_shows_only_the_mask_and_its_source(admin_client, caplog):
    caplog.set_level(logging.DEBUG)
    response = save(admin_client, openai_api_key_new=KEY)
    html = response.content.decode()
    assert response.status_code == 200
    assert admin_value("openai.api_key") == KEY
    assert 'placeholder="********"' in html
    assert "set — from admin" in html
    assert KEY not in html
    assert KEY not in admin_client.get(CHANGE_URL).content.decode()
    assert KEY not in caplog.text
    entry = LogEntry.objects.get()
    assert "OpenAI API key" in entry.get_change_message()
    assert KEY not in entry.change_message
    history = admin_client.get(reverse("admin:imagegen_imagegenerationsettings_history", args=[1]))
    assert KEY not in history.content.decode()


def test_a_blank_key_input_keeps_the_saved_key(admin_client):
    save(admin_client, openai_api_key_new=KEY)
    save(admin_client, openai_timeout="45")
    assert (admin_value("openai.api_key"), admin_value("openai.timeout")) == (KEY, 45)


def test_remove_saved_key(admin_client):
    save(admin_client, openai_api_key_new=KEY)
    assert "openai_api_key_remove" in admin_client.get(CHANGE_URL).content.decode()
    html = save(admin_client, openai_api_key_remove="on").content.decode()
    assert admin_value("openai.api_key") is None
    assert "openai_api_key_remove" not in html  # nothing left to remove


def test_a_new_key_replaces_the_saved_one(admin_client):
    save(admin_client, sd_api_key_new="user:old")
    save(admin_client, sd_api_key_new="user:new")
    assert admin_value("sd.api_key") == "user:new"


def test_a_malformed_key_is_refused_without_echoing_it(admin_client):
    bad = "sk-has a-space-SECRETPART"
    response = save(admin_client, openai_api_key_new=bad)
    html = response.content.decode()
    assert "An API key is one word with no spaces." in html
    assert "SECRETPART" not in html
    assert admin_value("openai.api_key") is None


def test_keys_from_the_environment_never_reach_the_page(admin_client, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("AI_IMAGE_SD_API_KEY", "user:hunter2")
    html = admin_client.get(CHANGE_URL).content.decode()
    assert "set — from environment (OPENAI_API_KEY)" in html
    assert "set — from environment (AI_IMAGE_SD_API_KEY)" in html
    assert KEY not in html
    assert "hunter2" not in html


@pytest.mark.parametrize(("posted", "stored"), [("unknown", None), ("true", True), ("false", False)])
def test_switches_are_three_way(admin_client, posted, stored):
    save(admin_client, openrouter_enabled=posted)
    assert admin_value("openrouter.enabled") is stored


def test_the_three_way_choices_are_labelled(admin_client):
    html = admin_client.get(CHANGE_URL).content.decode()
    assert '<option value="unknown" selected>Use environment</option>' in html
    assert '<option value="true">On</option>' in html
    assert '<option value="false">Off</option>' in html


def test_each_field_shows_its_effective_value_and_source(admin_client, monkeypatch):
    monkeypatch.setenv("AI_IMAGE_OPENAI_ENABLED", "true")
    monkeypatch.setenv("AI_IMAGE_SD_ENDPOINT", "http://127.0.0.1:7860")
    html = save(admin_client, daily_limit="12").content.decode()
    assert "Now: On — from environment (AI_IMAGE_OPENAI_ENABLED)" in html
    assert "Now: http://127.0.0.1:7860 — from environment (AI_IMAGE_SD_ENDPOINT)" in html
    assert "Now: 12 images — from admin" in html
    assert "Now: 300 s — default" in html
    assert "Now: https://api.openai.com/v1 — default" in html


def test_invalid_values_are_form_errors(admin_client):
    response = save(admin_client, sd_endpoint="ftp://files.example", openai_timeout="0")
    html = response.content.decode()
    assert "Enter an http:// or https:// URL" in html
    assert "Ensure this value is greater than or equal to 1." in html
    assert admin_value("sd.endpoint") is None


def test_a_docker_service_name_is_a_valid_endpoint(admin_client):
    save(admin_client, sd_endpoint="http://sd-webui:7860")
    assert admin_value("sd.endpoint") == "http://sd-webui:7860"


def test_the_status_block_shows_each_provider(admin_client, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    monkeypatch.setenv("AI_IMAGE_SD_ENABLED", "false")
    html = admin_client.get(CHANGE_URL).content.decode()
    assert 'id="imagegen-status"' in html
    assert "available — default provider OpenAI" in html
    assert "no API key (set it in admin or AI_IMAGE_OPENROUTER_API_KEY)" in html
    assert "disabled by AI_IMAGE_SD_ENABLED" in html


def test_the_admin_says_when_a_saved_key_cannot_be_decrypted(admin_client, settings, forget_keys):
    settings.SALT_KEY = "salt-before"
    forget_keys()
    save(admin_client, openai_api_key_new=KEY)
    settings.SALT_KEY = "salt-after"
    forget_keys()
    html = admin_client.get(CHANGE_URL).content.decode()
    assert "the saved key can no longer be decrypted — enter it again" in html
    assert "saved key cannot be decrypted" in html  # the provider status
    assert "openai_api_key_remove" in html
    save(admin_client, openai_api_key_new="sk-fresh")
    assert admin_value("openai.api_key") == "sk-fresh"


def test_a_key_in_a_form_with_errors_is_not_echoed_nor_saved(admin_client):
    html = save(admin_client, openai_api_key_new=KEY, sd_endpoint="not a url").content.decode()
    assert "Please correct the error below." in html
    assert KEY not in html
    assert admin_value("openai.api_key") is None


def test_error_reports_hide_the_posted_keys(admin_client):
    response = admin_client.post(CHANGE_URL, form_data(openai_api_key_new=KEY))
    posted = SafeExceptionReporterFilter().get_post_parameters(response.wsgi_request)
    assert posted["openai_api_key_new"] != KEY
    assert set(response.wsgi_request.sensitive_post_parameters) == {
        "openai_api_key_new",
        "openrouter_api_key_new",
        "sd_api_key_new",
        "comfyui_api_key_new",
    }


def test_credentials_in_a_saved_address_never_come_back_to_the_page(admin_client):
    """An endpoint may carry a proxy's user and token; after saving they are shown masked, and saving the page
    again as it came keeps the real address."""
    secret_url = "http://alice:hunter2-token@sd-webui:7860"
    save(admin_client, sd_endpoint=secret_url)
    html = admin_client.get(CHANGE_URL).content.decode()
    assert "hunter2-token" not in html and "http://alice:********@sd-webui:7860" in html
    save(admin_client, sd_endpoint="http://alice:********@sd-webui:7860", sd_timeout="90")
    assert (admin_value("sd.endpoint"), admin_value("sd.timeout")) == (secret_url, 90)

"""A key saved in admin never follows a changed base URL or endpoint unasked (issue 11 #6).

Anyone who may change the settings could point a provider at their own host and receive the saved key with the next
request. Changing the address while a key is saved needs the key entered again in the same save — in admin and with
`imagegen set` / `unset` — unless the key comes from the environment.
"""

from __future__ import annotations

import io

import pytest

from .conftest import admin_value
from .test_cli import run, run_failing
from .test_settings_admin import save

KEY = "sk-proj-saved-key-0123456789"
NEW_KEY = "sk-proj-entered-again-9876543210"
EVIL = "https://collector.example/v1"


def errors_of(response) -> str:
    return " ".join(str(e) for errors in response.context["adminform"].form.errors.values() for e in errors)


# --- Admin ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url_field", "key_field", "label", "new_url"),
    [
        ("openai_base_url", "openai_api_key", "OpenAI", EVIL),
        ("openrouter_base_url", "openrouter_api_key", "OpenRouter", EVIL),
        ("sd_endpoint", "sd_api_key", "Stable Diffusion WebUI", "http://collector.example:7860"),
    ],
)
def test_admin_refuses_a_new_address_without_the_key(admin_client, url_field, key_field, label, new_url):
    save(admin_client, **{f"{key_field}_new": KEY, url_field: "http://10.0.0.5:8080"})
    response = save(admin_client, **{url_field: new_url})
    assert f"A key is saved for {label}" in errors_of(response)
    assert "enter the key again in the same save" in errors_of(response)
    url_name, key_name = url_field.replace("_", ".", 1), key_field.replace("_", ".", 1)
    assert (admin_value(url_name), admin_value(key_name)) == ("http://10.0.0.5:8080", KEY)
    assert KEY not in response.content.decode()


def test_admin_refuses_clearing_the_address_too(admin_client):
    # Back to the default means a gateway's key would go to api.openai.com: still somewhere new.
    save(admin_client, openai_api_key_new=KEY, openai_base_url="https://gw.example/v1")
    response = save(admin_client, openai_base_url="")
    assert "A key is saved for OpenAI" in errors_of(response)
    assert admin_value("openai.base_url") == "https://gw.example/v1"


def test_admin_accepts_a_new_address_with_the_key_entered_again(admin_client):
    save(admin_client, openai_api_key_new=KEY)
    response = save(admin_client, openai_api_key_new=NEW_KEY, openai_base_url="https://gw.example/v1")
    assert not response.context["adminform"].form.errors
    assert (admin_value("openai.base_url"), admin_value("openai.api_key")) == (
        "https://gw.example/v1",
        NEW_KEY,
    )


def test_admin_accepts_a_new_address_when_the_key_is_removed(admin_client):
    save(admin_client, openai_api_key_new=KEY)
    save(admin_client, openai_api_key_remove="on", openai_base_url="https://gw.example/v1")
    assert (admin_value("openai.base_url"), admin_value("openai.api_key")) == ("https://gw.example/v1", None)


def test_admin_accepts_a_new_address_when_the_key_comes_from_the_environment(admin_client, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    save(admin_client, openai_base_url="https://gw.example/v1")
    assert admin_value("openai.base_url") == "https://gw.example/v1"


def test_admin_other_changes_keep_the_key_without_asking(admin_client):
    save(admin_client, openai_api_key_new=KEY, openai_base_url="https://gw.example/v1")
    response = save(admin_client, openai_base_url="https://gw.example/v1", openai_timeout="30")
    assert not response.context["adminform"].form.errors
    assert (admin_value("openai.api_key"), admin_value("openai.timeout")) == (KEY, 30)


def test_admin_a_refused_new_key_is_the_only_error(admin_client):
    save(admin_client, openai_api_key_new=KEY)
    response = save(admin_client, openai_api_key_new="two words", openai_base_url=EVIL)
    form_errors = response.context["adminform"].form.errors
    assert set(form_errors) == {"openai_api_key_new"}


# --- Command line ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("setting", "key_name", "new_url"), [
    ("openai.base_url", "openai.api_key", EVIL),
    ("openrouter.base_url", "openrouter.api_key", EVIL),
    ("sd.endpoint", "sd.api_key", "http://collector.example:7860"),
])  # fmt: skip
def test_set_refuses_a_new_address_and_says_why(db, setting, key_name, new_url):
    run("set", key_name, KEY)
    error = run_failing("set", setting, new_url)
    assert error.returncode == 2
    message = str(error)
    assert message.startswith(f"{setting}: A key is saved for ")
    assert "--key-stdin" in message and f"imagegen unset {key_name}" in message
    assert KEY not in message
    assert admin_value(setting) is None


def test_set_with_key_stdin_saves_both_and_prints_neither_key(db, monkeypatch):
    run("set", "openai.api_key", KEY)
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW_KEY + "\n"))
    out, err = run("set", "openai.base_url", "https://gw.example/v1", "--key-stdin")
    assert (admin_value("openai.base_url"), admin_value("openai.api_key")) == (
        "https://gw.example/v1",
        NEW_KEY,
    )
    assert "openai.base_url: https://gw.example/v1 — from admin" in out
    assert "openai.api_key: set — from admin" in out
    assert KEY not in out + err and NEW_KEY not in out + err


def test_unset_of_an_address_is_refused_too(db):
    run("set", "openai.api_key", KEY)
    run("unset", "openai.api_key")
    run("set", "openai.base_url", "https://gw.example/v1")
    run("set", "openai.api_key", KEY)  # entered after the address: it was given for this one
    error = run_failing("unset", "openai.base_url")
    assert "A key is saved for OpenAI" in str(error)
    assert admin_value("openai.base_url") == "https://gw.example/v1"


def test_set_is_free_when_the_key_comes_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("AI_IMAGE_SD_API_KEY", "user:secret")
    out, _ = run("set", "sd.endpoint", "http://192.168.1.20:7860")
    assert "sd.endpoint: http://192.168.1.20:7860 — from admin" in out


def test_key_stdin_only_goes_with_an_address(db):
    error = run_failing("set", "openai.timeout", "30", "--key-stdin")
    assert "--key-stdin goes with a base URL or endpoint" in str(error)

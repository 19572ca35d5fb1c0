"""`manage.py imagegen config | set | unset | status`."""

import io
import logging
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from imagegen.config import SPECS
from imagegen.management.commands.imagegen import SUBCOMMANDS, Command
from imagegen.models import ImageGenerationSettings

from .conftest import admin_value, save_admin

KEY = "sk-proj-CliSecret0123456789"


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("imagegen", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(*args: str) -> CommandError:
    with pytest.raises(CommandError) as excinfo:
        run(*args)
    return excinfo.value


def test_every_subcommand_has_help():
    parser = Command().create_parser("manage.py", "imagegen")
    subparsers = next(a for a in parser._actions if a.dest == "subcommand")
    assert set(subparsers.choices) == {s.name for s in SUBCOMMANDS}
    for name, subparser in subparsers.choices.items():
        assert f"manage.py imagegen {name}" in subparser.format_help()
        assert subparser.description
    assert "--stdin" in subparsers.choices["set"].format_help()


def test_config_shows_every_setting_with_its_source_and_masks_keys(db, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("AI_IMAGE_SD_TIMEOUT", "450")
    save_admin(openrouter_api_key="or-admin-secret")
    out, _ = run("config")
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert set(lines) == {s.name for s in SPECS}
    assert lines["openai.api_key"].split() == [
        "openai.api_key",
        "set",
        "from",
        "environment",
        "(OPENAI_API_KEY)",
    ]
    assert lines["openrouter.api_key"].split() == ["openrouter.api_key", "set", "from", "admin"]
    assert lines["sd.timeout"].split()[1:] == ["450", "s", "from", "environment", "(AI_IMAGE_SD_TIMEOUT)"]
    assert lines["enabled"].split()[1:] == ["On", "default"]
    assert out.startswith("Image generation: available (default provider: OpenAI)")
    assert KEY not in out
    assert "or-admin-secret" not in out


def test_config_reports_a_malformed_environment_value(db, monkeypatch):
    monkeypatch.setenv("AI_IMAGE_ENABLED", "maybe")
    out, _ = run("config")
    assert "Image generation: not available — AI_IMAGE_ENABLED: 'maybe' is not a boolean" in out


@pytest.mark.parametrize(
    ("name", "text", "field", "stored", "shown"),
    [
        ("enabled", "off", "enabled", False, "enabled: Off — from admin"),
        (
            "default_provider",
            "openrouter",
            "default_provider",
            "openrouter",
            "default_provider: OpenRouter — from admin",
        ),
        ("openai.enabled", "true", "openai_enabled", True, "openai.enabled: On — from admin"),
        (
            "openai.base_url",
            "https://gw.example/v1",
            "openai_base_url",
            "https://gw.example/v1",
            "openai.base_url: https://gw.example/v1 — from admin",
        ),
        (
            "sd.endpoint",
            "http://sd-webui:7860",
            "sd_endpoint",
            "http://sd-webui:7860",
            "sd.endpoint: http://sd-webui:7860 — from admin",
        ),
        ("openrouter.timeout", "90", "openrouter_timeout", 90, "openrouter.timeout: 90 s — from admin"),
        ("daily_limit", "20", "daily_limit", 20, "daily_limit: 20 images — from admin"),
        (
            "monthly_budget",
            "12.5",
            "monthly_budget",
            Decimal("12.50"),
            "monthly_budget: 12.50 USD — from admin",
        ),
    ],
)
def test_set_saves_in_the_database(db, name, text, field, stored, shown):
    out, _ = run("set", name, text)
    assert admin_value(name) == stored
    assert out.strip() == shown


def test_set_a_key_from_stdin_never_prints_it(db, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr("sys.stdin", io.StringIO(KEY + "\n"))
    out, err = run("set", "openai.api_key", "--stdin")
    assert admin_value("openai.api_key") == KEY
    assert out.strip() == "openai.api_key: set — from admin"
    assert KEY not in out + err + caplog.text
    assert "openai.api_key changed from the command line" in caplog.text


def test_set_a_key_as_an_argument_works_but_suggests_stdin(db):
    out, err = run("set", "sd.api_key", "user:pw")
    assert admin_value("sd.api_key") == "user:pw"
    assert "--stdin" in err
    assert "user:pw" not in out + err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("set", "openai.colour", "blue"),
            "Unknown setting 'openai.colour'. Settings: enabled, default_provider",
        ),
        (("unset", "nope"), "Unknown setting 'nope'"),
        (("set", "enabled", "maybe"), "enabled: 'maybe' is not a boolean: use true or false."),
        (("set", "default_provider", "dall-e"), "default_provider: 'dall-e' is not a provider"),
        (("set", "sd.endpoint", "127.0.0.1:7860"), "sd.endpoint: '127.0.0.1:7860' is not an http(s) URL."),
        (("set", "openai.timeout", "0"), "openai.timeout: '0' is not a whole number of seconds, 1 to 3600."),
        (("set", "monthly_budget", "-3"), "monthly_budget: '-3' is not an amount in USD"),
        (
            ("set", "openai.base_url", "https://x.example/" + "a" * 600),
            "openai.base_url: the address is longer than 500 characters.",
        ),
        (("set", "daily_limit"), "Give either VALUE or --stdin."),
        (("set", "daily_limit", "3", "--stdin"), "Give either VALUE or --stdin."),
    ],
)
def test_bad_input_is_a_clear_error_with_status_2(db, args, message):
    error = run_failing(*args)
    assert error.returncode == 2
    assert message in str(error)
    assert ImageGenerationSettings.objects.filter(daily_limit__isnull=False).count() == 0


def test_a_bad_key_is_refused_without_echoing_it(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("sk-two words-SECRETPART"))
    error = run_failing("set", "openai.api_key", "--stdin")
    assert error.returncode == 2
    assert "SECRETPART" not in str(error)


def test_unset_goes_back_to_the_environment_or_default(db, monkeypatch):
    monkeypatch.setenv("AI_IMAGE_OPENAI_TIMEOUT", "66")
    run("set", "openai.timeout", "30")
    run("set", "openai.api_key", KEY)
    run("set", "sd.endpoint", "http://sd:1")
    out, _ = run("unset", "openai.timeout")
    assert out.strip() == "openai.timeout: 66 s — from environment (AI_IMAGE_OPENAI_TIMEOUT)"
    out, _ = run("unset", "openai.api_key")
    assert out.strip() == "openai.api_key: not set"
    run("unset", "sd.endpoint")
    assert [admin_value(n) for n in ("openai.timeout", "openai.api_key", "sd.endpoint")] == [None, None, None]


def test_status_exit_0_when_available(db, monkeypatch):
    monkeypatch.setenv("AI_IMAGE_SD_ENDPOINT", "http://127.0.0.1:7860")
    out, _ = run("status")
    assert "OpenAI                  not available — no API key (set it in admin or OPENAI_API_KEY)" in out
    assert "Stable Diffusion WebUI  available" in out
    assert out.strip().endswith("Image generation: available (default provider: Stable Diffusion WebUI)")


def test_status_exit_1_when_not_available(db, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    run("set", "enabled", "false")
    out = io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("imagegen", "status", stdout=out)
    assert excinfo.value.returncode == 1
    assert "disabled in admin" in str(excinfo.value)
    assert "OpenAI                  available" in out.getvalue()
    assert KEY not in out.getvalue()

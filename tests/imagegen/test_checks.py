"""System checks: malformed AI_IMAGE_* environment values are errors naming the variable."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from imagegen.checks import check_environment


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("AI_IMAGE_ENABLED", "maybe", "AI_IMAGE_ENABLED: 'maybe' is not a boolean: use true or false"),
        ("AI_IMAGE_SD_ENABLED", "2", "AI_IMAGE_SD_ENABLED: '2' is not a boolean: use true or false"),
        (
            "AI_IMAGE_DEFAULT_PROVIDER",
            "dalle",
            "AI_IMAGE_DEFAULT_PROVIDER: 'dalle' is not a provider: use one of openai, openrouter, stable-diffusion, comfyui",
        ),
        (
            "AI_IMAGE_SD_ENDPOINT",
            "127.0.0.1:7860",
            "AI_IMAGE_SD_ENDPOINT: '127.0.0.1:7860' is not an http(s) URL",
        ),
        (
            "AI_IMAGE_OPENAI_BASE_URL",
            "ftp://x.example",
            "AI_IMAGE_OPENAI_BASE_URL: 'ftp://x.example' is not an http(s) URL",
        ),
        (
            "AI_IMAGE_OPENROUTER_TIMEOUT",
            "1.5",
            "AI_IMAGE_OPENROUTER_TIMEOUT: '1.5' is not a whole number of seconds, 1 to 3600",
        ),
        (
            "AI_IMAGE_DAILY_LIMIT",
            "lots",
            "AI_IMAGE_DAILY_LIMIT: 'lots' is not a whole number up to 1,000,000",
        ),
        (
            "AI_IMAGE_MONTHLY_BUDGET",
            "$5",
            "AI_IMAGE_MONTHLY_BUDGET: '$5' is not an amount in USD, e.g. 25 or 12.50",
        ),
    ],
)
def test_a_malformed_value_is_an_error_naming_the_variable(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    errors = check_environment()
    assert [(e.id, e.msg) for e in errors] == [("imagegen.E001", message)]
    assert variable in errors[0].hint


def test_a_malformed_key_is_reported_without_its_value(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-pasted with-SECRETPART")
    [error] = check_environment()
    assert error.msg == "OPENAI_API_KEY: an API key is one word with no spaces"
    assert "SECRETPART" not in error.msg + error.hint


def test_good_values_pass(monkeypatch):
    for variable, value in {
        "AI_IMAGE_ENABLED": "true",
        "AI_IMAGE_DEFAULT_PROVIDER": "stable-diffusion",
        "AI_IMAGE_OPENAI_ENABLED": "off",
        "OPENAI_API_KEY": "sk-x",
        "AI_IMAGE_SD_ENDPOINT": "http://sd-webui:7860",
        "AI_IMAGE_OPENROUTER_BASE_URL": "https://openrouter.ai/api/v1",
        "AI_IMAGE_SD_TIMEOUT": "600",
        "AI_IMAGE_DAILY_LIMIT": "0",
        "AI_IMAGE_MONTHLY_BUDGET": "99.99",
    }.items():
        monkeypatch.setenv(variable, value)
    assert check_environment() == []


def test_manage_py_check_fails_on_a_malformed_value(monkeypatch):
    monkeypatch.setenv("AI_IMAGE_ENABLED", "maybe")
    with pytest.raises(SystemCheckError, match=r"imagegen\.E001\) AI_IMAGE_ENABLED"):
        call_command("check", stdout=io.StringIO(), stderr=io.StringIO())

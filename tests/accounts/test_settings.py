"""Settings come from the environment and refuse to start without secrets in production."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AI_IMAGE_"))}
    # Start from a clean slate for the variables under test; a developer's .env must not decide the outcome.
    for name in ("DEBUG", "SECRET_KEY", "SALT_KEY", "ALLOW_SIGNUP", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT"):
        environment[name] = ""
    environment.update(env)
    environment["DJANGO_SETTINGS_MODULE"] = "inkweld.settings"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


PRINT_SETTINGS = (
    "import django; from django.conf import settings; django.setup(); "
    "print(settings.DEBUG, settings.ALLOW_SIGNUP, settings.ALLOWED_HOSTS)"
)


@pytest.mark.parametrize("missing", ["SECRET_KEY", "SALT_KEY"])
def test_production_refuses_to_start_without_secret(missing):
    env = {"SECRET_KEY": "s" * 60, "SALT_KEY": "salt", "DEBUG": "false"}
    env[missing] = ""
    result = run_python(PRINT_SETTINGS, **env)
    assert result.returncode != 0
    assert f"{missing} is not set and DEBUG is off" in result.stderr
    assert "secrets.token_urlsafe" in result.stderr  # says how to make one


def test_debug_defaults_to_off_and_booleans_parse():
    result = run_python(PRINT_SETTINGS, SECRET_KEY="s" * 60, SALT_KEY="salt", ALLOW_SIGNUP="no")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["False", "False"]


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", "True"), ("1", "True"), ("on", "True"), ("off", "False")]
)
def test_debug_boolean_spellings(raw, expected):
    result = run_python(PRINT_SETTINGS, DEBUG=raw, SECRET_KEY="s" * 60, SALT_KEY="salt")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == expected


def test_malformed_boolean_fails_loudly():
    result = run_python(PRINT_SETTINGS, DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_lists_parse_from_comma_separated_values():
    result = run_python(PRINT_SETTINGS, DEBUG="true", ALLOWED_HOSTS="a.example,b.example")
    assert result.returncode == 0, result.stderr
    assert "['a.example', 'b.example']" in result.stdout


def test_check_deploy_is_clean_in_production_mode():
    result = run_python(
        "import sys; from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])",
        DEBUG="false",
        SECRET_KEY="kq3-" + "x7Fp9LmZ2vQ8rT5wY1bN4cJ6hD0gS3aE" * 2,
        SALT_KEY="a-production-salt",
        ALLOWED_HOSTS="inkweld.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout

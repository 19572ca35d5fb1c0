"""imagegen.config: admin value, else environment, else default — for every setting — and availability."""

from decimal import Decimal

import pytest

from imagegen import config
from imagegen.config import SPEC_BY_NAME, get_config
from imagegen.models import ImageGenerationSettings

from .conftest import save_admin

# name: (admin value, environment text, environment value, default). Admin and environment values differ so the
# winner is visible; provider `enabled` defaults follow the credential, which is absent here.
PRECEDENCE = {
    "enabled": (False, "yes", True, True),
    "default_provider": ("openrouter", "stable-diffusion", "stable-diffusion", "openai"),
    "openai.enabled": (False, "true", True, False),
    "openai.api_key": ("sk-admin-1", "sk-env-1", "sk-env-1", ""),
    "openai.base_url": (
        "https://gw.example/v1",
        "https://env.example/v1",
        "https://env.example/v1",
        "https://api.openai.com/v1",
    ),
    "openai.timeout": (30, "45", 45, 120),
    "openrouter.enabled": (True, "off", False, False),
    "openrouter.api_key": ("or-admin", "or-env", "or-env", ""),
    "openrouter.base_url": (
        "https://a.example/v1",
        "http://b.example/v1",
        "http://b.example/v1",
        "https://openrouter.ai/api/v1",
    ),
    "openrouter.timeout": (10, "20", 20, 120),
    "sd.enabled": (False, "1", True, False),
    "sd.endpoint": ("http://sd-webui:7860", "http://127.0.0.1:7860", "http://127.0.0.1:7860", ""),
    "sd.api_key": ("user:pw", "token-env", "token-env", ""),
    "sd.timeout": (600, "200", 200, 300),
    "comfyui.enabled": (False, "on", True, False),
    "comfyui.endpoint": ("http://comfyui:8188", "http://127.0.0.1:8188", "http://127.0.0.1:8188", ""),
    "comfyui.api_key": ("proxy:pw", "proxy-token", "proxy-token", ""),
    "comfyui.timeout": (900, "600", 600, 300),
    "comfyui.workflow": (
        {"9": {"class_type": "SaveImage", "inputs": {}}},
        '{"3": {"class_type": "KSampler"}}',
        {"3": {"class_type": "KSampler"}},
        None,
    ),
    "comfyui.workflow_inputs": ("prompt = 6.text", "prompt = 12.text", "prompt = 12.text", ""),
    "daily_limit": (5, "10", 10, None),
    "monthly_budget": (Decimal("12.50"), "30", Decimal("30.00"), None),
    "unknown_price": ("allow", "refuse", "refuse", "refuse"),
    "assumed_price": (Decimal("0.50"), "0.40", Decimal("0.40"), Decimal("0.25")),
}


def test_the_precedence_table_covers_every_setting():
    assert set(PRECEDENCE) == set(SPEC_BY_NAME)


_save_admin = save_admin


@pytest.mark.parametrize("name", PRECEDENCE)
def test_admin_value_wins_over_environment(db, monkeypatch, name):
    admin_value, env_text, _, _ = PRECEDENCE[name]
    spec = SPEC_BY_NAME[name]
    monkeypatch.setenv(spec.env, env_text)
    _save_admin(**{spec.field: admin_value})
    setting = get_config().setting(name)
    assert (setting.value, setting.source) == (admin_value, "admin")


@pytest.mark.parametrize("name", PRECEDENCE)
def test_environment_wins_over_default(db, monkeypatch, name):
    _, env_text, env_value, _ = PRECEDENCE[name]
    spec = SPEC_BY_NAME[name]
    monkeypatch.setenv(spec.env, env_text)
    ImageGenerationSettings.load()  # a saved but blank row still means "use the environment"
    setting = get_config().setting(name)
    assert (setting.value, setting.source, setting.env_name) == (env_value, "environment", spec.env)


@pytest.mark.parametrize("name", PRECEDENCE)
def test_default_when_set_nowhere(db, name):
    setting = get_config().setting(name)
    assert (setting.value, setting.source) == (PRECEDENCE[name][3], "default")


def test_an_empty_environment_value_counts_as_unset(db, monkeypatch):
    monkeypatch.setenv("AI_IMAGE_OPENAI_TIMEOUT", "  ")
    assert get_config().provider("openai").timeout.source == "default"


def test_environment_is_read_at_call_time(db, monkeypatch):
    assert get_config().provider("openai").api_key.value == ""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-later")
    assert get_config().provider("openai").api_key.value == "sk-later"


def test_get_config_is_two_queries_and_does_not_create_the_row(db, django_assert_num_queries):
    # One for the settings singleton, one for every provider's saved settings, however many providers there are.
    with django_assert_num_queries(2):
        get_config()
    assert not ImageGenerationSettings.objects.exists()
    ImageGenerationSettings.load()
    with django_assert_num_queries(2):
        cfg = get_config()
        cfg.available_providers(), cfg.effective_default_provider(), cfg.connection("openai")


# --- provider enabled follows the credential -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "provider_id", "note"),
    [
        ({"OPENAI_API_KEY": "sk-x"}, "openai", "API key is set"),
        ({"AI_IMAGE_OPENROUTER_API_KEY": "or-x"}, "openrouter", "API key is set"),
        ({"AI_IMAGE_SD_ENDPOINT": "http://127.0.0.1:7860"}, "stable-diffusion", "endpoint URL is set"),
    ],
)
def test_a_provider_set_nowhere_is_enabled_by_its_credential(db, monkeypatch, env, provider_id, note):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cfg = get_config()
    enabled = cfg.provider(provider_id).enabled
    assert (enabled.value, enabled.source) == (True, "default")
    assert enabled.display() == f"On — default ({note})"
    assert cfg.provider_status(provider_id) == config.Availability(True)


def test_sd_api_key_alone_does_not_enable_stable_diffusion(db, monkeypatch):
    monkeypatch.setenv("AI_IMAGE_SD_API_KEY", "user:pw")
    assert get_config().provider("stable-diffusion").enabled.value is False


# --- availability reasons ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "admin", "provider_id", "reason"),
    [
        ({"OPENAI_API_KEY": "sk-x"}, {"openai_enabled": False}, "openai", "disabled in admin"),
        (
            {"OPENAI_API_KEY": "sk-x", "AI_IMAGE_OPENAI_ENABLED": "false"},
            {},
            "openai",
            "disabled by AI_IMAGE_OPENAI_ENABLED",
        ),
        (
            {"AI_IMAGE_SD_ENDPOINT": "http://x:1", "AI_IMAGE_SD_ENABLED": "no"},
            {},
            "stable-diffusion",
            "disabled by AI_IMAGE_SD_ENABLED",
        ),
        ({}, {}, "openai", "no API key (set it in admin or OPENAI_API_KEY)"),
        ({"AI_IMAGE_OPENAI_ENABLED": "true"}, {}, "openai", "no API key (set it in admin or OPENAI_API_KEY)"),
        ({}, {}, "openrouter", "no API key (set it in admin or AI_IMAGE_OPENROUTER_API_KEY)"),
        (
            {},
            {"sd_enabled": True},
            "stable-diffusion",
            "no endpoint URL (set it in admin or AI_IMAGE_SD_ENDPOINT)",
        ),
        (
            {"AI_IMAGE_SD_ENDPOINT": "ftp://x"},
            {},
            "stable-diffusion",
            "AI_IMAGE_SD_ENDPOINT: 'ftp://x' is not an http(s) URL",
        ),
        (
            {"OPENAI_API_KEY": "sk-x", "AI_IMAGE_OPENAI_TIMEOUT": "soon"},
            {},
            "openai",
            "AI_IMAGE_OPENAI_TIMEOUT: 'soon' is not a whole number of seconds, 1 to 3600",
        ),
    ],
)
def test_unavailable_providers_say_why(db, monkeypatch, env, admin, provider_id, reason):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    _save_admin(**admin)
    assert get_config().provider_status(provider_id) == config.Availability(False, reason)


def test_admin_enabling_overrides_environment_disabling(db, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    monkeypatch.setenv("AI_IMAGE_OPENAI_ENABLED", "false")
    _save_admin(openai_enabled=True)
    assert get_config().provider_status("openai").available


def test_generation_needs_the_master_switch_and_a_provider(db, monkeypatch):
    assert not get_config().generation_available()
    assert get_config().generation_status().reason == "no provider is available"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    assert get_config().generation_available()
    monkeypatch.setenv("AI_IMAGE_ENABLED", "false")
    assert not get_config().generation_available()
    assert get_config().generation_status().reason == "disabled by AI_IMAGE_ENABLED"
    assert get_config().available_providers() == []
    assert get_config().effective_default_provider() is None
    _save_admin(enabled=False)
    monkeypatch.delenv("AI_IMAGE_ENABLED")
    assert get_config().generation_status().reason == "disabled in admin"


def test_a_malformed_master_switch_fails_closed_naming_the_variable(db, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    monkeypatch.setenv("AI_IMAGE_ENABLED", "maybe")
    status = get_config().generation_status()
    assert not status.available
    assert "AI_IMAGE_ENABLED" in status.reason


def test_effective_default_provider_falls_back_in_order(db, monkeypatch):
    monkeypatch.setenv("AI_IMAGE_DEFAULT_PROVIDER", "openrouter")
    monkeypatch.setenv("AI_IMAGE_SD_ENDPOINT", "http://127.0.0.1:7860")
    assert get_config().available_providers() == ["stable-diffusion"]
    assert get_config().effective_default_provider() == "stable-diffusion"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    assert get_config().effective_default_provider() == "openai"
    monkeypatch.setenv("AI_IMAGE_OPENROUTER_API_KEY", "or-x")
    assert get_config().available_providers() == ["openai", "openrouter", "stable-diffusion"]
    assert get_config().effective_default_provider() == "openrouter"


# --- the connection handed to providers ----------------------------------------------------------------------


def test_provider_connection(db, monkeypatch, settings):
    settings.SITE_URL = "https://inkweld.example"
    monkeypatch.setenv("AI_IMAGE_OPENROUTER_API_KEY", "or-secret-123")
    monkeypatch.setenv("AI_IMAGE_OPENROUTER_BASE_URL", "https://gw.example/api/v1/")
    _save_admin(sd_endpoint="http://sd-webui:7860/", sd_timeout=900)
    conn = get_config().connection("openrouter")
    assert conn == config.ProviderConnection(
        provider_id="openrouter",
        api_key="or-secret-123",
        base_url="https://gw.example/api/v1",
        timeout=120.0,
        site_url="https://inkweld.example",
        extra={},
    )
    assert "or-secret-123" not in repr(conn)
    sd = get_config().connection("stable-diffusion")
    assert (sd.base_url, sd.timeout, sd.api_key) == ("http://sd-webui:7860", 900.0, "")
    with pytest.raises(ValueError, match="unknown provider"):
        get_config().connection("dall-e")


def test_reprs_and_displays_never_show_keys(db, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-secret")
    _save_admin(openrouter_api_key="or-admin-secret")
    cfg = get_config()
    text = repr(cfg) + str(cfg.settings()) + "".join(s.display() for s in cfg.settings())
    assert "sk-env-secret" not in text
    assert "or-admin-secret" not in text
    assert cfg.provider("openai").api_key.display() == "set — from environment (OPENAI_API_KEY)"
    assert cfg.provider("openrouter").api_key.display() == "set — from admin"
    assert cfg.provider("stable-diffusion").api_key.display() == "not set"


@pytest.mark.parametrize(
    ("env", "name", "shown"),
    [
        (
            {"AI_IMAGE_OPENAI_ENABLED": "true"},
            "openai.enabled",
            "On — from environment (AI_IMAGE_OPENAI_ENABLED)",
        ),
        ({}, "enabled", "On — default"),
        ({}, "openai.timeout", "120 s — default"),
        ({"AI_IMAGE_DAILY_LIMIT": "7"}, "daily_limit", "7 images — from environment (AI_IMAGE_DAILY_LIMIT)"),
        ({}, "monthly_budget", "no limit — default"),
        (
            {"AI_IMAGE_DEFAULT_PROVIDER": "stable-diffusion"},
            "default_provider",
            "Stable Diffusion WebUI — from environment (AI_IMAGE_DEFAULT_PROVIDER)",
        ),
        (
            {"AI_IMAGE_SD_ENDPOINT": "http://u:hunter2@sd:7860"},
            "sd.endpoint",
            "http://u:********@sd:7860 — from environment (AI_IMAGE_SD_ENDPOINT)",
        ),
    ],
)
def test_display(db, monkeypatch, env, name, shown):
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert get_config().setting(name).display() == shown


@pytest.mark.parametrize("raw", ["²", "٣", "9" * 5000, "99999999", "3601", "0", "-5", "1.5", "1e3"])
def test_a_timeout_that_is_no_plain_number_of_seconds_fails_closed(db, monkeypatch, raw):
    """Digits of other scripts pass isdigit() but not int(); a huge timeout breaks every socket. Neither may crash."""
    monkeypatch.setenv("AI_IMAGE_OPENAI_TIMEOUT", raw)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    status = get_config().provider_status("openai")
    assert (
        not status.available and "AI_IMAGE_OPENAI_TIMEOUT" in status.reason and "1 to 3600" in status.reason
    )


def test_the_saved_settings_never_show_their_keys_in_a_repr(db):
    from imagegen.saved_settings import load_saved

    save_admin(openai_api_key="sk-never-in-a-repr-0123456789")
    assert "sk-never-in-a-repr" not in repr(load_saved())

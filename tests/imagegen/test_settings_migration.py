"""The move of provider settings from the singleton's columns to ProviderSetting rows keeps the effective
configuration exactly as it was: values, where they come from, and saved keys (readable or not)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from imagegen.config import get_config
from imagegen.models import UndecryptableKey

KEY = "sk-proj-migrated-0123456789abcdef"

# What an admin had saved, column by column, and what each setting must say afterwards.
SAVED = {
    "openai_enabled": False,
    "openai_api_key": KEY,
    "openai_base_url": "https://gw.example/v1",
    "openai_timeout": 30,
    "openrouter_api_key": "or-admin-key",
    "sd_enabled": True,
    "sd_endpoint": "http://sd-webui:7860",
    "sd_api_key": "writer:pw",
    "sd_timeout": 600,
}
EXPECTED = {
    "openai.enabled": False,
    "openai.api_key": KEY,
    "openai.base_url": "https://gw.example/v1",
    "openai.timeout": 30,
    "openrouter.api_key": "or-admin-key",
    "sd.enabled": True,
    "sd.endpoint": "http://sd-webui:7860",
    "sd.api_key": "writer:pw",
    "sd.timeout": 600,
}


@pytest.mark.django_db(transaction=True)
def test_saved_settings_and_keys_keep_their_effective_values(migrator, monkeypatch):
    old = migrator.apply_initial_migration(("imagegen", "0005_costs_and_prices"))
    Settings = old.apps.get_model("imagegen", "ImageGenerationSettings")
    Settings.objects.create(pk=1, enabled=True, default_provider="stable-diffusion", daily_limit=5, **SAVED)
    # Environment values that admin's must keep winning over.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-should-lose")
    monkeypatch.setenv("AI_IMAGE_SD_TIMEOUT", "45")

    migrator.apply_tested_migration(("imagegen", "0006_provider_settings"))
    call_command("migrate", verbosity=0)  # to today's schema, so the product's own code can read it
    config = get_config()
    for name, value in EXPECTED.items():
        setting = config.setting(name)
        assert (setting.value, setting.source) == (value, "admin"), name
    assert config.default_provider.value == "stable-diffusion" and config.daily_limit.value == 5
    assert config.provider("openrouter").enabled.note == "API key is set"  # still follows its credential
    assert config.connection("stable-diffusion").base_url == "http://sd-webui:7860"


@pytest.mark.django_db(transaction=True)
def test_a_key_that_cannot_be_decrypted_moves_as_its_ciphertext(migrator, settings):
    from tests.imagegen.conftest import forget_encryption_keys

    settings.SALT_KEY = "salt-of-an-older-server"
    forget_encryption_keys()
    old = migrator.apply_initial_migration(("imagegen", "0005_costs_and_prices"))
    old.apps.get_model("imagegen", "ImageGenerationSettings").objects.create(pk=1, openai_api_key=KEY)
    settings.SALT_KEY = "salt-of-this-server"
    forget_encryption_keys()
    try:
        migrator.apply_tested_migration(("imagegen", "0006_provider_settings"))
        call_command("migrate", verbosity=0)
        config = get_config()
        assert isinstance(config.setting("openai.api_key").value, UndecryptableKey)
        assert not config.provider("openai").status().available
        # The old salt back as a fallback: the key reads again, so nothing was lost on the way.
        settings.SALT_KEY = ["salt-of-this-server", "salt-of-an-older-server"]
        forget_encryption_keys()
        assert get_config().connection("openai").api_key == KEY
    finally:
        forget_encryption_keys()

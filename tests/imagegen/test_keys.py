"""API keys: encrypted at rest, never in dumps, and never sent as ciphertext when they cannot be decrypted."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from imagegen import config
from imagegen.config import get_config
from imagegen.models import ProviderSetting, UndecryptableKey

from .conftest import admin_value, save_admin

KEY = "sk-proj-TopSecret0123456789"


def _raw_secret(provider: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret FROM imagegen_providersetting WHERE provider = %s AND key = 'api_key'", [provider]
        )
        row = cursor.fetchone()
        return row[0] if row else None


def test_the_key_is_encrypted_in_the_database(db):
    save_admin(openai_api_key=KEY)
    raw = _raw_secret("openai")
    assert KEY not in raw
    assert raw.startswith("gAAAAA")  # a Fernet token
    assert admin_value("openai.api_key") == KEY


def test_an_unset_key_is_not_stored(db):
    save_admin(sd_api_key="user:pw")
    save_admin(sd_api_key=None)
    assert _raw_secret("stable-diffusion") is None
    assert admin_value("sd.api_key") is None


def test_dumpdata_shows_ciphertext_and_loaddata_reads_it_back(db, tmp_path):
    save_admin(openai_api_key=KEY)
    out = io.StringIO()
    call_command("dumpdata", "imagegen.ProviderSetting", stdout=out)
    assert KEY not in out.getvalue()
    dump = tmp_path / "settings.json"
    dump.write_text(out.getvalue())
    ProviderSetting.objects.all().delete()
    call_command("loaddata", str(dump), stdout=io.StringIO())
    assert admin_value("openai.api_key") == KEY


@pytest.fixture
def undecryptable(db, settings, forget_keys):
    """A key saved under one SALT_KEY, then read with another (the salt was changed without keeping the old one)."""
    settings.SALT_KEY = "salt-before"
    forget_keys()
    save_admin(openai_api_key=KEY)
    ciphertext = _raw_secret("openai")
    settings.SALT_KEY = "salt-after"
    forget_keys()
    return ciphertext


def test_an_undecryptable_key_is_recognised_not_returned_as_ciphertext(undecryptable):
    value = admin_value("openai.api_key")
    assert isinstance(value, UndecryptableKey)
    assert value == ""
    assert undecryptable not in repr(value)


def test_an_undecryptable_key_makes_the_provider_unavailable_and_is_never_sent(undecryptable, monkeypatch):
    # Even with a key in the environment: the admin's (unusable) key wins, and admin says to enter it again.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key")
    cfg = config.get_config()
    assert cfg.provider("openai").api_key.source == "admin"
    assert cfg.provider("openai").enabled.value is True
    assert cfg.provider_status("openai") == config.Availability(
        False, "saved key cannot be decrypted — enter it again in admin"
    )
    assert (
        cfg.provider("openai").api_key.display()
        == "the saved key can no longer be decrypted — enter it again"
    )
    conn = cfg.connection("openai")
    assert conn.api_key == ""
    assert undecryptable not in repr(cfg) + repr(conn) + str(cfg.settings())


def test_saving_the_settings_again_keeps_the_ciphertext_for_a_later_fallback(
    undecryptable, settings, forget_keys
):
    save_admin(daily_limit=3, openai_timeout=30)
    save_admin(openai_api_key=admin_value("openai.api_key"))  # written back as it was read
    assert _raw_secret("openai") == undecryptable
    # Putting the old salt back as a fallback makes the key readable again.
    settings.SALT_KEY = ["salt-after", "salt-before"]
    forget_keys()
    assert admin_value("openai.api_key") == KEY
    assert get_config().connection("openai").api_key == KEY


def test_a_secret_key_fallback_keeps_saved_keys_readable(db, settings, forget_keys):
    settings.SECRET_KEY = "old-secret"
    forget_keys()
    save_admin(openrouter_api_key=KEY)
    settings.SECRET_KEY = "new-secret"
    settings.SECRET_KEY_FALLBACKS = ["old-secret"]
    forget_keys()
    assert get_config().connection("openrouter").api_key == KEY


def test_loaddata_from_a_server_with_other_secrets_never_sends_the_ciphertext(
    db, tmp_path, settings, forget_keys
):
    settings.SALT_KEY = "the-old-servers-salt"
    forget_keys()
    save_admin(openai_api_key=KEY)
    out = io.StringIO()
    call_command("dumpdata", "imagegen.ProviderSetting", stdout=out)
    dump = tmp_path / "settings.json"
    dump.write_text(out.getvalue())
    ProviderSetting.objects.all().delete()

    settings.SALT_KEY = "the-new-servers-salt"
    forget_keys()
    call_command("loaddata", str(dump), stdout=io.StringIO())
    connection_ = get_config().connection("openai")
    assert connection_.api_key == ""
    assert not get_config().provider_status("openai").available
    assert "cannot be decrypted" in get_config().provider_status("openai").reason


@pytest.mark.parametrize("bad", ["sk-abc…def", "sk-“quoted”", "sk-\x07bell"])
def test_a_key_that_cannot_travel_in_an_http_header_is_refused(bad):
    spec = config.SPEC_BY_NAME["openai.api_key"]
    with pytest.raises(config.InvalidValue, match="plain ASCII"):
        config.parse(spec, bad)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://sd.local:7860", "http://sd.local:7860"),
        ("http://alice:s3cret@sd.local:7860/", "http://alice:********@sd.local:7860/"),
        ("https://tok3n@sd.local", "https://********@sd.local"),
    ],
)
def test_credentials_in_urls_are_masked_for_display(url, shown):
    assert config.display_url(url) == shown

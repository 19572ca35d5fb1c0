"""API keys: encrypted at rest, never in dumps, and never sent as ciphertext when they cannot be decrypted."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from imagegen import config
from imagegen.models import ImageGenerationSettings, UndecryptableKey

KEY = "sk-proj-TopSecret0123456789"


def _raw_column(column: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM imagegen_imagegenerationsettings")  # noqa: S608 - fixed names
        return cursor.fetchone()[0]


def test_the_key_is_encrypted_in_the_database(db):
    row = ImageGenerationSettings.load()
    row.openai_api_key = KEY
    row.save()
    raw = _raw_column("openai_api_key")
    assert KEY not in raw
    assert raw.startswith("gAAAAA")  # a Fernet token
    assert ImageGenerationSettings.load().openai_api_key == KEY


def test_an_unset_key_is_stored_as_null(db):
    ImageGenerationSettings.load()
    assert _raw_column("sd_api_key") is None
    assert ImageGenerationSettings.load().sd_api_key is None


def test_dumpdata_shows_ciphertext_and_loaddata_reads_it_back(db, tmp_path):
    row = ImageGenerationSettings.load()
    row.openai_api_key = KEY
    row.save()
    out = io.StringIO()
    call_command("dumpdata", "imagegen.ImageGenerationSettings", stdout=out)
    assert KEY not in out.getvalue()
    dump = tmp_path / "settings.json"
    dump.write_text(out.getvalue())
    ImageGenerationSettings.objects.all().delete()
    call_command("loaddata", str(dump), stdout=io.StringIO())
    assert ImageGenerationSettings.load().openai_api_key == KEY


@pytest.fixture
def undecryptable(db, settings, forget_keys):
    """A key saved under one SALT_KEY, then read with another (the salt was changed without keeping the old one)."""
    settings.SALT_KEY = "salt-before"
    forget_keys()
    row = ImageGenerationSettings.load()
    row.openai_api_key = KEY
    row.save()
    ciphertext = _raw_column("openai_api_key")
    settings.SALT_KEY = "salt-after"
    forget_keys()
    return ciphertext


def test_an_undecryptable_key_is_recognised_not_returned_as_ciphertext(undecryptable):
    value = ImageGenerationSettings.load().openai_api_key
    assert isinstance(value, UndecryptableKey)
    assert value == ""
    assert undecryptable not in repr(value)


def test_an_undecryptable_key_makes_the_provider_unavailable_and_is_never_sent(undecryptable, monkeypatch):
    # Even with a key in the environment: the admin's (unusable) key wins, and admin says to enter it again.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key")
    cfg = config.get_config()
    assert cfg.openai.api_key.source == "admin"
    assert cfg.openai.enabled.value is True
    assert cfg.provider_status("openai") == config.Availability(
        False, "saved key cannot be decrypted — enter it again in admin"
    )
    assert cfg.openai.api_key.display() == "the saved key can no longer be decrypted — enter it again"
    conn = cfg.connection("openai")
    assert conn.api_key == ""
    assert undecryptable not in repr(cfg) + repr(conn) + str(cfg.settings())


def test_saving_the_row_again_keeps_the_ciphertext_for_a_later_fallback(undecryptable, settings, forget_keys):
    row = ImageGenerationSettings.load()
    row.daily_limit = 3
    row.save()
    assert _raw_column("openai_api_key") == undecryptable
    # Putting the old salt back as a fallback makes the key readable again.
    settings.SALT_KEY = ["salt-after", "salt-before"]
    forget_keys()
    assert ImageGenerationSettings.load().openai_api_key == KEY
    assert config.provider_connection("openai").api_key == KEY


def test_a_secret_key_fallback_keeps_saved_keys_readable(db, settings, forget_keys):
    settings.SECRET_KEY = "old-secret"
    forget_keys()
    row = ImageGenerationSettings.load()
    row.openrouter_api_key = KEY
    row.save()
    settings.SECRET_KEY = "new-secret"
    settings.SECRET_KEY_FALLBACKS = ["old-secret"]
    forget_keys()
    assert config.provider_connection("openrouter").api_key == KEY


def test_loaddata_from_a_server_with_other_secrets_never_sends_the_ciphertext(
    db, tmp_path, settings, forget_keys
):
    settings.SALT_KEY = "the-old-servers-salt"
    forget_keys()
    row = ImageGenerationSettings.load()
    row.openai_api_key = KEY
    row.save()
    out = io.StringIO()
    call_command("dumpdata", "imagegen.ImageGenerationSettings", stdout=out)
    dump = tmp_path / "settings.json"
    dump.write_text(out.getvalue())
    ImageGenerationSettings.objects.all().delete()

    settings.SALT_KEY = "the-new-servers-salt"
    forget_keys()
    call_command("loaddata", str(dump), stdout=io.StringIO())
    connection_ = config.provider_connection("openai")
    assert connection_.api_key == ""
    assert not config.provider_status("openai").available
    assert "cannot be decrypted" in config.provider_status("openai").reason


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

"""Fixtures for the imagegen tests: a clean AI_IMAGE_* environment, and helpers for the settings singleton."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest


def forget_encryption_keys() -> None:
    """Drop the encrypted fields' cached Fernet keys so the next use derives them from the current settings."""
    from imagegen.models import ImageGenerationSettings, ProviderSetting

    for model in (ImageGenerationSettings, ProviderSetting):
        for field in model._meta.fields:
            for cached in ("keys", "f"):
                field.__dict__.pop(cached, None)


@pytest.fixture
def forget_keys() -> Iterator[Callable[[], None]]:
    """For tests that change SECRET_KEY / SALT_KEY: call it after each change; caches are dropped after the test."""
    forget_encryption_keys()
    yield forget_encryption_keys
    forget_encryption_keys()


# --- Replayed upstreams: one place for the HTTP mock and a clean model-list cache ------------------------------


@pytest.fixture
def rsps() -> Iterator[object]:
    """Replayed upstream answers; every answer registered must be asked for (a test proves what was called)."""
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def fresh_cache() -> Iterator[None]:
    """Providers cache their model lists per key and endpoint: one test's upstream must not answer another's."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


# --- Generation: a stand-in upstream the app is pointed at through its normal settings ------------------------

SD_MODEL = "v1-5-pruned-emaonly.safetensors [6ce0161689]"


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch):
    """An in-process stand-in speaking the OpenAI and AUTOMATIC1111 wire formats, configured as the upstreams."""
    from django.core.cache import cache

    from tests.standin.server import StandinServer

    with StandinServer() as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-upstream-key-123")
        monkeypatch.delenv("AI_IMAGE_OPENROUTER_BASE_URL")  # OpenRouter stays unconfigured: two providers
        monkeypatch.delenv("AI_IMAGE_COMFYUI_ENDPOINT")  # and ComfyUI, where a test does not ask for it
        cache.clear()  # providers cache model lists per base URL
        yield server
        cache.clear()


@pytest.fixture
def htmx_headers() -> dict[str, str]:
    """Headers of an htmx request aimed at the dialog body, as the Generate Image button sends them."""
    return {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "generate-dialog-body"}


# --- What an admin saved, by the settings' names ------------------------------------------------------------


def save_admin(**values: object) -> None:
    """Save admin values by form field name (`openai_api_key=…`, `sd_endpoint=…`, `daily_limit=…`)."""
    from imagegen.config import SPECS
    from imagegen.saved_settings import save_value

    by_field = {spec.field: spec for spec in SPECS}
    for name, value in values.items():
        save_value(by_field[name], value)


def admin_value(name: str) -> object:
    """The value an admin saved for a setting (`openai.api_key`), None when it is left to the environment."""
    from imagegen.config import SPEC_BY_NAME
    from imagegen.saved_settings import load_saved

    return load_saved().get(SPEC_BY_NAME[name])

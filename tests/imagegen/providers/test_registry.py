"""The registry is one explicit dict; unknown ids fail loudly."""

from __future__ import annotations

import pytest

from imagegen.providers import PROVIDERS, get_provider
from imagegen.providers.openai import OpenAIProvider

from .conftest import Conn


def test_registry_lists_the_four_providers():
    assert list(PROVIDERS) == ["openai", "openrouter", "stable-diffusion", "comfyui"]
    assert all(cls.provider_id == pid for pid, cls in PROVIDERS.items())


def test_get_provider_passes_the_sleep_through():
    waits: list[float] = []
    provider = get_provider("openai", Conn("openai", "sk-x", "https://api.openai.com/v1"), sleep=waits.append)
    assert isinstance(provider, OpenAIProvider) and provider.sleep == waits.append


def test_unknown_provider_is_an_error():
    with pytest.raises(ValueError, match="known: openai, openrouter, stable-diffusion, comfyui"):
        get_provider("midjourney", Conn("midjourney", "", ""))

"""The registry is one explicit dict; unknown ids fail loudly."""

from __future__ import annotations

import pytest

from imagegen.providers import PROVIDERS, Provider, get_provider
from imagegen.providers.openai import OpenAIProvider

from .conftest import Conn


@pytest.mark.parametrize("provider_id", list(PROVIDERS))
def test_every_registered_provider_is_a_whole_module(provider_id):
    """What the rest of the product derives from: an id matching its key, a label, declared settings that include
    the four everyone has, and at least one model family."""
    cls = PROVIDERS[provider_id]
    assert issubclass(cls, Provider) and cls.provider_id == provider_id and cls.label
    keys = {setting.key for setting in cls.settings.settings}
    assert {"enabled", "api_key", "timeout", cls.settings.url, cls.settings.credential} <= keys
    assert cls.families


def test_get_provider_passes_the_sleep_through():
    waits: list[float] = []
    provider = get_provider("openai", Conn("openai", "sk-x", "https://api.openai.com/v1"), sleep=waits.append)
    assert isinstance(provider, OpenAIProvider) and provider.sleep == waits.append


def test_unknown_provider_is_an_error():
    with pytest.raises(ValueError, match=f"known: {', '.join(PROVIDERS)}"):
        get_provider("midjourney", Conn("midjourney", "", ""))

"""The HTTP building blocks: retry delays, Retry-After parsing, scrubbing keys, the default timeout."""

from __future__ import annotations

import email.utils
import time

import pytest
import requests

from imagegen.providers import GenerationRequest, ProviderError
from imagegen.providers.errors import AuthenticationError, scrub
from imagegen.providers.http import ProviderSession, RetryPolicy, parse_retry_after
from imagegen.providers.openai import OpenAIProvider

from .cases import OpenAICase
from .conftest import Conn


def test_backoff_doubles_with_jitter_and_stops_after_three_attempts():
    policy = RetryPolicy()
    assert policy.delay(1, None, rand=0.0) == 0.5
    assert policy.delay(2, None, rand=1.0) == 0.75
    assert policy.delay(3, None, rand=0.0) is None
    assert RetryPolicy(max_attempts=10).delay(9, None, rand=0.0) == 8.0  # capped


def test_retry_after_is_honoured_up_to_the_cap():
    policy = RetryPolicy()
    assert policy.delay(1, 30.0) == 30.0
    assert policy.delay(1, 61.0) is None  # told to the writer instead


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers, expected):
    assert parse_retry_after(headers) == expected


def test_parse_retry_after_http_date():
    value = parse_retry_after({"retry-after": email.utils.formatdate(time.time() + 30, usegmt=True)})
    assert 25 <= value <= 31


def test_scrub_removes_keys_masked_echoes_and_bearer_tokens():
    text = "Incorrect API key provided: sk-abc***xyz; key sk-live-123456 Authorization: Bearer abc.def"
    assert (
        scrub(text, ["sk-live-123456"])
        == "Incorrect API key provided: [redacted]; key [redacted] Authorization: [redacted]"
    )


def test_errors_scrub_message_detail_and_args():
    err = AuthenticationError("key hunter2-secret rejected", detail="echo hunter2-secret").scrubbed(
        ["hunter2-secret"]
    )
    assert "hunter2" not in str(err) + err.detail + repr(err) + repr(err.args)


def test_session_sets_a_default_timeout(rsps):
    rsps.get("https://example.test/x", body="ok")
    ProviderSession(timeout=7, user_agent="Inkweld/0.1 (+https://inkweld.example)").get(
        "https://example.test/x"
    )
    assert rsps.calls[0].request.req_kwargs["timeout"] == 7
    assert rsps.calls[0].request.headers["User-Agent"] == "Inkweld/0.1 (+https://inkweld.example)"


def test_session_is_a_requests_session():
    assert isinstance(ProviderSession(timeout=1, user_agent="x"), requests.Session)


def test_a_huge_error_page_is_still_the_error_it_reports(rsps):
    case = OpenAICase()
    for _ in range(3):
        rsps.post(case.generate_url, status=503, body="<html>" + "x" * 200_000, content_type="text/html")
    waits: list[float] = []
    with pytest.raises(ProviderError) as caught:
        OpenAIProvider(case.connection(), sleep=waits.append).generate(
            GenerationRequest(model="gpt-image-2", prompt="p")
        )
    assert caught.value.error_class == "unavailable" and len(waits) == 2


def test_a_misconfigured_base_url_is_permanent_and_says_so():
    provider = OpenAIProvider(Conn("openai", "sk-x", "api.openai.com/v1"), sleep=lambda s: None)
    with pytest.raises(ProviderError) as caught:
        provider.generate(GenerationRequest(model="gpt-image-2", prompt="p"))
    assert caught.value.permanent and "admin must check its URL" in caught.value.message

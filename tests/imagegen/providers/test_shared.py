"""The suite every provider in the registry runs, each with its own canned upstream answers (cases.py)."""

from __future__ import annotations

import pytest
import requests
import urllib3

from imagegen.catalog import ModelOption
from imagegen.providers import PROVIDERS, ProviderError, get_provider
from imagegen.providers.errors import ERROR_CLASSES

from .cases import CASES, ProviderCase
from .conftest import TINY_PNG, b64, png

each_provider = pytest.mark.parametrize("case", CASES, ids=lambda c: c.provider_id)

KIND_PERMANENT = {
    "content_policy": True,
    "quota_exhausted": True,
    "authentication": True,
    "bad_request": True,
    "rate_limited": False,
    "unavailable": False,
}


def make(case: ProviderCase, sleeps: list[float], **changes):
    return get_provider(case.provider_id, case.connection(**changes), sleep=sleeps.append)


def generation_calls(rsps, case: ProviderCase) -> list:
    return [c for c in rsps.calls if c.request.url == case.generate_url]


@each_provider
def test_registry_builds_it(case, sleeps):
    provider = make(case, sleeps)
    assert isinstance(provider, PROVIDERS[case.provider_id])
    assert provider.provider_id == case.provider_id


@each_provider
def test_generate_returns_checked_images(case, rsps, sleeps):
    case.prepare(rsps)
    picture = png(40, 30)
    case.add_success(rsps, [b64(picture), b64(TINY_PNG)])
    result = make(case, sleeps).generate(case.request(count=2))
    assert [(i.format, i.content_type, i.width, i.height) for i in result.images] == [
        ("PNG", "image/png", 40, 30),
        ("PNG", "image/png", 1, 1),
    ]
    assert result.images[0].data == picture
    assert result.errors == []
    assert sleeps == []


@each_provider
def test_sends_user_agent_and_auth_scheme(case, rsps, sleeps):
    case.prepare(rsps)
    case.add_success(rsps)
    make(case, sleeps).generate(case.request())
    (call,) = generation_calls(rsps, case)
    assert call.request.headers["User-Agent"] == "Inkweld/0.1 (+https://inkweld.example)"
    assert call.request.headers["Authorization"] == case.authorization
    assert call.request.headers["Content-Type"] == "application/json"


# Only the answers each upstream really gives: a self-hosted WebUI has no content policy or quota.
@pytest.mark.parametrize(
    ("case", "kind"),
    [(case, kind) for case in CASES for kind in KIND_PERMANENT if kind in case.errors],
    ids=lambda v: v if isinstance(v, str) else v.provider_id,
)
def test_error_classes(case, rsps, sleeps, kind):
    case.prepare(rsps)
    for _ in range(1 if KIND_PERMANENT[kind] else 3):
        case.add_error(rsps, kind)
    with pytest.raises(ProviderError) as caught:
        make(case, sleeps).generate(case.request())
    err = caught.value
    assert type(err) is ERROR_CLASSES[kind]
    assert err.error_class == kind
    assert err.permanent is KIND_PERMANENT[kind]
    assert err.status_code == case.errors[kind][0]
    assert err.message and str(err) == err.message
    # Permanent: one call, no waiting. Transient: three attempts, two waits.
    assert len(generation_calls(rsps, case)) == (1 if err.permanent else 3)
    assert len(sleeps) == (0 if err.permanent else 2)
    for secret in filter(None, (case.api_key, case.api_key.partition(":")[2])):
        assert secret not in str(err) and secret not in err.detail and secret not in repr(err)


@each_provider
def test_transient_error_then_success_honours_retry_after(case, rsps, sleeps):
    case.prepare(rsps)
    kind = "rate_limited" if "rate_limited" in case.errors else "unavailable"
    case.add_error(rsps, kind, retry_after=7)
    case.add_success(rsps)
    result = make(case, sleeps).generate(case.request())
    assert len(result.images) == 1
    assert sleeps == [7.0]


@each_provider
def test_server_errors_back_off_exponentially(case, rsps, sleeps):
    case.prepare(rsps)
    for _ in range(3):
        rsps.post(case.generate_url, status=503, body="Service Unavailable", content_type="text/html")
    with pytest.raises(ProviderError) as caught:
        make(case, sleeps).generate(case.request())
    assert caught.value.error_class == "unavailable"
    assert len(generation_calls(rsps, case)) == 3
    # 0.5 s then 1 s, each shortened by up to 25 % jitter.
    assert 0.375 <= sleeps[0] <= 0.5 and 0.75 <= sleeps[1] <= 1.0


@each_provider
def test_a_read_timeout_after_sending_is_never_repeated(case, rsps, sleeps):
    """The upstream had the request and may have made, and billed, the images: one request, no retry."""
    case.prepare(rsps)
    rsps.post(case.generate_url, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(ProviderError) as caught:
        make(case, sleeps, timeout=12).generate(case.request())
    assert caught.value.error_class == "unavailable" and caught.value.permanent
    assert "may have made — and charged for — the images" in caught.value.message
    assert len(generation_calls(rsps, case)) == 1 and sleeps == []


@each_provider
def test_a_connection_dropped_after_sending_is_never_repeated(case, rsps, sleeps):
    case.prepare(rsps)
    dropped = requests.exceptions.ConnectionError(
        urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset by peer"))
    )
    rsps.post(case.generate_url, body=dropped)
    with pytest.raises(ProviderError) as caught:
        make(case, sleeps).generate(case.request())
    assert caught.value.upstream_code == "outcome_unknown"
    assert len(generation_calls(rsps, case)) == 1 and sleeps == []


@each_provider
def test_a_tls_failure_is_never_repeated_and_may_have_cost(case, rsps, sleeps):
    """urllib3 raises SSLError for a TLS failure while reading the answer too, after the request went out."""
    case.prepare(rsps)
    rsps.post(case.generate_url, body=requests.exceptions.SSLError("EOF occurred in violation of protocol"))
    with pytest.raises(ProviderError) as caught:
        make(case, sleeps).generate(case.request())
    assert caught.value.permanent and caught.value.may_have_cost
    assert len(generation_calls(rsps, case)) == 1 and sleeps == []


@each_provider
@pytest.mark.parametrize(
    "before_sending",
    [
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ConnectionError(
            urllib3.exceptions.MaxRetryError(
                None, "/", urllib3.exceptions.NewConnectionError(None, "refused")
            )
        ),
    ],
    ids=["connect-timeout", "connection-refused"],
)
def test_a_failure_before_sending_is_retried(case, rsps, sleeps, before_sending):
    case.prepare(rsps)
    rsps.post(case.generate_url, body=before_sending)
    case.add_success(rsps)
    result = make(case, sleeps).generate(case.request())
    assert len(result.images) == 1 and len(sleeps) == 1


@each_provider
def test_timeout_is_passed_to_every_call(case, rsps, sleeps):
    case.prepare(rsps)
    case.add_success(rsps)
    make(case, sleeps, timeout=42).generate(case.request())
    timeouts = {c.request.url.split("?")[0]: c.request.req_kwargs["timeout"] for c in rsps.calls}
    assert timeouts.pop(case.generate_url) == 42
    # Lists asked for on the way (models, samplers) are capped: a person may be waiting on them.
    assert set(timeouts.values()) <= {10.0}


@each_provider
def test_malformed_json_is_a_bad_response_and_not_retried(case, rsps, sleeps):
    case.prepare(rsps)
    rsps.post(case.generate_url, body='{"data": [{"b64_json": "iVBOR', content_type="application/json")
    with pytest.raises(ProviderError) as caught:
        make(case, sleeps).generate(case.request())
    assert caught.value.error_class == "bad_response"
    assert len(generation_calls(rsps, case)) == 1 and sleeps == []


@pytest.mark.parametrize(
    "payload",
    [b"<html>not an image</html>", png(32, 32)[:-40], b""],
    ids=["not-an-image", "truncated", "empty"],
)
@each_provider
def test_unusable_image_is_a_bad_response(case, rsps, sleeps, payload):
    case.prepare(rsps)
    case.add_success(rsps, [b64(payload) or "===="])
    with pytest.raises(ProviderError) as caught:
        make(case, sleeps).generate(case.request())
    assert caught.value.error_class == "bad_response"
    assert "Try again" in caught.value.message


@each_provider
def test_one_bad_image_keeps_the_good_ones(case, rsps, sleeps):
    case.prepare(rsps)
    case.add_success(rsps, [b64(TINY_PNG), b64(b"GIF89a-truncated")])
    result = make(case, sleeps).generate(case.request(count=2))
    assert len(result.images) == 1
    assert [e.error_class for e in result.errors] == ["bad_response"]


@each_provider
def test_check_ok(case, rsps, sleeps):
    rsps.get(case.check_url, json=case.check_body)
    case.prepare_check(rsps)
    result = make(case, sleeps).check()
    assert result.ok and result.status == "ok" and result.reason


@each_provider
def test_check_key_rejected(case, rsps, sleeps):
    status, body, _ = case.errors["authentication"]
    rsps.get(case.check_url, json=body, status=status)
    result = make(case, sleeps).check()
    assert not result.ok
    assert result.status == "auth_rejected"
    assert case.api_key not in result.reason and "admin" in result.reason


@each_provider
def test_check_unreachable(case, rsps, sleeps):
    rsps.get(case.check_url, body=requests.exceptions.ConnectionError("Name or service not known"))
    result = make(case, sleeps).check()
    assert (result.ok, result.status) == (False, "unreachable")
    assert sleeps == []  # a check reports now, it does not wait


@each_provider
def test_models_are_model_options(case, rsps, sleeps):
    case.prepare_models(rsps)
    options = make(case, sleeps).models()
    assert options and all(isinstance(o, ModelOption) for o in options)
    assert case.model in {o.id for o in options if o.available}

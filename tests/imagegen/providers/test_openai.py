"""OpenAI specifics: exact bodies per model family, parallel fan-out, the live model list, its error codes."""

from __future__ import annotations

import json
import threading
from datetime import date

import pytest
import requests
import responses
from django.core.cache import cache

from imagegen.providers import GenerationRequest, ProviderError
from imagegen.providers.openai import OpenAIProvider

from .cases import OpenAICase
from .conftest import TINY_PNG, TINY_PNG_B64, png

CASE = OpenAICase()
GENERATIONS = CASE.generate_url
MODELS = CASE.check_url


@pytest.fixture
def on(monkeypatch):
    """Pin today's date: the catalog's shutdown dates decide what is offered."""

    def set_today(day: date) -> None:
        monkeypatch.setattr("imagegen.providers.openai.today", lambda: day)
        monkeypatch.setattr("imagegen.providers.base.today", lambda: day)

    set_today(date(2026, 11, 23))
    return set_today


@pytest.fixture
def provider(sleeps) -> OpenAIProvider:
    return OpenAIProvider(CASE.connection(), sleep=sleeps.append)


def body_of(call) -> dict:
    return json.loads(call.request.body)


def ok(*images: str, revised: str | None = None, usage: dict | None = None) -> dict:
    items = [{"b64_json": i, **({"revised_prompt": revised} if revised else {})} for i in images]
    return {"created": 1713833628, "data": items, **({"usage": usage} if usage else {})}


def test_dalle3_asks_for_base64_and_keeps_the_revised_prompt(rsps, provider, on):
    on(date(2026, 3, 1))
    rsps.post(GENERATIONS, json=ok(TINY_PNG_B64, revised="A tall lighthouse at dusk, oil painting"),
              headers={"x-request-id": "req_abc"})  # fmt: skip
    request = GenerationRequest(
        model="dall-e-3",
        prompt="A lighthouse",
        size="1792x1024",
        options={"quality": "hd", "style": "natural"},
    )
    result = provider.generate(request)
    assert body_of(rsps.calls[0]) == {
        "model": "dall-e-3",
        "prompt": "A lighthouse",
        "n": 1,
        "size": "1792x1024",
        "quality": "hd",
        "style": "natural",
        "response_format": "b64_json",
    }
    assert result.images[0].revised_prompt == "A tall lighthouse at dusk, oil painting"
    assert result.request_ids == ["req_abc"]
    assert result.cost is None  # OpenAI reports no money; the job's cost is worked out from its price


def test_gpt_image_never_sends_response_format_and_keeps_usage(rsps, provider, on):
    usage = {"input_tokens": 50, "output_tokens": 4160, "total_tokens": 4210}
    rsps.post(GENERATIONS, json=ok(TINY_PNG_B64, TINY_PNG_B64, TINY_PNG_B64, usage=usage))
    result = provider.generate(
        GenerationRequest(
            model="gpt-image-2.6-sunburst",
            prompt="p",
            size="1600x2560",
            count=3,
            options={"quality": "xhigh", "complexity": "medium"},
            user_ref="3f2a9c",
        )
    )
    assert body_of(rsps.calls[0]) == {
        "model": "gpt-image-2.6-sunburst",
        "prompt": "p",
        "n": 3,
        "size": "1600x2560",
        "quality": "xhigh",
        "complexity": "medium",
        "safety_identifier": "3f2a9c",
    }
    assert len(rsps.calls) == 1 and len(result.images) == 3
    assert result.usage == usage
    assert result.cost is None  # tokens, not money: the job computes its cost from them


def test_parallel_calls_add_up_their_token_usage(rsps, provider, on):
    on(date(2026, 3, 1))
    usage = {
        "input_tokens": 10,
        "input_tokens_details": {"text_tokens": 10, "image_tokens": 0},
        "output_tokens": 100,
    }
    for _ in range(2):
        rsps.post(GENERATIONS, json=ok(TINY_PNG_B64, usage=usage))
    result = provider.generate(GenerationRequest(model="dall-e-3", prompt="p", count=2))
    assert result.usage == {
        "input_tokens": 20, "input_tokens_details": {"text_tokens": 20, "image_tokens": 0}, "output_tokens": 200,
    }  # fmt: skip


def test_dalle3_fans_out_in_parallel(rsps, provider, on):
    """Three images = three calls that are in flight together: each blocks until all three have arrived."""
    on(date(2026, 3, 1))
    barrier = threading.Barrier(3, timeout=5)

    def answer(request):
        barrier.wait()  # BrokenBarrierError (a failed test) if the calls were made one after another
        return 200, {"x-request-id": f"req_{threading.get_ident()}"}, json.dumps(ok(TINY_PNG_B64))

    rsps.add_callback(responses.POST, GENERATIONS, callback=answer, content_type="application/json")
    result = provider.generate(GenerationRequest(model="dall-e-3", prompt="p", count=3))
    assert len(rsps.calls) == 3 and all(body_of(c)["n"] == 1 for c in rsps.calls)
    assert len(result.images) == 3 and len(set(result.request_ids)) == 3


def test_partial_success_when_one_parallel_call_fails(rsps, provider, on):
    on(date(2026, 3, 1))
    calls = iter(range(3))
    refusal = {"error": {"message": "Your request was rejected as a result of our safety system.",
                         "type": "invalid_request_error", "param": None, "code": "content_policy_violation"}}  # fmt: skip

    def answer(request):
        if next(calls) == 1:
            return 400, {"x-request-id": "req_refused"}, json.dumps(refusal)
        return 200, {}, json.dumps(ok(TINY_PNG_B64))

    rsps.add_callback(responses.POST, GENERATIONS, callback=answer, content_type="application/json")
    result = provider.generate(GenerationRequest(model="dall-e-3", prompt="p", count=3))
    assert len(result.images) == 2
    assert [(e.error_class, e.request_id) for e in result.errors] == [("content_policy", "req_refused")]
    assert "req_refused" in result.request_ids


def test_when_every_parallel_call_fails_the_most_actionable_error_is_raised(rsps, provider, on):
    on(date(2026, 3, 1))
    rsps.post(
        GENERATIONS, status=400, json={"error": {"code": "content_policy_violation", "message": "safety"}}
    )
    rsps.post(
        GENERATIONS, status=401, json={"error": {"code": "invalid_api_key", "message": "Incorrect API key"}}
    )
    with pytest.raises(ProviderError) as caught:
        provider.generate(GenerationRequest(model="dall-e-3", prompt="p", count=2))
    assert caught.value.error_class == "authentication"


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        (429, {"code": "insufficient_quota", "type": "insufficient_quota", "message": "You exceeded your current quota"}, "quota_exhausted"),
        (400, {"code": "billing_hard_limit_reached", "type": "invalid_request_error", "message": "Billing hard limit has been reached"}, "quota_exhausted"),
        (400, {"code": "content_policy_violation", "type": "invalid_request_error", "message": "Your request was rejected as a result of our safety system."}, "content_policy"),
        (403, {"code": None, "type": "invalid_request_error", "message": "Your organization must be verified to use the model `gpt-image-2`."}, "authentication"),
        (404, {"code": "model_not_found", "type": "invalid_request_error", "message": "The model `gpt-image-1` does not exist."}, "bad_request"),
    ],
)  # fmt: skip
def test_permanent_errors_are_never_retried(rsps, provider, on, sleeps, status, error, expected):
    rsps.post(
        GENERATIONS, status=status, json={"error": {"param": None, **error}}, headers={"retry-after": "1"}
    )
    with pytest.raises(ProviderError) as caught:
        provider.generate(GenerationRequest(model="gpt-image-2", prompt="p"))
    assert caught.value.error_class == expected and caught.value.permanent
    assert len(rsps.calls) == 1 and sleeps == []
    assert caught.value.upstream_code in {error["code"], error["type"]}


def test_unverified_organisation_says_what_to_do(rsps, provider, on):
    rsps.post(GENERATIONS, status=403, json={"error": {"message": "Your organization must be verified to use the model `gpt-image-2`.", "type": "invalid_request_error", "code": None}})  # fmt: skip
    with pytest.raises(ProviderError) as caught:
        provider.generate(GenerationRequest(model="gpt-image-2", prompt="p"))
    assert "verified" in caught.value.message and "admin" in caught.value.message


def test_retry_after_ms_is_preferred(rsps, provider, on, sleeps):
    rsps.post(GENERATIONS, status=429, json={"error": {"code": "rate_limit_exceeded", "message": "slow down"}},
              headers={"retry-after-ms": "1500", "retry-after": "2"})  # fmt: skip
    rsps.post(GENERATIONS, json=ok(TINY_PNG_B64))
    provider.generate(GenerationRequest(model="gpt-image-2", prompt="p"))
    assert sleeps == [1.5]


def test_a_long_retry_after_is_told_to_the_writer_not_waited_out(rsps, provider, on, sleeps):
    rsps.post(
        GENERATIONS,
        status=429,
        body="Too Many Requests",
        content_type="text/plain",
        headers={"retry-after": "120"},
    )
    with pytest.raises(ProviderError) as caught:
        provider.generate(GenerationRequest(model="gpt-image-2", prompt="p"))
    assert caught.value.error_class == "rate_limited" and caught.value.retry_after == 120
    assert "120 seconds" in caught.value.message
    assert sleeps == []


def test_a_returned_url_is_fetched_without_the_key(rsps, provider, on):
    on(date(2026, 3, 1))
    url = "https://oaidalleapiprodscus.blob.core.windows.net/private/img-1.png?sig=abc"
    rsps.post(GENERATIONS, json={"created": 1, "data": [{"url": url}]})
    picture = png(20, 10)
    rsps.get(url, body=picture, content_type="image/png")
    result = provider.generate(GenerationRequest(model="dall-e-2", prompt="p", size="256x256"))
    assert (result.images[0].width, result.images[0].height) == (20, 10)
    assert "Authorization" not in rsps.calls[1].request.headers
    assert rsps.calls[1].request.req_kwargs["timeout"] == 30


def test_a_returned_url_larger_than_the_cap_is_refused(rsps, provider, on, monkeypatch):
    monkeypatch.setattr("imagegen.providers.base.MAX_IMAGE_BYTES", 1000)
    url = "https://files.example/img.png"
    rsps.post(GENERATIONS, json={"created": 1, "data": [{"url": url}]})
    rsps.get(url, body=png(64, 64), content_type="image/png")
    with pytest.raises(ProviderError) as caught:
        provider.generate(GenerationRequest(model="gpt-image-2", prompt="p"))
    assert caught.value.error_class == "bad_response"


def test_input_images_go_to_the_edits_endpoint(rsps, provider, on):
    rsps.post(f"{CASE.base_url}/images/edits", json=ok(TINY_PNG_B64))
    provider.generate(GenerationRequest(model="gpt-image-2", prompt="add a moon", input_images=(TINY_PNG,)))
    request = rsps.calls[0].request
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="image[]"; filename="input-1.png"' in request.body and TINY_PNG in request.body
    assert b'name="model"\r\n\r\ngpt-image-2' in request.body


def test_invalid_options_are_refused_before_any_call(provider, on):
    with pytest.raises(ProviderError) as caught:
        provider.generate(
            GenerationRequest(
                model="gpt-image-2", prompt="x" * 32001, size="999x999", count=9, options={"style": "vivid"}
            )
        )
    message = caught.value.message
    assert "32000 characters" in message and "999x999" in message and "multiples of 16" in message
    assert "Images must be 1 to 4" in message and "takes no style" in message


def test_models_offer_every_listed_member_of_a_known_family(rsps, provider, on):
    """A key listing today's models: every gpt-image-2 family member is offered, labelled, newest first."""
    on(date(2026, 12, 1))
    live = [{"id": "gpt-image-2", "object": "model", "created": 1, "owned_by": "system"},
            {"id": "gpt-image-2.6-sunburst", "object": "model", "created": 1, "owned_by": "system"},
            {"id": "gpt-image-2.5-flare-2026-09-08", "object": "model", "created": 1, "owned_by": "system"},
            {"id": "gpt-image-1-mini", "object": "model", "created": 1, "owned_by": "system", "shutdown_date": "2026-12-01"},
            {"id": "gpt-image-3-preview", "object": "model", "created": 1, "owned_by": "system"},
            {"id": "whisper-1", "object": "model", "created": 1, "owned_by": "system"}]  # fmt: skip
    rsps.get(MODELS, json={"object": "list", "data": live})
    options = provider.models()
    usable = [(o.id, o.label) for o in options if o.available]
    assert usable == [
        ("gpt-image-2.6-sunburst", "GPT Image 2.6 Sunburst"),
        ("gpt-image-2", "GPT Image 2"),
        ("gpt-image-2.5-flare-2026-09-08", "GPT Image 2.5 Flare (2026-09-08)"),
    ]
    reasons = {o.id: o.unavailable_reason for o in options if not o.available}
    assert "retired by the provider on 2026-12-01" in reasons["gpt-image-1-mini"]
    assert "does not know yet" in reasons["gpt-image-3-preview"]  # an image model of no known family
    assert "whisper-1" not in reasons  # not an image model: not mentioned at all
    provider.models()  # cached: no second request (assert_all_requests_are_fired + one registration)
    assert len(rsps.calls) == 1


def test_a_gateway_may_still_serve_a_model_openai_retired(rsps, provider, on):
    # OpenAI retired dall-e-3 itself, but this upstream (a gateway) lists it without a date: the live list decides.
    live = [{"id": "dall-e-3", "object": "model", "created": 1, "owned_by": "system"},
            {"id": "gpt-image-1", "object": "model", "created": 1, "owned_by": "system", "shutdown_date": "2026-10-23"}]  # fmt: skip
    rsps.get(MODELS, json={"object": "list", "data": live})
    options = {o.id: o for o in provider.models()}
    assert options["dall-e-3"].available and options["dall-e-3"].source == "live"
    assert not options["gpt-image-1"].available and "2026-10-23" in options["gpt-image-1"].unavailable_reason


def test_a_model_retiring_within_thirty_days_says_so(rsps, provider, on):
    on(date(2026, 12, 5))
    live = [{"id": "gpt-image-2", "object": "model", "created": 1, "owned_by": "system", "shutdown_date": "2026-12-20"},
            {"id": "gpt-image-2.6-flare", "object": "model", "created": 1, "owned_by": "system", "shutdown_date": "2027-06-01"}]  # fmt: skip
    rsps.get(MODELS, json={"object": "list", "data": live})
    options = {o.id: o for o in provider.models()}
    assert options["gpt-image-2"].available and options["gpt-image-2"].retires_soon(date(2026, 12, 5))
    assert not options["gpt-image-2.6-flare"].retires_soon(date(2026, 12, 5))


def test_model_list_cache_key_holds_a_hash_of_the_key_not_the_key(rsps, provider, on):
    rsps.get(MODELS, json=CASE.check_body)
    provider.models()
    key = provider.cache_key("models")
    assert cache.get(key) is not None
    assert CASE.api_key not in key and CASE.base_url not in key and key.startswith("imagegen:openai:models:")
    other = OpenAIProvider(CASE.connection(api_key="sk-other-key-000000"))
    assert other.cache_key("models") != key


def test_models_fall_back_to_the_catalog_and_say_so(rsps, provider, on):
    rsps.get(MODELS, status=500, json={"error": {"message": "internal"}})
    options = {o.id: o for o in provider.models()}
    assert {o.source for o in options.values()} == {"catalog"}
    assert set(options) == {
        "gpt-image-2", "gpt-image-2.5-flare", "gpt-image-2.5-sunburst", "gpt-image-2.6-flare", "gpt-image-2.6-sunburst",
    }  # fmt: skip
    assert options["gpt-image-2"].available and "could not be fetched" in options["gpt-image-2"].note


def test_check_reports_missing_credit(rsps, provider, on):
    rsps.get(
        MODELS,
        status=429,
        json={"error": {"code": "insufficient_quota", "type": "insufficient_quota", "message": "quota"}},
    )
    result = provider.check()
    assert (result.ok, result.status) == (False, "no_credit")


def test_check_without_a_key(provider):
    provider = OpenAIProvider(CASE.connection(api_key=""))
    assert provider.check().status == "no_key"


def test_keys_echoed_by_the_upstream_are_scrubbed(rsps, provider, on):
    rsps.post(GENERATIONS, status=401, json={"error": {"message": f"Incorrect API key provided: {CASE.api_key}.", "code": "invalid_api_key"}})  # fmt: skip
    with pytest.raises(ProviderError) as caught:
        provider.generate(GenerationRequest(model="gpt-image-2", prompt="p"))
    assert CASE.api_key not in caught.value.detail and "[redacted]" in caught.value.detail


def test_a_parallel_call_that_may_have_been_billed_is_counted_not_dropped(rsps, provider, on):
    """Three DALL·E 3 calls: two answer, one times out after sending. Its image may have been made and billed."""
    on(date(2026, 3, 1))
    calls = iter(range(3))

    def answer(request):
        if next(calls) == 1:
            raise requests.exceptions.ReadTimeout("read timed out")
        return 200, {}, json.dumps(ok(TINY_PNG_B64))

    rsps.add_callback(responses.POST, GENERATIONS, callback=answer, content_type="application/json")
    result = provider.generate(GenerationRequest(model="dall-e-3", prompt="p", count=3))
    assert len(result.images) == 2 and result.uncounted_images == 1
    assert [e.upstream_code for e in result.errors] == ["outcome_unknown"]

"""OpenAI as of 2026-12-01: the gpt-image-2 family's rules, retired models, usage and cost, streaming, and
the official schemas (what the stand-in accepts must conform to them; what they forbid it refuses)."""

from __future__ import annotations

import json
import math

import pytest

from tests.standin import openai_models
from tests.standin.conftest import OPENAI_AUTH, OPENAI_SPEC, decode_image, schema_errors
from tests.standin.wire_bodies import openai_cost, openai_usage_for

GENERATIONS = "/v1/images/generations"


def generate(standin, http, **payload):
    return http.post(
        f"{standin.url}{GENERATIONS}", json={"prompt": "a lighthouse", **payload}, headers=OPENAI_AUTH
    )


def listed(standin, http) -> dict[str, dict]:
    return {m["id"]: m for m in http.get(f"{standin.url}/v1/models", headers=OPENAI_AUTH).json()["data"]}


# ---------------------------------------------------------------- which models exist


def test_a_direct_key_today_lists_the_family_and_no_retired_model(standin, http):
    standin.configure(openai_models="openai")
    models = listed(standin, http)
    family = {m for m in models if m.startswith("gpt-image")}
    assert family == {
        "gpt-image-2", "gpt-image-2-2026-04-21", "gpt-image-2.5-flare", "gpt-image-2.5-flare-2026-09-08",
        "gpt-image-2.5-sunburst", "gpt-image-2.5-sunburst-2026-09-08", "gpt-image-2.6-flare", "gpt-image-2.6-sunburst",
    }  # fmt: skip
    assert "gpt-4o" in models and not {"dall-e-2", "dall-e-3"} & set(models)
    assert all(set(m) == {"id", "object", "created", "owned_by"} for m in models.values())


@pytest.mark.parametrize("model", sorted(openai_models.RETIRED_MODELS))
def test_retired_models_are_not_found_on_a_direct_key(standin, http, model):
    standin.configure(openai_models="openai")
    response = generate(standin, http, model=model)
    assert response.status_code == 404
    assert response.json()["error"] == {
        "message": f"The model `{model}` does not exist or you do not have access to it.",
        "type": "invalid_request_error",
        "param": None,
        "code": "model_not_found",
    }


def test_a_gateway_still_serves_old_names_it_lists(standin, http):
    standin.configure(openai_models=["gpt-image-2", {"id": "dall-e-3", "shutdown_date": "2027-01-15"}])
    assert listed(standin, http)["dall-e-3"]["shutdown_date"] == "2027-01-15"
    assert generate(standin, http, model="dall-e-3", size="1792x1024").status_code == 200
    assert generate(standin, http, model="gpt-image-1").status_code == 404  # not listed there


def test_a_listed_model_is_refused_from_its_shutdown_date(standin, http):
    standin.configure(
        openai_models=[{"id": "gpt-image-2.5-flare", "shutdown_date": "2026-12-20"}], today="2026-12-19"
    )
    assert generate(standin, http, model="gpt-image-2.5-flare").status_code == 200
    standin.configure(today="2026-12-20")
    assert generate(standin, http, model="gpt-image-2.5-flare").json()["error"]["code"] == "model_not_found"


def test_dated_snapshots_follow_their_family(standin, http):
    standin.configure(openai_models="openai")
    ok = generate(standin, http, model="gpt-image-2.5-sunburst-2026-09-08", quality="xhigh", size="1600x2560")
    assert ok.status_code == 200 and decode_image(ok.json()["data"][0]["b64_json"]).size == (1600, 2560)


def test_a_model_that_makes_no_images_is_named_as_such(standin, http):
    response = generate(standin, http, model="gpt-4o")
    assert (response.status_code, response.json()["error"]["param"]) == (400, "model")


# ---------------------------------------------------------------- the family's rules


@pytest.mark.parametrize(
    "size", ["1600x2560", "1024x1536", "2048x3072", "3840x1280", "1024x640", "3840x2160", "auto"]
)
def test_the_family_takes_any_size_within_its_rules(standin, http, size):
    response = generate(standin, http, model="gpt-image-2", size=size, quality="low")
    assert response.status_code == 200, response.text
    expected = (1024, 1024) if size == "auto" else tuple(map(int, size.split("x")))
    assert decode_image(response.json()["data"][0]["b64_json"]).size == expected
    assert response.json()["size"] == f"{expected[0]}x{expected[1]}"


@pytest.mark.parametrize(
    ("size", "reason"),
    [
        ("1000x1000", "multiples of 16"),
        ("3856x1296", "longest side must be at most 3840"),
        ("3840x1264", "at most 3:1"),
        ("800x800", "between 655,360 and 8,294,400"),
        ("3840x2176", "between 655,360 and 8,294,400"),
        ("1024", "must look like 1024x1024"),
    ],
)
def test_sizes_outside_the_rules_are_refused_saying_why(standin, http, size, reason):
    error = generate(standin, http, model="gpt-image-2", size=size).json()["error"]
    assert (error["param"], error["code"], error["type"]) == (
        "size",
        "invalid_value",
        "invalid_request_error",
    )
    assert reason in error["message"]


@pytest.mark.parametrize(
    ("model", "payload", "status"),
    [
        ("gpt-image-2", {"quality": "xhigh"}, 400),
        ("gpt-image-2", {"quality": "high"}, 200),
        ("gpt-image-2.5-flare", {"quality": "xhigh"}, 200),
        ("gpt-image-2.5-sunburst", {"quality": "max"}, 200),
        ("gpt-image-2.5-flare", {"complexity": "low"}, 400),
        ("gpt-image-2.6-flare", {"complexity": "low", "quality": "max"}, 200),
        ("gpt-image-2.6-sunburst", {"complexity": "extreme"}, 400),
        ("gpt-image-2", {"n": 10}, 200),
        ("gpt-image-2", {"n": 11}, 400),
        ("gpt-image-2", {"n": 0}, 400),
        ("gpt-image-2", {"response_format": "b64_json"}, 400),
        ("gpt-image-2", {"output_format": "webp", "background": "transparent", "moderation": "low"}, 200),
        ("gpt-image-2", {"output_format": "jpeg", "background": "transparent"}, 400),
        ("gpt-image-2", {"safety_identifier": "writer-8f14e45fceea167a"}, 200),
        ("gpt-image-2", {"safety_identifier": "x" * 65}, 400),
        ("gpt-image-2", {"style": "vivid"}, 400),
        ("gpt-image-2", {"colour": "blue"}, 400),
        ("gpt-image-2", {"output_compression": 101}, 400),
        ("gpt-image-2", {"stream": "yes"}, 400),
        ("gpt-image-2", {"partial_images": 4, "stream": True}, 400),
    ],
)
def test_what_each_family_member_accepts(standin, http, model, payload, status):
    response = generate(standin, http, model=model, **payload)
    assert response.status_code == status, response.text


def test_the_stand_in_accepts_only_what_the_official_schema_allows(standin, http):
    """Every request above that the stand-in took conforms to CreateImageRequest; every one the schema
    forbids, the stand-in refused."""
    schema = OPENAI_SPEC["generations"]
    cases = [
        {"model": "gpt-image-2", "n": 0}, {"model": "gpt-image-2", "quality": "ultra"},
        {"model": "gpt-image-2", "output_format": "gif"}, {"model": "gpt-image-2", "background": "none"},
        {"model": "gpt-image-2", "moderation": "high"}, {"model": "gpt-image-2", "partial_images": 4, "stream": True},
        {"model": "gpt-image-2", "stream": "yes"}, {"model": "gpt-image-2", "n": 2, "size": "1536x1024"},
        {"model": "gpt-image-2.6-sunburst", "quality": "xhigh", "complexity": "medium", "output_compression": 80,
         "output_format": "webp", "stream": False, "partial_images": 0, "safety_identifier": "h", "user": "u"},
        {"model": "gpt-image-2", "prompt": 5},
    ]  # fmt: skip
    for payload in cases:
        body = {"prompt": "a lighthouse", **payload}
        accepted = http.post(f"{standin.url}{GENERATIONS}", json=body, headers=OPENAI_AUTH).status_code == 200
        problems = schema_errors(schema, body)
        if accepted:
            assert problems == [], (body, problems)
        if problems:
            assert not accepted, body


def test_answers_conform_to_the_official_response_schema(standin, http):
    body = generate(standin, http, model="gpt-image-2", size="1024x1536", quality="high", n=2).json()
    assert schema_errors(OPENAI_SPEC["response"], body) == []
    standin.configure(openai_models=["dall-e-3"])
    assert schema_errors(OPENAI_SPEC["response"], generate(standin, http, model="dall-e-3").json()) == []


# ---------------------------------------------------------------- usage and cost


@pytest.mark.parametrize(
    ("model", "size", "quality", "extra", "output_tokens"),
    [
        ("gpt-image-2", "1024x1024", "low", {}, 640),
        ("gpt-image-2", "1024x1024", "medium", {}, 2304),
        ("gpt-image-2", "1024x1024", "high", {}, 6272),
        ("gpt-image-2", "1024x1024", "auto", {}, 2304),
        ("gpt-image-2", "1024x1536", "medium", {}, 3456),
        ("gpt-image-2", "1600x2560", "high", {}, math.ceil(6272 * 1600 * 2560 / 1024**2)),
        ("gpt-image-2.5-flare", "1024x1024", "xhigh", {}, 9408),
        ("gpt-image-2.5-sunburst", "1024x1024", "max", {}, 12544),
        ("gpt-image-2.6-sunburst", "1024x1024", "high", {}, 6272),
        ("gpt-image-2.6-sunburst", "1024x1024", "high", {"complexity": "low"}, math.ceil(6272 * 0.6)),
    ],
)
def test_usage_grows_with_size_and_quality_and_is_recorded_with_its_cost(
    standin, http, model, size, quality, extra, output_tokens
):
    prompt = "A lighthouse at dusk, storm clouds, a single lit window"
    body = generate(
        standin, http, model=model, size=size, quality=quality, n=2, prompt=prompt, **extra
    ).json()
    text_tokens = math.ceil(len(prompt) / 4)
    assert body["usage"] == {
        "input_tokens": text_tokens,
        "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": 0},
        "output_tokens": 2 * output_tokens,
        "total_tokens": text_tokens + 2 * output_tokens,
    }
    (recorded,) = standin.usages(GENERATIONS)
    assert recorded["usage"] == body["usage"]
    # USD per million tokens for the family: text in 5, image in 8, image out 30.
    assert recorded["cost_usd"] == pytest.approx((text_tokens * 5 + 2 * output_tokens * 30) / 1e6)
    assert openai_cost(model, body["usage"]) == recorded["cost_usd"]
    assert (
        openai_usage_for(model, prompt, size=tuple(map(int, size.split("x"))), quality=quality, n=2, **extra)
        == body["usage"]
    )


def test_fewer_images_are_billed_as_fewer(standin, http):
    standin.script(family="openai", fewer_images=1)
    body = generate(standin, http, model="gpt-image-2", n=3, quality="low").json()
    assert len(body["data"]) == 2 and body["usage"]["output_tokens"] == 2 * 640


# ---------------------------------------------------------------- streaming


def read_events(response) -> list[tuple[str, dict]]:
    events, kind = [], None
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((kind, json.loads(line.removeprefix("data: "))))
    return events


def test_streaming_sends_partial_images_then_the_completed_one_with_usage(standin, http):
    standin.script(family="openai", delay=0.3)
    response = http.post(
        f"{standin.url}{GENERATIONS}",
        json={
            "model": "gpt-image-2",
            "prompt": "a fox",
            "stream": True,
            "partial_images": 2,
            "size": "1024x1536",
        },
        headers=OPENAI_AUTH,
        stream=True,
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    events = read_events(response)
    assert [kind for kind, _ in events] == [
        "image_generation.partial_image", "image_generation.partial_image", "image_generation.completed",
    ]  # fmt: skip
    assert [data.get("partial_image_index") for _, data in events] == [0, 1, None]
    assert all(data["type"] == kind for kind, data in events)
    assert decode_image(events[-1][1]["b64_json"]).size == (1024, 1536)
    assert decode_image(events[0][1]["b64_json"]).size[0] <= 512  # partials are small previews
    usage = events[-1][1]["usage"]
    assert usage == openai_usage_for("gpt-image-2", "a fox", size=(1024, 1536))
    assert standin.usages(GENERATIONS)[0]["usage"] == usage


def test_streamed_events_arrive_one_by_one_not_all_at_the_end(standin, http):
    standin.script(family="openai", delay=2.0)
    response = http.post(
        f"{standin.url}{GENERATIONS}",
        json={"model": "gpt-image-2", "prompt": "a fox", "stream": True, "partial_images": 1},
        headers=OPENAI_AUTH,
        stream=True,
    )
    lines = response.iter_lines(decode_unicode=True)
    first = next(line for line in lines if line.startswith("data: "))
    assert json.loads(first.removeprefix("data: "))["type"] == "image_generation.partial_image"
    # Read while the answer is still being written: only the partial image has been sent so far.
    assert standin.requests(GENERATIONS)[0]["chunks_sent"] == 1
    rest = [json.loads(line.removeprefix("data: "))["type"] for line in lines if line.startswith("data: ")]
    assert rest == ["image_generation.completed"]
    assert standin.requests(GENERATIONS)[0]["chunks_sent"] == 2

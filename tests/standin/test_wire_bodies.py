"""The builders are the stand-in's own bodies: what a unit test replays with `responses` is byte for byte
what the stand-in server sends, for every family and every scripted failure."""

from __future__ import annotations

import time

import pytest

from tests.standin.behaviour import FAILURES
from tests.standin.conftest import (
    OPENAI_AUTH,
    OPENAI_SPEC,
    OPENROUTER_AUTH,
    OPENROUTER_SPEC,
    post,
    schema_errors,
)
from tests.standin.wire_bodies import (
    FAILURE_FOR_ERROR_CLASS,
    a1111_failure,
    comfyui_failure,
    comfyui_history_error,
    comfyui_history_success,
    comfyui_image_ref,
    openai_failure,
    openai_image_body,
    openai_usage_for,
    openrouter_failure,
    openrouter_images_body,
)

SCRIPTED = [f for f in FAILURES if f not in ("disconnect", "late_error")]


@pytest.mark.parametrize("failure", SCRIPTED)
def test_openai_failures_are_the_builders(standin, failure):
    standin.script(family="openai", fail_with=failure, retry_after=2)
    response = post(
        f"{standin.url}/v1/images/generations",
        json={"model": "gpt-image-2", "prompt": "x"},
        headers=OPENAI_AUTH,
    )
    built = openai_failure(failure, model="gpt-image-2", key="sk-test-standin-0000",
                           request_id=response.headers["x-request-id"], retry_after=2)  # fmt: skip
    assert (response.status_code, response.json()) == (built.status, built.body)
    assert {k: response.headers[k] for k in built.headers} == built.headers


@pytest.mark.parametrize("failure", SCRIPTED)
def test_openrouter_failures_are_the_builders(standin, failure):
    standin.script(family="openrouter", fail_with=failure, retry_after=2)
    payload = {"model": "black-forest-labs/flux-schnell", "prompt": "a fox"}
    response = post(f"{standin.url}/api/v1/images", json=payload, headers=OPENROUTER_AUTH)
    built = openrouter_failure(failure, model=payload["model"], prompt="a fox", retry_after=2)
    assert (response.status_code, response.json()) == (built.status, built.body)
    assert {k: response.headers[k] for k in built.headers} == built.headers


@pytest.mark.parametrize("flavour", ["a1111", "forge", "sdnext"])
@pytest.mark.parametrize("failure", SCRIPTED)
def test_a1111_failures_are_the_builders(standin, failure, flavour):
    standin.configure(sd_flavour=flavour)
    standin.script(family="a1111", fail_with=failure, retry_after=2)
    response = post(f"{standin.url}/sdapi/v1/txt2img", json={"prompt": "x"})
    built = a1111_failure(failure, flavour=flavour, retry_after=2)
    body = response.json() if not isinstance(built.body, bytes) else response.content
    assert (response.status_code, body) == (built.status, built.body)


@pytest.mark.parametrize(
    "failure", ["unauthorized", "rate_limit", "unavailable", "bad_gateway", "server_error"]
)
def test_comfyui_http_failures_are_the_builders(standin, failure):
    standin.script(family="comfyui", fail_with=failure, retry_after=2)
    response = post(f"{standin.url}/prompt", json={"prompt": {}})
    built = comfyui_failure(failure, retry_after=2)
    assert (response.status_code, response.content) == (built.status, built.body)


def test_every_error_class_of_the_shared_suite_has_a_failure():
    assert set(FAILURE_FOR_ERROR_CLASS.values()) <= set(FAILURES)


def test_success_bodies_conform_to_the_official_schemas():
    usage = openai_usage_for("gpt-image-2", "a fox", size=(1024, 1536), quality="high", n=2)
    body = openai_image_body(
        ["aGk=", "aGk="],
        usage=usage,
        size="1024x1536",
        quality="high",
        output_format="png",
        background="opaque",
    )
    assert schema_errors(OPENAI_SPEC["response"], body) == []
    assert (
        schema_errors(OPENROUTER_SPEC["images_response"], openrouter_images_body(["aGk="], cost=0.003)) == []
    )


def test_comfyui_history_builders_match_what_the_server_keeps(standin, http):
    from tests.standin import comfyui_workflows

    answer = http.post(
        f"{standin.url}/prompt", json={"prompt": comfyui_workflows.txt2img(prefix="p"), "client_id": "c"}
    ).json()
    prompt_id = answer["prompt_id"]
    for _ in range(400):
        served = http.get(f"{standin.url}/history/{prompt_id}").json()
        if served:
            break
        time.sleep(0.05)
    built = comfyui_history_success(prompt_id, {"9": [comfyui_image_ref("p_00001_.png")]})
    assert served[prompt_id]["outputs"] == built[prompt_id]["outputs"]
    assert served[prompt_id]["meta"] == built[prompt_id]["meta"]
    assert set(served[prompt_id]) == set(built[prompt_id]) == {"prompt", "outputs", "status", "meta"}
    assert [m[0] for m in served[prompt_id]["status"]["messages"]] == [
        m[0] for m in built[prompt_id]["status"]["messages"]
    ]
    error = comfyui_history_error(prompt_id, "3", "KSampler")[prompt_id]["status"]
    assert (error["status_str"], error["messages"][-1][1]["exception_type"]) == (
        "error",
        "torch.OutOfMemoryError",
    )

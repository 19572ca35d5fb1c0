"""The behaviour script: failures with each provider's real bodies, counts, delays, hangs, concurrency."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.standin.behaviour import ScriptError
from tests.standin.conftest import OPENAI_AUTH, OPENROUTER_AUTH, get, post

GENERATE = {
    "openai": ("/v1/images/generations", {"model": "gpt-image-1", "prompt": "x", "n": 2}, OPENAI_AUTH),
    "dall-e": ("/v1/images/generations", {"model": "dall-e-3", "prompt": "x"}, OPENAI_AUTH),
    "openrouter": (
        "/api/v1/images",
        {"model": "black-forest-labs/flux-schnell", "prompt": "x", "n": 2},
        OPENROUTER_AUTH,
    ),
    "a1111": ("/sdapi/v1/txt2img", {"prompt": "x", "batch_size": 2, "width": 64, "height": 64}, {}),
}


def generate(standin, kind: str, **kwargs) -> requests.Response:
    path, payload, headers = GENERATE[kind]
    return post(f"{standin.url}{path}", json=payload, headers=headers, **kwargs)


def count_images(response: requests.Response) -> int:
    body = response.json()
    return len(body["images"] if "images" in body else body["data"])


@pytest.mark.parametrize(
    ("kind", "failure", "status", "check"),
    [
        ("dall-e", "content_policy", 400, lambda e: e["error"]["code"] == "content_policy_violation"),
        ("openai", "content_policy", 400, lambda e: e["error"]["code"] == "moderation_blocked"),
        ("openai", "unauthorized", 401, lambda e: e["error"]["code"] == "invalid_api_key"),
        ("openai", "quota", 429, lambda e: e["error"]["type"] == "insufficient_quota"),
        ("openai", "credits", 400, lambda e: e["error"]["code"] == "billing_hard_limit_reached"),
        ("openai", "unverified", 403, lambda e: "must be verified" in e["error"]["message"]),
        ("openai", "server_error", 500, lambda e: e["error"]["type"] == "server_error"),
        ("openai", "unavailable", 503, lambda e: set(e["error"]) == {"message", "type", "param", "code"}),
        ("openrouter", "credits", 402, lambda e: e["error"]["message"].startswith("Insufficient credits")),
        ("openrouter", "moderation", 403, lambda e: e["error"]["metadata"]["reasons"] == ["violence"]),
        (
            "openrouter",
            "unauthorized",
            401,
            lambda e: e["error"] == {"code": 401, "message": "User not found."},
        ),
        ("openrouter", "bad_gateway", 502, lambda e: e["error"]["code"] == 502),
        ("openrouter", "unavailable", 503, lambda e: e["error"]["code"] == 503),
        ("a1111", "server_error", 500, lambda e: e["error"] == "RuntimeError" and e["errors"]),
        ("a1111", "unauthorized", 401, lambda e: e["detail"] == "Incorrect username or password"),
        ("a1111", "content_policy", 500, lambda e: e["error"] == "RuntimeError"),  # no such thing upstream
        ("a1111", "validation", 422, lambda e: e["detail"][0]["loc"] == ["body", "steps"]),
    ],
)
def test_failures_carry_the_providers_real_bodies(standin, kind, failure, status, check):
    standin.script(fail_with=failure)
    response = generate(standin, kind)
    assert response.status_code == status
    assert check(response.json()), response.text
    assert response.headers["x-request-id"]


@pytest.mark.parametrize("kind", ["openai", "openrouter", "a1111"])
def test_a_rate_limit_then_success(standin, kind):
    standin.script(fail_with="rate_limit", fail_times=1, retry_after=3)
    limited = generate(standin, kind)
    assert limited.status_code == 429
    assert (limited.headers["retry-after"], limited.headers["retry-after-ms"]) == ("3", "3000")
    if kind == "openai":
        assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    if kind == "openrouter":
        assert limited.json()["error"]["code"] == 429
    assert generate(standin, kind).status_code == 200
    assert [r["status"] for r in standin.requests(GENERATE[kind][0])] == [429, 200]


def test_stacked_rules_play_a_sequence_and_fail_times_counts(standin):
    standin.script(
        {"fail_with": "rate_limit", "fail_times": 1},
        {"fail_with": "server_error", "fail_times": 2},
    )
    statuses = [generate(standin, "openai").status_code for _ in range(5)]
    assert statuses == [429, 500, 500, 200, 200]
    assert standin.describe()["rules"][1]["failed"] == 2


def test_rules_target_generation_by_default_and_named_paths_or_families_on_request(standin):
    standin.script(fail_with="unauthorized")
    assert get(f"{standin.url}/v1/models", headers=OPENAI_AUTH).status_code == 200
    assert generate(standin, "openai").status_code == 401
    assert generate(standin, "a1111").status_code == 401
    standin.script(family="openai", paths=["/v1/*"], fail_with="unauthorized")
    assert get(f"{standin.url}/v1/models", headers=OPENAI_AUTH).status_code == 401
    assert generate(standin, "a1111").status_code == 200
    standin.script(family="openrouter", paths=["/api/v1/key"], fail_with="unauthorized")
    refused = get(f"{standin.url}/api/v1/key", headers=OPENROUTER_AUTH)
    assert refused.json() == {"error": {"code": 401, "message": "User not found."}}


def test_fewer_images(standin):
    standin.script(fewer_images=1)
    assert [count_images(generate(standin, k)) for k in ("openai", "openrouter", "a1111")] == [1, 1, 1]
    chat = post(
        f"{standin.url}/api/v1/chat/completions",
        json={
            "model": "google/gemini-2.5-flash-image",
            "messages": [{"role": "user", "content": "x"}],
            "modalities": ["image", "text"],
        },
        headers=OPENROUTER_AUTH,
    ).json()
    assert "images" not in chat["choices"][0]["message"]


def test_openrouter_late_error_arrives_with_http_200(standin):
    standin.script(family="openrouter", fail_with="late_error")
    response = post(
        f"{standin.url}/api/v1/chat/completions",
        json={
            "model": "google/gemini-2.5-flash-image",
            "messages": [{"role": "user", "content": "x"}],
            "modalities": ["image", "text"],
        },
        headers=OPENROUTER_AUTH,
    )
    assert response.status_code == 200
    assert response.json()["choices"][0]["finish_reason"] == "error"


@pytest.mark.parametrize("delay", [0.5, 1.0])
def test_a_delay_holds_the_answer_at_least_that_long(standin, delay):
    standin.script(delay=delay)
    assert generate(standin, "openai").status_code == 200
    (entry,) = standin.requests(GENERATE["openai"][0])
    assert entry["duration"] >= delay  # measured by the stand-in between arrival and answer


def run_held(standin, kind: str, count: int) -> list[int]:
    """`count` parallel requests held by the stand-in until all are in flight, then released together."""
    standin.script(hold=True)
    with ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(lambda: generate(standin, kind).status_code) for _ in range(count)]
        in_flight = standin.wait_for(GENERATE[kind][0], count=count, timeout=20)
        # All of them arrived while none had been answered: they overlap, whatever the machine's speed.
        assert [r["status"] for r in in_flight] == [None] * count
        standin.release()
        return [f.result() for f in futures]


def test_parallel_slow_requests_overlap(standin):
    assert run_held(standin, "dall-e", 4) == [200] * 4


def test_twenty_parallel_requests_for_benchmarks(standin):
    assert run_held(standin, "a1111", 20) == [200] * 20


def test_a_held_request_answers_after_the_release_with_the_rest_of_its_rule(standin):
    standin.script({"hold": True, "fail_with": "server_error", "fail_times": 1})
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(lambda: generate(standin, "openrouter").status_code)
        standin.wait_for(GENERATE["openrouter"][0])
        assert not future.done()
        standin.release()
        assert future.result() == 500


def test_hang_until_the_client_times_out_and_then_release(standin):
    standin.script(hang=True)
    with pytest.raises(requests.ReadTimeout):
        generate(standin, "openai", timeout=0.3)
    standin.wait_for(GENERATE["openai"][0])
    assert standin.requests(GENERATE["openai"][0])[0]["status"] is None
    errors: list[Exception] = []

    def call() -> None:
        try:
            generate(standin, "openai", timeout=10)
        except requests.ConnectionError as exc:
            errors.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    standin.wait_for(GENERATE["openai"][0], count=2)
    standin.release()
    worker.join(timeout=10)
    assert not worker.is_alive() and len(errors) == 1, "released: the connection closes unanswered"
    assert standin.requests(GENERATE["openai"][0])[-1]["status"] is None


def test_hang_with_delay_drops_the_connection_after_it(standin):
    standin.script(hang=True, delay=0.4)
    with pytest.raises(requests.ConnectionError):
        generate(standin, "openrouter", timeout=5)
    (entry,) = standin.wait_for(GENERATE["openrouter"][0], answered=False)
    assert entry["status"] is None


def test_disconnect_closes_without_an_answer(standin):
    standin.script(fail_with="disconnect", fail_times=1)
    with pytest.raises(requests.ConnectionError):
        generate(standin, "a1111", timeout=5)
    assert generate(standin, "a1111").status_code == 200


def test_a_stopped_stand_in_refuses_connections_even_on_kept_alive_ones(standin):
    with requests.Session() as session:
        assert session.get(f"{standin.url}/sdapi/v1/sd-models").status_code == 200
        standin.stop()
        with pytest.raises(requests.ConnectionError):
            session.get(f"{standin.url}/sdapi/v1/sd-models", timeout=2)


def test_a1111_progress_follows_the_delay_and_interrupt_ends_early(standin):
    # Long enough that a loaded machine still polls it more than once while it runs.
    standin.script(family="a1111", delay=3.0)
    idle = get(f"{standin.url}/sdapi/v1/progress", params={"skip_current_image": "true"}).json()
    assert (idle["progress"], idle["state"]["job_count"]) == (0.0, 0)
    results: list[requests.Response] = []
    payload = {"prompt": "x", "steps": 20, "width": 64, "height": 64}
    worker = threading.Thread(
        target=lambda: results.append(post(f"{standin.url}/sdapi/v1/txt2img", json=payload))
    )
    worker.start()
    standin.wait_for("/sdapi/v1/txt2img")
    seen = []
    while worker.is_alive():
        busy = get(f"{standin.url}/sdapi/v1/progress", params={"skip_current_image": "true"}).json()
        if busy["state"]["job_count"]:
            seen.append(busy)
        time.sleep(0.05)
    worker.join()
    assert seen, "the job was visible while it ran"
    fractions = [s["progress"] for s in seen]
    assert fractions == sorted(fractions) and all(0 <= f < 1 for f in fractions)
    assert fractions[-1] > fractions[0], "progress moved while the job ran"
    for busy in seen:
        assert busy["state"]["sampling_steps"] == 20 and busy["state"]["job_count"] == 1
        assert busy["state"]["sampling_step"] == int(busy["progress"] * 20)
        # Past its delay (a loaded machine answers late) the job sits at 0.99 with nothing left to wait.
        assert busy["eta_relative"] > 0 or busy["progress"] == 0.99
    (entry,) = standin.requests("/sdapi/v1/txt2img")
    assert entry["duration"] >= 3.0 and results[0].status_code == 200
    assert get(f"{standin.url}/sdapi/v1/progress").json()["progress"] == 0.0

    standin.script(family="a1111", delay=60)
    worker = threading.Thread(
        target=lambda: results.append(
            post(f"{standin.url}/sdapi/v1/txt2img", json={"prompt": "x"}, timeout=70)
        )
    )
    worker.start()
    standin.wait_for("/sdapi/v1/txt2img", count=2)
    while not get(f"{standin.url}/sdapi/v1/progress").json()["state"]["job_count"]:
        time.sleep(0.02)
    assert post(f"{standin.url}/sdapi/v1/interrupt").json() == {}
    worker.join(timeout=30)
    interrupted = results[-1]
    assert interrupted.status_code == 200 and interrupted.json()["images"]
    assert json.loads(interrupted.json()["info"])["interrupted"] is True
    assert standin.requests("/sdapi/v1/txt2img")[-1]["interrupted"] is True, "answered on the interrupt"


def test_recording(standin):
    post(
        f"{standin.url}/v1/images/generations?trace=1",
        json={"model": "gpt-image-1", "prompt": "recorded"},
        headers={**OPENAI_AUTH, "X-Custom": "yes"},
    )
    get(f"{standin.url}/v1/models", headers=OPENAI_AUTH)
    get(f"{standin.url}/sdapi/v1/samplers")
    (entry,) = standin.requests("/v1/images/generations")
    assert entry["method"] == "POST" and entry["query"] == {"trace": "1"}
    assert entry["headers"]["x-custom"] == "yes" and entry["headers"]["authorization"].startswith("Bearer ")
    assert entry["body"] == {"model": "gpt-image-1", "prompt": "recorded"}
    assert entry["status"] == 200 and entry["time"] <= time.time()
    assert [r["path"] for r in standin.requests("/v1/*")] == ["/v1/images/generations", "/v1/models"]
    assert len(standin.requests()) == 3 and len(standin.requests(method="GET")) == 2
    standin.reset()
    assert standin.requests() == []


def test_bad_scripts_are_refused(standin):
    with pytest.raises(ScriptError, match="unknown script keys"):
        standin.script(fail_width="rate_limit")
    with pytest.raises(ScriptError, match="fail_with"):
        standin.script(fail_with="teapot")
    with pytest.raises(ScriptError, match="family"):
        standin.script(family="midjourney")
    refused = post(f"{standin.url}/_standin/script", json={"delay": -1})
    assert refused.status_code == 400 and "delay" in refused.json()["error"]

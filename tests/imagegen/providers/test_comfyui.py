"""ComfyUI specifics with replayed HTTP: the graph sent, seeds, validation, polling, failures, checks and models.

Canned bodies come from tests.standin.wire_bodies (the stand-in answers with the same builders), and graphs are
checked with the stand-in's copy of ComfyUI's own validation. The websocket, cancelling and the admin's workflow
check against a live server are in test_comfyui_standin.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from responses import matchers

from imagegen.options import MAX_SEED
from imagegen.providers import GenerationRequest, ProviderError
from imagegen.providers import comfyui as comfyui_module
from imagegen.providers.comfyui import ComfyUIProvider
from imagegen.providers.comfyui_workflow import BUILT_IN_WORKFLOW
from tests.imagegen.providers.progress import ignore, record
from tests.standin import comfyui_nodes
from tests.standin.comfyui_graph import validate_prompt
from tests.standin.wire_bodies import (
    comfyui_history_entry,
    comfyui_history_error,
    comfyui_history_interrupted,
    comfyui_history_success,
    comfyui_image_ref,
    comfyui_proxy_error,
    comfyui_system_stats,
)

from .cases import COMFYUI_CHECKPOINTS, COMFYUI_PROMPT_ID, ComfyUICase, comfyui_node_body
from .conftest import TINY_PNG, Conn, png

CASE = ComfyUICase()
BASE = CASE.base_url
PROMPT = CASE.generate_url
HISTORY = f"{BASE}/history/{COMFYUI_PROMPT_ID}"
CHECKPOINT = COMFYUI_CHECKPOINTS[1]


@dataclass(frozen=True)
class ComfyConn(Conn):
    """A connection with the provider's own settings (workflow, workflow_inputs), as imagegen.config builds it."""

    extra: dict[str, Any] = field(default_factory=dict)


def connection(**changes: Any) -> ComfyConn:
    values = {"provider_id": "comfyui", "api_key": CASE.api_key, "base_url": BASE}
    return ComfyConn(**{**values, **changes})


@pytest.fixture
def provider(sleeps) -> ComfyUIProvider:
    return ComfyUIProvider(connection(), sleep=sleeps.append)


@pytest.fixture
def no_websocket(monkeypatch):
    """A proxy that refuses websockets (and no network in unit tests): every handshake fails."""
    attempts: list[str] = []

    def refuse(url: str, **kwargs: Any) -> None:
        attempts.append(url)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(comfyui_module.websocket, "create_connection", refuse)
    return attempts


def sent_graph(rsps) -> dict[str, Any]:
    (call,) = [c for c in rsps.calls if c.request.url == PROMPT]
    return json.loads(call.request.body)


def valid_for_comfyui(graph: dict[str, Any]) -> None:
    """The stand-in's copy of ComfyUI's validate_prompt accepts it (with the server's usual lists)."""
    nodes = comfyui_nodes.node_definitions(COMFYUI_CHECKPOINTS, list(comfyui_nodes.UPSCALE_MODELS), [])
    ok, error, outputs, node_errors = validate_prompt(json.loads(json.dumps(graph)), nodes, lambda _: False)
    assert ok, (error, node_errors)
    assert outputs == ["9"]


def finished(rsps, *images: bytes, node: str = "9") -> None:
    """The history lists `images` as saved by `node`; /view serves each."""
    refs = [comfyui_image_ref(f"Inkweld_{i + 1:05}_.png") for i in range(len(images))]
    rsps.get(HISTORY, json=comfyui_history_success(COMFYUI_PROMPT_ID, {node: refs}))
    for ref, data in zip(refs, images, strict=True):
        rsps.get(
            f"{BASE}/view", body=data, content_type="image/png", match=[matchers.query_param_matcher(ref)]
        )


def test_the_built_in_workflow_carries_every_option(rsps, provider):
    rsps.get(f"{BASE}/object_info/KSampler", json=comfyui_node_body("KSampler"))
    rsps.post(PROMPT, json=CASE.success([]))
    finished(rsps, png(64, 96), png(64, 96))
    request = GenerationRequest(
        model=CHECKPOINT, prompt="A lighthouse at dusk", size="832x1216", count=2,
        options={"negative_prompt": "blurry", "seed": 1234, "steps": 25, "cfg_scale": 6.5,
                 "sampler": "dpmpp_2m", "scheduler": "karras"},
    )  # fmt: skip
    result = provider.generate(request)

    body = sent_graph(rsps)
    assert set(body) == {"prompt", "client_id"} and len(body["client_id"]) == 32
    graph = body["prompt"]
    assert graph["4"]["inputs"]["ckpt_name"] == CHECKPOINT
    assert graph["6"]["inputs"]["text"] == "A lighthouse at dusk"
    assert graph["7"]["inputs"]["text"] == "blurry"
    assert graph["5"]["inputs"] == {"width": 832, "height": 1216, "batch_size": 2}
    sampler = graph["3"]["inputs"]
    assert (sampler["seed"], sampler["steps"], sampler["cfg"]) == (1234, 25, 6.5)
    assert (sampler["sampler_name"], sampler["scheduler"]) == ("dpmpp_2m", "karras")
    valid_for_comfyui(graph)
    assert BUILT_IN_WORKFLOW["6"]["inputs"]["text"] == ""  # filled in a copy, never in the shared graph

    # Each image of the batch records the seed and where it sat in the batch (the same seed repeats the batch).
    assert [(i.seed, i.extra["batch_index"]) for i in result.images] == [(1234, 0), (1234, 1)]
    assert result.images[0].extra == {
        "checkpoint": CHECKPOINT, "steps": 25, "cfg_scale": 6.5, "sampler": "dpmpp_2m", "scheduler": "karras",
        "prompt_id": COMFYUI_PROMPT_ID, "batch_index": 0,
    }  # fmt: skip
    assert result.request_ids == [COMFYUI_PROMPT_ID] and result.cost is None


def test_a_missing_seed_is_drawn_and_recorded(rsps, provider):
    rsps.post(PROMPT, json=CASE.success([]))
    finished(rsps, TINY_PNG)
    result = provider.generate(CASE.request())
    graph = sent_graph(rsps)["prompt"]
    seed = graph["3"]["inputs"]["seed"]
    assert 0 <= seed <= MAX_SEED and result.images[0].seed == seed
    # Unchosen sampler and scheduler stay as the workflow has them; steps and CFG take the usual defaults.
    assert (graph["3"]["inputs"]["sampler_name"], graph["3"]["inputs"]["scheduler"]) == ("euler", "normal")
    assert (graph["3"]["inputs"]["steps"], graph["3"]["inputs"]["cfg"]) == (30, 7.0)
    assert graph["7"]["inputs"]["text"] == ""
    valid_for_comfyui(graph)
    # Nothing was listed first: ComfyUI checks the checkpoint itself (and says which node, see below).
    assert [c.request.url.split("?")[0] for c in rsps.calls] == [PROMPT, HISTORY, f"{BASE}/view"]


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"sampler": "euler_x"}, "offers sampler"),
        ({"scheduler": "fastest"}, "offers scheduler"),
        ({"quality": "high"}, "takes no quality"),
    ],
)
def test_options_the_server_lacks_never_reach_it(rsps, provider, options, problem):
    if "sampler" in options or "scheduler" in options:
        rsps.get(f"{BASE}/object_info/KSampler", json=comfyui_node_body("KSampler"))
    with pytest.raises(ProviderError) as caught:
        provider.generate(CASE.request(options=options))
    assert caught.value.error_class == "bad_request" and problem in caught.value.message
    assert not [c for c in rsps.calls if c.request.url == PROMPT]


def test_polling_waits_for_the_history(rsps, provider, sleeps, no_websocket):
    rsps.post(PROMPT, json=CASE.success([]))
    rsps.get(HISTORY, json={})
    rsps.get(HISTORY, json={})
    finished(rsps, TINY_PNG)
    progress: list[float] = []
    result = provider.generate(CASE.request(), on_progress=record(progress))
    assert len(result.images) == 1
    assert sleeps == [1.0, 1.0]  # the poll interval, twice: nothing else waited
    assert no_websocket == [f"ws://comfyui.local:8188/ws?clientId={sent_graph(rsps)['client_id']}"]
    assert progress == []  # polling alone cannot tell progress; the job's own states still show


def test_refused_graph_names_the_node(rsps, provider):
    status, body, _ = CASE.errors["bad_request"]
    rsps.post(PROMPT, json=body, status=status)
    with pytest.raises(ProviderError) as caught:
        provider.generate(CASE.request())
    err = caught.value
    assert (err.error_class, err.permanent, err.upstream_code) == ("bad_request", True, "node_errors")
    assert "node 3 (KSampler): Value not in list: sampler_name: 'euler_x' not in ['euler']" in err.message


@pytest.mark.parametrize(
    ("history", "upstream_code", "words"),
    [
        (comfyui_history_error(COMFYUI_PROMPT_ID, "3", "KSampler"), "out_of_memory",
         "ComfyUI ran out of GPU memory at node 3 (KSampler): Allocation on device 0 would exceed allowed memory. "
         "(out of memory). Try a smaller size or fewer images."),
        (comfyui_history_error(COMFYUI_PROMPT_ID, "8", "VAEDecode", exception_type="RuntimeError",
                               exception_message="Given groups=1, weight of size [512, 4, 3, 3]"),
         "execution_error", "ComfyUI failed at node 8 (VAEDecode): Given groups=1, weight of size [512, 4, 3, 3]."),
    ],
    ids=["out-of-memory", "runtime-error"],
)  # fmt: skip
def test_an_execution_error_is_unavailable_with_its_message(rsps, provider, history, upstream_code, words):
    rsps.post(PROMPT, json=CASE.success([]))
    rsps.get(HISTORY, json=history)
    with pytest.raises(ProviderError) as caught:
        provider.generate(CASE.request())
    err = caught.value
    assert (err.error_class, err.upstream_code, err.request_id) == (
        "unavailable",
        upstream_code,
        COMFYUI_PROMPT_ID,
    )
    assert words in err.message
    assert err.permanent  # never run again unasked
    assert not [c for c in rsps.calls if "/view" in c.request.url]


def test_a_prompt_interrupted_by_someone_else_fails_as_cancelled(rsps, provider):
    rsps.post(PROMPT, json=CASE.success([]))
    rsps.get(HISTORY, json=comfyui_history_interrupted(COMFYUI_PROMPT_ID, "3", "KSampler"))
    with pytest.raises(ProviderError) as caught:
        provider.generate(CASE.request())
    assert caught.value.error_class == "cancelled"
    assert "Someone stopped this generation on the ComfyUI server" in caught.value.message


def test_an_error_without_a_reason_is_still_a_failure(rsps, provider):
    rsps.post(PROMPT, json=CASE.success([]))
    rsps.get(
        HISTORY,
        json=comfyui_history_entry(COMFYUI_PROMPT_ID, messages=[], status_str="error", completed=False),
    )
    with pytest.raises(ProviderError) as caught:
        provider.generate(CASE.request())
    assert caught.value.error_class == "unavailable" and "did not say why" in caught.value.message


def test_saved_images_are_taken_over_previews_of_the_same_picture(rsps, provider):
    rsps.post(PROMPT, json=CASE.success([]))
    saved, preview = (
        comfyui_image_ref("Inkweld_00001_.png"),
        comfyui_image_ref("ComfyUI_temp_abcde_00001_.png", type_="temp"),
    )
    rsps.get(HISTORY, json=comfyui_history_success(COMFYUI_PROMPT_ID, {"9": [saved], "10": [preview]}))
    rsps.get(
        f"{BASE}/view", body=TINY_PNG, content_type="image/png", match=[matchers.query_param_matcher(saved)]
    )
    result = provider.generate(CASE.request())
    assert len(result.images) == 1 and result.errors == []


def test_an_image_that_cannot_be_fetched_is_that_images_failure(rsps, provider, sleeps):
    rsps.post(PROMPT, json=CASE.success([]))
    refs = [comfyui_image_ref("Inkweld_00001_.png"), comfyui_image_ref("Inkweld_00002_.png")]
    rsps.get(HISTORY, json=comfyui_history_success(COMFYUI_PROMPT_ID, {"9": refs}))
    rsps.get(
        f"{BASE}/view", body=TINY_PNG, content_type="image/png", match=[matchers.query_param_matcher(refs[0])]
    )
    rsps.get(f"{BASE}/view", status=404, body="404: Not Found", match=[matchers.query_param_matcher(refs[1])])
    result = provider.generate(CASE.request(count=2))
    assert len(result.images) == 1
    (err,) = result.errors
    assert err.error_class == "bad_response" and "Inkweld_00002_.png could not be fetched" in err.message
    assert sleeps == []  # a missing file is not retried


def test_a_flaky_view_is_retried(rsps, provider, sleeps):
    rsps.post(PROMPT, json=CASE.success([]))
    ref = comfyui_image_ref("Inkweld_00001_.png")
    rsps.get(HISTORY, json=comfyui_history_success(COMFYUI_PROMPT_ID, {"9": [ref]}))
    status, body, _ = CASE.errors["unavailable"]
    rsps.get(f"{BASE}/view", status=status, body=body, content_type="text/html")
    rsps.get(f"{BASE}/view", body=TINY_PNG, content_type="image/png")
    result = provider.generate(CASE.request())
    assert len(result.images) == 1 and len(sleeps) == 1


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("writer:s3cret", "Basic d3JpdGVyOnMzY3JldA=="),
        ("proxy-token-123", "Bearer proxy-token-123"),
        ("", None),
    ],
)
def test_every_call_carries_the_proxy_credential(rsps, sleeps, key, expected):
    rsps.post(PROMPT, json=CASE.success([]))
    finished(rsps, TINY_PNG)
    ComfyUIProvider(connection(api_key=key), sleep=sleeps.append).generate(CASE.request())
    assert [c.request.headers.get("Authorization") for c in rsps.calls] == [expected] * 3


def test_the_websocket_carries_the_proxy_credential(rsps, monkeypatch):
    seen: list[dict[str, Any]] = []

    def refuse(url: str, **kwargs: Any) -> None:
        seen.append({"url": url, **kwargs})
        raise comfyui_module.websocket.WebSocketBadStatusException("Handshake status %d %s", 403, "Forbidden")

    monkeypatch.setattr(comfyui_module.websocket, "create_connection", refuse)
    base = "https://comfy.example/sub"  # behind a proxy, under a path
    rsps.post(f"{base}/prompt", json=CASE.success([]))
    ref = comfyui_image_ref("Inkweld_00001_.png")
    rsps.get(
        f"{base}/history/{COMFYUI_PROMPT_ID}", json=comfyui_history_success(COMFYUI_PROMPT_ID, {"9": [ref]})
    )
    rsps.get(f"{base}/view", body=TINY_PNG, content_type="image/png")
    ComfyUIProvider(connection(base_url=base)).generate(CASE.request(), on_progress=ignore)
    (handshake,) = seen
    assert handshake["url"].startswith("wss://comfy.example/sub/ws?clientId=")
    assert f"Authorization: {CASE.authorization}" in handshake["header"]
    assert handshake["suppress_origin"] is True


# --- check and models ----------------------------------------------------------------------------------------------


def test_check_says_what_runs(rsps, provider):
    rsps.get(f"{BASE}/system_stats", json=comfyui_system_stats("0.3.75"))
    rsps.get(f"{BASE}/object_info/CheckpointLoaderSimple", json=comfyui_node_body("CheckpointLoaderSimple"))
    result = provider.check()
    assert (result.ok, result.status) == (True, "ok")
    assert result.reason == "ComfyUI 0.3.75 answers; 2 checkpoint(s) installed."


@pytest.mark.parametrize(
    ("key", "stats", "checkpoints", "expected"),
    [
        ("", comfyui_proxy_error(401), None, "auth_required"),
        ("writer:wrong", comfyui_proxy_error(401), None, "auth_rejected"),
        ("", (404, "404: Not Found", {}), None, "not_comfyui"),
        ("", (200, comfyui_system_stats(), {}), [], "no_checkpoints"),
        ("", (200, comfyui_system_stats(), {}), requests.exceptions.ReadTimeout("slow"), "unreachable"),
    ],
)
def test_check_statuses(rsps, sleeps, key, stats, checkpoints, expected):
    status, body, _ = stats
    if isinstance(body, dict):
        rsps.get(f"{BASE}/system_stats", json=body, status=status)
    else:
        rsps.get(f"{BASE}/system_stats", body=body, status=status, content_type="text/html")
    if isinstance(checkpoints, Exception):
        rsps.get(f"{BASE}/object_info/CheckpointLoaderSimple", body=checkpoints)
    elif checkpoints is not None:
        rsps.get(f"{BASE}/object_info/CheckpointLoaderSimple",
                 json=comfyui_node_body("CheckpointLoaderSimple", ckpt_name=checkpoints))  # fmt: skip
    result = ComfyUIProvider(connection(api_key=key), sleep=sleeps.append).check()
    assert (result.ok, result.status) == (False, expected)
    assert "admin" in result.reason or expected == "unreachable"
    assert "wrong" not in result.reason and sleeps == []


def test_models_are_the_checkpoints_with_the_servers_samplers(rsps, provider):
    rsps.get(f"{BASE}/object_info/CheckpointLoaderSimple", json=comfyui_node_body("CheckpointLoaderSimple"))
    rsps.get(f"{BASE}/object_info/KSampler", json=comfyui_node_body("KSampler"))
    assert provider.cached_models() is None  # nothing fetched yet: never asks
    options = provider.models()
    assert [(o.id, o.label, o.provider_id) for o in options] == [
        ("v1-5-pruned-emaonly.safetensors", "v1-5-pruned-emaonly", "comfyui"),
        ("sd_xl_base_1.0.safetensors", "sd_xl_base_1.0", "comfyui"),
    ]
    first = options[0]
    assert first.samplers == tuple(comfyui_nodes.SAMPLERS) and first.schedulers == tuple(
        comfyui_nodes.SCHEDULERS
    )
    assert (first.negative_prompt, first.seed, first.steps, first.cfg_scale) == (True, True, True, True)
    assert first.max_images_per_job == 8 and first.price is not None and first.price.kind == "free"
    assert [o.id for o in provider.cached_models() or []] == [o.id for o in options]  # from the cache
    assert len(rsps.calls) == 2
    # Named the same without asking the server (a job's record, a saved image's page).
    assert ComfyUIProvider.spec_for("SDXL/juggernaut_v9.safetensors").label == "SDXL/juggernaut_v9"


def test_newer_servers_combo_lists_are_read_too(rsps, provider):
    """ComfyUI's v3 nodes describe a list as ["COMBO", {"options": [...]}]."""
    body = comfyui_node_body("CheckpointLoaderSimple")
    body["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"] = [
        "COMBO",
        {"options": ["flux1-dev.safetensors"]},
    ]
    rsps.get(f"{BASE}/object_info/CheckpointLoaderSimple", json=body)
    rsps.get(f"{BASE}/object_info/KSampler", json=comfyui_node_body("KSampler"))
    assert [o.id for o in provider.models()] == ["flux1-dev.safetensors"]


def test_no_models_when_the_server_cannot_be_asked(rsps, provider):
    rsps.get(
        f"{BASE}/object_info/CheckpointLoaderSimple", body=requests.exceptions.ConnectionError("refused")
    )
    assert provider.models() == []

"""The stand-in as its own process (`python -m tests.standin`), driven over its control API."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.standin import StandinClient, StandinProcess
from tests.standin.client import REPO_ROOT
from tests.standin.conftest import OPENAI_AUTH, get, post


@pytest.fixture(scope="module")
def remote() -> Iterator[StandinClient]:
    with StandinProcess("--sd-auth", "writer:s3cret") as client:
        yield client


@pytest.fixture(autouse=True)
def _fresh(remote: StandinClient) -> None:
    remote.reset()


def test_a_separate_process_is_scripted_and_read_over_http(remote):
    assert remote.health()
    remote.script(family="openai", fail_with="rate_limit", fail_times=1, retry_after=2)
    url = f"{remote.url}/v1/images/generations"
    payload = {"model": "dall-e-2", "prompt": "x", "size": "256x256", "response_format": "b64_json"}
    first = post(url, json=payload, headers=OPENAI_AUTH)
    assert (first.status_code, first.headers["retry-after"]) == (429, "2")
    assert post(url, json=payload, headers=OPENAI_AUTH).status_code == 200
    recorded = remote.requests("/v1/images/generations")
    assert [r["status"] for r in recorded] == [429, 200]
    assert recorded[0]["body"] == payload
    assert remote.describe()["rules"][0]["failed"] == 1


def test_command_line_settings_survive_a_reset(remote):
    url = f"{remote.url}/sdapi/v1/options"
    assert get(url).status_code == 401
    assert get(url, auth=("writer", "s3cret")).status_code == 200
    remote.configure(sd_auth=None)
    assert get(url).status_code == 200
    remote.reset()
    assert get(url).status_code == 401


def test_wait_for_and_add_rule(remote):
    remote.script(delay=0.2)
    remote.add_rule(family="a1111", fail_with="server_error", fail_times=1)
    rules = remote.describe()["rules"]
    assert [r.get("fail_with") for r in rules] == [None, "server_error"]
    response = post(f"{remote.url}/sdapi/v1/txt2img", json={"prompt": "x"}, auth=("writer", "s3cret"))
    assert response.status_code == 500
    (entry,) = remote.wait_for("/sdapi/v1/txt2img", answered=True, timeout=2)
    assert entry["duration"] >= 0.2
    with pytest.raises(TimeoutError):
        remote.wait_for("/sdapi/v1/txt2img", count=2, timeout=0.2)
    with pytest.raises(ValueError, match="unknown script keys"):
        remote.script(explode=True)
    remote.clear_requests()
    assert remote.requests() == []


def test_raw_control_api(remote):
    body = {"rules": [{"family": "openrouter", "paths": ["/api/v1/key"], "fail_with": "credits"}]}
    set_ = post(f"{remote.url}/_standin/script", json=body)
    assert set_.json()["rules"][0]["fail_with"] == "credits"
    refused = get(f"{remote.url}/api/v1/key", headers={"Authorization": "Bearer k"})
    assert refused.status_code == 402
    listed = get(f"{remote.url}/_standin/requests", params={"path": "/api/v1/key"}).json()
    assert listed["requests"][0]["status"] == 402
    assert get(f"{remote.url}/_standin/nothing").status_code == 404


def test_the_port_file_and_a_clean_stop_on_sigterm(tmp_path: Path):
    port_file = tmp_path / "port"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.standin", "--port", "0", "--port-file", str(port_file)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while not port_file.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        port = int(port_file.read_text())
        assert "listening on http://127.0.0.1:" in process.stdout.readline()
        assert StandinClient(f"http://127.0.0.1:{port}").health()
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0


def test_the_shared_fixture_and_a_restart_on_the_same_port(standin_process):
    assert standin_process.env()["AI_IMAGE_OPENAI_BASE_URL"] == f"{standin_process.url}/v1"
    process = StandinProcess()
    client = process.start()
    try:
        url = f"{client.url}/sdapi/v1/samplers"
        assert get(url).status_code == 200
        process.stop()
        with pytest.raises(requests.ConnectionError):
            get(url, timeout=2)
        assert process.restart().url == client.url
        assert get(url).status_code == 200
    finally:
        process.stop()


def test_new_settings_recordings_and_comfyui_over_the_control_api(remote):
    remote.configure(openai_models="openai", sd_flavour="sdnext", comfyui_websocket=False)
    refused = post(
        f"{remote.url}/v1/images/generations", json={"model": "dall-e-3", "prompt": "x"}, headers=OPENAI_AUTH
    )
    assert refused.json()["error"]["code"] == "model_not_found"
    ok = post(
        f"{remote.url}/v1/images/generations",
        json={"model": "gpt-image-2", "prompt": "x"},
        headers=OPENAI_AUTH,
    )
    (usage,) = remote.usages("/v1/images/generations")
    assert usage["usage"] == ok.json()["usage"] and usage["cost_usd"] > 0
    assert get(f"{remote.url}/sdapi/v1/schedulers", auth=("writer", "s3cret")).status_code == 404
    assert get(f"{remote.url}/ws", headers={"Upgrade": "websocket"}).status_code == 403
    mask = Image.new("RGBA", (64, 64), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 32, 16))
    out = io.BytesIO()
    mask.save(out, "PNG")
    source = io.BytesIO()
    Image.new("RGB", (64, 64)).save(source, "PNG")
    post(f"{remote.url}/v1/images/edits", data={"model": "gpt-image-2", "prompt": "x", "size": "1024x1024"},
         files=[("image[]", ("s.png", source.getvalue(), "image/png")), ("mask", ("m.png", out.getvalue(), "image/png"))],
         headers=OPENAI_AUTH)  # fmt: skip
    (recorded,) = remote.masks()
    assert recorded["mask"]["repaint_bbox"] == [0, 0, 32, 16]
    remote.reset()
    assert remote.describe()["config"]["openai_models"] is None


def test_command_line_flags_for_the_new_settings(tmp_path: Path):
    with StandinProcess("--sd-flavour", "a1111-old", "--openai-models", "openai", "--comfyui-auth", "tok",
                        "--no-comfyui-websocket") as client:  # fmt: skip
        config = client.describe()["config"]
        assert (config["sd_flavour"], config["openai_models"], config["comfyui_auth"], config["comfyui_websocket"]) == (
            "a1111-old", "openai", "tok", False)  # fmt: skip
        assert client.env()["AI_IMAGE_COMFYUI_ENDPOINT"] == client.url

"""ComfyUI against the in-process stand-in, which runs prompts in a queue and speaks the real websocket: progress
over the websocket, polling alone behind a proxy that refuses it, Cancel of a running and of a pending prompt,
refusals and execution failures, the proxy's credentials, the timeout, and the admin's workflow checked on save."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from imagegen.providers import GenerationRequest, ProviderError
from imagegen.providers.comfyui import ComfyUIProvider, check_workflow, check_workflow_inputs
from tests.imagegen.providers.progress import ignore, record
from tests.standin import comfyui_workflows
from tests.standin.fixtures import standin  # noqa: F401
from tests.standin.server import StandinServer

from .test_comfyui import ComfyConn

CHECKPOINT = "sd_xl_base_1.0.safetensors"


def provider_for(server: StandinServer, **changes: Any) -> ComfyUIProvider:
    values = {"provider_id": "comfyui", "api_key": "", "base_url": server.url, **changes}
    provider = ComfyUIProvider(ComfyConn(**values))
    provider.poll_interval = (
        0.05  # the stand-in answers at once; a second between polls would only slow tests
    )
    return provider


def request(count: int = 1, **options: Any) -> GenerationRequest:
    return GenerationRequest(
        model=CHECKPOINT, prompt="A lighthouse at dusk", size="512x768", count=count,
        options={"steps": 4, **options},
    )  # fmt: skip


def prompt_ids(server: StandinServer) -> list[str]:
    return [r["prompt_id"] for r in server.requests("/prompt", method="POST") if "prompt_id" in r]


def test_progress_comes_over_the_websocket(standin):  # noqa: F811
    standin.script(family="comfyui", delay=0.6)  # the prompt's run time, shared by its nodes and steps
    progress: list[float] = []
    result = provider_for(standin).generate(request(count=2, seed=42), on_progress=record(progress))

    assert [(i.width, i.height, i.seed, i.extra["batch_index"]) for i in result.images] == [
        (512, 768, 42, 0),
        (512, 768, 42, 1),
    ]
    # One sampler of four steps: a quarter each, the last held back until the images are in.
    assert progress == [0.25, 0.5, 0.75, 0.99]
    (socket,) = standin.requests("/ws")
    (submitted,) = standin.requests("/prompt", method="POST")
    assert socket["status"] == 101 and socket["client_id"] == submitted["body"]["client_id"]
    assert result.request_ids == prompt_ids(standin)
    assert len(standin.requests("/view")) == 2


def test_polling_alone_is_enough_behind_a_proxy_that_refuses_websockets(standin):  # noqa: F811
    standin.configure(comfyui_websocket=False)
    standin.script(family="comfyui", delay=0.3)
    progress: list[float] = []
    result = provider_for(standin).generate(request(), on_progress=record(progress))
    assert len(result.images) == 1 and result.images[0].width == 512
    assert [r["status"] for r in standin.requests("/ws")] == [403]
    assert len(standin.requests("/history*")) > 1  # asked until the prompt was there
    assert progress == []


def test_without_anyone_watching_no_websocket_is_opened(standin):  # noqa: F811
    result = provider_for(standin).generate(request())
    assert len(result.images) == 1 and standin.requests("/ws") == []


@pytest.mark.parametrize("websocket", [True, False], ids=["websocket", "polling"])
def test_cancel_interrupts_a_running_prompt(standin, websocket):  # noqa: F811
    standin.configure(comfyui_websocket=websocket)
    standin.script(family="comfyui", delay=60)  # would run a minute

    def should_cancel() -> bool:  # the writer presses Cancel once the prompt is running
        running, _ = standin.state.comfy.queue()
        return bool(running)

    result = provider_for(standin).generate(request(), on_progress=ignore, should_cancel=should_cancel)

    assert result.images == [] and [e.error_class for e in result.errors] == ["cancelled"]
    assert "cancelled" in result.errors[0].message
    (interrupt,) = standin.requests("/interrupt")
    assert interrupt["interrupted"] is True and interrupt["body"] == {"prompt_id": prompt_ids(standin)[0]}
    history = requests.get(f"{standin.url}/history/{prompt_ids(standin)[0]}", timeout=5).json()
    assert history[prompt_ids(standin)[0]]["status"]["messages"][-1][0] == "execution_interrupted"


def test_cancel_takes_a_pending_prompt_off_the_queue_and_leaves_the_running_one(standin):  # noqa: F811
    standin.script(family="comfyui", delay=60)
    someone_elses = requests.post(
        f"{standin.url}/prompt",
        json={"prompt": comfyui_workflows.txt2img(), "client_id": "someone"},
        timeout=5,
    ).json()["prompt_id"]
    standin.script()  # ours would be quick, but it waits behind theirs

    result = provider_for(standin).generate(request(), should_cancel=lambda: True)

    assert [e.error_class for e in result.errors] == ["cancelled"] and result.images == []
    ours = prompt_ids(standin)[1]
    assert [r["body"] for r in standin.requests("/queue", method="POST")] == [{"delete": [ours]}]
    assert standin.requests("/interrupt") == []  # someone else's prompt runs on
    running, pending = standin.state.comfy.queue()
    assert [item[1] for item in running] == [someone_elses] and pending == []
    requests.post(f"{standin.url}/interrupt", json={}, timeout=5)


def test_a_refused_graph_names_the_node(standin):  # noqa: F811
    standin.configure(comfyui_checkpoints=["flux1-dev.safetensors"])
    with pytest.raises(ProviderError) as caught:
        provider_for(standin).generate(request())
    assert caught.value.error_class == "bad_request"
    assert (
        "node 4 (CheckpointLoaderSimple): Value not in list: ckpt_name: 'sd_xl_base_1.0.safetensors' not in "
        "['flux1-dev.safetensors']" in caught.value.message
    )


@pytest.mark.parametrize(
    ("failure", "code", "words"),
    [
        (
            "oom",
            "out_of_memory",
            "ComfyUI ran out of GPU memory at node 3 (KSampler): Allocation on device 0",
        ),
        ("execution_error", "execution_error", "ComfyUI failed at node 8 (VAEDecode): Given groups=1"),
    ],
)
def test_a_failure_while_running_is_unavailable_with_comfyuis_words(standin, failure, code, words):  # noqa: F811
    standin.script(family="comfyui", fail_with=failure, delay=0.2)
    with pytest.raises(ProviderError) as caught:
        provider_for(standin).generate(request(), on_progress=ignore)
    err = caught.value
    assert (err.error_class, err.upstream_code) == ("unavailable", code) and words in err.message
    assert err.request_id == prompt_ids(standin)[0]
    assert len(standin.requests("/prompt", method="POST")) == 1  # never run again


@pytest.mark.parametrize(
    ("auth", "key"), [(["writer", "s3cret"], "writer:s3cret"), ("proxy-token", "proxy-token")]
)
def test_the_proxys_credentials_open_every_door(standin, auth, key):  # noqa: F811
    standin.configure(comfyui_auth=auth)
    standin.script(family="comfyui", delay=0.3)
    progress: list[float] = []
    provider = provider_for(standin, api_key=key)
    assert provider.check().ok
    assert len(provider.generate(request(), on_progress=record(progress)).images) == 1
    assert progress  # the websocket got through too
    assert {r["status"] for r in standin.requests()} <= {101, 200}

    wrong = provider_for(standin, api_key="writer:wrong")
    assert wrong.check().status == "auth_rejected"


def test_a_prompt_that_outlasts_the_timeout_is_withdrawn(standin):  # noqa: F811
    standin.script(family="comfyui", delay=60)
    with pytest.raises(ProviderError) as caught:
        provider_for(standin, timeout=1).generate(request())
    assert (
        caught.value.upstream_code == "timeout" and "did not finish within 1 seconds" in caught.value.message
    )
    (interrupt,) = standin.requests("/interrupt")
    assert interrupt["interrupted"] is True  # the GPU does not go on working for nobody


def test_models_and_check(standin):  # noqa: F811
    provider = provider_for(standin)
    options = provider.models()
    assert [o.id for o in options] == ["v1-5-pruned-emaonly.safetensors", "sd_xl_base_1.0.safetensors"]
    assert "dpmpp_2m" in options[0].samplers and "karras" in options[0].schedulers
    result = provider.check()
    assert result.ok and result.reason == "ComfyUI 0.3.75 answers; 2 checkpoint(s) installed."
    standin.configure(comfyui_checkpoints=[])
    assert provider.check().status == "no_checkpoints"


# --- the admin's workflow, checked when saved ------------------------------------------------------------------


def admin(server: StandinServer, graph: Any = None, inputs: Any = None) -> ComfyConn:
    return ComfyConn("comfyui", "", server.url, extra={"workflow": graph, "workflow_inputs": inputs})


def test_saving_a_workflow_checks_it_against_the_servers_nodes(standin):  # noqa: F811
    good = comfyui_workflows.txt2img()
    assert check_workflow(good, admin(standin)) == ""
    assert check_workflow(None, admin(standin)) == ""  # blank: the built-in workflow

    bad = comfyui_workflows.txt2img()
    bad["3"]["inputs"]["sampler"] = bad["3"]["inputs"].pop("sampler_name")
    bad["10"] = {"class_type": "FaceDetailer", "inputs": {"image": ["8", 0]}}
    assert check_workflow(bad, admin(standin)) == (
        "Node 3 (KSampler): unknown input 'sampler'; node 3 (KSampler): input 'sampler_name' is missing; "
        "node 10 (FaceDetailer): this ComfyUI has no such node (is a custom node missing?)."
    )
    editor = {"last_node_id": 9, "nodes": [], "links": [], "version": 0.4}
    assert "Export (API)" in check_workflow(editor, admin(standin))


def test_saving_workflow_inputs_checks_them_against_the_workflow(standin):  # noqa: F811
    graph = comfyui_workflows.txt2img()
    assert (
        check_workflow_inputs(
            "checkpoint = 4.ckpt_name\nprompt = 6.text\nsteps = 3.steps", admin(standin, graph)
        )
        == ""
    )
    assert check_workflow_inputs(
        "checkpoint = 4.ckpt_name\nprompt = 6.text\nsteps = 3.cfg", admin(standin, graph)
    ) == ("Node 3 (KSampler): input 'cfg' takes FLOAT, not the steps (INT).")
    assert "set the ComfyUI workflow first" in check_workflow_inputs("prompt = 6.text", admin(standin))


def test_a_workflow_cannot_be_checked_while_the_server_is_away():
    with StandinServer() as gone:
        url = gone.url
    problem = check_workflow(comfyui_workflows.txt2img(), ComfyConn("comfyui", "", url, extra={}))
    assert problem.startswith("ComfyUI could not be asked about its nodes, so the workflow is not checked:")


def test_the_status_check_reports_a_saved_workflow_that_no_longer_fits(standin):  # noqa: F811
    standin.configure(comfyui_checkpoints=["flux1-dev.safetensors"])
    graph = comfyui_workflows.upscale("example.png")
    graph["2"]["inputs"]["model_name"] = "gone.pth"
    graph["5"] = {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x"}}
    provider = provider_for(
        standin,
        extra={"workflow": graph, "workflow_inputs": "checkpoint = 5.ckpt_name\nprompt = 5.ckpt_name"},
    )
    result = provider.check()
    assert (result.ok, result.status) == (False, "workflow_invalid")
    assert "Node 2 (UpscaleModelLoader): 'gone.pth' is not one of this server's choices" in result.reason
    assert (
        "node 5 (CheckpointLoaderSimple): input 'ckpt_name' takes combo, not the prompt (STRING)"
        in result.reason
    )


def test_an_admin_workflow_runs_on_the_server(standin):  # noqa: F811
    graph = comfyui_workflows.txt2img(steps=3, prefix="house-style")
    provider = provider_for(standin, extra={"workflow": graph, "workflow_inputs": None})
    progress: list[float] = []
    result = provider.generate(
        GenerationRequest(model=CHECKPOINT, prompt="A heron", size="640x384", count=2),
        on_progress=record(progress),
    )
    assert [(i.width, i.height) for i in result.images] == [(640, 384), (640, 384)]
    (submitted,) = standin.requests("/prompt", method="POST")
    assert submitted["body"]["prompt"]["3"]["inputs"]["steps"] == 3  # the admin's own sampling
    assert progress == [pytest.approx(1 / 3), pytest.approx(2 / 3), 0.99]

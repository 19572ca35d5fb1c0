"""ComfyUI: strict graph validation with the real error bodies, the queue and history, /view and uploads,
interrupt and queue removal, execution failures, and the websocket (events and binary previews)."""

from __future__ import annotations

import io
import json
import time

import pytest
import websocket as ws_client
from PIL import Image, ImageDraw

from tests.standin import comfyui_nodes, comfyui_workflows
from tests.standin.masks import repaint_bbox
from tests.standin.wire_bodies import parse_preview_frame


def submit(standin, http, graph, client_id="writer-1", **extra):
    return http.post(f"{standin.url}/prompt", json={"prompt": graph, "client_id": client_id, **extra})


def finished(standin, http, prompt_id: str, polls: int = 400) -> dict:
    """Poll /history as a client without the websocket does, until the prompt is there."""
    for _ in range(polls):
        history = http.get(f"{standin.url}/history/{prompt_id}").json()
        if history:
            return history[prompt_id]
        time.sleep(0.05)
    raise AssertionError(f"{prompt_id} never finished")


def refused(standin, http, graph) -> dict:
    response = submit(standin, http, graph)
    assert response.status_code == 400, response.text
    return response.json()


# ---------------------------------------------------------------- validation


def test_object_info_describes_the_core_nodes(standin, http):
    info = http.get(f"{standin.url}/object_info").json()
    assert {"CheckpointLoaderSimple", "CLIPTextEncode", "EmptyLatentImage", "KSampler", "VAEDecode", "SaveImage",
            "PreviewImage", "LoadImage", "LoadImageMask", "VAEEncode", "VAEEncodeForInpaint", "SetLatentNoiseMask",
            "ImageScale", "ImageScaleBy", "UpscaleModelLoader", "ImageUpscaleWithModel"} <= set(info)  # fmt: skip
    ksampler = http.get(f"{standin.url}/object_info/KSampler").json()["KSampler"]
    assert ksampler["input"]["required"]["sampler_name"][0] == comfyui_nodes.SAMPLERS
    assert "karras" in ksampler["input"]["required"]["scheduler"][0]
    assert ksampler["output"] == ["LATENT"] and ksampler["output_node"] is False
    assert ksampler["input_order"]["required"][:2] == ["model", "seed"]
    ckpts = http.get(f"{standin.url}/object_info/CheckpointLoaderSimple").json()
    assert ckpts["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0] == comfyui_nodes.CHECKPOINTS
    assert http.get(f"{standin.url}/object_info/NoSuchNode").json() == {}
    assert http.get(f"{standin.url}/models/checkpoints").json() == comfyui_nodes.CHECKPOINTS
    stats = http.get(f"{standin.url}/system_stats").json()
    assert stats["system"]["comfyui_version"] and stats["devices"][0]["type"] == "cuda"


def test_configured_lists_are_what_validation_uses(standin, http):
    standin.configure(comfyui_checkpoints=["flux1-dev.safetensors"])
    body = refused(standin, http, comfyui_workflows.txt2img())
    (reason,) = body["node_errors"]["4"]["errors"]
    assert (
        reason["details"] == "ckpt_name: 'v1-5-pruned-emaonly.safetensors' not in ['flux1-dev.safetensors']"
    )
    assert submit(standin, http, comfyui_workflows.txt2img(ckpt="flux1-dev.safetensors")).status_code == 200


def broken(change) -> dict:
    graph = comfyui_workflows.txt2img()
    change(graph)
    return graph


@pytest.mark.parametrize(
    ("graph", "node", "type_", "details"),
    [
        (broken(lambda g: g["4"]["inputs"].update(ckpt_name="nope.safetensors")), "4", "value_not_in_list",
         "ckpt_name: 'nope.safetensors' not in ['v1-5-pruned-emaonly.safetensors', 'sd_xl_base_1.0.safetensors']"),
        (broken(lambda g: g["3"]["inputs"].update(sampler_name="euler_x")), "3", "value_not_in_list",
         "sampler_name: 'euler_x' not in (list of length 30)"),
        (broken(lambda g: g["3"]["inputs"].update(scheduler="fast")), "3", "value_not_in_list",
         "scheduler: 'fast' not in ['simple', 'sgm_uniform', 'karras', 'exponential', 'ddim_uniform', 'beta', 'normal', 'linear_quadratic', 'kl_optimal']"),
        (broken(lambda g: g["3"]["inputs"].update(steps=0)), "3", "value_smaller_than_min", "steps"),
        (broken(lambda g: g["3"]["inputs"].update(cfg=101)), "3", "value_bigger_than_max", "cfg"),
        (broken(lambda g: g["5"]["inputs"].update(width="wide")), "5", "invalid_input_type",
         "width, wide, invalid literal for int() with base 10: 'wide'"),
        (broken(lambda g: g["5"]["inputs"].pop("height")), "5", "required_input_missing", "height"),
        (broken(lambda g: g["3"]["inputs"].update(model=["4", 1])), "3", "return_type_mismatch",
         "model, received_type(CLIP) mismatch input_type(MODEL)"),
        (broken(lambda g: g["3"]["inputs"].update(model=["4", 0, 1])), "3", "bad_linked_input", "model"),
        (broken(lambda g: g["8"]["inputs"].update(samples=["99", 0])), "8", "exception_during_inner_validation", "'99'"),
        (broken(lambda g: g["8"]["inputs"].update(vae=["4", 5])), "8", "exception_during_inner_validation", "tuple index out of range"),
    ],
)  # fmt: skip
def test_bad_graphs_get_comfyuis_node_errors(standin, http, graph, node, type_, details):
    body = refused(standin, http, graph)
    assert body["error"]["type"] == "prompt_outputs_failed_validation"
    assert body["error"]["message"] == "Prompt outputs failed validation"
    assert set(body["error"]) == {"type", "message", "details", "extra_info"}
    error = body["node_errors"][node]
    assert error["dependent_outputs"] == ["9"] and error["class_type"] == graph[node]["class_type"]
    (reason,) = error["errors"]
    assert (reason["type"], reason["details"]) == (type_, details)


def test_a_link_from_the_output_itself_to_a_missing_node_is_caught_by_validate_prompt(standin, http):
    body = refused(standin, http, broken(lambda g: g["9"]["inputs"].update(images=["77", 0])))
    (reason,) = body["node_errors"]["9"]["errors"]
    assert (reason["type"], reason["details"], reason["extra_info"]["exception_type"]) == (
        "exception_during_validation",
        "'77'",
        "KeyError",
    )


@pytest.mark.parametrize(
    ("graph", "type_", "message"),
    [
        (broken(lambda g: g["3"].update(class_type="KSamplerTurbo")), "missing_node_type",
         "Node 'KSamplerTurbo' not found. The custom node may not be installed."),
        (broken(lambda g: g["3"].pop("class_type")), "missing_node_type",
         "Node 'ID #3' has no class_type. The workflow may be corrupted or a custom node is missing."),
        (broken(lambda g: g.pop("9")), "prompt_no_outputs", "Prompt has no outputs"),
    ],
)  # fmt: skip
def test_graphs_the_server_cannot_run_at_all(standin, http, graph, type_, message):
    body = refused(standin, http, graph)
    assert (body["error"]["type"], body["error"]["message"], body["node_errors"]) == (type_, message, {})


def test_a_missing_upload_and_a_missing_prompt(standin, http):
    body = refused(standin, http, comfyui_workflows.upscale("never-uploaded.png"))
    (reason,) = body["node_errors"]["1"]["errors"]
    assert (reason["type"], reason["details"]) == (
        "custom_validation_failed",
        "image - Invalid image file: never-uploaded.png",
    )
    nothing = http.post(f"{standin.url}/prompt", json={"client_id": "x"})
    assert nothing.status_code == 400 and nothing.json()["error"]["type"] == "no_prompt"


def test_one_bad_output_drops_only_itself(standin, http):
    graph = comfyui_workflows.txt2img()
    graph["20"] = {"class_type": "PreviewImage", "inputs": {"images": ["21", 0]}}
    graph["21"] = {
        "class_type": "ImageScaleBy",
        "inputs": {"image": ["8", 0], "upscale_method": "sideways", "scale_by": 2},
    }
    answer = submit(standin, http, graph).json()
    assert answer["node_errors"]["21"]["errors"][0]["type"] == "value_not_in_list"
    history = finished(standin, http, answer["prompt_id"])
    assert list(history["outputs"]) == ["9"] and history["prompt"][4] == ["9"]


# ---------------------------------------------------------------- running


def test_a_prompt_runs_and_its_images_are_fetched_with_view(standin, http):
    answer = submit(
        standin, http, comfyui_workflows.txt2img(width=640, height=452, batch=2, prefix="inkweld/job-7")
    ).json()
    assert set(answer) == {"prompt_id", "number", "node_errors"} and answer["node_errors"] == {}
    entry = finished(standin, http, answer["prompt_id"])
    assert entry["status"]["status_str"] == "success" and entry["status"]["completed"] is True
    assert [m[0] for m in entry["status"]["messages"]] == [
        "execution_start",
        "execution_cached",
        "execution_success",
    ]
    refs = entry["outputs"]["9"]["images"]
    assert refs == [{"filename": "job-7_00001_.png", "subfolder": "inkweld", "type": "output"},
                    {"filename": "job-7_00002_.png", "subfolder": "inkweld", "type": "output"}]  # fmt: skip
    for ref in refs:
        image = http.get(f"{standin.url}/view", params=ref)
        assert image.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(image.content)).size == (640, 448)  # latents are multiples of 8
    assert http.get(f"{standin.url}/view", params={"filename": "nope.png"}).status_code == 404
    assert http.get(f"{standin.url}/view", params={"filename": "../secrets.png"}).status_code == 400
    assert entry["prompt"][1] == answer["prompt_id"] and entry["prompt"][3]["client_id"] == "writer-1"


def upload(standin, http, name, data, **fields):
    response = http.post(
        f"{standin.url}/upload/image", files={"image": (name, data, "image/png")}, data=fields
    )
    assert response.status_code == 200, response.text
    return response.json()


def transparent_hole(size, box) -> bytes:
    image = Image.new("RGBA", size, (90, 120, 200, 255))
    ImageDraw.Draw(image).rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=(0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_uploads_feed_loadimage_and_the_inpaint_mask_is_recorded(standin, http):
    data = transparent_hole((300, 200), (20, 40, 120, 140))
    assert upload(standin, http, "source.png", data) == {
        "name": "source.png",
        "subfolder": "",
        "type": "input",
    }
    assert upload(standin, http, "source.png", data)["name"] == "source.png"  # same bytes: the same file
    assert upload(standin, http, "source.png", b"\x89PNG other")["name"] == "source (1).png"
    assert upload(standin, http, "source.png", data, overwrite="true")["name"] == "source.png"
    listed = http.get(f"{standin.url}/object_info/LoadImage").json()["LoadImage"]["input"]["required"][
        "image"
    ][0]
    assert {"source.png", "source (1).png"} <= set(listed)

    answer = submit(standin, http, comfyui_workflows.inpaint("source.png")).json()
    entry = finished(standin, http, answer["prompt_id"])
    (ref,) = entry["outputs"]["9"]["images"]
    assert Image.open(io.BytesIO(http.get(f"{standin.url}/view", params=ref).content)).size == (296, 200)
    (recorded,) = standin.masks("/prompt")
    assert recorded["mask"]["convention"] == "comfyui-alpha"
    assert repaint_bbox(recorded["mask"]) == (20, 40, 120, 140)


@pytest.mark.parametrize(("model", "scale"), [("RealESRGAN_x4plus.pth", 4), ("RealESRGAN_x2plus.pth", 2)])
def test_upscale_models_multiply_the_size(standin, http, model, scale):
    upload(standin, http, "small.png", transparent_hole((160, 120), (0, 0, 1, 1)))
    answer = submit(standin, http, comfyui_workflows.upscale("small.png", model)).json()
    (ref,) = finished(standin, http, answer["prompt_id"])["outputs"]["4"]["images"]
    assert Image.open(io.BytesIO(http.get(f"{standin.url}/view", params=ref).content)).size == (
        160 * scale,
        120 * scale,
    )
    graph = comfyui_workflows.upscale("small.png", "8x-Imaginary.pth")
    assert refused(standin, http, graph)["node_errors"]["2"]["errors"][0]["type"] == "value_not_in_list"


def test_interrupt_stops_the_running_prompt_and_the_queue_drops_a_pending_one(standin, http):
    standin.script(family="comfyui", delay=30)
    first = submit(standin, http, comfyui_workflows.txt2img(steps=50)).json()["prompt_id"]
    second = submit(standin, http, comfyui_workflows.txt2img(seed=2)).json()["prompt_id"]
    for _ in range(200):
        queue = http.get(f"{standin.url}/queue").json()
        if queue["queue_running"]:
            break
        time.sleep(0.05)
    assert [item[1] for item in queue["queue_running"]] == [first]
    assert [item[1] for item in queue["queue_pending"]] == [second]
    assert http.get(f"{standin.url}/history/{first}").json() == {}, "nothing in the history until it ends"
    assert http.post(f"{standin.url}/queue", json={"delete": [second]}).status_code == 200
    assert http.get(f"{standin.url}/queue").json()["queue_pending"] == []
    assert http.post(f"{standin.url}/interrupt", json={"prompt_id": "someone-else"}).status_code == 200
    assert http.get(f"{standin.url}/queue").json()["queue_running"], (
        "a targeted interrupt spares other prompts"
    )
    http.post(f"{standin.url}/interrupt")
    entry = finished(standin, http, first)
    assert (entry["status"]["status_str"], entry["status"]["completed"], entry["outputs"]) == (
        "error",
        False,
        {},
    )
    assert entry["status"]["messages"][-1][0] == "execution_interrupted"
    assert http.get(f"{standin.url}/history/{second}").json() == {}


@pytest.mark.parametrize(
    ("failure", "node", "exception_type"),
    [("oom", "3", "torch.OutOfMemoryError"), ("execution_error", "8", "RuntimeError")],
)
def test_execution_errors_arrive_in_the_history(standin, http, failure, node, exception_type):
    standin.script(family="comfyui", fail_with=failure, fail_times=1)
    answer = submit(standin, http, comfyui_workflows.txt2img())
    assert answer.status_code == 200, "accepted first, fails while running"
    entry = finished(standin, http, answer.json()["prompt_id"])
    assert entry["status"]["status_str"] == "error" and entry["outputs"] == {}
    kind, data = entry["status"]["messages"][-1]
    assert (kind, data["node_id"], data["exception_type"]) == ("execution_error", node, exception_type)
    assert data["exception_message"] and data["node_type"] == entry["prompt"][2][node]["class_type"]
    again = submit(standin, http, comfyui_workflows.txt2img()).json()
    assert finished(standin, http, again["prompt_id"])["status"]["status_str"] == "success"


def test_scripted_node_errors_and_proxy_failures(standin, http):
    standin.script(family="comfyui", fail_with="validation", fail_times=1)
    body = refused(standin, http, comfyui_workflows.txt2img())
    assert body["node_errors"]["4"]["class_type"] == "CheckpointLoaderSimple"
    standin.script(family="comfyui", fail_with="rate_limit", retry_after=2)
    limited = submit(standin, http, comfyui_workflows.txt2img())
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "2")
    assert limited.headers["content-type"].startswith("text/html")


def test_a_proxy_asks_for_basic_or_bearer_auth(standin, http):
    standin.configure(comfyui_auth=["writer", "s3cret"])
    denied = http.get(f"{standin.url}/system_stats")
    assert denied.status_code == 401 and denied.headers["www-authenticate"].startswith("Basic")
    assert http.get(f"{standin.url}/system_stats", auth=("writer", "s3cret")).status_code == 200
    standin.configure(comfyui_auth="tok-123")
    assert http.get(f"{standin.url}/system_stats", auth=("writer", "s3cret")).status_code == 401
    assert (
        http.get(f"{standin.url}/system_stats", headers={"Authorization": "Bearer tok-123"}).status_code
        == 200
    )
    with pytest.raises(ws_client.WebSocketBadStatusException) as refused_ws:
        ws_client.create_connection(f"{standin.url.replace('http', 'ws')}/ws?clientId=a", timeout=5)
    assert refused_ws.value.status_code == 401
    sock = ws_client.create_connection(f"{standin.url.replace('http', 'ws')}/ws?clientId=a", timeout=5,
                                       header=["Authorization: Bearer tok-123"])  # fmt: skip
    assert json.loads(sock.recv())["type"] == "status"
    sock.close()


# ---------------------------------------------------------------- the websocket


def test_the_websocket_reports_a_run_with_progress_and_preview_frames(standin, http):
    standin.script(family="comfyui", delay=0.5)
    sock = ws_client.create_connection(
        f"{standin.url.replace('http', 'ws')}/ws?clientId=writer-9", timeout=10
    )
    try:
        hello = json.loads(sock.recv())
        assert hello == {
            "type": "status",
            "data": {"status": {"exec_info": {"queue_remaining": 0}}, "sid": "writer-9"},
        }
        prompt_id = submit(standin, http, comfyui_workflows.txt2img(steps=5), client_id="writer-9").json()[
            "prompt_id"
        ]
        events: list[tuple[str, dict]] = []
        previews: list[bytes] = []
        while True:
            opcode, data = sock.recv_data()
            if opcode == ws_client.ABNF.OPCODE_BINARY:
                previews.append(data)
                continue
            message = json.loads(data)
            events.append((message["type"], message["data"]))
            if message["type"] == "executing" and message["data"]["node"] is None:
                break
    finally:
        sock.close()
    kinds = [kind for kind, _ in events]
    assert (
        kinds.index("execution_start")
        < kinds.index("progress")
        < kinds.index("executed")
        < kinds.index("execution_success")
    )
    # Inputs first, depth first in the order the node lists them (the classic recursive_execute order).
    assert [d["node"] for k, d in events if k == "executing"] == ["4", "6", "7", "5", "3", "8", "9", None]
    progress = [(d["value"], d["max"], d["node"], d["prompt_id"]) for k, d in events if k == "progress"]
    assert progress == [(v, 5, "3", prompt_id) for v in range(1, 6)]
    executed = next(d for k, d in events if k == "executed")
    assert executed["node"] == "9" and executed["output"]["images"][0]["type"] == "output"
    assert len(previews) == 5
    event, fmt, image = parse_preview_frame(previews[0])
    assert (event, fmt) == (1, "JPEG") and Image.open(io.BytesIO(image)).format == "JPEG"
    assert finished(standin, http, prompt_id)["outputs"]["9"] == executed["output"]


def test_without_previews_or_another_client_id_no_frames_arrive(standin, http):
    standin.configure(comfyui_previews=False)
    sock = ws_client.create_connection(f"{standin.url.replace('http', 'ws')}/ws?clientId=watcher", timeout=10)
    try:
        sock.recv()  # status
        other = submit(standin, http, comfyui_workflows.txt2img(), client_id="someone-else").json()[
            "prompt_id"
        ]
        finished(standin, http, other)
        mine = submit(standin, http, comfyui_workflows.txt2img(), client_id="watcher").json()["prompt_id"]
        kinds = []
        while True:
            opcode, data = sock.recv_data()
            assert opcode == ws_client.ABNF.OPCODE_TEXT, "no preview frames when previews are off"
            message = json.loads(data)
            if message["type"] != "status":
                assert message["data"].get("prompt_id") == mine, "only this client's prompt is reported to it"
            kinds.append(message["type"])
            if message["type"] == "executing" and message["data"]["node"] is None:
                break
        assert "execution_success" in kinds
    finally:
        sock.close()


def test_a_proxy_that_blocks_the_websocket_leaves_polling(standin, http):
    standin.configure(comfyui_websocket=False)
    with pytest.raises(ws_client.WebSocketBadStatusException) as blocked:
        ws_client.create_connection(f"{standin.url.replace('http', 'ws')}/ws?clientId=x", timeout=5)
    assert blocked.value.status_code == 403
    prompt_id = submit(standin, http, comfyui_workflows.txt2img()).json()["prompt_id"]
    assert finished(standin, http, prompt_id)["status"]["status_str"] == "success"


def test_a_plain_get_on_ws_is_not_an_upgrade(standin, http):
    response = http.get(f"{standin.url}/ws")
    assert response.status_code == 400


def test_reset_forgets_comfyui_state(standin, http):
    upload(standin, http, "a.png", transparent_hole((64, 64), (0, 0, 8, 8)))
    prompt_id = submit(standin, http, comfyui_workflows.upscale("a.png")).json()["prompt_id"]
    finished(standin, http, prompt_id)
    standin.reset()
    assert http.get(f"{standin.url}/history").json() == {}
    assert (
        refused(standin, http, comfyui_workflows.upscale("a.png"))["node_errors"]["1"]["errors"][0]["type"]
        == "custom_validation_failed"
    )


def test_messages_for_a_client_still_in_its_handshake_wait_for_it():
    """ComfyUI registers a socket before it reads the client's next request, so a /prompt sent right after the
    handshake never runs ahead of it. The threaded stand-in answers the handshake first: what it sends meanwhile is
    held and delivered, in order, once the socket is attached."""
    from tests.standin.comfyui_exec import ComfyServer

    class Socket:
        def __init__(self) -> None:
            self.received: list[str] = []

        def send_text(self, text: str) -> None:
            self.received.append(json.loads(text)["type"])

        def send_binary(self, data: bytes) -> None:
            self.received.append(f"{len(data)} bytes")

        def close(self, code: int = 1000, reason: str = "") -> None:
            pass

    server = ComfyServer()
    try:
        server.expect("abc")
        server.send("abc", "progress", {"value": 1, "max": 3, "prompt_id": "p", "node": "3"})
        server.send_bytes("abc", b"\x00\x00\x00\x01png")
        server.send("someone-else", "progress", {"value": 1, "max": 3, "prompt_id": "q", "node": "3"})
        socket = Socket()
        server.attach("abc", socket)  # type: ignore[arg-type]
        server.send("abc", "executing", {"node": None, "prompt_id": "p"})
        assert socket.received == ["status", "progress", "7 bytes", "executing"]
    finally:
        server.shutdown()

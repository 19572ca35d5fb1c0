"""An admin's own ComfyUI workflow: pasting it, saying which inputs take which option, and checking it against the
server's nodes (the stand-in's node definitions, as `/object_info` gives them) with the offending node named."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imagegen.providers import GenerationRequest, ProviderError
from imagegen.providers.comfyui import ComfyUIProvider
from imagegen.providers.comfyui_workflow import (
    BUILT_IN_INPUTS,
    BUILT_IN_WORKFLOW,
    WorkflowProblem,
    describe_problems,
    infer_inputs,
    load_workflow,
    parse_inputs,
    workflow_problems,
)
from tests.standin import comfyui_nodes, comfyui_workflows
from tests.standin.wire_bodies import comfyui_history_success, comfyui_image_ref

from .cases import COMFYUI_CHECKPOINTS, COMFYUI_PROMPT_ID, ComfyUICase, comfyui_node_body
from .conftest import TINY_PNG
from .test_comfyui import ComfyConn

CASE = ComfyUICase()
BASE = CASE.base_url
NODES = comfyui_nodes.node_definitions(
    COMFYUI_CHECKPOINTS, list(comfyui_nodes.UPSCALE_MODELS), ["example.png"]
)
DEFINITIONS = {name: comfyui_nodes.object_info(d) for name, d in NODES.items()}


def admin(graph: Any, inputs: Any = None) -> ComfyConn:
    return ComfyConn("comfyui", "", BASE, extra={"workflow": graph, "workflow_inputs": inputs})


def problems(graph: dict[str, Any], inputs: str | None = None) -> list[str]:
    return workflow_problems(load_workflow(graph, inputs), DEFINITIONS)


def changed(change) -> dict[str, Any]:
    graph = comfyui_workflows.txt2img()
    change(graph)
    return graph


# --- saying which input takes which option -----------------------------------------------------------------------


def test_inputs_are_lines_of_option_equals_node_input():
    text = "prompt = 6.text   # the positive prompt\n\nseed = 3.seed, 12.noise_seed; checkpoint=4.ckpt_name"
    assert parse_inputs(text) == {
        "prompt": (("6", "text"),),
        "seed": (("3", "seed"), ("12", "noise_seed")),
        "checkpoint": (("4", "ckpt_name"),),
    }
    assert parse_inputs('{"prompt": "6.text", "seed": ["3.seed", "12.noise_seed"]}') == {
        "prompt": (("6", "text"),),
        "seed": (("3", "seed"), ("12", "noise_seed")),
    }
    assert parse_inputs("prompt = 10:5.text") == {"prompt": (("10:5", "text"),)}  # a node inside a subgraph


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prompt 6.text", "line 1: write `option = node.input`"),
        (
            "sampler_name = 3.sampler_name",
            "unknown option 'sampler_name'; the options are checkpoint, prompt",
        ),
        ("prompt = text", "prompt = 'text': write node.input"),
        ('{"prompt": "6.text",}', "The workflow inputs are not valid JSON"),
    ],
)
def test_inputs_that_cannot_be_read_say_why(text, message):
    with pytest.raises(WorkflowProblem, match=message.replace("(", r"\(").replace("`", ".")):
        parse_inputs(text)


def test_the_built_in_inputs_are_what_its_ksampler_leads_to():
    found = infer_inputs(json.loads(json.dumps(BUILT_IN_WORKFLOW)))
    declared = parse_inputs(BUILT_IN_INPUTS)
    # Found: what a writer must choose. Sampling settings stay an admin workflow's own unless listed.
    assert found == {
        k: declared[k]
        for k in ("checkpoint", "prompt", "negative_prompt", "width", "height", "count", "seed")
    }
    assert set(declared) - set(found) == {"steps", "cfg_scale", "sampler", "scheduler"}


def test_inputs_are_found_through_loras_and_without_an_empty_latent():
    graph = comfyui_workflows.inpaint("portrait.png")
    graph["12"] = {"class_type": "LoraLoader", "inputs": {"model": ["4", 0], "clip": ["4", 1], "lora_name": "ink.safetensors",
                                                          "strength_model": 1.0, "strength_clip": 1.0}}  # fmt: skip
    graph["3"]["inputs"]["model"] = ["12", 0]
    found = infer_inputs(graph)
    assert found["checkpoint"] == (("4", "ckpt_name"),) and found["prompt"] == (("6", "text"),)
    assert "width" not in found and "count" not in found  # the size is the loaded image's


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        ({"nodes": [], "links": [], "version": 0.4}, "editor's workflow format. In ComfyUI use Workflow → Export (API)"),
        ("{not json", "The workflow is not valid JSON"),
        ({"3": {"inputs": {}}}, "Node 3 has no class_type"),
        (changed(lambda g: g["3"].update(class_type="KSamplerAdvanced")), "The workflow has no KSampler"),
        (changed(lambda g: g.update({"13": g["3"]})), "The workflow has 2 KSamplers"),
        (changed(lambda g: g.update({"4": {"class_type": "UNETLoader2", "inputs": {}}})),
         "Say which node input takes the checkpoint"),
    ],
    ids=["editor-format", "not-json", "no-class-type", "no-ksampler", "two-ksamplers", "no-loader"],
)  # fmt: skip
def test_workflows_that_cannot_be_used_say_why(graph, message):
    with pytest.raises(WorkflowProblem) as caught:
        load_workflow(graph)
    assert message in str(caught.value)


def test_listed_inputs_add_to_what_is_found_or_take_it_back():
    workflow = load_workflow(
        comfyui_workflows.txt2img(), "steps = 3.steps\nnegative_prompt =\nseed = 3.seed, 9.x"
    )
    assert workflow.inputs["steps"] == (("3", "steps"),)  # handed to writers
    assert "negative_prompt" not in workflow.inputs  # the workflow keeps its own
    assert workflow.inputs["seed"] == (("3", "seed"), ("9", "x"))  # placed by the admin
    assert workflow.inputs["prompt"] == (("6", "text"),) and workflow.inputs["count"] == (
        ("5", "batch_size"),
    )


def test_without_a_ksampler_the_listed_inputs_are_all_there_is():
    graph = comfyui_workflows.txt2img()
    graph["3"]["class_type"] = "KSamplerAdvanced"
    workflow = load_workflow(graph, "checkpoint = 4.ckpt_name\nprompt = 6.text\nseed = 3.noise_seed")
    assert set(workflow.inputs) == {"checkpoint", "prompt", "seed"}


def test_inputs_without_a_workflow_of_ones_own_change_nothing():
    assert load_workflow(None, "prompt = 99.text").inputs == parse_inputs(BUILT_IN_INPUTS)


def test_inputs_must_name_nodes_of_the_workflow():
    with pytest.raises(WorkflowProblem, match="prompt goes to node 66, which is not in the workflow"):
        load_workflow(comfyui_workflows.txt2img(), "checkpoint = 4.ckpt_name\nprompt = 66.text")


# --- checked against the server's nodes -------------------------------------------------------------------------


def test_the_built_in_and_the_stand_ins_workflows_fit():
    assert problems(BUILT_IN_WORKFLOW) == []
    assert problems(comfyui_workflows.txt2img()) == []
    assert problems(comfyui_workflows.inpaint("example.png")) == []


@pytest.mark.parametrize(
    ("graph", "inputs", "problem"),
    [
        (changed(lambda g: g["3"]["inputs"].update(sampler=g["3"]["inputs"].pop("sampler_name"))), None,
         "node 3 (KSampler): unknown input 'sampler'"),
        (changed(lambda g: g["3"]["inputs"].pop("steps")), None, "node 3 (KSampler): input 'steps' is missing"),
        (changed(lambda g: g.update({"10": {"class_type": "FaceDetailer", "inputs": {"image": ["8", 0]}}})), None,
         "node 10 (FaceDetailer): this ComfyUI has no such node (is a custom node missing?)"),
        (changed(lambda g: g["8"]["inputs"].update(samples=["99", 0])), None,
         "node 8 (VAEDecode): input 'samples' links to node 99, which is not in the workflow"),
        (changed(lambda g: g["8"]["inputs"].update(vae=["4", 5])), None,
         "node 8 (VAEDecode): input 'vae' links to an output node 4 (CheckpointLoaderSimple) does not have"),
        (changed(lambda g: g["3"]["inputs"].update(scheduler="fastest")), None,
         "node 3 (KSampler): 'fastest' is not one of this server's choices for 'scheduler'"),
        (changed(lambda g: g.pop("9")), None, "the workflow has no output node (Save Image or Preview Image)"),
        (comfyui_workflows.txt2img(), "checkpoint = 4.ckpt_name\nprompt = 6.text\ncfg_scale = 3.seed",
         "node 3 (KSampler): input 'seed' takes INT, not the cfg_scale (FLOAT)"),
        (comfyui_workflows.txt2img(), "checkpoint = 4.ckpt_name\nprompt = 6.text\nsampler = 3.sampler",
         "node 3 (KSampler): unknown input 'sampler' (for sampler)"),
    ],
    ids=["unknown-input", "missing-input", "custom-node", "dangling-link", "bad-output", "not-in-list",
         "no-output", "wrong-kind", "mapped-unknown"],
)  # fmt: skip
def test_problems_name_the_node(graph, inputs, problem):
    assert problem in problems(graph, inputs)


def test_a_mapped_input_may_be_missing_or_hold_a_placeholder():
    """What the writer gives replaces the workflow's: an admin's own checkpoint, or a prompt left out, is fine."""
    graph = changed(lambda g: g["4"]["inputs"].update(ckpt_name="admins-own.safetensors"))
    assert problems(graph) == []
    del graph["6"]["inputs"]["text"]
    assert problems(graph, "checkpoint = 4.ckpt_name\nprompt = 6.text") == []
    assert problems(graph, "checkpoint = 4.ckpt_name\nprompt = 7.text") == [
        "node 6 (CLIPTextEncode): input 'text' is missing"
    ]


def test_problems_read_as_one_sentence():
    assert describe_problems(["node 7 (KSampler): unknown input 'sampler'"]) == (
        "Node 7 (KSampler): unknown input 'sampler'."
    )
    assert describe_problems([f"node {n} (X): bad" for n in range(5)]) == (
        "Node 0 (X): bad; node 1 (X): bad; node 2 (X): bad (and 2 more)."
    )
    assert describe_problems([]) == ""


# --- generating with it ---------------------------------------------------------------------------------------------


def test_an_admin_workflow_offers_only_what_it_takes(rsps):
    """Found inputs: checkpoint, prompts, size, count, seed. Its sampling stays the admin's (no steps or CFG to
    choose), and a workflow that sizes from a loaded image has no size to choose."""
    rsps.get(f"{BASE}/object_info/CheckpointLoaderSimple", json=comfyui_node_body("CheckpointLoaderSimple"))
    (first, _) = ComfyUIProvider(admin(comfyui_workflows.txt2img(steps=4))).models()
    assert (first.negative_prompt, first.seed, first.steps, first.cfg_scale) == (True, True, False, False)
    assert first.samplers == () and first.schedulers == () and first.size_rule is not None

    graph = comfyui_workflows.inpaint("example.png")
    (first, _) = ComfyUIProvider(admin(graph)).models()
    assert (first.sizes, first.size_rule, first.max_images_per_job) == (("auto",), None, 1)


def test_an_admin_workflow_keeps_its_own_sampling(rsps, sleeps):
    graph = comfyui_workflows.txt2img(steps=4, sampler="lcm", scheduler="sgm_uniform")
    graph["3"]["inputs"]["cfg"] = 1.5
    rsps.post(CASE.generate_url, json=CASE.success([]))
    ref = comfyui_image_ref("ComfyUI_00001_.png")
    rsps.get(
        f"{BASE}/history/{COMFYUI_PROMPT_ID}", json=comfyui_history_success(COMFYUI_PROMPT_ID, {"9": [ref]})
    )
    rsps.get(f"{BASE}/view", body=TINY_PNG, content_type="image/png")
    provider = ComfyUIProvider(admin(graph), sleep=sleeps.append)
    result = provider.generate(
        GenerationRequest(model=COMFYUI_CHECKPOINTS[1], prompt="A heron", size="768x512", options={"seed": 7})
    )
    sent = json.loads(rsps.calls[0].request.body)["prompt"]
    assert sent["3"]["inputs"] | {"model": None, "positive": None, "negative": None, "latent_image": None} == {
        "seed": 7, "steps": 4, "cfg": 1.5, "sampler_name": "lcm", "scheduler": "sgm_uniform", "denoise": 1.0,
        "model": None, "positive": None, "negative": None, "latent_image": None,
    }  # fmt: skip
    assert (
        sent["7"]["inputs"]["text"] == "blurry"
    )  # the admin's negative prompt stays when the writer gives none
    assert (sent["6"]["inputs"]["text"], sent["4"]["inputs"]["ckpt_name"]) == (
        "A heron",
        COMFYUI_CHECKPOINTS[1],
    )
    assert sent["5"]["inputs"] == {"width": 768, "height": 512, "batch_size": 1}
    assert set(result.images[0].extra) == {"checkpoint", "prompt_id", "batch_index"}


def test_steps_are_refused_where_the_workflow_keeps_its_own(rsps):
    provider = ComfyUIProvider(admin(comfyui_workflows.txt2img()))
    with pytest.raises(ProviderError, match="takes no steps"):
        provider.generate(
            GenerationRequest(model=COMFYUI_CHECKPOINTS[0], prompt="p", size="512x512", options={"steps": 30})
        )


def test_a_broken_saved_workflow_fails_generation_for_an_admin_to_fix(rsps):
    provider = ComfyUIProvider(admin({"nodes": [], "links": []}))
    with pytest.raises(ProviderError) as caught:
        provider.generate(GenerationRequest(model=COMFYUI_CHECKPOINTS[0], prompt="p", size="512x512"))
    assert caught.value.error_class == "bad_request" and caught.value.upstream_code == "workflow_invalid"
    assert "An admin must fix it" in caught.value.message
    assert provider.models() == []  # and nothing is offered

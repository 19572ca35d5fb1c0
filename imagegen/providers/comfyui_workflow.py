"""ComfyUI workflows in API format: the built-in text-to-image graph, an admin's own, which node input takes which
of our options, and what a server's nodes (its `/object_info`) would refuse in one — with the node named.

A workflow is a graph `{"<node id>": {"class_type": ..., "inputs": {...}}}`, a link `[node id, output index]`, as
ComfyUI's Export (API) / "Save (API Format)" writes it. Our options go into node inputs: `option = node.input` lines
(`prompt = 6.text`). In an admin's workflow the checkpoint, prompts, size, count and seed are found from its one
KSampler; the admin's lines add to or change that. Pure functions: the provider (comfyui.py) asks the server.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from imagegen.options import DEFAULT_CFG_SCALE, DEFAULT_STEPS


class WorkflowProblem(ValueError):
    """A workflow or its inputs that cannot be used; the message names what is wrong, for an admin."""


# ComfyUI's default text-to-image graph, in API format (node ids as its own default workflow has them).
BUILT_IN_WORKFLOW: dict[str, Any] = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ""}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 0,
            "steps": DEFAULT_STEPS,
            "cfg": DEFAULT_CFG_SCALE,
            "sampler_name": "euler",
            "scheduler": "normal",
            "denoise": 1.0,
            "model": ["4", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
        },
    },
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "Inkweld", "images": ["8", 0]}},
}
BUILT_IN_INPUTS = """\
checkpoint = 4.ckpt_name
prompt = 6.text
negative_prompt = 7.text
width = 5.width
height = 5.height
count = 5.batch_size
seed = 3.seed
steps = 3.steps
cfg_scale = 3.cfg
sampler = 3.sampler_name
scheduler = 3.scheduler
"""

# What each option can be written into: the kind of node input ComfyUI declares for it ("combo": a list).
INPUT_KINDS: dict[str, str] = {
    "checkpoint": "combo",
    "prompt": "STRING",
    "negative_prompt": "STRING",
    "width": "INT",
    "height": "INT",
    "count": "INT",
    "seed": "INT",
    "steps": "INT",
    "cfg_scale": "FLOAT",
    "sampler": "combo",
    "scheduler": "combo",
}
REQUIRED_INPUTS = ("checkpoint", "prompt")
WORKFLOW_HELP = (
    "Optional: a workflow of your own, as ComfyUI's Workflow → Export (API) saves it. Blank: the built-in "
    "text-to-image workflow. It is checked against the server's nodes when saved."
)
WORKFLOW_INPUTS_HELP = (
    "Which node input takes which option, one per line as `option = node.input` (e.g. `steps = 3.steps`, "
    "`seed = 3.seed, 12.noise_seed`); options: " + ", ".join(INPUT_KINDS) + ". The checkpoint, prompt, "
    "negative_prompt, width, height, count and seed are found from the workflow's KSampler; list an option to "
    "place it yourself or to hand it to writers (sampling settings stay the workflow's otherwise), or leave its "
    "right side empty (`negative_prompt =`) to keep the workflow's own."
)

Targets = tuple[tuple[str, str], ...]  # (node id, input name) pairs


@dataclass(frozen=True)
class Workflow:
    graph: dict[str, Any]
    inputs: dict[str, Targets]  # option → where it goes
    own: bool = False  # the admin's, not the built-in

    def takes(self, option: str) -> bool:
        return option in self.inputs

    def class_of(self, node_id: str) -> str:
        return self.graph[node_id]["class_type"]

    def fill(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of the graph with each option's value in its inputs (None leaves the workflow's own)."""
        graph = copy.deepcopy(self.graph)
        for option, value in values.items():
            if value is None:
                continue
            for node_id, name in self.inputs.get(option, ()):
                graph[node_id]["inputs"][name] = value
        return graph


def node_name(graph: Mapping[str, Any], node_id: str) -> str:
    """How a message names a node: its id and type, as ComfyUI's own node numbers show them."""
    node = graph.get(node_id)
    kind = node.get("class_type") if isinstance(node, dict) else None
    return f"node {node_id} ({kind})" if kind else f"node {node_id}"


def by_node_id(node_id: str) -> tuple[int, str]:
    return (int(node_id), "") if node_id.isdigit() else (1 << 62, node_id)


def parse_graph(value: Any) -> dict[str, Any]:
    """A pasted workflow (JSON text or already parsed) as an API-format graph, or WorkflowProblem."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as err:
            raise WorkflowProblem(f"The workflow is not valid JSON ({err}).") from None
    if not isinstance(value, dict) or not value:
        raise WorkflowProblem("The workflow must be a JSON object of nodes, as Export (API) saves it.")
    if "nodes" in value and "links" in value:
        raise WorkflowProblem(
            "This is the editor's workflow format. In ComfyUI use Workflow → Export (API) and paste that file."
        )
    for node_id, node in value.items():
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str):
            raise WorkflowProblem(f"Node {node_id} has no class_type: paste the file Export (API) saves.")
        if not isinstance(node.get("inputs", {}), dict):
            raise WorkflowProblem(f"Node {node_id} ({node['class_type']}): its inputs are not an object.")
        node.setdefault("inputs", {})
    return value


def parse_inputs(text: Any) -> dict[str, Targets]:
    """`option = node.input[, node.input …]` lines (or `;`-separated, or a JSON object) → option → targets;
    `option =` with nothing after it → () (the workflow keeps its own)."""
    if isinstance(text, Mapping):
        pairs = [(str(k), v if isinstance(v, str) else ", ".join(map(str, v))) for k, v in text.items()]
    elif isinstance(text, str) and text.strip().startswith("{"):
        try:
            return parse_inputs(json.loads(text))
        except ValueError as err:
            raise WorkflowProblem(f"The workflow inputs are not valid JSON ({err}).") from None
    else:
        lines = [line.split("#", 1)[0].strip() for line in re.split(r"[\n;]", str(text or ""))]
        pairs = []
        for number, line in enumerate(lines, 1):
            if not line:
                continue
            option, sep, where = line.partition("=")
            if not sep:
                raise WorkflowProblem(
                    f"Workflow inputs, line {number}: write `option = node.input`, e.g. prompt = 6.text."
                )
            pairs.append((option.strip(), where))
    inputs: dict[str, Targets] = {}
    for option, where in pairs:
        if option not in INPUT_KINDS:
            raise WorkflowProblem(
                f"Workflow inputs: unknown option {option!r}; the options are {', '.join(INPUT_KINDS)}."
            )
        targets = []
        for target in filter(None, (t.strip() for t in where.split(","))):
            node_id, dot, name = target.rpartition(".")
            if not (dot and node_id and name):
                raise WorkflowProblem(
                    f"Workflow inputs: {option} = {where.strip()!r}: write node.input, e.g. 6.text."
                )
            targets.append((node_id, name))
        inputs[option] = (*inputs.get(option, ()), *targets)
    return inputs


def _linked(graph: Mapping[str, Any], node_id: str, name: str) -> str | None:
    value = graph[node_id]["inputs"].get(name)
    if isinstance(value, list) and len(value) == 2 and str(value[0]) in graph:
        return str(value[0])
    return None


def infer_inputs(graph: dict[str, Any]) -> dict[str, Targets]:
    """Where a workflow's checkpoint, prompts, size, count and seed go, found from its one KSampler."""
    samplers = [n for n, node in graph.items() if node["class_type"] == "KSampler"]
    if len(samplers) != 1:
        found = "no KSampler" if not samplers else f"{len(samplers)} KSamplers"
        raise WorkflowProblem(
            f"The workflow has {found}, so its inputs cannot be found by themselves: list them in the "
            "workflow inputs (e.g. prompt = 6.text)."
        )
    (sampler,) = samplers
    inputs: dict[str, Targets] = {"seed": ((sampler, "seed"),)}
    for option, link in (("prompt", "positive"), ("negative_prompt", "negative")):
        source = _linked(graph, sampler, link)
        if source is not None and "text" in graph[source]["inputs"]:
            inputs[option] = ((source, "text"),)
    latent = _linked(graph, sampler, "latent_image")
    if latent is not None and graph[latent]["class_type"] == "EmptyLatentImage":
        inputs.update(
            width=((latent, "width"),), height=((latent, "height"),), count=((latent, "batch_size"),)
        )
    model, seen = _linked(graph, sampler, "model"), set()
    while model is not None and model not in seen:  # through LoRA loaders and the like, back to the loader
        seen.add(model)
        loader_input = next((n for n in ("ckpt_name", "unet_name") if n in graph[model]["inputs"]), None)
        if loader_input:
            inputs["checkpoint"] = ((model, loader_input),)
            break
        model = _linked(graph, model, "model")
    return inputs


def load_workflow(graph: Any = None, inputs: Any = None) -> Workflow:
    """The workflow a generation fills in: the admin's (with its inputs, given or found), else the built-in."""
    if graph in (None, "", {}):  # inputs describe an admin's workflow: without one they have nothing to say
        return Workflow(BUILT_IN_WORKFLOW, parse_inputs(BUILT_IN_INPUTS))
    parsed = parse_graph(copy.deepcopy(graph))
    given = parse_inputs(inputs) if inputs not in (None, "") else {}
    try:
        found = infer_inputs(parsed)
    except WorkflowProblem:
        if not given:
            raise
        found = {}  # no single KSampler: the inputs listed are all there is
    mapping = {option: targets for option, targets in {**found, **given}.items() if targets}
    for option, targets in mapping.items():
        for node_id, _ in targets:
            if node_id not in parsed:
                raise WorkflowProblem(
                    f"Workflow inputs: {option} goes to node {node_id}, which is not in the workflow."
                )
    missing = [o for o in REQUIRED_INPUTS if o not in mapping]
    if missing:
        raise WorkflowProblem(
            f"Say which node input takes the {' and the '.join(missing)} in the workflow inputs "
            "(e.g. checkpoint = 4.ckpt_name, prompt = 6.text)."
        )
    return Workflow(parsed, mapping, own=True)


def input_spec(definition: Mapping[str, Any], name: str) -> list[Any] | None:
    declared = definition.get("input") or {}
    for group in ("required", "optional"):
        spec = (declared.get(group) or {}).get(name)
        if spec is not None:
            return spec if isinstance(spec, list) else [spec]
    return None


def choices_of(spec: list[Any] | None) -> list[str] | None:
    """A combo input's values: `[[...], {...}]`, or newer servers' `["COMBO", {"options": [...]}]`."""
    if not spec:
        return None
    if isinstance(spec[0], list):
        return [str(v) for v in spec[0]]
    if spec[0] == "COMBO" and len(spec) > 1 and isinstance(spec[1], dict):
        return [str(v) for v in spec[1].get("options") or []]
    return None


def _kind(spec: list[Any]) -> str:
    return "combo" if choices_of(spec) is not None else str(spec[0])


def workflow_problems(workflow: Workflow, definitions: Mapping[str, Mapping[str, Any] | None]) -> list[str]:
    """What the server would refuse in `workflow`, or [], from its node definitions (class → /object_info entry)."""
    graph, problems = workflow.graph, []
    mapped = {target for targets in workflow.inputs.values() for target in targets}
    outputs = 0
    for node_id in sorted(graph, key=by_node_id):
        name, node = node_name(graph, node_id), graph[node_id]
        definition = definitions.get(node["class_type"])
        if not definition:
            problems.append(f"{name}: this ComfyUI has no such node (is a custom node missing?)")
            continue
        outputs += bool(definition.get("output_node"))
        for input_name, value in node["inputs"].items():
            spec = input_spec(definition, input_name)
            if spec is None:
                problems.append(f"{name}: unknown input {input_name!r}")
            elif isinstance(value, list):
                source = str(value[0]) if len(value) == 2 else None
                source_def = definitions.get(graph[source]["class_type"]) if source in graph else None
                if source is None:
                    problems.append(f"{name}: input {input_name!r} is not a link [node, output]")
                elif source not in graph:
                    problems.append(
                        f"{name}: input {input_name!r} links to node {source}, which is not in the workflow"
                    )
                elif source_def and not (
                    isinstance(value[1], int) and 0 <= value[1] < len(source_def.get("output") or [])
                ):
                    problems.append(
                        f"{name}: input {input_name!r} links to an output {node_name(graph, source)} does not have"
                    )
            elif (
                (node_id, input_name) not in mapped
                and (values := choices_of(spec)) is not None
                and value not in values
            ):
                problems.append(f"{name}: {value!r} is not one of this server's choices for {input_name!r}")
        for input_name in (definition.get("input") or {}).get("required") or {}:
            if input_name not in node["inputs"] and (node_id, input_name) not in mapped:
                problems.append(f"{name}: input {input_name!r} is missing")
    if not outputs and not problems:
        problems.append("the workflow has no output node (Save Image or Preview Image)")
    for option, targets in workflow.inputs.items():
        for node_id, input_name in targets:
            definition = definitions.get(workflow.class_of(node_id))
            spec = input_spec(definition, input_name) if definition else None
            if definition and spec is None and input_name not in graph[node_id]["inputs"]:
                problems.append(f"{node_name(graph, node_id)}: unknown input {input_name!r} (for {option})")
            elif spec is not None and _kind(spec) != INPUT_KINDS[option]:
                problems.append(
                    f"{node_name(graph, node_id)}: input {input_name!r} takes {_kind(spec)}, not the {option} "
                    f"({INPUT_KINDS[option]})"
                )
    return problems


def describe_problems(problems: list[str]) -> str:
    if not problems:
        return ""
    shown = "; ".join(problems[:3]) + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")
    return shown[0].upper() + shown[1:] + "."

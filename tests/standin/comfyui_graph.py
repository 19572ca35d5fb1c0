"""ComfyUI's prompt validation, step for step as `execution.py` does it (validate_prompt / validate_inputs).

The same checks in the same order with the same error dicts, so a graph the real server refuses is
refused here with the body the real server sends: unknown class types, links to missing nodes or bad
output indexes (Python's own KeyError/IndexError, caught where ComfyUI catches them), type mismatches,
missing required inputs, values that do not convert, numbers out of range, combo values not in the list,
and LoadImage's own check that the file exists.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

Validated = dict[str, tuple[bool, list[dict[str, Any]], str]]


def full_type_name(klass: type) -> str:
    module = klass.__module__
    return klass.__qualname__ if module == "builtins" else f"{module}.{klass.__qualname__}"


def _types_match(received: str, wanted: Any) -> bool:
    """ComfyUI's validate_node_input: equal, "*" on either side, or overlapping comma-separated unions."""
    if not isinstance(wanted, str):
        return False
    if received == wanted or "*" in (received, wanted):
        return True
    return bool(set(received.split(",")) & set(wanted.split(",")))


def validate_inputs(
    prompt: dict[str, Any], item: str, validated: Validated, nodes: dict[str, Any], exists: Any
) -> tuple[bool, list[dict[str, Any]], str]:
    unique_id = item
    if unique_id in validated:
        return validated[unique_id]
    inputs = prompt[unique_id]["inputs"]
    class_type = prompt[unique_id]["class_type"]
    definition = nodes[class_type]
    required = definition["input"].get("required", {})
    optional = definition["input"].get("optional", {})
    checks_itself = definition.get("_validates", [])
    errors: list[dict[str, Any]] = []
    valid = True

    for x in [*required, *optional]:
        spec = required.get(x) or optional.get(x)
        input_type, extra_info = spec[0], (spec[1] if len(spec) > 1 else {})
        info = [input_type, extra_info]
        if x not in inputs:
            if x in required:
                errors.append({"type": "required_input_missing", "message": "Required input is missing",
                               "details": f"{x}", "extra_info": {"input_name": x}})  # fmt: skip
            continue
        val = inputs[x]
        if isinstance(val, list):
            if len(val) != 2:
                errors.append({"type": "bad_linked_input",
                               "message": "Bad linked input, must be a length-2 list of [node_id, slot_index]",
                               "details": f"{x}", "extra_info": {"input_name": x, "input_config": info,
                                                                  "received_value": val}})  # fmt: skip
                continue
            o_id = val[0]
            # As in ComfyUI: a missing node or output index raises here, outside any try, and is caught
            # by whoever validates this node (the caller's "inner validation", or validate_prompt).
            o_class_type = prompt[o_id]["class_type"]
            received_type = tuple(nodes[o_class_type]["output"])[val[1]]  # RETURN_TYPES is a tuple
            if not _types_match(received_type, input_type):
                errors.append({"type": "return_type_mismatch", "message": "Return type mismatch between linked nodes",
                               "details": f"{x}, received_type({received_type}) mismatch input_type({input_type})",
                               "extra_info": {"input_name": x, "input_config": info, "received_type": received_type,
                                              "linked_node": val}})  # fmt: skip
                continue
            try:
                r = validate_inputs(prompt, o_id, validated, nodes, exists)
                if r[0] is False:
                    valid = False
                    continue
            except Exception as ex:
                typ, _, tb = sys.exc_info()
                valid = False
                validated[o_id] = (False, [{
                    "type": "exception_during_inner_validation", "message": "Exception when validating inner node",
                    "details": str(ex),
                    "extra_info": {"input_name": x, "input_config": info, "exception_message": str(ex),
                                   "exception_type": full_type_name(typ), "traceback": traceback.format_tb(tb),
                                   "linked_node": val}}], o_id)  # fmt: skip
                continue
        else:
            try:
                if isinstance(val, dict) and "__value__" in val:
                    val = inputs[x] = val["__value__"]
                if input_type == "INT":
                    val = inputs[x] = int(val)
                if input_type == "FLOAT":
                    val = inputs[x] = float(val)
                if input_type == "STRING":
                    val = inputs[x] = str(val)
                if input_type == "BOOLEAN":
                    val = inputs[x] = bool(val)
            except Exception as ex:
                errors.append({"type": "invalid_input_type",
                               "message": f"Failed to convert an input value to a {input_type} value",
                               "details": f"{x}, {val}, {ex}",
                               "extra_info": {"input_name": x, "input_config": info, "received_value": val,
                                              "exception_message": str(ex)}})  # fmt: skip
                continue
            if x in checks_itself:
                continue
            if "min" in extra_info and val < extra_info["min"]:
                errors.append({"type": "value_smaller_than_min",
                               "message": "Value {} smaller than min of {}".format(val, extra_info["min"]),
                               "details": f"{x}", "extra_info": {"input_name": x, "input_config": info,
                                                                  "received_value": val}})  # fmt: skip
                continue
            if "max" in extra_info and val > extra_info["max"]:
                errors.append({"type": "value_bigger_than_max",
                               "message": "Value {} bigger than max of {}".format(val, extra_info["max"]),
                               "details": f"{x}", "extra_info": {"input_name": x, "input_config": info,
                                                                  "received_value": val}})  # fmt: skip
                continue
            if isinstance(input_type, list) and val not in input_type:
                # Don't send back gigantic lists, as ComfyUI says: long ones are only counted.
                long = len(input_type) > 20
                list_info = f"(list of length {len(input_type)})" if long else str(input_type)
                errors.append({"type": "value_not_in_list", "message": "Value not in list",
                               "details": f"{x}: '{val}' not in {list_info}",
                               "extra_info": {"input_name": x, "input_config": None if long else info,
                                              "received_value": val}})  # fmt: skip
                continue

    for x in checks_itself:  # LoadImage.VALIDATE_INPUTS(image): the file must exist in input/
        if x in inputs and not isinstance(inputs[x], list) and not exists(inputs[x]):
            errors.append({"type": "custom_validation_failed", "message": "Custom validation failed for node",
                           "details": f"{x} - Invalid image file: {inputs[x]}",
                           "extra_info": {"input_name": x}})  # fmt: skip

    result = (False, errors, unique_id) if errors or not valid else (True, [], unique_id)
    validated[unique_id] = result
    return result


def validate_prompt(
    prompt: Any, nodes: dict[str, Any], exists: Any
) -> tuple[bool, dict[str, Any] | None, list[str], dict[str, Any]]:
    """(valid, error, outputs to execute, node_errors), as ComfyUI's validate_prompt returns them."""
    if not isinstance(prompt, dict):
        error = {"type": "invalid_prompt", "message": "Cannot execute because the prompt is not an object.",
                 "details": "", "extra_info": {}}  # fmt: skip
        return False, error, [], {}
    outputs: list[str] = []
    for x, node in prompt.items():
        node = node if isinstance(node, dict) else {}
        title = (node.get("_meta") or {}).get("title")
        if "class_type" not in node:
            error = {"type": "missing_node_type",
                     "message": f"Node '{title or f'ID #{x}'}' has no class_type. The workflow may be corrupted or a custom node is missing.",
                     "details": f"Node ID '#{x}'", "extra_info": {"node_id": x, "class_type": None, "node_title": title}}  # fmt: skip
            return False, error, [], {}
        class_type = node["class_type"]
        if class_type not in nodes:
            error = {"type": "missing_node_type",
                     "message": f"Node '{title or class_type}' not found. The custom node may not be installed.",
                     "details": f"Node ID '#{x}'",
                     "extra_info": {"node_id": x, "class_type": class_type, "node_title": title or class_type}}  # fmt: skip
            return False, error, [], {}
        if nodes[class_type]["output_node"]:
            outputs.append(x)
    if not outputs:
        return (
            False,
            {
                "type": "prompt_no_outputs",
                "message": "Prompt has no outputs",
                "details": "",
                "extra_info": {},
            },
            [],
            {},
        )

    good: list[str] = []
    failed: list[tuple[str, list[dict[str, Any]]]] = []
    node_errors: dict[str, Any] = {}
    validated: Validated = {}
    for o in outputs:
        try:
            ok, reasons, _ = validate_inputs(prompt, o, validated, nodes, exists)
        except Exception as ex:
            typ, _, tb = sys.exc_info()
            ok = False
            reasons = [{"type": "exception_during_validation", "message": "Exception when validating node",
                        "details": str(ex), "extra_info": {"exception_type": full_type_name(typ),
                                                            "traceback": traceback.format_tb(tb)}}]  # fmt: skip
            validated[o] = (False, reasons, o)
        if ok:
            good.append(o)
            continue
        failed.append((o, reasons))
        for node_id, (node_ok, node_reasons, _) in validated.items():
            # Nodes downstream of a bad one are invalid with no reasons of their own: not reported.
            if not node_ok and node_reasons:
                entry = node_errors.setdefault(
                    node_id,
                    {
                        "errors": node_reasons,
                        "dependent_outputs": [],
                        "class_type": prompt[node_id]["class_type"],
                    },
                )
                entry["dependent_outputs"].append(o)
    if not good:
        details = "\n".join(f"{e['message']}: {e['details']}" for _, reasons in failed for e in reasons)
        error = {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
                 "details": details, "extra_info": {}}  # fmt: skip
        return False, error, [], node_errors
    return True, None, good, node_errors

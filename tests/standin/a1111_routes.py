"""AUTOMATIC1111's `/sdapi/v1`: txt2img with live progress and interrupt, and the lists a client reads.

txt2img waits out the scripted delay as a registered job, so `/progress` reports how far it is
(elapsed / delay) and `/interrupt` ends it early; an interrupted job still answers 200 with its images,
as the WebUI does.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import time
from typing import Any

from . import catalog, errors, images
from .behaviour import Effect
from .state import StandinState
from .wire import Request, Response

FAMILY = "a1111"
VERSION = "v1.10.1"

TXT2IMG_DEFAULTS: dict[str, Any] = {
    "prompt": "",
    "negative_prompt": "",
    "styles": None,
    "seed": -1,
    "subseed": -1,
    "subseed_strength": 0,
    "sampler_name": None,
    "scheduler": None,
    "batch_size": 1,
    "n_iter": 1,
    "steps": 50,
    "cfg_scale": 7.0,
    "width": 512,
    "height": 512,
    "restore_faces": None,
    "tiling": None,
    "override_settings": None,
    "override_settings_restore_afterwards": True,
    "sampler_index": "Euler",
    "script_name": None,
    "send_images": True,
    "save_images": False,
    "alwayson_scripts": {},
}
INT_FIELDS = ("seed", "batch_size", "n_iter", "steps", "width", "height")


def check_auth(state: StandinState, req: Request) -> Response | None:
    if state.config.sd_auth is None:
        return None
    scheme, _, encoded = req.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return errors.a1111_unauthorized("Not authenticated")
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return errors.a1111_unauthorized("Not authenticated")
    if (user, password) != state.config.sd_auth:
        return errors.a1111_unauthorized("Incorrect username or password")
    return None


def not_found(req: Request) -> Response:
    return Response(404, {"detail": "Not Found"})


def model_of(req: Request) -> str:
    return "stable-diffusion"


def _validation_error(body: dict[str, Any]) -> Response | None:
    """Pydantic v1's 422 for a field of the wrong type, as the WebUI's FastAPI answers it."""
    for name in INT_FIELDS:
        value = body.get(name)
        as_int = isinstance(value, int) and not isinstance(value, bool)
        digits = isinstance(value, str) and value.lstrip("-").isdigit()  # pydantic v1 coerces "20"
        if value is not None and not as_int and not digits:
            return errors.a1111_validation(name, "value is not a valid integer", "type_error.integer")
    cfg = body.get("cfg_scale")
    if cfg is not None and (isinstance(cfg, bool) or not isinstance(cfg, int | float)):
        return errors.a1111_validation("cfg_scale", "value is not a valid float", "type_error.float")
    return None


def _infotext(p: dict[str, Any], seed: int, model: dict[str, Any]) -> str:
    lines = [p["prompt"]]
    if p["negative_prompt"]:
        lines.append(f"Negative prompt: {p['negative_prompt']}")
    lines.append(
        f"Steps: {p['steps']}, Sampler: {p['sampler']}, Schedule type: Automatic, CFG scale: {p['cfg_scale']:g}, "
        f"Seed: {seed}, Size: {p['width']}x{p['height']}, Model hash: {model['hash']}, "
        f"Model: {model['model_name']}, Version: {VERSION}"
    )
    return "\n".join(lines)


def txt2img(state: StandinState, req: Request, effect: Effect) -> Response:
    body = req.json_dict()
    invalid = _validation_error(body)
    if invalid is not None:
        return invalid
    params = {**TXT2IMG_DEFAULTS, **body}
    p = {k: int(params[k]) for k in INT_FIELDS}
    p.update(prompt=str(params["prompt"] or ""), negative_prompt=str(params["negative_prompt"] or ""))
    p["cfg_scale"] = float(params["cfg_scale"])
    # Unknown samplers and checkpoints are silently replaced by defaults: the WebUI does the same.
    p["sampler"] = params["sampler_name"] if params["sampler_name"] in catalog.SAMPLER_NAMES else "Euler a"
    wanted = (params.get("override_settings") or {}).get("sd_model_checkpoint")
    model = catalog.sd_model(wanted) or catalog.sd_model(state.sd_options["sd_model_checkpoint"])
    model = model or catalog.SD_MODELS[0]

    first_seed = p["seed"] if p["seed"] >= 0 else random.randrange(4_294_967_294)
    total = max(0, p["batch_size"] * p["n_iter"] - effect.fewer_images)
    seeds = [first_seed + i for i in range(total)]
    infotexts = [_infotext(p, seed, model) for seed in seeds]
    encoded: list[str] = []
    job = state.start_job(steps=p["steps"], n_iter=p["n_iter"], delay=effect.delay)
    try:
        # Drawn inside the job's time, so the answer comes when the delay is up (or on interrupt), not later.
        if params["send_images"]:
            bytes_target = state.bytes_target(effect)
            for index, seed in enumerate(seeds):
                label = images.label_for(index, p["prompt"], f"seed {seed}")
                png = images.render(p["width"], p["height"], seed, label, bytes_target=bytes_target)
                encoded.append(base64.b64encode(png).decode("ascii"))
        left = effect.delay - (time.monotonic() - job.started)
        interrupted = job.interrupted.wait(left) if left > 0 else job.interrupted.is_set()
    finally:
        state.end_job(job)
    info = {
        "prompt": p["prompt"],
        "all_prompts": [p["prompt"]] * total,
        "negative_prompt": p["negative_prompt"],
        "all_negative_prompts": [p["negative_prompt"]] * total,
        "seed": first_seed,
        "all_seeds": seeds,
        "subseed": first_seed + 1,
        "all_subseeds": [s + 1 for s in seeds],
        "subseed_strength": 0,
        "width": p["width"],
        "height": p["height"],
        "sampler_name": p["sampler"],
        "cfg_scale": p["cfg_scale"],
        "steps": p["steps"],
        "batch_size": p["batch_size"],
        "restore_faces": False,
        "face_restoration_model": None,
        "sd_model_name": model["model_name"],
        "sd_model_hash": model["hash"],
        "sd_vae_name": None,
        "sd_vae_hash": None,
        "seed_resize_from_w": -1,
        "seed_resize_from_h": -1,
        "denoising_strength": None,
        "extra_generation_params": {"Schedule type": "Automatic"},
        "index_of_first_image": 0,
        "infotexts": infotexts,
        "styles": [],
        "job_timestamp": time.strftime("%Y%m%d%H%M%S"),
        "clip_skip": 1,
        "is_using_inpainting_conditioning": False,
        "version": VERSION,
        "interrupted": interrupted,  # not a WebUI field; tells a test the interrupt landed
    }
    # `info` is a JSON *string* inside the JSON body: that is how the WebUI sends it.
    return Response(200, {"images": encoded, "parameters": params, "info": json.dumps(info)})


def progress(state: StandinState, req: Request, effect: Effect) -> Response:
    job = state.current_job()
    if job is None:
        state_body = {"job": "", "job_count": 0, "job_no": 0, "sampling_step": 0, "sampling_steps": 0}
        fraction, eta = 0.0, 0.0
    else:
        fraction = job.progress()
        eta = max(0.0, job.delay - (time.monotonic() - job.started))
        state_body = {
            "job": "scripts_txt2img",
            "job_count": job.n_iter,
            "job_no": min(job.n_iter - 1, int(fraction * job.n_iter)),
            "sampling_step": int(fraction * job.steps),
            "sampling_steps": job.steps,
        }
    return Response(
        200,
        {
            "progress": fraction,
            "eta_relative": eta,
            "state": {
                "skipped": False,
                "interrupted": bool(job and job.interrupted.is_set()),
                "stopping_generation": False,
                "job_timestamp": time.strftime("%Y%m%d%H%M%S") if job else "0",
                **state_body,
            },
            "current_image": None,
            "textinfo": None,
            "current_task": "task(standin)" if job else None,
        },
    )


def interrupt(state: StandinState, req: Request, effect: Effect) -> Response:
    state.interrupt_jobs()
    return Response(200, {})


def sd_models(state: StandinState, req: Request, effect: Effect) -> Response:
    return Response(200, catalog.SD_MODELS)


def samplers(state: StandinState, req: Request, effect: Effect) -> Response:
    return Response(200, catalog.SAMPLERS)


def get_options(state: StandinState, req: Request, effect: Effect) -> Response:
    return Response(200, state.sd_options)


def set_options(state: StandinState, req: Request, effect: Effect) -> Response:
    # Like POST /options on the WebUI: global, it switches the model for every client.
    state.sd_options = {**state.sd_options, **req.json_dict()}
    return Response(200, None)


# (method, path, handler, handles its own delay)
ROUTES = [
    ("POST", "/sdapi/v1/txt2img", txt2img, True),
    ("GET", "/sdapi/v1/progress", progress, False),
    ("POST", "/sdapi/v1/interrupt", interrupt, False),
    ("GET", "/sdapi/v1/sd-models", sd_models, False),
    ("GET", "/sdapi/v1/samplers", samplers, False),
    ("GET", "/sdapi/v1/options", get_options, False),
    ("POST", "/sdapi/v1/options", set_options, False),
]

"""AUTOMATIC1111's `/sdapi/v1` (and Forge's, and SD.Next's: config `sd_flavour`): txt2img and img2img with
live progress, previews and interrupt, extra-single-image upscaling, and the lists a client reads.

A generation waits out the scripted delay as a registered job, so `/progress` reports how far it is
(elapsed / delay), with `current_image` unless `skip_current_image`; `/interrupt` ends it early and it
still answers 200 with its images, as the WebUI does. img2img's mask is recorded decoded (masks.py).
"""

from __future__ import annotations

import base64
import binascii
import random
import time
from typing import Any

from . import a1111_edits, catalog, errors, images
from .behaviour import Effect
from .state import StandinState
from .wire import Request, Response
from .wire_bodies import a1111_exception, a1111_images_body, a1111_progress_body, a1111_unauthorized

FAMILY = "a1111"

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


def _flavour(state: StandinState) -> str:
    return state.config.sd_flavour


def check_auth(state: StandinState, req: Request) -> Response | None:
    if state.config.sd_auth is None:
        return None
    flavour = _flavour(state)
    scheme, _, encoded = req.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return errors.to_response(a1111_unauthorized("Not authenticated", flavour))
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return errors.to_response(a1111_unauthorized("Not authenticated", flavour))
    if (user, password) != state.config.sd_auth:
        return errors.to_response(a1111_unauthorized(catalog.SD_FLAVOURS[flavour]["wrong_password"], flavour))
    return None


def not_found(req: Request) -> Response:
    return Response(404, {"detail": "Not Found"})


def model_of(req: Request) -> str:
    return "stable-diffusion"


def _infotext(p: dict[str, Any], seed: int, model: dict[str, Any], flavour: str) -> str:
    lines = [p["prompt"]]
    if p["negative_prompt"]:
        lines.append(f"Negative prompt: {p['negative_prompt']}")
    schedule = f"Schedule type: {p['scheduler']}, " if catalog.SD_FLAVOURS[flavour]["schedulers"] else ""
    extra = (
        f", Denoising strength: {p['denoising_strength']:g}"
        if p.get("denoising_strength") is not None
        else ""
    )
    lines.append(
        f"Steps: {p['steps']}, Sampler: {p['sampler']}, {schedule}CFG scale: {p['cfg_scale']:g}, "
        f"Seed: {seed}, Size: {p['width']}x{p['height']}, Model hash: {model['hash']}, "
        f"Model: {model['model_name']}{extra}, Version: {catalog.SD_FLAVOURS[flavour]['version']}"
    )
    return "\n".join(lines)


def _sampler(state: StandinState, params: dict[str, Any]) -> tuple[str, str] | Response:
    """(sampler, schedule) as the flavour resolves them, or its 404 for an unknown sampler."""
    flavour = _flavour(state)
    rules = catalog.SD_FLAVOURS[flavour]
    wanted = params.get("sampler_name") or params.get("sampler_index")
    if wanted in rules["samplers"]:
        sampler = wanted
    elif rules["unknown_sampler"] == "404" and wanted:
        return errors.to_response(a1111_exception(404, "Sampler not found", flavour=flavour))
    else:
        sampler = rules["samplers"][0] if rules["unknown_sampler"] == "404" else "Euler a"
    labels = {s["label"] for s in catalog.SCHEDULERS} | {s["name"] for s in catalog.SCHEDULERS}
    schedule = params.get("scheduler") if params.get("scheduler") in labels else "Automatic"
    return sampler, schedule


def generate(state: StandinState, req: Request, effect: Effect) -> Response:
    """txt2img, or img2img when the path says so: the same parameters, plus the source image and mask."""
    body = req.json_dict()
    flavour = _flavour(state)
    img2img = req.path.endswith("/img2img")
    invalid = a1111_edits.type_error(body, flavour, img2img)
    if invalid is not None:
        return invalid
    params = {**TXT2IMG_DEFAULTS, **(a1111_edits.IMG2IMG_DEFAULTS if img2img else {}), **body}
    p = {k: int(params[k]) for k in INT_FIELDS}
    p.update(prompt=str(params["prompt"] or ""), negative_prompt=str(params["negative_prompt"] or ""))
    p["cfg_scale"] = float(params["cfg_scale"])
    resolved = _sampler(state, params)
    if isinstance(resolved, Response):
        return resolved
    p["sampler"], p["scheduler"] = resolved
    source = None
    if img2img:
        checked = a1111_edits.check_img2img(params, flavour)
        if isinstance(checked, Response):
            return checked
        source, mask_record = checked
        p["denoising_strength"] = float(params["denoising_strength"])
        # The WebUI renders at width x height (the source is resized to it by resize_mode).
        state.annotate(
            req.recording, init_images=[list(source.size)], **({"mask": mask_record} if mask_record else {})
        )
    # Unknown checkpoints are silently replaced by the loaded one: the WebUI does the same.
    wanted = (params.get("override_settings") or {}).get("sd_model_checkpoint")
    models = catalog.sd_models(flavour)
    model = catalog.sd_model(wanted) or catalog.sd_model(state.sd_options["sd_model_checkpoint"]) or models[0]

    first_seed = p["seed"] if p["seed"] >= 0 else random.randrange(4_294_967_294)
    total = max(0, p["batch_size"] * p["n_iter"] - effect.fewer_images)
    seeds = [first_seed + i for i in range(total)]
    infotexts = [_infotext(p, seed, model, flavour) for seed in seeds]
    encoded: list[str] = []
    kind = "img2img" if img2img else "txt2img"
    job = state.start_job(
        steps=p["steps"], n_iter=p["n_iter"], delay=effect.delay, kind=kind,
        width=p["width"], height=p["height"], seed=first_seed, label=p["prompt"],
    )  # fmt: skip
    try:
        # Drawn inside the job's time, so the answer comes when the delay is up (or on interrupt), not later.
        if params["send_images"]:
            bytes_target = state.bytes_target(effect)
            for index, seed in enumerate(seeds):
                label = images.label_for(index, p["prompt"], f"{kind} seed {seed}")
                png = images.render(p["width"], p["height"], seed, label, bytes_target=bytes_target)
                encoded.append(base64.b64encode(png).decode("ascii"))
        left = effect.delay - (time.monotonic() - job.started)
        interrupted = job.interrupted.wait(left) if left > 0 else job.interrupted.is_set()
    finally:
        state.end_job(job)
    state.annotate(req.recording, interrupted=interrupted)  # a test reads what happened, not the clock
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
        "denoising_strength": p.get("denoising_strength"),
        "extra_generation_params": {"Schedule type": p["scheduler"]}
        if catalog.SD_FLAVOURS[flavour]["schedulers"]
        else {},
        "index_of_first_image": 0,
        "infotexts": infotexts,
        "styles": [],
        "job_timestamp": time.strftime("%Y%m%d%H%M%S"),
        "clip_skip": 1,
        "is_using_inpainting_conditioning": bool(img2img and params.get("mask")),
        "version": catalog.SD_FLAVOURS[flavour]["version"],
        "interrupted": interrupted,  # not a WebUI field; tells a test the interrupt landed
    }
    if img2img and not params.get("include_init_images"):
        params = {**params, "init_images": None, "mask": None}  # the WebUI does not echo the inputs back
    return Response(200, a1111_images_body(encoded, params, info))


def progress(state: StandinState, req: Request, effect: Effect) -> Response:
    job = state.current_job()
    if job is None:
        return Response(200, a1111_progress_body())
    fraction = job.progress()
    current_image = None
    skip = req.query.get("skip_current_image", "false").lower() in ("true", "1")
    # Like the WebUI, no preview before the first preview interval has passed.
    if state.config.sd_live_previews and not skip and fraction > 0.05:
        preview = images.preview_of(job.width, job.height, job.seed, job.label, fraction)
        current_image = images.encode_png_b64(preview)
    return Response(
        200,
        a1111_progress_body(
            progress=fraction,
            eta=max(0.0, job.delay - (time.monotonic() - job.started)),
            job=f"scripts_{job.kind}",
            job_count=job.n_iter,
            job_no=min(job.n_iter - 1, int(fraction * job.n_iter)),
            sampling_step=int(fraction * job.steps),
            sampling_steps=job.steps,
            interrupted=job.interrupted.is_set(),
            current_image=current_image,
            job_timestamp=time.strftime("%Y%m%d%H%M%S"),
        ),
    )


def interrupt(state: StandinState, req: Request, effect: Effect) -> Response:
    state.interrupt_jobs()
    return Response(200, {})


def sd_models(state: StandinState, req: Request, effect: Effect) -> Response:
    return Response(200, catalog.sd_models(_flavour(state)))


def samplers(state: StandinState, req: Request, effect: Effect) -> Response:
    return Response(200, catalog.sd_samplers(_flavour(state)))


def schedulers(state: StandinState, req: Request, effect: Effect) -> Response:
    if not catalog.SD_FLAVOURS[_flavour(state)]["schedulers"]:
        return not_found(req)  # older WebUIs and SD.Next have no such route
    return Response(200, catalog.SCHEDULERS)


def upscalers(state: StandinState, req: Request, effect: Effect) -> Response:
    return Response(200, catalog.UPSCALERS)


def get_options(state: StandinState, req: Request, effect: Effect) -> Response:
    return Response(200, state.sd_options)


def set_options(state: StandinState, req: Request, effect: Effect) -> Response:
    # Like POST /options on the WebUI: global, it switches the model for every client.
    state.sd_options = {**state.sd_options, **req.json_dict()}
    return Response(200, None)


# (method, path, handler, handles its own delay)
ROUTES = [
    ("POST", "/sdapi/v1/txt2img", generate, True),
    ("POST", "/sdapi/v1/img2img", generate, True),
    ("POST", "/sdapi/v1/extra-single-image", a1111_edits.extra_single_image, False),
    ("GET", "/sdapi/v1/progress", progress, False),
    ("POST", "/sdapi/v1/interrupt", interrupt, False),
    ("GET", "/sdapi/v1/sd-models", sd_models, False),
    ("GET", "/sdapi/v1/samplers", samplers, False),
    ("GET", "/sdapi/v1/schedulers", schedulers, False),
    ("GET", "/sdapi/v1/upscalers", upscalers, False),
    ("GET", "/sdapi/v1/options", get_options, False),
    ("POST", "/sdapi/v1/options", set_options, False),
]

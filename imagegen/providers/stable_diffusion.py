"""A self-hosted Stable Diffusion: AUTOMATIC1111's WebUI and its forks Forge and SD.Next, started with `--api`.

Models are the checkpoints the WebUI has installed (model id = checkpoint title). The checkpoint goes with each
request in `override_settings`, never through `POST /options`, which would switch the model for everyone.

The forks keep `/sdapi/v1` but differ at the edges: `GET /sdapi/v1/schedulers` exists only from A1111 1.9 (older
servers answer 404, and then no scheduler is offered), and some builds list samplers without aliases. Anything
optional that a server lacks is left out rather than failing the provider.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.cache import cache
from django.views.decorators.debug import sensitive_variables

from imagegen import masks
from imagegen.catalog import (
    SELF_HOSTED_MAX_PER_JOB,
    ModelFamily,
    ModelOption,
    ModelSpec,
    SizeRule,
    parse_size,
)
from imagegen.options import DEFAULT_CFG_SCALE, DEFAULT_STEPS, DEFAULT_STRENGTH
from imagegen.pricing import FREE

from .base import (
    Answer,
    CancelCheck,
    CheckResult,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    ProgressCallback,
    Provider,
    check_failed,
    collect_images,
    error_for_status,
    validate_request,
)
from .encoding import preview_from_base64
from .errors import AuthenticationError, BadRequestError, BadResponseError, ProviderError, UnavailableError
from .results import Preview
from .settings import declare

logger = logging.getLogger(__name__)

# The WebUI's model list changes when someone drops a file in; a minute keeps validation honest and cheap.
MODELS_TTL = 60
_PROGRESS_TIMEOUT = 5.0
# Inpainting: a few pixels of blur let the repainted part blend in; "original" starts it from what was there, so
# an instruction such as "make her hair silver" changes the hair rather than inventing a new one.
MASK_BLUR = 4
INPAINT_FROM_ORIGINAL = 1
# The upscalers a WebUI usually has, best for illustrations first; any other it lists comes after these.
PREFERRED_UPSCALERS = [
    "R-ESRGAN 4x+ Anime6B",
    "R-ESRGAN 4x+",
    "ESRGAN_4x",
    "SwinIR 4x",
    "LDSR",
    "Lanczos",
    "Nearest",
]

# Multiples of 8 (the latent is 1/8 of the image); 256-2048 keeps SD 1.5 and SDXL usable without letting one
# request exhaust a consumer GPU's memory.
SELF_HOSTED_SIZES = SizeRule(multiple=8, min_side=256, max_side=2048)
CHECKPOINT = ModelSpec(
    "stable-diffusion",
    "checkpoint",
    "Checkpoint",
    sizes=("512x512", "768x768", "1024x1024", "512x768", "768x512", "832x1216", "1216x832"),
    size_rule=SELF_HOSTED_SIZES,
    images_per_request=SELF_HOSTED_MAX_PER_JOB,  # batch_size: one call makes them all
    max_images_per_job=SELF_HOSTED_MAX_PER_JOB,
    max_prompt_chars=8000,
    negative_prompt=True,
    seed=True,
    steps=True,
    cfg_scale=True,
    # img2img: any checkpoint edits, inpaints within a mask (white = repaint), and takes a strength.
    edits=True,
    masks=True,
    strength=True,
    price=FREE,
)


def checkpoint_label(match: re.Match[str]) -> str:
    """A checkpoint as writers see it: its file name without the extension or the WebUI's hash
    ("v1-5-pruned-emaonly.safetensors [6ce0161689]" → "v1-5-pruned-emaonly"), so two checkpoints stay apart."""
    name = re.sub(r"\s*\[[0-9a-f]+\]$", "", match.group(0).strip())
    return re.sub(r"\.(safetensors|ckpt|pt|pth|bin|gguf|sft)$", "", name) or match.group(0)


def checkpoint_families(template: ModelSpec) -> tuple[ModelFamily, ...]:
    """Every checkpoint an engine has installed is a model, its file name the id and its label (WebUI, ComfyUI)."""
    return (
        ModelFamily(
            key="checkpoint",
            label="Checkpoint",
            pattern=r"(?s).+",
            template=template,
            label_for=checkpoint_label,
        ),
    )


# The WebUI lists a checkpoint by its title ("file.safetensors [hash]"), which is its id.
FAMILIES = checkpoint_families(CHECKPOINT)


class StableDiffusionProvider(Provider):
    provider_id = "stable-diffusion"
    # Writers read this (failures offer "Use Stable Diffusion WebUI instead"); the engines it covers —
    # AUTOMATIC1111, Forge, SD.Next — are named where admins set it up.
    label = "Stable Diffusion WebUI"
    # "sd": the names the product documents (sd.endpoint, AI_IMAGE_SD_ENDPOINT).
    settings = declare(
        "sd",
        "Stable Diffusion",
        url_key="endpoint",
        credential="endpoint",
        url_help="The WebUI started with --api, e.g. http://127.0.0.1:7860 (AUTOMATIC1111, Forge or SD.Next).",
        key_help="Optional: user:password for --api-auth (sent as HTTP Basic), or a token for a proxy in front.",
        timeout=300,
    )
    families = FAMILIES
    models_cache = "sd-models"
    poll_interval: float = 1.0
    offers_edits = offers_masks = True  # img2img, with a mask
    offers_upscale = True  # extra-single-image, with an upscaler from the WebUI's list

    @sensitive_variables()
    def auth(self) -> dict[str, Any]:
        key = self.connection.api_key
        if ":" in key:
            # --api-auth user:password is HTTP Basic; A1111 has no tokens of its own.
            user, _, password = key.partition(":")
            return {"auth": (user, password)}
        return super().auth()  # a bearer token for a reverse proxy in front of the WebUI

    # --- models ---------------------------------------------------------------------------------------------

    def checkpoints(self) -> list[dict[str, Any]]:
        key = self.cache_key("sd-models")
        cached = cache.get(key)
        if cached is not None:
            return cached
        answer = self.request("GET", "/sdapi/v1/sd-models", retry=False, timeout=self.quick_timeout)
        if not isinstance(answer.data, list):
            raise BadResponseError(reason="the checkpoint list is not a list")
        items = [m for m in answer.data if isinstance(m, dict) and isinstance(m.get("title"), str)]
        cache.set(key, items, MODELS_TTL)
        return items

    def _names(self, what: str, path: str, *, optional: bool = False) -> tuple[str, ...]:
        """Names from a WebUI list (samplers, schedulers), cached; () where an older server lacks the list."""
        key = self.cache_key(what)
        cached = cache.get(key)
        if cached is not None:
            return tuple(cached)
        try:
            answer = self.request("GET", path, retry=False, timeout=self.quick_timeout)
        except ProviderError as err:
            if optional and err.status_code == 404:
                cache.set(key, [], MODELS_TTL)
                return ()
            raise
        names = [
            item["name"]
            for item in (answer.data if isinstance(answer.data, list) else [])
            if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"]
        ]
        cache.set(key, names, MODELS_TTL)
        return tuple(names)

    def samplers(self) -> tuple[str, ...]:
        return self._names("samplers", "/sdapi/v1/samplers")

    def schedulers(self) -> tuple[str, ...]:
        # Only A1111 1.9+ and recent forks have it; older servers answer 404 and offer no scheduler choice.
        return self._names("schedulers", "/sdapi/v1/schedulers", optional=True)

    def _spec(self, item: dict[str, Any], *, lists: bool = True) -> ModelSpec:
        """A checkpoint's rules; with `lists`, the samplers and schedulers the WebUI offers to choose from."""
        spec = FAMILIES[0].spec_for(item["title"])
        assert spec is not None  # the family takes any non-empty title
        spec = spec.replace(label=item.get("model_name") or item["title"])
        if not lists:
            return spec
        names: dict[str, tuple[str, ...]] = {}
        for what, fetch in (("samplers", self.samplers), ("schedulers", self.schedulers)):
            try:
                names[what] = fetch()
            except ProviderError:
                names[what] = ()  # the engine's default still works; only the choice is missing
        return spec.replace(**names)

    def models(self) -> list[ModelOption]:
        try:
            items = self.checkpoints()
        except ProviderError as err:
            logger.info("stable-diffusion: no checkpoint list: %s", err.error_class)
            return []  # nothing to fall back to: checkpoints exist only on the WebUI; check() says why
        return [ModelOption.from_spec(self._spec(m), source="live") for m in items]

    def check(self) -> CheckResult:
        cache.delete(self.cache_key("sd-models"))
        try:
            items = self.checkpoints()
        except ProviderError as err:
            if err.upstream_code in {"auth_required", "auth_rejected", "not_api"}:
                return CheckResult(False, err.upstream_code, err.message)
            return check_failed(err)
        if not items:
            return CheckResult(
                False,
                "no_checkpoints",
                "The WebUI answers but has no checkpoints installed. "
                "An admin must put a model in its models/Stable-diffusion folder.",
            )
        return CheckResult(True, "ok", f"The WebUI answers; {len(items)} checkpoint(s) installed.")

    # --- generation -----------------------------------------------------------------------------------------

    def _checkpoint(self, model_id: str, *, lists: bool) -> ModelSpec:
        for item in self.checkpoints():
            if model_id in (item["title"], item.get("model_name")):
                return self._spec(item, lists=lists)
        # The WebUI would silently render with whatever checkpoint is loaded: refuse instead.
        raise BadRequestError(reason=f"the WebUI has no checkpoint {model_id!r}")

    def generate(
        self,
        request: GenerationRequest,
        *,
        on_progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> GenerationResult:
        # A sampler or scheduler is checked against the WebUI's own lists (the spec then carries them): an unknown
        # name would be silently replaced by the default.
        spec = self._checkpoint(
            request.model, lists=bool(request.option("sampler") or request.option("scheduler"))
        )
        validate_request(spec, request)
        body = self._body(spec, request)
        with self._watch(on_progress, should_cancel):
            # Not repeated once sent: a batch longer than the timeout would otherwise occupy the GPU three times.
            answer = self.request("POST", "/sdapi/v1/txt2img", json=body, billed=True)
        return self._images(spec, request, body, answer)

    def edit(
        self,
        request: GenerationRequest,
        *,
        on_progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> GenerationResult:
        """img2img: the source as the init image, the strength as denoising strength, and the mask converted to
        the WebUI's convention (white = repaint). Blur and fill are fixed at what suits a painted mask."""
        spec = self._checkpoint(
            request.model, lists=bool(request.option("sampler") or request.option("scheduler"))
        )
        validate_request(spec, request)
        body = self._body(spec, request)
        body.update(
            init_images=[_b64(request.source_image)],
            denoising_strength=request.option("strength", DEFAULT_STRENGTH),
            resize_mode=0,  # just resize to width × height (the source's own size, or its nearest allowed)
            include_init_images=False,
        )
        if request.mask:
            body.update(
                mask=_b64(masks.white_on_black(request.mask)),
                mask_blur=MASK_BLUR,
                inpainting_fill=INPAINT_FROM_ORIGINAL,
                # The whole picture is the context, so the repainted part matches its light and scale.
                inpaint_full_res=False,
                inpainting_mask_invert=0,
            )
        with self._watch(on_progress, should_cancel):
            answer = self.request("POST", "/sdapi/v1/img2img", json=body, billed=True)
        return self._images(spec, request, body, answer)

    def _body(self, spec: ModelSpec, request: GenerationRequest) -> dict[str, Any]:
        """What txt2img and img2img share: the prompt, size, sampling and the checkpoint for this request only."""
        steps = request.option("steps", DEFAULT_STEPS)
        width, height = parse_size(request.size) or (0, 0)
        body: dict[str, Any] = {
            "prompt": request.prompt,
            "negative_prompt": request.option("negative_prompt", ""),
            "width": width,
            "height": height,
            "steps": steps,
            "cfg_scale": request.option("cfg_scale", DEFAULT_CFG_SCALE),
            "seed": request.option("seed", -1),
            "batch_size": request.count,
            "n_iter": 1,
            "override_settings": {"sd_model_checkpoint": spec.id},
            "override_settings_restore_afterwards": True,
        }
        if request.option("sampler"):
            body["sampler_name"] = request.option("sampler")
        if request.option("scheduler"):
            body["scheduler"] = request.option("scheduler")
        return body

    def _images(
        self, spec: ModelSpec, request: GenerationRequest, body: dict[str, Any], answer: Answer
    ) -> GenerationResult:
        """The images of a txt2img or img2img answer, with their seeds and infotexts."""
        steps = body["steps"]
        data = answer.data if isinstance(answer.data, dict) else {}
        items = data.get("images")
        if not isinstance(items, list):
            raise BadResponseError(reason="no image list in the answer")
        if len(items) == request.count + 1:
            del items[0]  # the WebUI's "return grid" option puts a grid of the batch first
        info = _info(data.get("info"))
        seeds = info.get("all_seeds") or []
        infotexts = info.get("infotexts") or []
        common = {
            "checkpoint": spec.id,
            "sampler": info.get("sampler_name") or request.option("sampler", ""),
            "steps": steps,
            "cfg_scale": body["cfg_scale"],
        }
        indexed = list(enumerate(items))
        items.clear()  # the (index, base64) pairs now hold the only references: each is freed once decoded

        def make(pair: tuple[int, Any]) -> GeneratedImage:
            index, b64 = pair
            seed = seeds[index] if index < len(seeds) and isinstance(seeds[index], int) else None
            infotext = infotexts[index] if index < len(infotexts) else None
            return self.image_from_base64(b64, seed=seed, extra={**common, "infotext": infotext})

        images, errors = collect_images(
            _drain(indexed), make, expected=request.count, request_id=answer.request_id
        )
        return GenerationResult(
            images=images,
            errors=errors,
            cost=None,  # nothing reported: the job records a self-hosted engine as free (imagegen.costs)
            request_ids=[answer.request_id]
            if answer.request_id
            else [],  # a proxy's id, when one is in front
            usage={},
        )

    # --- upscaling ------------------------------------------------------------------------------------------

    def upscalers(self) -> list[str]:
        """The WebUI's upscalers that enlarge (not "None"), the usual best first."""
        names = [n for n in self._names("upscalers", "/sdapi/v1/upscalers") if n != "None"]
        return sorted(names, key=lambda n: PREFERRED_UPSCALERS.index(n) if n in PREFERRED_UPSCALERS else 99)

    def upscale(
        self,
        request: GenerationRequest,
        *,
        on_progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> GenerationResult:
        """extra-single-image: enlarge by the factor (`upscaling_resize`, resize_mode 0) with a listed upscaler.
        The name is checked against the list first: A1111 fails late on an unknown one, SD.Next refuses it."""
        factor = self.upscale_factor(request)
        if request.model not in self.upscalers():
            raise BadRequestError(
                f"The WebUI has no upscaler named “{request.model}”. Choose one it lists, or ask an admin."
            )
        if not request.source_image:
            raise BadRequestError("There is no image to upscale.")
        body = {
            "image": _b64(request.source_image),
            "resize_mode": 0,
            "upscaling_resize": factor,
            "upscaler_1": request.model,
            "show_extras_results": True,
        }
        with self._watch(on_progress, should_cancel):
            answer = self.request("POST", "/sdapi/v1/extra-single-image", json=body, billed=True)
        data = answer.data if isinstance(answer.data, dict) else {}
        images, errors = collect_images(
            [data.get("image")],
            lambda b64: self.image_from_base64(b64, extra={"upscaler": request.model, "factor": factor}),
            expected=1,
            request_id=answer.request_id,
        )
        return GenerationResult(
            images=images,
            errors=errors,
            request_ids=[answer.request_id] if answer.request_id else [],
        )

    # --- progress and cancelling ----------------------------------------------------------------------------

    def progress(self) -> float | None:
        """The WebUI's progress (0 to 1) of the job it is running, or None when it cannot say."""
        return self.progress_and_preview(previews=False)[0]

    def progress_and_preview(self, *, previews: bool = True) -> tuple[float | None, Preview | None]:
        """The WebUI's progress (0 to 1, or None when it cannot say) and its live preview (`current_image`, None
        until the WebUI has one: it sends one per "live preview" interval when its live previews are on).

        The WebUI reports one job and has no job id: it is ours only while we are its only client.
        """
        try:
            answer = self.request(
                "GET",
                "/sdapi/v1/progress",
                params={"skip_current_image": "false" if previews else "true"},
                retry=False,
                timeout=_PROGRESS_TIMEOUT,
            )
        except ProviderError:
            return None, None
        data = answer.data if isinstance(answer.data, dict) else {}
        value = data.get("progress")
        fraction = float(value) if isinstance(value, int | float) and 0 <= value <= 1 else None
        return fraction, preview_from_base64(data.get("current_image"))

    def interrupt(self) -> bool:
        try:
            self.request("POST", "/sdapi/v1/interrupt", retry=False, timeout=_PROGRESS_TIMEOUT)
        except ProviderError as err:
            logger.warning("stable-diffusion: interrupt failed: %s", err.error_class)
            return False
        return True

    @contextmanager
    def _watch(
        self, on_progress: ProgressCallback | None, should_cancel: CancelCheck | None
    ) -> Iterator[None]:
        """While txt2img runs, poll progress and the cancel flag from a thread (the call itself blocks)."""
        if on_progress is None and should_cancel is None:
            yield
            return
        done = threading.Event()

        def poll() -> None:
            interrupted = False
            # The first look comes soon (a preview early is worth most), then one every poll_interval.
            pause = self.poll_interval / 4
            while not done.wait(pause):
                pause = self.poll_interval
                if should_cancel is not None and not interrupted and should_cancel():
                    interrupted = self.interrupt()
                if on_progress is None:
                    continue
                value, preview = self.progress_and_preview()
                if done.is_set():
                    continue
                if preview is not None:
                    on_progress(value, preview=preview)
                elif value is not None:
                    on_progress(value)

        thread = threading.Thread(target=poll, name="imagegen-sd-progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(timeout=_PROGRESS_TIMEOUT + 1)

    # --- errors ---------------------------------------------------------------------------------------------

    def classify_error(self, status: int, body: Any, text: str, headers: Mapping[str, str]) -> ProviderError:
        detail = body.get("detail") if isinstance(body, dict) else None
        if status == 401:
            if isinstance(detail, str) and "incorrect" in detail.lower():
                return AuthenticationError(
                    "The Stable Diffusion WebUI rejected the username or password. An admin must fix the key "
                    "(user:password) in the AI Image Generation settings.",
                    detail=detail,
                    upstream_code="auth_rejected",
                )
            return AuthenticationError(
                "The Stable Diffusion WebUI needs credentials (it runs with --api-auth). An admin must set the key "
                "to user:password in the AI Image Generation settings.",
                detail=str(detail or text)[:500],
                upstream_code="auth_required",
            )
        if status == 404:
            return UnavailableError(
                "The Stable Diffusion endpoint answers, but not as an AUTOMATIC1111, Forge or SD.Next WebUI started "
                "with --api. An admin must check the endpoint URL and the WebUI's command line.",
                permanent=True,
                upstream_code="not_api",
            )
        if status == 422 and isinstance(detail, list):
            reasons = "; ".join(
                f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}"
                for d in detail
                if isinstance(d, dict)
            )
            return BadRequestError(reason=reasons, detail=reasons)
        if status >= 500 and isinstance(body, dict):
            message = str(body.get("errors") or body.get("detail") or body.get("error") or "")[:500]
            err = error_for_status(status, message)
            err.message = f"The Stable Diffusion WebUI failed ({message or f'HTTP {status}'}). Try again; if it keeps failing, tell an admin."
            return err
        return super().classify_error(status, body, text, headers)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _drain(pairs: list[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    """Yield and forget each pair, so a decoded image's base64 is not kept alive by the list."""
    pairs.reverse()
    while pairs:
        yield pairs.pop()


def _info(raw: Any) -> dict[str, Any]:
    """`info` is a JSON string inside the JSON answer."""
    if isinstance(raw, dict):
        return raw
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}

"""A self-hosted Stable Diffusion: AUTOMATIC1111's WebUI (and Forge, SD.Next) started with `--api`.

Models are the checkpoints the WebUI has installed (model id = checkpoint title). The checkpoint goes with each
request in `override_settings`, never through `POST /options`, which would switch the model for everyone.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.views.decorators.debug import sensitive_variables

from imagegen import catalog
from imagegen.catalog import ModelOption, ModelSpec, parse_size

from .base import (
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
from .errors import AuthenticationError, BadRequestError, BadResponseError, ProviderError, UnavailableError

logger = logging.getLogger(__name__)

# The WebUI's model list changes when someone drops a file in; a minute keeps validation honest and cheap.
MODELS_TTL = 60
DEFAULT_STEPS = 30
MAX_STEPS = 150
DEFAULT_CFG_SCALE = 7.0
_PROGRESS_TIMEOUT = 5.0


class StableDiffusionProvider(Provider):
    provider_id = catalog.STABLE_DIFFUSION
    label = "Stable Diffusion"
    poll_interval: float = 1.0

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

    def samplers(self) -> set[str]:
        key = self.cache_key("samplers")
        cached = cache.get(key)
        if cached is not None:
            return cached
        answer = self.request("GET", "/sdapi/v1/samplers", retry=False, timeout=self.quick_timeout)
        names: set[str] = set()
        for item in answer.data if isinstance(answer.data, list) else []:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                names.add(item["name"])
                names.update(a for a in item.get("aliases") or [] if isinstance(a, str))
        cache.set(key, names, MODELS_TTL)
        return names

    def models(self) -> list[ModelOption]:
        try:
            items = self.checkpoints()
        except ProviderError as err:
            logger.info("stable-diffusion: no checkpoint list: %s", err.error_class)
            return []  # nothing to fall back to: checkpoints exist only on the WebUI; check() says why
        return [
            ModelOption.from_spec(
                catalog.sd_checkpoint_spec(m["title"], m.get("model_name") or ""), source="live"
            )
            for m in items
        ]

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

    def _checkpoint(self, model_id: str) -> ModelSpec:
        for item in self.checkpoints():
            if model_id in (item["title"], item.get("model_name")):
                return catalog.sd_checkpoint_spec(item["title"], item.get("model_name") or "")
        # The WebUI would silently render with whatever checkpoint is loaded: refuse instead.
        raise BadRequestError(reason=f"the WebUI has no checkpoint {model_id!r}")

    def generate(
        self,
        request: GenerationRequest,
        *,
        on_progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> GenerationResult:
        spec = self._checkpoint(request.model)
        validate_request(spec, request)
        if request.sampler and request.sampler not in self.samplers():
            raise BadRequestError(reason=f"the WebUI has no sampler {request.sampler!r}")
        steps = request.steps or DEFAULT_STEPS
        if not 1 <= steps <= MAX_STEPS:
            raise BadRequestError(reason=f"steps must be 1 to {MAX_STEPS}")
        width, height = parse_size(request.size) or (0, 0)
        body: dict[str, Any] = {
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt,
            "width": width,
            "height": height,
            "steps": steps,
            "cfg_scale": request.cfg_scale if request.cfg_scale is not None else DEFAULT_CFG_SCALE,
            "seed": request.seed if request.seed is not None else -1,
            "batch_size": request.count,
            "n_iter": 1,
            "override_settings": {"sd_model_checkpoint": spec.id},
            "override_settings_restore_afterwards": True,
        }
        if request.sampler:
            body["sampler_name"] = request.sampler
        with self._watch(on_progress, should_cancel):
            answer = self.request("POST", "/sdapi/v1/txt2img", json=body)
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
            "sampler": info.get("sampler_name") or request.sampler,
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
            cost=Decimal(0),
            request_ids=[answer.request_id]
            if answer.request_id
            else [],  # a proxy's id, when one is in front
            usage={},
        )

    # --- progress and cancelling ----------------------------------------------------------------------------

    def progress(self) -> float | None:
        """The WebUI's progress (0 to 1) of the job it is running, or None when it cannot say.

        The WebUI reports one job and has no job id: it is ours only while we are its only client.
        """
        try:
            answer = self.request(
                "GET",
                "/sdapi/v1/progress",
                params={"skip_current_image": "true"},
                retry=False,
                timeout=_PROGRESS_TIMEOUT,
            )
        except ProviderError:
            return None
        value = answer.data.get("progress") if isinstance(answer.data, dict) else None
        return float(value) if isinstance(value, int | float) and 0 <= value <= 1 else None

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
            while not done.wait(self.poll_interval):
                if should_cancel is not None and not interrupted and should_cancel():
                    interrupted = self.interrupt()
                if on_progress is not None and (value := self.progress()) is not None and not done.is_set():
                    on_progress(value)

        thread = threading.Thread(target=poll, name="imagegen-sd-progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(timeout=_PROGRESS_TIMEOUT + 1)

    # --- errors ---------------------------------------------------------------------------------------------

    def classify_error(self, status: int, body: Any, text: str, headers: Any) -> ProviderError:
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
                "The Stable Diffusion endpoint answers, but not as an AUTOMATIC1111 WebUI started with --api. "
                "An admin must check the endpoint URL and the WebUI's command line.",
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

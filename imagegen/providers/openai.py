"""OpenAI Images API (and OpenAI-compatible gateways: Azure OpenAI, LiteLLM, self-hosted proxies)."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from typing import Any

from django.core.cache import cache

from imagegen import catalog
from imagegen.catalog import ModelOption, ModelSpec

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
    retired_reason,
    today,
    validate_request,
)
from .errors import (
    AuthenticationError,
    BadRequestError,
    BadResponseError,
    ContentPolicyError,
    ProviderError,
    QuotaExhaustedError,
)
from .http import parse_retry_after

MODELS_TTL = 10 * 60
_CONTENT_POLICY_CODES = {"content_policy_violation", "moderation_blocked"}
_QUOTA_CODES = {"insufficient_quota", "billing_hard_limit_reached"}


class OpenAIProvider(Provider):
    provider_id = catalog.OPENAI
    label = "OpenAI"

    # --- models ---------------------------------------------------------------------------------------------

    def live_models(self) -> dict[str, dict[str, Any]]:
        """`GET /models` as {id: item}, cached for ten minutes per endpoint and key."""
        key = self.cache_key("models")
        cached = cache.get(key)
        if cached is not None:
            return cached
        answer = self.request("GET", "/models", retry=False, timeout=self.quick_timeout)
        items = answer.data.get("data") if isinstance(answer.data, dict) else None
        if not isinstance(items, list):
            raise BadResponseError(reason="the model list is not a list")
        live = {
            item["id"]: item for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)
        }
        cache.set(key, live, MODELS_TTL)
        return live

    def models(self) -> list[ModelOption]:
        specs = list(catalog.CATALOG[self.provider_id].values())
        try:
            live = self.live_models()
        except ProviderError as err:
            note = f"The list of models this key can use could not be fetched ({err.message}) Showing the built-in catalog."
            return self.catalog_options(specs, note=note)
        now = today()
        options = []
        for spec in specs:
            item = live.get(spec.id)
            if item is not None:
                # The live list decides: the catalog's dates are OpenAI's own, but an OpenAI-compatible gateway
                # may still serve a model OpenAI retired. Only the list's own shutdown_date counts here.
                spec = ModelOption.from_spec(spec, shutdown_date=_parse_date(item.get("shutdown_date")))
            if item is None:
                reason = f"{spec.label} is not offered to this API key: the provider no longer lists it, or the account cannot use it."
            elif spec.is_retired(now):
                reason = retired_reason(spec)
            else:
                reason = ""
            options.append(
                ModelOption.from_spec(spec, available=not reason, unavailable_reason=reason, source="live")
            )
        return options

    def check(self) -> CheckResult:
        if not self.connection.api_key:
            return CheckResult(
                False, "no_key", "No OpenAI API key is set. An admin must add one in the settings."
            )
        cache.delete(self.cache_key("models"))  # a check is a request for the truth now
        try:
            live = self.live_models()
        except ProviderError as err:
            return check_failed(err)
        usable = [
            s
            for s in catalog.CATALOG[self.provider_id].values()
            if s.id in live and not (_parse_date(live[s.id].get("shutdown_date")) or date.max) <= today()
        ]
        if not usable:
            return CheckResult(
                False, "no_models", "The key works, but it cannot use any image model we know."
            )
        return CheckResult(True, "ok", f"The key works; image models: {', '.join(s.label for s in usable)}.")

    # --- generation -----------------------------------------------------------------------------------------

    def generate(
        self,
        request: GenerationRequest,
        *,
        on_progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> GenerationResult:
        spec = catalog.get_model(self.provider_id, request.model)
        if spec is None:
            raise BadRequestError(reason=f"unknown model {request.model!r}")
        validate_request(spec, request)
        # dall-e-3 takes n=1: four images are four calls, made at the same time rather than one after another.
        per_call = spec.images_per_request
        counts = [min(per_call, request.count - done) for done in range(0, request.count, per_call)]
        return self.fan_out([functools.partial(self._generate_call, spec, request, n) for n in counts])

    def _generate_call(self, spec: ModelSpec, request: GenerationRequest, n: int) -> GenerationResult:
        is_dalle = spec.id.startswith("dall-e")
        body: dict[str, Any] = {"model": spec.id, "prompt": request.prompt, "n": n, "size": request.size}
        if request.quality:
            body["quality"] = request.quality
        if request.style:
            body["style"] = request.style
        if is_dalle:
            # DALL-E defaults to short-lived URLs; gpt-image models always answer base64 and reject the field.
            body["response_format"] = "b64_json"
        if request.input_images:
            answer = self.request(
                "POST", "/images/edits", data=_form(body), files=_image_files(request.input_images)
            )
        else:
            answer = self.request("POST", "/images/generations", json=body)
        items = answer.data.get("data") if isinstance(answer.data, dict) else None
        if not isinstance(items, list):
            raise BadResponseError(reason="no image list in the answer", request_id=answer.request_id)
        images, errors = collect_images(items, self._image, expected=n, request_id=answer.request_id)
        price = spec.price(request.size, request.quality)
        usage = answer.data.get("usage")
        return GenerationResult(
            images=images,
            errors=errors,
            # OpenAI reports no money: the catalog price of what was delivered is the best actual figure.
            cost=None if price is None else price * len(images),
            request_ids=[answer.request_id] if answer.request_id else [],
            usage=usage if isinstance(usage, dict) else {},
        )

    def _image(self, item: Any) -> GeneratedImage:
        if not isinstance(item, dict):
            raise BadResponseError(reason="an image entry is not an object")
        revised = item.get("revised_prompt") if isinstance(item.get("revised_prompt"), str) else None
        # pop: the multi-MB base64 string is released as soon as it is decoded, not when the answer is.
        b64 = item.pop("b64_json", None)
        if b64:
            return self.image_from_base64(b64, revised_prompt=revised)
        if isinstance(item.get("url"), str):
            return self.fetch_image(item["url"], revised_prompt=revised)
        raise BadResponseError(reason="an image entry has neither data nor a link")

    # --- errors ---------------------------------------------------------------------------------------------

    def classify_error(self, status: int, body: Any, text: str, headers: Any) -> ProviderError:
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        code = str(error.get("code") or "")
        kind = str(error.get("type") or "")
        message = str(error.get("message") or text or "")[:500]
        extra = {"detail": message, "upstream_code": code or kind}
        if code in _CONTENT_POLICY_CODES or (
            kind == "image_generation_user_error" and "moderation" in message.lower()
        ):
            return ContentPolicyError(**extra)
        if code in _QUOTA_CODES or kind == "insufficient_quota":
            return QuotaExhaustedError(**extra)
        if status == 401 or code == "invalid_api_key":
            return AuthenticationError(**extra)
        if status == 403 and "verified" in message.lower():
            return AuthenticationError(
                "The OpenAI organization must be verified before it can use this model. An admin must verify it "
                "in the OpenAI dashboard, or writers can choose another model.",
                **extra,
            )
        if code == "model_not_found":
            return BadRequestError(
                "This model is not available to the configured key (the provider may have retired it). "
                "Choose another model.",
                **extra,
            )
        err = error_for_status(status, message, retry_after=parse_retry_after(headers))
        err.upstream_code = code or kind
        return err


def _form(body: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in body.items() if k != "response_format"}


def _image_files(images: tuple[bytes, ...]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("image[]", (f"input-{i}.png", data, "image/png")) for i, data in enumerate(images, start=1)]


def _parse_date(value: Any) -> date | None:
    """`shutdown_date` as a unix timestamp or an ISO date; unknown shapes are ignored (the catalog still knows)."""
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value, UTC).date()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None

"""OpenRouter: its Images API for the models it serves there, chat completions with image output for the rest."""

from __future__ import annotations

import base64
import dataclasses
import functools
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.cache import cache
from django.views.decorators.debug import sensitive_variables

from imagegen import catalog
from imagegen.catalog import OPENROUTER_ASPECTS, ModelOption, ModelSpec

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
from .errors import (
    AuthenticationError,
    BadRequestError,
    BadResponseError,
    ContentPolicyError,
    ProviderError,
    QuotaExhaustedError,
)
from .http import parse_retry_after
from .images import inspect_image, split_data_url

MODELS_TTL = 60 * 60
IMAGES_API = "images"
CHAT = "chat"


class OpenRouterProvider(Provider):
    provider_id = catalog.OPENROUTER
    label = "OpenRouter"

    @sensitive_variables()
    def auth(self) -> dict[str, Any]:
        auth = super().auth()
        # Attribution: OpenRouter credits the app by these on its leaderboards and in the key owner's activity.
        auth.setdefault("headers", {}).update(
            {"HTTP-Referer": self.connection.site_url, "X-OpenRouter-Title": "Inkweld"}
        )
        return auth

    # --- models ---------------------------------------------------------------------------------------------

    def live_models(self) -> dict[str, dict[str, Any]]:
        """{id: {"name", "route", "input_modalities", "output_modalities", "price"}} from the two model lists."""
        key = self.cache_key("models")
        cached = cache.get(key)
        if cached is not None:
            return cached
        answer = self.request(
            "GET", "/models", params={"output_modalities": "image"}, retry=False, timeout=self.quick_timeout
        )
        live: dict[str, dict[str, Any]] = {}
        for item in _items(answer.data):
            architecture = item.get("architecture") or {}
            outputs = architecture.get("output_modalities") or []
            if "image" not in outputs:
                continue  # the filter is advisory on gateways that ignore it
            live[item["id"]] = {
                "name": item.get("name") or item["id"],
                "route": CHAT,
                "input_modalities": architecture.get("input_modalities") or ["text"],
                "output_modalities": outputs,
                "price": (item.get("pricing") or {}).get("image_output"),
            }
        try:
            served = self.request("GET", "/images/models", retry=False, timeout=self.quick_timeout)
        except ProviderError:
            served = None  # an older gateway without the Images API: everything goes through chat
        for item in _items(served.data if served else None):
            entry = live.setdefault(
                item["id"],
                {"name": item.get("name") or item["id"], "output_modalities": ["image"], "price": None},
            )
            entry["route"] = IMAGES_API
            entry["input_modalities"] = (item.get("architecture") or {}).get("input_modalities") or ["text"]
        cache.set(key, live, MODELS_TTL)
        return live

    def models(self) -> list[ModelOption]:
        specs = catalog.CATALOG[self.provider_id]
        try:
            live = self.live_models()
        except ProviderError as err:
            note = (
                f"OpenRouter's model list could not be fetched ({err.message}) Showing the built-in catalog."
            )
            return self.catalog_options(list(specs.values()), note=note)
        options = [
            ModelOption.from_spec(_spec_from_live(model_id, entry, specs.get(model_id)), source="live")
            for model_id, entry in sorted(live.items())
        ]
        options += [
            ModelOption.from_spec(
                spec,
                available=False,
                source="live",
                unavailable_reason=f"OpenRouter no longer lists {spec.label}.",
            )
            for model_id, spec in specs.items()
            if model_id not in live
        ]
        return options

    def _model(self, model_id: str) -> ModelSpec:
        for option in self.models():
            if option.id == model_id:
                if not option.available:
                    raise BadRequestError(f"{option.unavailable_reason} Choose another model.")
                return option
        raise BadRequestError(reason=f"OpenRouter does not offer the model {model_id!r}")

    def check(self) -> CheckResult:
        if not self.connection.api_key:
            return CheckResult(
                False, "no_key", "No OpenRouter API key is set. An admin must add one in the settings."
            )
        try:
            answer = self.request("GET", "/key", retry=False, timeout=self.quick_timeout)
        except ProviderError as err:
            return check_failed(err)
        data = answer.data.get("data") if isinstance(answer.data, dict) else None
        if not isinstance(data, dict):
            return CheckResult(False, "error", "OpenRouter answered the key check with something unexpected.")
        remaining = data.get("limit_remaining")
        if isinstance(remaining, int | float) and remaining <= 0:
            return CheckResult(
                False, "no_credit", "The key's credit limit is used up. An admin must raise it on OpenRouter."
            )
        left = f" {remaining:.2f} USD left of its limit." if isinstance(remaining, int | float) else ""
        return CheckResult(True, "ok", f"The OpenRouter key works.{left}")

    # --- generation -----------------------------------------------------------------------------------------

    def generate(
        self,
        request: GenerationRequest,
        *,
        on_progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> GenerationResult:
        spec = self._model(request.model)
        validate_request(spec, request)
        if spec.extra.get("route") == IMAGES_API:
            return self._images_call(spec, request)
        # Chat completions make one image per call: fan out, in parallel.
        return self.fan_out([functools.partial(self._chat_call, spec, request)] * request.count)

    def _images_call(self, spec: ModelSpec, request: GenerationRequest) -> GenerationResult:
        body: dict[str, Any] = {"model": spec.id, "prompt": request.prompt, "n": request.count}
        body.update(_size_fields(request.size))
        if request.seed is not None:
            body["seed"] = request.seed
        answer = self.request("POST", "/images", json=body, check=self._raise_in_body)
        items = answer.data.get("data") if isinstance(answer.data, dict) else None
        if not isinstance(items, list):
            raise BadResponseError(reason="no image list in the answer", request_id=_request_id(answer))
        images, errors = collect_images(
            items, self._b64_item, expected=request.count, request_id=_request_id(answer)
        )
        return _result(answer, images, errors)

    def _chat_call(self, spec: ModelSpec, request: GenerationRequest) -> GenerationResult:
        content: Any = request.prompt
        if request.input_images:
            content = [{"type": "text", "text": request.prompt}] + [
                {"type": "image_url", "image_url": {"url": _data_url(data)}} for data in request.input_images
            ]
        body: dict[str, Any] = {
            "model": spec.id,
            "messages": [{"role": "user", "content": content}],
            "modalities": spec.extra.get("modalities") or ["image", "text"],
            "image_config": {"aspect_ratio": OPENROUTER_ASPECTS.get(request.size, "1:1")},
        }
        if request.seed is not None:
            body["seed"] = request.seed
        answer = self.request("POST", "/chat/completions", json=body, check=self._raise_in_body)
        try:
            message = answer.data["choices"][0]["message"]
            items = message.get("images") or []
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise BadResponseError(reason="no message in the answer", request_id=_request_id(answer)) from exc
        images, errors = collect_images(items, self._chat_item, expected=1, request_id=_request_id(answer))
        return _result(answer, images, errors)

    def _b64_item(self, item: Any) -> GeneratedImage:
        if not isinstance(item, dict):
            raise BadResponseError(reason="an image entry is not an object")
        b64 = item.pop("b64_json", None)  # released once decoded
        if b64:
            return self.image_from_base64(b64)
        if isinstance(item.get("url"), str):
            return self.fetch_image(item["url"])
        raise BadResponseError(reason="an image entry has neither data nor a link")

    def _chat_item(self, item: Any) -> GeneratedImage:
        try:
            url = item["image_url"]["url"]
        except (KeyError, TypeError) as exc:
            raise BadResponseError(reason="an image entry has no URL") from exc
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            return self.fetch_image(url)
        _content_type, payload = split_data_url(url)
        return self.image_from_base64(payload)

    def _raise_in_body(self, answer: Answer) -> None:
        """OpenRouter can fail after generation started and still answer HTTP 200."""
        data = answer.data
        if not isinstance(data, dict):
            return
        error = data.get("error")
        choices = data.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
        if error is None and choice.get("finish_reason") != "error":
            return
        error = error or choice.get("error") or {"message": "the generation failed upstream"}
        code = error.get("code") if isinstance(error, dict) else None
        status = code if isinstance(code, int) and 400 <= code < 600 else 502
        err = self.classify_error(status, {"error": error}, "", {})
        err.request_id, err.status_code = _request_id(answer), answer.status
        raise err

    # --- errors ---------------------------------------------------------------------------------------------

    def classify_error(self, status: int, body: Any, text: str, headers: Any) -> ProviderError:
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        message = str(error.get("message") or text or "")[:500]
        metadata = error.get("metadata") if isinstance(error.get("metadata"), dict) else {}
        if status == 402:
            return QuotaExhaustedError(
                "The OpenRouter account has run out of credits. Tell an admin: they need to add credits on OpenRouter.",
                detail=message,
            )
        if status == 403 and (metadata.get("reasons") or metadata.get("flagged_input")):
            reasons = ", ".join(str(r) for r in metadata.get("reasons") or [])
            return ContentPolicyError(detail=f"{message} {reasons}".strip(), upstream_code="moderation")
        if status == 401:
            return AuthenticationError(detail=message)
        return error_for_status(status, message, retry_after=parse_retry_after(headers))


def _items(data: Any) -> list[dict[str, Any]]:
    items = data.get("data") if isinstance(data, dict) else None
    return [i for i in items or [] if isinstance(i, dict) and isinstance(i.get("id"), str)]


def _price(value: Any) -> Decimal | None:
    try:
        price = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return price if price.is_finite() and price >= 0 else None  # "-1" means variable pricing


def _spec_from_live(model_id: str, entry: dict[str, Any], known: ModelSpec | None) -> ModelSpec:
    route = entry.get("route", CHAT)
    takes_images = "image" in (entry.get("input_modalities") or [])
    outputs = entry.get("output_modalities") or ["image"]
    changes: dict[str, Any] = {
        "label": entry.get("name") or model_id,
        "images_per_request": 10 if route == IMAGES_API else 1,
        "extra": {"route": route, "modalities": ["image"] if outputs == ["image"] else ["image", "text"]},
    }
    price = _price(entry.get("price")) if entry.get("price") is not None else None
    if price is not None:
        changes["price_per_image"] = price
    if known is None:
        return catalog.openrouter_spec(
            model_id, changes.pop("label"), max_input_images=4 if takes_images else 0, **changes
        )
    return dataclasses.replace(known, **changes)


def _size_fields(size: str) -> dict[str, str]:
    ratio = OPENROUTER_ASPECTS.get(size)
    return {"aspect_ratio": ratio} if ratio else {"size": size}


def _data_url(data: bytes) -> str:
    return f"data:{inspect_image(data).content_type};base64,{base64.b64encode(data).decode('ascii')}"


def _request_id(answer: Answer) -> str | None:
    generation_id = answer.data.get("id") if isinstance(answer.data, dict) else None
    return answer.request_id or (generation_id if isinstance(generation_id, str) else None)


def _result(answer: Answer, images: list[GeneratedImage], errors: list[ProviderError]) -> GenerationResult:
    usage = answer.data.get("usage") if isinstance(answer.data, dict) else None
    usage = usage if isinstance(usage, dict) else {}
    cost = _price(usage["cost"]) if usage.get("cost") is not None else None
    request_id = _request_id(answer)
    return GenerationResult(
        images=images, errors=errors, cost=cost, usage=usage, request_ids=[request_id] if request_id else []
    )

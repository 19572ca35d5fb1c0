"""OpenRouter: its Images API for the models it serves there, chat completions with image output for the rest.

Every image model OpenRouter lists is offered: the lists say what each takes (input images, aspect ratios,
resolutions, a seed) and its price per image, and the answer reports what the job cost (`usage.cost`).
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.cache import cache
from django.views.decorators.debug import sensitive_variables

from imagegen.catalog import ModelFamily, ModelOption, ModelSpec
from imagegen.pricing import PerImage, usd
from media_library.images import sniff, upload_ready

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
from .encoding import split_data_url
from .errors import (
    AuthenticationError,
    BadRequestError,
    BadResponseError,
    ContentPolicyError,
    ProviderError,
    QuotaExhaustedError,
)
from .http import parse_retry_after
from .settings import declare

MODELS_TTL = 60 * 60
IMAGES_API = "images"
CHAT = "chat"

# Aspect ratios OpenRouter's image models understand; the sizes are what a writer picks and how we name them.
ASPECTS = {
    "1024x1024": "1:1",
    "1344x768": "16:9",
    "768x1344": "9:16",
    "1184x864": "4:3",
    "864x1184": "3:4",
    "1248x832": "3:2",
    "832x1248": "2:3",
}
PRICES_SOURCE = "OpenRouter's model list when last checked"
OPENROUTER_MODEL = ModelSpec("openrouter", "", "", sizes=tuple(ASPECTS), seed=True)


def _listed(model_id: str, label: str, price: str | None = None, **changes: Any) -> ModelSpec:
    spec = OPENROUTER_MODEL.replace(id=model_id, label=label, family="openrouter", **changes)
    if price is not None:
        spec = spec.replace(price=PerImage(flat=usd(price), source=PRICES_SOURCE, as_of=date(2026, 12, 1)))
    return spec


# What is offered when the live lists cannot be fetched: a few well-known models with the prices OpenRouter listed when last checked.
FALLBACK_MODELS = {
    spec.id: spec
    for spec in (
        _listed("black-forest-labs/flux-schnell", "FLUX.1 Schnell", "0.003", extra={"modalities": ["image"]}),
        _listed(
            "stabilityai/stable-diffusion-3", "Stable Diffusion 3", "0.035", extra={"modalities": ["image"]}
        ),
        _listed(
            "google/gemini-2.5-flash-image",
            "Gemini 2.5 Flash Image",
            max_input_images=3,
            edits=True,
            extra={"modalities": ["image", "text"]},
        ),
    )
}
# Any model OpenRouter lists with image output is offered; its own entry in the lists fills in the rest.
FAMILIES = (
    ModelFamily(
        key="openrouter",
        label="OpenRouter image model",
        pattern=r"[A-Za-z0-9._~-]+/[A-Za-z0-9._~:-]+",
        template=OPENROUTER_MODEL,
        label_for=lambda m: m.group(0),
    ),
)


class OpenRouterProvider(Provider):
    provider_id = "openrouter"
    label = "OpenRouter"
    settings = declare(
        "openrouter",
        "OpenRouter",
        url_default="https://openrouter.ai/api/v1",
        url_help="Default https://openrouter.ai/api/v1.",
    )
    families = FAMILIES
    # Offered (with the prices OpenRouter listed when last checked) when the live lists cannot be fetched.
    fallback_ids = tuple(FALLBACK_MODELS)
    # Models that take images edit by instruction, through the call that generates: the source goes first in
    # input_references (see _images). None takes a mask: the model redraws the whole picture, as the dialog says.
    offers_edits = True

    @classmethod
    def spec_for(cls, model_id: str) -> ModelSpec | None:
        return FALLBACK_MODELS.get(model_id) or super().spec_for(model_id)

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
            parameters = item.get("supported_parameters")
            entry["parameters"] = parameters if isinstance(parameters, dict) else {}
        cache.set(key, live, MODELS_TTL)
        return live

    def models(self) -> list[ModelOption]:
        try:
            live = self.live_models()
        except ProviderError as err:
            note = (
                f"OpenRouter's model list could not be fetched ({err.message}) Showing the built-in catalog."
            )
            return self.catalog_options(list(FALLBACK_MODELS.values()), note=note)
        return [
            ModelOption.from_spec(_spec_from_live(model_id, entry), source="live")
            for model_id, entry in sorted(live.items())
        ]

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
        body.update(_size_fields(request.size, spec))
        if request.option("seed") is not None:
            body["seed"] = request.option("seed")
        if references := _images(request):
            body["input_references"] = [
                {"type": "image_url", "image_url": {"url": _data_url(data)}} for data in references
            ]
        answer = self._billed_call("/images", body, images=request.count)
        with _charged_if_unusable(answer, images=request.count):
            items = answer.data.get("data") if isinstance(answer.data, dict) else None
            if not isinstance(items, list):
                raise BadResponseError(reason="no image list in the answer", request_id=_request_id(answer))
            images, errors = collect_images(
                items, self._b64_item, expected=request.count, request_id=_request_id(answer)
            )
        return _result(answer, images, errors)

    def _billed_call(self, path: str, body: dict[str, Any], *, images: int) -> Answer:
        try:
            return self.request("POST", path, json=body, check=self._raise_in_body, billed=True)
        except ProviderError as err:
            err.images = images
            raise

    def _chat_call(self, spec: ModelSpec, request: GenerationRequest) -> GenerationResult:
        content: str | list[dict[str, Any]] = request.prompt
        if references := _images(request):
            content = [{"type": "text", "text": request.prompt}] + [
                {"type": "image_url", "image_url": {"url": _data_url(data)}} for data in references
            ]
        body: dict[str, Any] = {
            "model": spec.id,
            "messages": [{"role": "user", "content": content}],
            "modalities": spec.extra.get("modalities") or ["image", "text"],
            "image_config": {"aspect_ratio": ASPECTS.get(request.size, "1:1")},
        }
        if request.option("seed") is not None:
            body["seed"] = request.option("seed")
        answer = self._billed_call("/chat/completions", body, images=1)
        with _charged_if_unusable(answer, images=1):
            try:
                message = answer.data["choices"][0]["message"]
                items = message.get("images") or []
            except (KeyError, IndexError, TypeError, AttributeError) as exc:
                raise BadResponseError(
                    reason="no message in the answer", request_id=_request_id(answer)
                ) from exc
            images, errors = collect_images(
                items, self._chat_item, expected=1, request_id=_request_id(answer)
            )
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
        usage = found if isinstance(found := data.get("usage"), dict) else {}
        cost = _price(usage.get("cost")) if usage.get("cost") is not None else None
        if cost:
            # It charged for the failed generation: never again (a retry would bill it twice), and keep the cost.
            err.permanent = True
            err.charged(usage=usage, cost=cost)
        raise err

    # --- errors ---------------------------------------------------------------------------------------------

    def classify_error(self, status: int, body: Any, text: str, headers: Mapping[str, str]) -> ProviderError:
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        message = str(error.get("message") or text or "")[:500]
        metadata = found if isinstance(found := error.get("metadata"), dict) else {}
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


def _spec_from_live(model_id: str, entry: dict[str, Any]) -> ModelSpec:
    """A listed model's rules from what OpenRouter's lists say of it (input images, parameters, price)."""
    route = entry.get("route", CHAT)
    takes_images = "image" in (entry.get("input_modalities") or [])
    outputs = entry.get("output_modalities") or ["image"]
    parameters = entry.get("parameters") or {}
    known = FALLBACK_MODELS.get(model_id)
    spec = known or _listed(model_id, model_id)
    n = found if isinstance(found := parameters.get("n"), dict) else {}
    spec = spec.replace(
        label=_label(entry.get("name") or model_id),
        images_per_request=int(n.get("max") or 10) if route == IMAGES_API else 1,
        max_input_images=_reference_limit(parameters, known) if takes_images else 0,
        edits=takes_images,
        seed=route == CHAT or "seed" in parameters or not parameters,
        extra={
            "route": route,
            "modalities": ["image"] if outputs == ["image"] else ["image", "text"],
            "aspect_ratios": _enum(parameters.get("aspect_ratio")),
            "resolutions": _enum(parameters.get("resolution")),
        },
    )
    price = _price(entry.get("price")) if entry.get("price") is not None else None
    if price is not None:
        spec = spec.replace(price=PerImage(flat=price, source="OpenRouter's model list", as_of=date.today()))
    return spec


def _reference_limit(parameters: dict[str, Any], known: ModelSpec | None) -> int:
    """How many images a model takes: its Images API endpoint's `input_references` maximum where listed, else the
    catalog's figure, else 4 (a cautious guess: the portraits past it are left out, and the dialog says so)."""
    listed = parameters.get("input_references")
    maximum = listed.get("max") if isinstance(listed, dict) else None
    if isinstance(maximum, int) and not isinstance(maximum, bool) and maximum > 0:
        return maximum
    return known.max_input_images if known and known.max_input_images else 4


def _images(request: GenerationRequest) -> tuple[bytes, ...]:
    """The images to send: an edit's source first, then the references (portraits, Reference images)."""
    source = (upload_ready(request.source_image),) if request.source_image else ()
    return source + request.input_images


def _label(name: str) -> str:
    # "Black Forest Labs: FLUX.1 Schnell" → "FLUX.1 Schnell": the author is in the id, the writer wants the model.
    return name.split(": ", 1)[1] if ": " in name else name


def _enum(parameter: Any) -> tuple[str, ...]:
    values = parameter.get("values") if isinstance(parameter, dict) else None
    return tuple(str(v) for v in values) if isinstance(values, list) else ()


def _size_fields(size: str, spec: ModelSpec) -> dict[str, str]:
    """The size as the model's listed parameters take it: an aspect ratio (with a resolution), else WxH."""
    ratio = ASPECTS.get(size)
    # Both tuples when the live list named them (_spec_from_live), absent otherwise.
    aspects = found if isinstance(found := spec.extra.get("aspect_ratios"), tuple) else ()
    if ratio and (not aspects or ratio in aspects):
        fields = {"aspect_ratio": ratio}
        if "1K" in (found if isinstance(found := spec.extra.get("resolutions"), tuple) else ()):
            fields["resolution"] = "1K"  # every offered size is about a megapixel
        return fields
    return {"size": size}


def _data_url(data: bytes) -> str:
    return f"data:{sniff(data).content_type};base64,{base64.b64encode(data).decode('ascii')}"


def _request_id(answer: Answer) -> str | None:
    generation_id = answer.data.get("id") if isinstance(answer.data, dict) else None
    return answer.request_id or (generation_id if isinstance(generation_id, str) else None)


@contextmanager
def _charged_if_unusable(answer: Answer, *, images: int) -> Iterator[None]:
    """It answered 200, so whatever was made was billed: a failure reading the answer keeps the cost it reported."""
    try:
        yield
    except ProviderError as err:
        usage = answer.data.get("usage") if isinstance(answer.data, dict) else None
        usage = usage if isinstance(usage, dict) else {}
        err.images = images
        err.charged(usage=usage, cost=_price(usage.get("cost")) if usage.get("cost") is not None else None)
        raise


def _result(answer: Answer, images: list[GeneratedImage], errors: list[ProviderError]) -> GenerationResult:
    usage = answer.data.get("usage") if isinstance(answer.data, dict) else None
    usage = usage if isinstance(usage, dict) else {}
    cost = _price(usage["cost"]) if usage.get("cost") is not None else None
    request_id = _request_id(answer)
    return GenerationResult(
        images=images, errors=errors, cost=cost, usage=usage, request_ids=[request_id] if request_id else []
    )

"""OpenAI Images API (and OpenAI-compatible gateways: Azure OpenAI, LiteLLM, self-hosted proxies).

The models are families (imagegen.catalog.ModelFamily): the gpt-image-2 family today, priced per token, and the
retired DALL·E and gpt-image-1 families, which OpenAI shut down but gateways may still serve. `GET /models` says
which ids this key can use now; every listed id that matches a family is offered.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import requests
from django.core.cache import cache

from imagegen.catalog import SNAPSHOT_DATE, ModelOption, ModelSpec, fold_snapshots, match_family
from media_library.images import sniff, upload_ready

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
from .encoding import preview_from_base64
from .errors import (
    AuthenticationError,
    BadRequestError,
    BadResponseError,
    ContentPolicyError,
    ProviderError,
    QuotaExhaustedError,
)
from .http import MAX_JSON_BYTES, parse_retry_after, read_events
from .openai_models import FAMILIES
from .settings import declare

MODELS_TTL = 10 * 60
# Partial images asked for while someone watches a job (OpenAI takes 0–3; each costs extra output tokens).
PARTIAL_IMAGES = 2
_CONTENT_POLICY_CODES = {"content_policy_violation", "moderation_blocked"}
_QUOTA_CODES = {"insufficient_quota", "billing_hard_limit_reached"}
# Ids in the live list that look like image models; those matching no family are listed as "not offered" with why.
_IMAGE_LIKE = re.compile(r"(image|dall-e)", re.IGNORECASE)


class OpenAIProvider(Provider):
    provider_id = "openai"
    label = "OpenAI"
    settings = declare(
        "openai",
        "OpenAI",
        key_env="OPENAI_API_KEY",
        url_default="https://api.openai.com/v1",
        url_help="For OpenAI-compatible gateways (Azure OpenAI, LiteLLM, a proxy). Default https://api.openai.com/v1.",
    )
    families = FAMILIES
    # The model a new dialog starts on, where the key can use it: the current one, not the first listed.
    preferred_model = "gpt-image-2"
    # The GPT Image families edit, with a mask, through the call that generates: /images/edits with the source as
    # the first image[] (the mask applies to it). See _generate_call.
    offers_edits = offers_masks = True

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
        try:
            live = self.live_models()
        except ProviderError as err:
            note = f"The list of models this key can use could not be fetched ({err.message}) Showing the built-in catalog."
            specs = [
                spec for family in self.families for i in family.known_ids if (spec := family.spec_for(i))
            ]
            return self.catalog_options(specs, note=note)
        now = today()
        options = []
        for model_id in _newest_first(list(live)):
            spec = match_family(self.families, model_id)
            if spec is None:
                if _IMAGE_LIKE.search(model_id):
                    options.append(_unknown_family(model_id))
                continue
            # The live list decides: the catalog's dates are OpenAI's own, but an OpenAI-compatible gateway may
            # still serve a model OpenAI retired. Only the list's own shutdown_date counts here.
            spec = spec.replace(shutdown_date=_parse_date(live[model_id].get("shutdown_date")))
            reason = retired_reason(spec) if spec.is_retired(now) else ""
            options.append(
                ModelOption.from_spec(spec, available=not reason, unavailable_reason=reason, source="live")
            )
        return fold_snapshots(options)

    def check(self) -> CheckResult:
        if not self.connection.api_key:
            return CheckResult(
                False, "no_key", "No OpenAI API key is set. An admin must add one in the settings."
            )
        cache.delete(self.cache_key("models"))  # a check is a request for the truth now
        try:
            self.live_models()
        except ProviderError as err:
            return check_failed(err)
        usable = [m for m in self.models() if m.available]
        if not usable:
            return CheckResult(
                False, "no_models", "The key works, but it cannot use any image model we know."
            )
        return CheckResult(True, "ok", f"The key works; image models: {', '.join(m.label for m in usable)}.")

    # --- generation -----------------------------------------------------------------------------------------

    def generate(
        self,
        request: GenerationRequest,
        *,
        on_progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> GenerationResult:
        spec = self.spec_for(request.model)
        if spec is None:
            raise BadRequestError(reason=f"unknown model {request.model!r}")
        validate_request(spec, request)
        # dall-e-3 takes n=1: four images are four calls, made at the same time rather than one after another.
        per_call = spec.images_per_request
        counts = [min(per_call, request.count - done) for done in range(0, request.count, per_call)]
        return self.fan_out(
            [functools.partial(self._generate_call, spec, request, n, on_progress) for n in counts]
        )

    def _generate_call(
        self, spec: ModelSpec, request: GenerationRequest, n: int, on_progress: ProgressCallback | None = None
    ) -> GenerationResult:
        body: dict[str, Any] = {"model": spec.id, "prompt": request.prompt, "n": n, "size": request.size}
        read = None
        if on_progress is not None and n == 1 and not spec.family.startswith("dall-e"):
            # Someone watches: ask for the picture forming (server-sent events, PARTIAL_IMAGES partial images,
            # then the image). One image per streamed call: its completed event then carries that call's usage.
            body.update(stream=True, partial_images=PARTIAL_IMAGES)
            read = functools.partial(_read_stream, on_progress=on_progress)
        for name in ("quality", "style", "complexity"):
            if request.option(name):
                body[name] = request.option(name)
        if request.user_ref:
            # One abusive writer is then one identifier to OpenAI, not the whole key. DALL·E predates
            # safety_identifier and took the same hash as `user`.
            body["user" if spec.family.startswith("dall-e") else "safety_identifier"] = request.user_ref
        if spec.family.startswith("dall-e"):
            # DALL-E defaults to short-lived URLs; gpt-image models always answer base64 and reject the field.
            body["response_format"] = "b64_json"
        uploads = (
            (upload_ready(request.source_image),) if request.source_image else ()
        ) + request.input_images
        try:
            if uploads:
                files = _image_files(uploads)
                if request.mask:
                    # Already OpenAI's convention (imagegen.masks): a PNG with alpha, the source's size, transparent
                    # where to repaint. It applies to the first image, the source.
                    files.append(("mask", ("mask.png", request.mask, "image/png")))
                answer = self.request(
                    "POST", "/images/edits", data=_form(body), files=files, billed=True, read=read
                )
            else:
                answer = self.request("POST", "/images/generations", json=body, billed=True, read=read)
        except ProviderError as err:
            err.images = n
            raise
        usage = answer.data.get("usage") if isinstance(answer.data, dict) else None
        try:
            items = answer.data.get("data") if isinstance(answer.data, dict) else None
            if not isinstance(items, list):
                raise BadResponseError(reason="no image list in the answer", request_id=answer.request_id)
            images, errors = collect_images(items, self._image, expected=n, request_id=answer.request_id)
        except ProviderError as err:
            # It answered 200: the images were made, and billed, even though none of them arrived usable.
            err.images = n
            err.charged(usage=usage if isinstance(usage, dict) else {})
            raise
        return GenerationResult(
            images=images,
            errors=errors,
            # OpenAI reports tokens, not money: the job's cost is computed from `usage` and the model's prices.
            cost=None,
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

    def classify_error(self, status: int, body: Any, text: str, headers: Mapping[str, str]) -> ProviderError:
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
    return {k: _form_value(v) for k, v in body.items() if k != "response_format"}


def _form_value(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _read_stream(response: requests.Response, *, on_progress: ProgressCallback) -> dict[str, Any]:
    """A streamed answer (`image_generation.*` / `image_edit.*` events) read as it arrives: each partial image goes
    to the dialog as a preview; the completed events make the same `{"data": [...], "usage": ...}` a plain answer
    has. An `error` event is the upstream failing after it started."""
    items: list[dict[str, Any]] = []
    usage: dict[str, Any] | None = None
    for name, event in read_events(response, MAX_JSON_BYTES):
        kind = name.rsplit(".", 1)[-1]
        if not isinstance(event, dict):
            raise BadResponseError(reason="a streamed event is not an object")
        if kind == "partial_image":
            index = event.get("partial_image_index")
            fraction = (index + 1) / (PARTIAL_IMAGES + 1) if isinstance(index, int) else None
            preview = preview_from_base64(event.get("b64_json"))
            if preview is not None:
                on_progress(fraction, preview=preview)
        elif kind == "completed":
            usage = event.get("usage") if isinstance(event.get("usage"), dict) else usage
            items.append({"b64_json": event.get("b64_json")})
        elif kind == "error" or name == "error":
            error = event.get("error") if isinstance(event.get("error"), dict) else event
            message = error.get("message", "") if isinstance(error, dict) else ""
            raise BadResponseError(reason=f"the provider reported an error mid-stream: {message}")
    return {"data": items, "usage": usage}


def _image_files(images: tuple[bytes, ...]) -> list[tuple[str, tuple[str, bytes, str]]]:
    """`image[]` parts, each named and typed as what it is (a JPEG source is not declared a PNG)."""
    parts = []
    for i, data in enumerate(images, start=1):
        kind = sniff(data)
        parts.append(("image[]", (f"input-{i}.{kind.extension}", data, kind.content_type)))
    return parts


def _natural(text: str) -> list[tuple[int, int | str]]:
    # "gpt-image-2.10" after "gpt-image-2.9": numbers compare as numbers.
    return [(1, int(part)) if part.isdigit() else (0, part) for part in re.split(r"(\d+)", text)]


def _newest_first(ids: list[str]) -> list[str]:
    """The family's current names first (2.6 before 2.5 before 2), each dated snapshot after the names."""
    ordered = sorted(ids, key=_natural, reverse=True)
    return sorted(ordered, key=lambda i: bool(SNAPSHOT_DATE.search(i)))


def _unknown_family(model_id: str) -> ModelOption:
    return ModelOption.from_spec(
        ModelSpec("openai", model_id, model_id),
        available=False,
        source="live",
        unavailable_reason=f"{model_id} is a model Inkweld does not know yet, so it cannot tell which sizes and "
        "options it takes or what it costs. An update of Inkweld will add it.",
    )


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

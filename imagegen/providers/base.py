"""What every provider shares: the vocabulary (requests, results, checks), one HTTP path with retries, fan-out.

A provider module supplies only what differs: how to build its payloads, how to read its answers, and how to
classify its error bodies (`classify_error`). Everything about waiting, retrying, timeouts and keys lives here.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Protocol

import requests
from django.core.cache import cache
from django.views.decorators.debug import sensitive_variables

from imagegen.catalog import AUTO, ModelFamily, ModelOption, ModelSpec, match_family
from imagegen.sizes import fit
from media_library.images import ImageRejected, process_image

from .encoding import decode_base64
from .errors import (
    AuthenticationError,
    BadRequestError,
    BadResponseError,
    ContentPolicyError,
    ProviderError,
    QuotaExhaustedError,
    RateLimitedError,
    UnavailableError,
    most_significant,
)
from .http import (
    MAX_ERROR_BYTES,
    MAX_IMAGE_BYTES,
    MAX_JSON_BYTES,
    USER_AGENT,
    ProviderSession,
    RetryPolicy,
    error_text,
    never_sent,
    parse_json,
    parse_retry_after,
    read_capped,
)
from .results import (
    EDIT,
    GENERATE,
    UPSCALE,
    Answer,
    CancelCheck,
    CheckResult,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    ProgressCallback,
    _add_usage,
    check_failed,
    collect_images,
    error_for_status,
    merge_results,
    upstream_message,
    validate_request,
)
from .settings import ProviderDeclaration

logger = logging.getLogger(__name__)

# A gateway's "timed out waiting for the upstream" (504, and Cloudflare's 524): the upstream may still be working.
GATEWAY_TIMEOUTS = frozenset({504, 524})


class Connection(Protocol):
    """What a provider needs to reach its upstream (imagegen.config.ProviderConnection satisfies it)."""

    @property
    def provider_id(self) -> str: ...
    @property
    def api_key(self) -> str: ...
    @property
    def base_url(self) -> str: ...
    @property
    def timeout(self) -> float: ...
    @property
    def site_url(self) -> str: ...


def today() -> date:
    return datetime.now(UTC).date()


class Provider:
    provider_id: ClassVar[str]
    label: ClassVar[str]
    # Its settings (enabled, key, address, timeout and any of its own), declared once: see providers/settings.py.
    settings: ClassVar[ProviderDeclaration]
    # The model families this provider serves (imagegen.catalog); its live list says which members a key can use.
    families: ClassVar[tuple[ModelFamily, ...]] = ()
    # The model a new dialog starts on where the provider offers it ("" → the first model listed).
    preferred_model: ClassVar[str] = ""
    # The cache entry (see cache_key) that holds the upstream's model list, once fetched.
    models_cache: ClassVar[str] = "models"
    retry_policy: ClassVar[RetryPolicy] = RetryPolicy()
    # Parallel calls at most, for models that make one image per call; requests' pool keeps 10 per host.
    max_parallel: ClassVar[int] = 4
    request_id_header: ClassVar[str] = "x-request-id"
    # Model lists and key checks are asked for while a person waits (the dialog, admin): they must not inherit the
    # minutes-long generation timeout when an upstream hangs.
    list_timeout: ClassVar[float] = 10.0
    # Whether any of its models can edit an image (which ones: ModelSpec.edits / .masks), and whether it can
    # upscale one (with `upscalers()`). Edit and Upscale are offered only where an available provider says so.
    offers_edits: ClassVar[bool] = False
    offers_masks: ClassVar[bool] = False  # some of its editing models take a painted mask
    offers_upscale: ClassVar[bool] = False
    # The factors Upscale offers, where the provider upscales.
    upscale_factors: ClassVar[tuple[int, ...]] = (2, 4)

    def __init__(
        self,
        connection: Connection,
        *,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        self.connection = connection
        self.sleep = sleep
        self.timeout = float(connection.timeout)
        self.quick_timeout = min(self.timeout, self.list_timeout)
        self.user_agent = USER_AGENT.format(site_url=connection.site_url)
        self.session = session or ProviderSession(timeout=self.timeout, user_agent=self.user_agent)
        if session is not None:
            session.headers["User-Agent"] = self.user_agent

    @classmethod
    def spec_for(cls, model_id: str) -> ModelSpec | None:
        """The rules of `model_id` from this provider's families, without asking the upstream."""
        return match_family(cls.families, model_id)

    def cached_models(self) -> list[ModelOption] | None:
        """The models as last fetched (within the list's cache time), or None: never asks the upstream."""
        if cache.get(self.cache_key(self.models_cache)) is None:
            return None
        return self.models()

    # --- what a provider module implements -------------------------------------------------------------

    def models(self) -> list[ModelOption]:
        raise NotImplementedError

    def check(self) -> CheckResult:
        raise NotImplementedError

    def generate(
        self,
        request: GenerationRequest,
        *,
        on_progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> GenerationResult:
        raise NotImplementedError

    def edit(
        self,
        request: GenerationRequest,
        *,
        on_progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> GenerationResult:
        """Change `request.source_image` as `request.prompt` says (within `request.mask`, if any): see
        GenerationRequest for the fields and the mask's one convention.

        Most image APIs edit through the call that generates, the source going first among the input images
        (OpenAI's /images/edits, OpenRouter's input_references): such a provider says `offers_edits` and needs no
        method of its own; `generate` validates the request as an edit. Engines that edit another way (the WebUI's
        img2img, a ComfyUI graph) override this.
        """
        if not self.offers_edits:
            raise BadRequestError(f"{self.label} cannot edit images. Choose another image service.")
        return self.generate(request, on_progress=on_progress, should_cancel=should_cancel)

    def upscale(
        self,
        request: GenerationRequest,
        *,
        on_progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> GenerationResult:
        """Enlarge `request.source_image` by `request.options["factor"]` with the upscaler `request.model`."""
        raise BadRequestError(f"{self.label} cannot upscale images. Choose another image service.")

    def upscalers(self) -> list[str]:
        """The upscalers to choose from, best first (asks the upstream; cached by the provider)."""
        return []

    def upscale_factor(self, request: GenerationRequest) -> int:
        """The factor an upscale asks for, refused before anything is sent unless this provider offers it."""
        factor = request.option("factor")
        if factor not in self.upscale_factors:
            raise BadRequestError(
                f"Upscale makes images {' or '.join(f'{f}×' for f in self.upscale_factors)} as large; "
                f"{factor!r} is not one of them."
            )
        return int(factor)

    def perform(
        self,
        request: GenerationRequest,
        *,
        on_progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> GenerationResult:
        """Carry out a request of any operation (what a job runs): generate, edit or upscale."""
        handlers = {GENERATE: self.generate, EDIT: self.edit, UPSCALE: self.upscale}
        handler = handlers.get(request.operation)
        try:
            if handler is None:
                raise BadRequestError(reason=f"unknown operation {request.operation!r}")
            result = handler(request, on_progress=on_progress, should_cancel=should_cancel)
        except ProviderError as err:
            err.naming(self.label)
            raise
        for failed in result.errors:  # the images that did not come, beside those that did
            failed.naming(self.label)
        return result

    @classmethod
    def edit_size(cls, spec: ModelSpec, width: int, height: int) -> str:
        """The size to ask for when editing a width × height image: its own where the model makes it, else the
        model's `auto` (which follows the source), else the nearest it allows, else its named size of the closest
        shape. So an edit keeps its picture's shape without the writer choosing a size."""
        exact = f"{width}x{height}"
        if spec.allows_size(exact):
            return exact
        if AUTO in spec.sizes:
            return AUTO
        return fit(width, height, spec) or spec.initial_size

    @sensitive_variables()
    def auth(self) -> dict[str, Any]:
        """Keyword arguments for requests that authenticate a call (headers or auth=)."""
        key = self.connection.api_key
        return {"headers": {"Authorization": f"Bearer {key}"}} if key else {}

    def classify_error(self, status: int, body: Any, text: str, headers: Mapping[str, str]) -> ProviderError:
        """Map a non-2xx answer to our error classes. Providers refine it from their error codes."""
        message = upstream_message(body) or text
        return error_for_status(status, message, retry_after=parse_retry_after(headers))

    # --- the one HTTP path ---------------------------------------------------------------------------------

    @property
    def secrets(self) -> tuple[str, ...]:
        key = self.connection.api_key
        # A Basic-auth "user:password" key: the password alone must not leak either.
        return (key, key.partition(":")[2]) if ":" in key else (key,)

    def url(self, path: str) -> str:
        return f"{self.connection.base_url}{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        files: Any = None,
        headers: dict[str, str] | None = None,
        retry: bool = True,
        timeout: float | None = None,
        check: Callable[[Answer], None] | None = None,
        billed: bool = False,
        read: Callable[[requests.Response], Any] | None = None,
    ) -> Answer:
        """Send one request, retrying transient failures; return the parsed JSON or raise a ProviderError.

        `check` inspects a 2xx answer and may raise: an error reported inside a 200 (OpenRouter) then gets
        the same retry decision as one reported by status.

        `billed` marks a request that costs money when the upstream carries it out (a generation). Such a request
        is never repeated once it may have reached the upstream — a read timeout, or a connection dropped after it
        was made: the upstream may have made and charged for the images although we never saw them. Answers that
        say they failed (429, 5xx) and failures before anything was sent are still retried.

        `read` turns a 2xx answer's body into its data instead of parsing it as JSON (a stream of events).
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                answer = self._attempt(
                    method,
                    path,
                    json=json,
                    params=params,
                    data=data,
                    files=files,
                    headers=headers,
                    timeout=timeout,
                    read=read,
                )
                if check is not None:
                    try:
                        check(answer)
                    except ProviderError as err:
                        err.request_id = err.request_id or answer.request_id
                        raise
                return answer
            except ProviderError as err:
                err.scrubbed(self.secrets)
                # A gateway's 504/524 means it gave up waiting on the upstream, which may still have made the images.
                if billed and (err.outcome_unknown or err.status_code in GATEWAY_TIMEOUTS):
                    raise self._maybe_billed(err) from err
                wait = (
                    None
                    if (err.permanent or not retry)
                    else self.retry_policy.delay(attempt, err.retry_after)
                )
                if wait is None:
                    raise
                logger.info(
                    "%s %s: %s; retrying in %.2fs (attempt %d)",
                    self.provider_id,
                    path,
                    err.error_class,
                    wait,
                    attempt,
                )
                self.sleep(wait)

    @sensitive_variables()
    def _attempt(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None,
        timeout: float | None,
        read: Callable[[requests.Response], Any] | None = None,
        **kwargs: Any,
    ) -> Answer:
        auth = self.auth()
        merged = {**auth.pop("headers", {}), **(headers or {})}
        try:
            response = self.session.request(
                method,
                self.url(path),
                headers=merged,
                stream=True,
                timeout=timeout or self.timeout,
                **auth,
                **kwargs,
            )
        except requests.Timeout as exc:
            raise UnavailableError(
                f"The provider did not answer within {round(timeout or self.timeout)} seconds. Try again later.",
                detail=type(exc).__name__,
                outcome_unknown=not never_sent(exc),
            ) from exc
        except requests.exceptions.SSLError as exc:
            # A certificate or TLS failure does not go away by itself; it may also strike after the request went out.
            raise UnavailableError(
                "The secure connection to the provider failed. An admin must check its address and certificate "
                "in the AI Image Generation settings.",
                detail=type(exc).__name__,
                permanent=True,
                outcome_unknown=True,
            ) from exc
        except requests.ConnectionError as exc:
            raise UnavailableError(
                "The provider could not be reached (connection failed or dropped). Try again in a few minutes.",
                detail=type(exc).__name__,
                outcome_unknown=not never_sent(exc),
            ) from exc
        except requests.RequestException as exc:
            raise UnavailableError(
                f"The provider's address cannot be used ({type(exc).__name__}). An admin must check its URL "
                "in the AI Image Generation settings.",
                detail=type(exc).__name__,
                permanent=True,
            ) from exc
        request_id = response.headers.get(self.request_id_header)
        response_headers = dict(response.headers)
        try:
            if response.status_code >= 300:
                try:
                    raw = read_capped(response, MAX_ERROR_BYTES, truncate=True)
                except UnavailableError as err:
                    # The status already says it failed: a body cut short does not make the outcome unknown.
                    err.outcome_unknown = False
                    raise
                body, text = error_text(raw)
                raise self.classify_error(response.status_code, body, text, response.headers)
            data = read(response) if read is not None else parse_json(read_capped(response, MAX_JSON_BYTES))
        except ProviderError as err:
            err.request_id = err.request_id or request_id
            err.status_code = err.status_code or response.status_code
            raise
        return Answer(data=data, status=response.status_code, request_id=request_id, headers=response_headers)

    def _maybe_billed(self, err: ProviderError) -> UnavailableError:
        """A generation that may have run upstream without our seeing the answer: fail it, never repeat it."""
        unknown = UnavailableError(
            f"{self.label} took the request but the answer never arrived ({err.detail or 'connection lost'}), so it "
            "may have made — and charged for — the images. They cannot be fetched now; use Try again if you still "
            "want them.",
            detail=err.detail,
            permanent=True,
            request_id=err.request_id,
            status_code=err.status_code,
            upstream_code="outcome_unknown",
        )
        return unknown.charged()

    # --- fan-out and images --------------------------------------------------------------------------------

    def fan_out(self, calls: Sequence[Callable[[], GenerationResult]]) -> GenerationResult:
        """Run independent calls in parallel; merge what succeeded, keep what failed; raise if nothing worked."""
        if len(calls) == 1:
            return calls[0]()
        results: list[GenerationResult] = []
        errors: list[ProviderError] = []
        with ThreadPoolExecutor(
            max_workers=min(self.max_parallel, len(calls)), thread_name_prefix=f"imagegen-{self.provider_id}"
        ) as pool:
            futures = [pool.submit(call) for call in calls]
            for future in futures:
                try:
                    results.append(future.result())
                except ProviderError as failed:
                    errors.append(failed)
        if not results:
            raise _with_charges(most_significant(errors), errors)
        merged = merge_results(results)
        merged.errors = errors + merged.errors
        merged.request_ids += [e.request_id for e in errors if e.request_id]
        for err in errors:
            if not err.may_have_cost:
                continue
            # A failed call the upstream may have billed: its reported use counts; with none, its images are
            # estimated (imagegen/costs.py), never counted as free.
            _add_usage(merged.usage, err.usage)
            if err.cost is not None and merged.cost is not None:
                merged.cost += err.cost
            elif not err.usage:
                merged.uncounted_images += err.images
        return merged

    @staticmethod
    def image_from_bytes(data: bytes, **fields: Any) -> GeneratedImage:
        """Bytes decoded and checked before anyone calls them an image (media_library/images.py), once. Its
        thumbnail is made after the job has finished (services.candidates_thumbnail): the writer waits for less."""
        try:
            image = process_image(data, max_bytes=MAX_IMAGE_BYTES, thumbnail=False)
        except ImageRejected as exc:
            raise BadResponseError(reason=exc.reason) from exc
        return GeneratedImage(image=image, **fields)

    @classmethod
    def image_from_base64(cls, text: str, **fields: Any) -> GeneratedImage:
        return cls.image_from_bytes(decode_base64(text), **fields)

    def fetch_image(self, url: str, **fields: Any) -> GeneratedImage:
        """An image the upstream returned as a URL: fetched without our key (it may be a storage bucket), and only
        from a public address (an answer must not make the worker fetch from inside the network)."""
        from .public_fetch import fetch_public

        data = fetch_public(
            url,
            timeout=self.timeout,
            max_bytes=MAX_IMAGE_BYTES,
            user_agent=self.user_agent,
        )
        return self.image_from_bytes(data, **fields)

    def catalog_options(self, specs: Sequence[ModelSpec], *, note: str = "") -> list[ModelOption]:
        """The catalog as offered when the live list is not available: only retired models are withheld."""
        now = today()
        return [
            ModelOption.from_spec(
                spec,
                available=not spec.is_retired(now),
                unavailable_reason=retired_reason(spec) if spec.is_retired(now) else "",
                source="catalog",
                note=note,
            )
            for spec in specs
        ]

    def cache_key(self, what: str) -> str:
        """A cache key per provider, endpoint and key — the key only as a hash, so it never sits in the cache."""
        digest = hashlib.sha256(
            f"{self.connection.base_url}\0{self.connection.api_key}".encode()
        ).hexdigest()[:32]
        return f"imagegen:{self.provider_id}:{what}:{digest}"


def _with_charges(reported: ProviderError, errors: Sequence[ProviderError]) -> ProviderError:
    """The error to report for parallel calls that all failed, carrying what every one of them may have cost."""
    costly = [e for e in errors if e.may_have_cost]
    if not costly:
        return reported
    usage: dict[str, Any] = {}
    for err in costly:
        _add_usage(usage, err.usage)
    costs = [e.cost for e in costly if e.cost is not None]
    reported.charged(usage=usage, cost=sum(costs, Decimal(0)) if len(costs) == len(costly) else None)
    reported.images = sum(e.images for e in costly)
    return reported


def retired_reason(spec: ModelSpec) -> str:
    return f"{spec.label} was retired by the provider on {spec.shutdown_date:%Y-%m-%d}."


__all__ = [
    "Answer",
    "AuthenticationError",
    "BadRequestError",
    "CancelCheck",
    "CheckResult",
    "Connection",
    "ContentPolicyError",
    "GeneratedImage",
    "GenerationRequest",
    "GenerationResult",
    "ModelOption",
    "ProgressCallback",
    "Provider",
    "ProviderError",
    "QuotaExhaustedError",
    "RateLimitedError",
    "UnavailableError",
    "check_failed",
    "collect_images",
    "error_for_status",
    "retired_reason",
    "today",
    "validate_request",
]

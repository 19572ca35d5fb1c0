"""The vocabulary shared by providers and their callers: requests, images, results, checks.

Also the small pure helpers that build results: validation against the catalog, merging parallel calls,
and turning a list of returned items into checked images while keeping the failures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from imagegen import options as generation_options
from imagegen.catalog import ModelSpec
from media_library.images import ProcessedImage

from .errors import (
    AuthenticationError,
    BadRequestError,
    BadResponseError,
    ProviderError,
    QuotaExhaustedError,
    RateLimitedError,
    UnavailableError,
)


@dataclass(frozen=True)
class Preview:
    """The picture forming, as the upstream sent it mid-run: shown in the open dialog, never stored as a file."""

    image: bytes
    content_type: str


class ProgressCallback(Protocol):
    """How far the upstream is (0–1, or None when it does not say), with the picture so far when it sent one."""

    def __call__(self, fraction: float | None, /, preview: Preview | None = None) -> None: ...


CancelCheck = Callable[[], bool]


GENERATE = "generate"
EDIT = "edit"
UPSCALE = "upscale"


@dataclass(frozen=True)
class GenerationRequest:
    """What to ask the upstream for. `options` holds the generation options the model takes beyond size and count
    (quality, style, seed, steps, strength …), by the names declared in imagegen.options.

    `operation` says what to do, and every provider reads the same fields for it:
    * "generate": make images from `prompt` (`input_images`, if any, are references: portraits, Reference images);
    * "edit": change `source_image` as `prompt` says, only where `mask` marks it when there is a mask, with
      `input_images` as further references; `size` is the result's, chosen for the model from the source's;
    * "upscale": enlarge `source_image` by `options["factor"]` with the upscaler `model`.

    `mask` is always in one convention, whatever the upstream: a PNG exactly the size of `source_image` whose
    transparent pixels (alpha under half) mark what to repaint (imagegen.masks normalises it to fully transparent
    or fully opaque). Each provider converts it to what its upstream reads: OpenAI takes it as it is, the WebUI as
    white on black (masks.white_on_black), ComfyUI's LoadImage reads its alpha as the MASK (1 where transparent).
    Empty means the whole image may change.
    """

    model: str
    prompt: str
    size: str = "1024x1024"
    count: int = 1
    options: Mapping[str, Any] = field(default_factory=dict)
    input_images: tuple[bytes, ...] = ()
    # A stable hash standing for the writer (OpenAI's safety_identifier); never their name.
    user_ref: str = ""
    operation: str = GENERATE
    source_image: bytes = b""
    mask: bytes = b""

    def option(self, name: str, default: Any = None) -> Any:
        value = self.options.get(name)
        return default if value in (None, "") else value


@dataclass
class GeneratedImage:
    # Decoded and checked once: the candidate and the library take it from here (its thumbnail follows the job's end).
    image: ProcessedImage
    seed: int | None = None
    revised_prompt: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def data(self) -> bytes:
        return self.image.data

    @property
    def content_type(self) -> str:
        return self.image.content_type

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height


@dataclass
class GenerationResult:
    images: list[GeneratedImage] = field(default_factory=list)
    errors: list[ProviderError] = field(default_factory=list)  # some parallel calls failed, others did not
    cost: Decimal | None = None
    request_ids: list[str] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    # Images asked for by parallel calls that failed but may have been billed, and reported no usage or cost.
    uncounted_images: int = 0


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    status: str  # short stable id: "ok", "auth_required", "auth_rejected", "no_credit", "unreachable", ...
    reason: str  # a sentence an admin can act on


@dataclass
class Answer:
    """A successful upstream answer: parsed JSON and the request id, without the Response (and its body copy)."""

    data: Any
    status: int
    request_id: str | None
    headers: dict[str, str]


def validate_request(spec: ModelSpec, request: GenerationRequest) -> None:
    """Refuse what the model cannot do before spending a call on it: the options' own rules (imagegen.options),
    the same ones the dialog's form and the command line apply."""
    problems = []
    if not request.prompt.strip():
        problems.append("The prompt is empty.")
    if len(request.prompt) > spec.max_prompt_chars:
        problems.append(f"The prompt is longer than {spec.max_prompt_chars} characters.")
    problems += generation_options.problems(
        spec, request.size, request.count, request.options, operation=request.operation
    )
    inputs = len(request.input_images)
    if request.operation == EDIT:
        problems += _edit_problems(spec, request)
        # Where the model takes input images, the source is the first of them; img2img engines take it apart.
        inputs += 1 if spec.max_input_images else 0
    elif request.operation != GENERATE:
        problems.append(f"{spec.label} cannot {request.operation} images.")
    if inputs > spec.max_input_images:
        problems.append(f"{spec.label} takes at most {spec.max_input_images} input images.")
    if problems:
        raise BadRequestError(
            f"{spec.label} cannot do this: {' '.join(problems)} Change the options and try again.",
            detail=" ".join(problems),
        )


def _edit_problems(spec: ModelSpec, request: GenerationRequest) -> list[str]:
    problems = []
    if not spec.edits:
        problems.append(f"{spec.label} cannot edit images.")
    if not request.source_image:
        problems.append("There is no image to edit.")
    if request.mask and not spec.masks:
        problems.append(f"{spec.label} takes no mask (the whole image may change).")
    return problems


def check_failed(err: ProviderError) -> CheckResult:
    """A failed key/endpoint check, worded for the admin who has to fix it."""
    status = {
        "authentication": "auth_rejected",
        "quota_exhausted": "no_credit",
        "rate_limited": "rate_limited",
        "unavailable": "unreachable",
    }.get(err.error_class, "error")
    return CheckResult(ok=False, status=status, reason=err.message)


def collect_images(
    items: Iterable[Any], make: Callable[[Any], GeneratedImage], *, expected: int, request_id: str | None
) -> tuple[list[GeneratedImage], list[ProviderError]]:
    """Turn each returned item into a checked image; one bad image does not discard the good ones."""
    images: list[GeneratedImage] = []
    errors: list[ProviderError] = []
    received = 0  # items may be a generator (decoded one at a time to hold fewer copies): count as we go
    for item in items:
        received += 1
        try:
            images.append(make(item))
        except BadResponseError as err:
            err.request_id = err.request_id or request_id
            errors.append(err)
    if received < expected:
        errors.append(
            BadResponseError(
                reason=f"asked for {expected} images, received {received}", request_id=request_id
            )
        )
    if not images:
        raise (
            errors[0] if errors else BadResponseError(reason="no image in the answer", request_id=request_id)
        )
    return images, errors


def _add_usage(total: dict[str, Any], more: Mapping[str, Any]) -> None:
    """Sum token counts (nested ones too, e.g. input_tokens_details) over parallel calls; keep the first of the rest."""
    for key, value in more.items():
        current = total.get(key)
        if isinstance(value, bool) or isinstance(current, bool):
            total.setdefault(key, value)
        elif isinstance(value, int | float) and isinstance(current, int | float | None):
            total[key] = (current or 0) + value
        elif isinstance(value, Mapping) and isinstance(current, dict | None):
            nested = total.setdefault(key, {})
            _add_usage(nested, value)
        else:
            total.setdefault(key, value)


def merge_results(results: Sequence[GenerationResult]) -> GenerationResult:
    merged = GenerationResult()
    costs = [r.cost for r in results if r.cost is not None]
    merged.cost = sum(costs, Decimal(0)) if len(costs) == len(results) else None
    for result in results:
        merged.images += result.images
        merged.errors += result.errors
        merged.request_ids += result.request_ids
        merged.uncounted_images += result.uncounted_images
        _add_usage(merged.usage, result.usage)
    return merged


def upstream_message(body: Any) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
        for key in ("detail", "message", "error"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key]
    return ""


def error_for_status(status: int, message: str, *, retry_after: float | None = None) -> ProviderError:
    """The generic HTTP-status mapping every provider starts from."""
    detail = message[:500]
    if status == 401:
        return AuthenticationError(detail=detail)
    if status == 402:
        return QuotaExhaustedError(detail=detail)
    if status == 403:
        return AuthenticationError(
            "The provider refused access with this API key"
            + (f" ({detail.rstrip('.')})" if detail else "")
            + ". An admin must fix the key or the account's permissions.",
            detail=detail,
        )
    if status == 429:
        return RateLimitedError(retry_after=retry_after, detail=detail)
    if status == 408 or status >= 500:
        return UnavailableError(
            f"The provider had a temporary problem (HTTP {status}). Try again in a few minutes.",
            detail=detail,
            retry_after=retry_after,
        )
    return BadRequestError(reason=detail or f"HTTP {status}", detail=detail)

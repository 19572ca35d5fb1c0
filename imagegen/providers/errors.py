"""The failures a provider can report, each with a message that tells the writer what happened and what to do.

`error_class` is a short stable id stored on the job (the audit) and used by the UI; `message` is for people.
`permanent` means "the same request will fail the same way": the retry loop never repeats a permanent error.
`detail` keeps the upstream's own words (scrubbed of keys) for the audit and for admins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import ClassVar, Self

REDACTED = "[redacted]"

# Upstreams echo keys back, sometimes masked ("Incorrect API key provided: sk-abc***xyz"): hide those too.
_KEYLIKE = re.compile(r"\b(?:sk|rk)-[A-Za-z0-9_\-*.]{3,}|\bBearer\s+\S+", re.IGNORECASE)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove every secret, and anything shaped like an API key, from text meant for people or logs."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return _KEYLIKE.sub(REDACTED, text)


_PROVIDER = re.compile(r"\b([Tt]he) provider( account)?\b")


def _named(message: str, service: str) -> str:
    """The message with the service named: 'The provider could not be reached' → 'ComfyUI could not be reached',
    'The provider account' → 'The OpenAI account'."""
    return _PROVIDER.sub(lambda m: f"{m.group(1)} {service} account" if m.group(2) else service, message)


class ProviderError(Exception):
    error_class: ClassVar[str] = "unavailable"
    default_permanent: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        detail: str = "",
        permanent: bool | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
        status_code: int | None = None,
        upstream_code: str = "",
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.permanent = self.default_permanent if permanent is None else permanent
        self.retry_after = retry_after
        self.request_id = request_id
        self.status_code = status_code
        self.upstream_code = upstream_code
        # The request reached the upstream but no answer came back (read timeout, dropped connection): whatever it
        # did, it may have done — and billed.
        self.outcome_unknown = outcome_unknown
        # The upstream may have charged for this failed call (its outcome is unknown, or it answered 200 with nothing
        # usable). Such a failure still counts against the budget; what it reported using is kept when known.
        self.may_have_cost = outcome_unknown
        self.usage: dict[str, object] = {}
        self.cost: Decimal | None = None
        self.images = 0  # how many images the failed call asked for

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status_code={self.status_code}, request_id={self.request_id!r})"

    def charged(self, *, usage: Mapping[str, object] | None = None, cost: Decimal | None = None) -> Self:
        """Mark this failure as one the upstream may have billed (it answered, or it may have), keeping what it
        reported using; returns the error."""
        self.may_have_cost = True
        self.usage = dict(usage or {})
        self.cost = cost
        return self

    def naming(self, service: str) -> Self:
        """Put the service's name where the message says "the provider" (Provider.perform does, for a job's
        errors): a writer reads "OpenAI is receiving too many requests", not a word from our code."""
        self.message = _named(self.message, service)
        self.args = (self.message,)
        return self

    def scrubbed(self, secrets: Iterable[str]) -> Self:
        """Scrub this error in place (message, detail, args) and return it."""
        secrets = tuple(secrets)
        self.message = scrub(self.message, secrets)
        self.detail = scrub(self.detail, secrets)
        self.args = (self.message,)
        return self


class ContentPolicyError(ProviderError):
    error_class = "content_policy"
    default_permanent = True

    def __init__(self, message: str = "", **kwargs) -> None:
        super().__init__(
            message or "The provider's safety system rejected this prompt — rephrase it and try again.",
            **kwargs,
        )


class RateLimitedError(ProviderError):
    error_class = "rate_limited"

    def __init__(self, message: str = "", *, retry_after: float | None = None, **kwargs) -> None:
        if not message:
            when = f"in about {round(retry_after)} seconds" if retry_after else "in a minute"
            message = f"The provider is receiving too many requests right now. Try again {when}."
        super().__init__(message, retry_after=retry_after, **kwargs)


class QuotaExhaustedError(ProviderError):
    error_class = "quota_exhausted"
    default_permanent = True

    def __init__(self, message: str = "", **kwargs) -> None:
        super().__init__(
            message
            or "The provider account has run out of quota or credits. Tell an admin: they need to add credit "
            "or raise the spending limit.",
            **kwargs,
        )


class AuthenticationError(ProviderError):
    error_class = "authentication"
    default_permanent = True

    def __init__(self, message: str = "", **kwargs) -> None:
        super().__init__(
            message
            or "The provider rejected the API key. An admin must fix the key in the AI Image Generation settings.",
            **kwargs,
        )


class UnavailableError(ProviderError):
    error_class = "unavailable"

    def __init__(self, message: str = "", **kwargs) -> None:
        super().__init__(
            message or "The provider could not be reached. Try again in a few minutes.",
            **kwargs,
        )


class BadRequestError(ProviderError):
    error_class = "bad_request"
    default_permanent = True

    def __init__(self, message: str = "", *, reason: str = "", **kwargs) -> None:
        if not message:
            reason = reason.strip().rstrip(".") or "no reason given"
            message = f"The provider refused the request: {reason}. Change the options and try again."
        super().__init__(message, **kwargs)


class BadResponseError(ProviderError):
    """A 2xx answer we cannot use. Permanent for the retry loop: the upstream may already have charged for it."""

    error_class = "bad_response"
    default_permanent = True

    def __init__(self, message: str = "", *, reason: str = "", **kwargs) -> None:
        if not message:
            message = (
                f"The provider answered, but not with a usable image ({reason or 'unreadable answer'}). "
                "Try again; if it keeps happening, tell an admin."
            )
        super().__init__(message, **kwargs)


ERROR_CLASSES: dict[str, type[ProviderError]] = {
    cls.error_class: cls
    for cls in (
        ContentPolicyError,
        RateLimitedError,
        QuotaExhaustedError,
        AuthenticationError,
        UnavailableError,
        BadRequestError,
        BadResponseError,
    )
}

# Which failure to report when every parallel call failed differently: the one a person must act on first.
SEVERITY = [
    "authentication",
    "quota_exhausted",
    "content_policy",
    "bad_request",
    "rate_limited",
    "unavailable",
    "bad_response",
]


def most_significant(errors: list[ProviderError]) -> ProviderError:
    return min(
        errors, key=lambda e: SEVERITY.index(e.error_class) if e.error_class in SEVERITY else len(SEVERITY)
    )

"""The behaviour script: rules that make the stand-in slow, failing, hanging or stingy.

A script is an ordered list of rules. Each request collects every rule that matches it (by endpoint family
and path); for each setting the first matching rule that sets it wins. Failures are special: the first
matching rule that still has failures left fails the request and uses one up, so rules can be stacked into
a sequence ("429, then 500, then success") and a spent rule still applies its delay.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

FAMILIES = ("openai", "openrouter", "a1111", "comfyui")

# The endpoints a rule applies to when it names no paths: the ones that generate. Failing a model list or
# a key check by default would make "one 429 then success" scripts trip over the app's own pre-flight calls.
GENERATION_PATHS = {
    "openai": ("/v1/images/generations", "/v1/images/edits"),
    "openrouter": ("/api/v1/images", "/api/v1/chat/completions"),
    "a1111": ("/sdapi/v1/txt2img", "/sdapi/v1/img2img", "/sdapi/v1/extra-single-image"),
    "comfyui": ("/prompt",),
}

FAILURES = (
    "content_policy",  # OpenAI 400 content_policy_violation / moderation_blocked; OpenRouter 403
    "moderation",  # OpenAI 400 moderation_blocked; OpenRouter 403 with metadata.reasons
    "rate_limit",  # 429 with retry-after
    "unauthorized",  # 401 with the provider's wrong-key body
    "server_error",  # 500
    "quota",  # OpenAI 429 insufficient_quota (never retry); OpenRouter 402
    "credits",  # OpenRouter 402; OpenAI 400 billing_hard_limit_reached
    "unavailable",  # 503
    "bad_gateway",  # 502: OpenRouter's "generation failed, not charged"
    "unverified",  # OpenAI 403 organization must be verified
    "model_not_found",  # OpenAI 404 model_not_found; OpenRouter 400 not a valid model ID
    "validation",  # OpenAI/OpenRouter 400, A1111 422
    "late_error",  # OpenRouter chat: HTTP 200 with finish_reason "error"
    "disconnect",  # close the connection without answering
    "oom",  # out of memory: A1111 500 OutOfMemoryError; ComfyUI accepts, then execution_error (torch.OutOfMemoryError)
    "execution_error",  # ComfyUI accepts, then execution_error (RuntimeError) while running; others: their 500
)


class ScriptError(ValueError):
    """A rule the stand-in cannot follow (unknown key, failure name or family)."""


@dataclass
class Rule:
    family: str | None = None  # None: every family
    paths: list[str] | None = None  # exact paths, or prefixes ending in "*"; None: generation endpoints
    delay: float | None = None  # seconds before answering (A1111 progress follows it; ComfyUI: run time)
    hang: bool | None = None  # hold the request: until the client leaves, `delay` passes, or a release
    hold: bool | None = None  # answer only after a release() (then delay, failures etc. apply as usual)
    fail_with: str | None = None
    fail_times: int | None = None  # None: fail every matching request; N: only the next N
    retry_after: float | None = None  # seconds, for rate_limit (header retry-after and retry-after-ms)
    fewer_images: int | None = None  # answer this many images fewer than asked (never below zero)
    image_bytes_target: int | None = None  # make each PNG about this many bytes (noise, no compression)
    # Bookkeeping, not settable: how many failures this rule has dealt.
    failed: int = field(default=0, compare=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rule:
        known = {f.name for f in fields(cls)} - {"failed"}
        unknown = set(data) - known
        if unknown:
            raise ScriptError(f"unknown script keys: {sorted(unknown)}; known: {sorted(known)}")
        rule = cls(**data)
        rule.validate()
        return rule

    def validate(self) -> None:
        if self.family is not None and self.family not in FAMILIES:
            raise ScriptError(f"family must be one of {FAMILIES} or null, not {self.family!r}")
        if self.fail_with is not None and self.fail_with not in FAILURES:
            raise ScriptError(f"fail_with must be one of {FAILURES}, not {self.fail_with!r}")
        if isinstance(self.paths, str):
            self.paths = [self.paths]
        for name in ("delay", "retry_after"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int | float) or value < 0):
                raise ScriptError(f"{name} must be a number >= 0")
        for name in ("fail_times", "fewer_images", "image_bytes_target"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ScriptError(f"{name} must be an integer >= 0")

    def matches(self, family: str, path: str) -> bool:
        if self.family is not None and self.family != family:
            return False
        if self.paths is None:
            return path in GENERATION_PATHS[family]
        return any(path.startswith(p[:-1]) if p.endswith("*") else path == p for p in self.paths)

    @property
    def failures_left(self) -> bool:
        if self.fail_with is None:
            return False
        return self.fail_times is None or self.failed < self.fail_times

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Effect:
    """What one request gets, after the rules are merged."""

    delay: float = 0.0
    hang: bool = False
    hold: bool = False
    fail_with: str | None = None
    retry_after: float = 1.0
    fewer_images: int = 0
    image_bytes_target: int | None = None


class Script:
    """The rules, guarded by a lock so parallel requests use up `fail_times` exactly once each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []

    def set(self, rules: list[Rule]) -> None:
        with self._lock:
            self._rules = list(rules)

    def add(self, rule: Rule) -> None:
        with self._lock:
            self._rules.append(rule)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.to_dict() for r in self._rules]

    def effect_for(self, family: str, path: str) -> Effect:
        effect = Effect()
        with self._lock:
            matching = [r for r in self._rules if r.matches(family, path)]
            failing = next((r for r in matching if r.failures_left), None)
            if failing is not None:
                failing.failed += 1
                effect.fail_with = failing.fail_with
                if failing.retry_after is not None:
                    effect.retry_after = failing.retry_after
            for name in ("delay", "hang", "hold", "fewer_images", "image_bytes_target"):
                value = next((getattr(r, name) for r in matching if getattr(r, name) is not None), None)
                if value is not None:
                    setattr(effect, name, value)
            if failing is None or failing.retry_after is None:
                retry = next((r.retry_after for r in matching if r.retry_after is not None), None)
                if retry is not None:
                    effect.retry_after = retry
        return effect


def parse_rules(data: Any) -> list[Rule]:
    """Accept one rule object, a list of them, or {"rules": [...]} (the control API's JSON)."""
    if isinstance(data, dict) and set(data) == {"rules"}:
        data = data["rules"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise ScriptError("a script is a rule object, a list of them, or {'rules': [...]}")
    return [Rule.from_dict(d) for d in data]

"""Live connection checks: ask each configured provider's upstream now, in parallel, and word the answer.

Shared by admin's **Test connection** and `manage.py imagegen status --live` / `models`, so both say the same thing.
A provider that the configuration makes unavailable is never called: its result is the configuration's reason.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.db import connections

from imagegen.config import PROVIDER_IDS, EffectiveConfig
from imagegen.providers import CheckResult, Provider, get_provider
from imagegen.providers.errors import scrub

logger = logging.getLogger(__name__)

# A check is one small GET; the generation timeouts (120 s, 300 s for SD) would keep an admin's request, or a
# monitoring script, waiting minutes on a dead upstream. A slower answer than this is a problem worth reporting.
CHECK_TIMEOUT = 15.0

# CheckResult.status → the word an admin reads first; anything else is "check failed".
VERDICTS = {
    "ok": "reachable",
    "auth_rejected": "key rejected",
    "auth_required": "login required",
    "no_key": "no key",
    "no_credit": "no credit",
    "rate_limited": "rate limited",
    "unreachable": "not reachable",
    "not_api": "not the API",
    "no_models": "no image models",
    "no_checkpoints": "no checkpoints",
}
NOT_CONFIGURED = "not_configured"


@dataclass(frozen=True)
class LiveCheck:
    """One provider's live status. `checked` is False when the configuration ruled it out without a call."""

    provider_id: str
    label: str
    enabled: bool  # the provider's switch is on (explicitly or by having its credential)
    checked: bool
    ok: bool
    status: str  # CheckResult.status, or NOT_CONFIGURED
    reason: str  # never contains the key: scrubbed on the way in

    @property
    def verdict(self) -> str:
        if not self.checked:
            return "not available"
        return VERDICTS.get(self.status, "check failed")

    def line(self) -> str:
        """E.g. "OpenAI — reachable: The key works; image models: GPT Image 2."."""
        return f"{self.label} — {self.verdict}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LiveCheck:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls)})


def connect(provider_id: str, config: EffectiveConfig, *, timeout: float = CHECK_TIMEOUT) -> Provider:
    """The provider, connected with the effective settings but a timeout no longer than `timeout`."""
    connection = config.connection(provider_id)
    connection = dataclasses.replace(connection, timeout=min(connection.timeout, timeout))
    return get_provider(provider_id, connection)


def _check(provider: Provider) -> CheckResult:
    try:
        return provider.check()
    except Exception:
        # check() reports upstream failures as results; an exception here is our bug. The traceback goes to the
        # log (requests' exceptions carry URLs, not keys); the admin gets a sentence, not a 500 page.
        logger.exception("%s: connection check crashed", provider.provider_id)
        return CheckResult(False, "error", "The check failed unexpectedly. The server log has the details.")
    finally:
        # A database-backed cache opens a connection in this worker thread; it must not outlive the thread.
        connections.close_all()


def run_checks(config: EffectiveConfig, provider_ids: Iterable[str] = PROVIDER_IDS) -> list[LiveCheck]:
    """Check every provider the configuration makes available, all at once; the others get their config reason.

    In parallel, so the slowest upstream sets the wait rather than the sum of them.
    """
    provider_ids = list(provider_ids)
    providers = {pid: connect(pid, config) for pid in provider_ids if config.provider(pid).status().available}
    results: dict[str, CheckResult] = {}
    if providers:
        with ThreadPoolExecutor(max_workers=len(providers), thread_name_prefix="imagegen-check") as pool:
            futures = {pid: pool.submit(_check, provider) for pid, provider in providers.items()}
            results = {pid: future.result() for pid, future in futures.items()}
    checks = []
    for pid in provider_ids:
        settings = config.provider(pid)
        enabled = bool(settings.enabled.value)
        if pid not in results:
            status = settings.status()
            checks.append(
                LiveCheck(pid, settings.label, enabled, False, False, NOT_CONFIGURED, status.reason)
            )
            continue
        result = results[pid]
        reason = scrub(result.reason, providers[pid].secrets)
        checks.append(LiveCheck(pid, settings.label, enabled, True, result.ok, result.status, reason))
    return checks

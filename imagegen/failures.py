"""What a failed job tells the writer: one sentence, and the action that can fix it.

Declared once per error class (imagegen/providers/errors.py): the sentence, and which fix comes first. A retry is
offered only where one can work; where the provider's account is the problem (no credit, a rejected key) the main
action is another available provider, offered in place, and otherwise the sentence says to ask an admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlencode

from .config import EffectiveConfig
from .iterate import editing_providers, upscaling_providers
from .models import GenerationJob
from .providers import PROVIDERS, provider_label
from .providers.errors import ERROR_CLASSES


class Fix(Enum):
    REPHRASE = "rephrase"  # the prompt was refused: the form again, to change the words
    CHANGE = "change"  # the settings were refused: the form again, to change them
    RETRY = "retry"  # a passing trouble: the same again may work
    SWITCH = "switch"  # the account is the trouble: only another provider helps, or an admin


@dataclass(frozen=True)
class FailureKind:
    sentence: str  # "{provider}" is the provider's label
    fix: Fix


FAILURES: dict[str, FailureKind] = {
    "content_policy": FailureKind(
        "{provider}’s safety system refused this prompt: rephrase it and try again.", Fix.REPHRASE
    ),
    "quota_exhausted": FailureKind(
        "This site’s {provider} account is out of credit: ask an admin to add some.", Fix.SWITCH
    ),
    "authentication": FailureKind(
        "{provider} did not accept this site’s key: ask an admin to fix it in the settings.", Fix.SWITCH
    ),
    "rate_limited": FailureKind("{provider} is too busy right now: try again in a minute.", Fix.RETRY),
    "unavailable": FailureKind(
        "{provider} is not answering as it should right now: try again in a few minutes.", Fix.RETRY
    ),
    "bad_request": FailureKind("{provider} refused these settings: change them and try again.", Fix.CHANGE),
    "bad_response": FailureKind("{provider} answered without a usable image: try again.", Fix.RETRY),
    "internal": FailureKind(
        "Something went wrong on our side: try again, and tell an admin if it keeps happening.", Fix.RETRY
    ),
}
UNKNOWN = FailureKind("The generation failed: try again.", Fix.RETRY)

MAIN_LABELS = {Fix.REPHRASE: "Rephrase the prompt", Fix.CHANGE: "Change the settings", Fix.RETRY: "Try again"}


@dataclass(frozen=True)
class Action:
    label: str
    url: str
    primary: bool


@dataclass(frozen=True)
class Failure:
    sentence: str
    actions: list[Action]
    detail: str  # the provider's own account, for whoever wants more than the sentence


def failure_sentence(job: GenerationJob) -> str:
    kind = FAILURES.get(job.error_class, UNKNOWN)
    return kind.sentence.format(provider=provider_label(job.provider))


def _could_do_it(job: GenerationJob, config: EffectiveConfig) -> list[str]:
    """The available providers that can do what the job did: an edit with a mask needs one that takes masks."""
    Operation = GenerationJob.Operation
    if job.operation == Operation.EDIT:
        return [p for p in editing_providers(config) if not job.mask or PROVIDERS[p].offers_masks]
    if job.operation == Operation.UPSCALE:
        return upscaling_providers(config)
    if job.operation == Operation.GENERATE:
        return config.available_providers()
    return []  # a variation's dialog offers the providers whose models take its image


def failure_for(job: GenerationJob, *, again: str, config: EffectiveConfig) -> Failure:
    """The sentence and actions, main one first, for a failed job; `again` is its Try again address."""
    kind = FAILURES.get(job.error_class, UNKNOWN)
    actions = [] if kind.fix is Fix.SWITCH else [Action(MAIN_LABELS[kind.fix], again, primary=True)]
    # Another provider can help where this one cannot now: the same dialog, filled in, on that provider.
    if kind.fix in (Fix.SWITCH, Fix.RETRY):
        joiner = "&" if "?" in again else "?"
        for other in _could_do_it(job, config):
            if other != job.provider:
                url = f"{again}{joiner}{urlencode({'provider': other})}"
                actions.append(Action(f"Use {provider_label(other)} instead", url, primary=not actions))
    # The provider's own words only when they add to the sentence (a reason, a warning about charges), not the
    # stock message of the class that would say it twice (as the job stored it: naming its service, or from before
    # messages did).
    cls = ERROR_CLASSES.get(job.error_class)
    stock = (
        {cls("").message, cls("").naming(provider_label(job.provider)).message} if cls is not None else set()
    )
    detail = job.error_message if job.error_message and job.error_message not in stock else ""
    return Failure(failure_sentence(job), actions, detail)

"""`imagegen status --live | models` — ask the providers themselves, not just the configuration.

The live checks are imagegen.connection_check's, the same admin's Test connection runs. Keys never reach the output:
every line a provider contributed is scrubbed of its key before it is written.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from imagegen import costs
from imagegen.catalog import ModelOption
from imagegen.cli import Subcommand
from imagegen.cli.settings_cmds import BAD_INPUT, StatusCommand
from imagegen.config import PROVIDER_IDS, PROVIDER_PREFIX, EffectiveConfig, get_config
from imagegen.connection_check import connect, run_checks
from imagegen.pricing import Free, describe
from imagegen.providers.errors import scrub

UNAVAILABLE = 1
# `sd` is what the settings call Stable Diffusion (sd.endpoint); accept it here too.
PROVIDER_ALIASES = {**{pid: pid for pid in PROVIDER_IDS}, **{p: pid for pid, p in PROVIDER_PREFIX.items()}}


class LiveStatusCommand(StatusCommand):
    """`status`, plus `--live` (the configuration part lives in settings_cmds.StatusCommand)."""

    description = (
        "Show whether image generation and each provider are available, and why not. "
        "With --live, also ask each available provider's upstream now (in parallel, at most 15 seconds): "
        "is it reachable, and does it accept the key. Exit 0 if generation is available "
        "(and, with --live, every enabled provider's check succeeded), 1 if not."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--live", action="store_true", help="also check each available provider's upstream now"
        )

    def handle(self, command: BaseCommand, *, live: bool = False, **options: Any) -> None:
        if not live:
            super().handle(command, **options)
            return
        try:
            super().handle(command, live=True, **options)
        except CommandError as err:
            # Generation is off: still worth knowing which upstreams answer; report after the live lines.
            unavailable: CommandError | None = err
        else:
            unavailable = None
        checks = run_checks(get_config())
        command.stdout.write("Live check:")
        for check in checks:
            command.stdout.write(f"  {check.line()}")
        if unavailable is not None:
            raise unavailable
        # An enabled provider that cannot be called (e.g. switched on without a key) fails too: it was meant to work.
        failed = [c for c in checks if c.enabled and not c.ok]
        if failed:
            names = ", ".join(f"{c.label} ({c.verdict})" for c in failed)
            raise CommandError(f"Live check failed: {names}.", returncode=UNAVAILABLE)


class ModelsCommand(Subcommand):
    name = "models"
    help = "List the models a provider offers now, with sizes, qualities, styles and prices."
    description = (
        "List the models PROVIDER offers now (every available provider when omitted): id, label, whether it can "
        "be used and why not, sizes, qualities, styles, images per job, edits and its price. The list "
        "comes from the provider where it has one; when that cannot be fetched, the built-in catalog is shown "
        "with a note saying why. Exit 1 if a provider is not available or offers nothing, 2 for an unknown PROVIDER."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "provider",
            metavar="PROVIDER",
            nargs="?",
            help=f"one of {', '.join(PROVIDER_IDS)} (or sd); omit for all available providers",
        )

    def handle(self, command: BaseCommand, *, provider: str | None, **options: Any) -> None:
        config = get_config()
        provider_ids = self._providers(config, provider)
        generation = config.generation_status()
        if not generation.available:
            command.stdout.write(
                f"Note: image generation is not available ({generation.reason}); writers cannot use these now."
            )
        empty = []
        for pid in provider_ids:
            if not self._list(command, config, pid):
                empty.append(config.provider(pid).label)
        if empty:
            raise CommandError(f"No models to offer from {', '.join(empty)}.", returncode=UNAVAILABLE)

    @staticmethod
    def _providers(config: EffectiveConfig, name: str | None) -> list[str]:
        if name is None:
            available = [pid for pid in PROVIDER_IDS if config.provider(pid).status().available]
            if not available:
                reasons = "; ".join(
                    f"{config.provider(pid).label}: {config.provider(pid).status().reason}"
                    for pid in PROVIDER_IDS
                )
                raise CommandError(f"No provider is available. {reasons}.", returncode=UNAVAILABLE)
            return available
        pid = PROVIDER_ALIASES.get(name.strip().lower())
        if pid is None:
            raise CommandError(
                f"Unknown provider {name!r}: use one of {', '.join(PROVIDER_IDS)}.", returncode=BAD_INPUT
            )
        status = config.provider(pid).status()
        if not status.available:
            raise CommandError(
                f"{config.provider(pid).label} is not available: {status.reason}.", returncode=UNAVAILABLE
            )
        return [pid]

    @staticmethod
    def _list(command: BaseCommand, config: EffectiveConfig, pid: str) -> bool:
        """Write one provider's models; False when it offers none."""
        provider = connect(pid, config)

        def write(text: str) -> None:
            command.stdout.write(scrub(text, provider.secrets))

        label = config.provider(pid).label
        options = provider.models()
        if not options:
            # Stable Diffusion has no catalog to fall back on: its check says why the list is empty.
            result = provider.check()
            write(f"{label} — no models: {result.reason if not result.ok else 'the provider lists none.'}")
            return False
        live = all(o.source == "live" for o in options)
        usable = sum(o.available for o in options)
        where = "the provider's live list" if live else "the built-in catalog"
        write(f"{label} — {len(options)} models ({usable} available), from {where}")
        for note in dict.fromkeys(o.note for o in options if o.source == "catalog" and o.note):
            write(f"  Note: {note}")
        for option in options:
            write("")
            write(model_lines(option))
        write("")
        return True


def model_lines(option: ModelOption) -> str:
    """One model as an indented block: the headline, then one line per property."""
    availability = "available" if option.available else f"not available: {option.unavailable_reason}"
    if option.available and option.retiring_on:
        availability += f" (retires on {option.retiring_on:%Y-%m-%d})"
    lines = [
        f"  {option.id}: {option.label} — {availability}",
        f"    sizes: {sizes_text(option)}",
        f"    qualities: {qualities_text(option)}",
        f"    styles: {', '.join(option.styles) or 'none to choose'}",
        f"    images per job: {per_job_text(option)}",
        f"    edits: {edits_text(option)}",
        f"    price: {prices_text(option)}",
    ]
    return "\n".join(lines)


def sizes_text(option: ModelOption) -> str:
    text = ", ".join(option.sizes)
    return f"{text}; or any WxH with {option.size_rule.describe()}" if option.size_rule else text


def qualities_text(option: ModelOption) -> str:
    if not option.qualities:
        return "none to choose"
    return ", ".join(f"{q} (default)" if q == option.default_quality else q for q in option.qualities)


def per_job_text(option: ModelOption) -> str:
    text = f"up to {option.max_images_per_job}"
    if option.images_per_request == 1 and option.max_images_per_job > 1:
        text += " (one per request; several are requested in parallel)"
    return text


def edits_text(option: ModelOption) -> str:
    if not option.edits:
        return "no"
    mask = "with a painted mask" if option.masks else "whole image only (no mask)"
    inputs = f"; up to {option.max_input_images} input images" if option.max_input_images else ""
    return f"yes, {mask}{inputs}"


def prices_text(option: ModelOption) -> str:
    price = costs.price_of(option)
    text = describe(price)
    source = getattr(price, "source", "")
    as_of = getattr(price, "as_of", None)
    if price is not None and source and not isinstance(price, Free):
        text += f" ({source}{f', {as_of:%Y-%m-%d}' if as_of else ''})"
    return text


SUBCOMMANDS: list[Subcommand] = [LiveStatusCommand(), ModelsCommand()]

"""`imagegen config | set | unset | status` — the AI Image Generation settings from the command line.

Keys never reach the output: `config` says only "set" / "not set" and where from, `set` echoes the effective display
of the setting, never the value typed.
"""

from __future__ import annotations

import getpass
import logging
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from imagegen.cli import Subcommand
from imagegen.config import (
    PROVIDER_IDS,
    PROVIDER_LABELS,
    SPEC_BY_NAME,
    SPECS,
    InvalidValue,
    Spec,
    get_config,
    parse,
    resolve,
)
from imagegen.forms import key_saved
from imagegen.models import ImageGenerationSettings
from imagegen.providers import PROVIDERS
from imagegen.retirement import retirement_warnings
from imagegen.saved_settings import load_saved, save_value

logger = logging.getLogger("imagegen.config")

NAMES_HELP = "Settings: " + ", ".join(s.name for s in SPECS) + "."
BAD_INPUT = 2


def _spec(name: str) -> Spec:
    try:
        return SPEC_BY_NAME[name]
    except KeyError:
        raise CommandError(f"Unknown setting {name!r}. {NAMES_HELP}", returncode=BAD_INPUT) from None


def _save(spec: Spec, value: Any) -> None:
    """Validate and save one setting as admin's form would, with messages for a terminal."""
    if not spec.provider:
        row = ImageGenerationSettings.load()
        setattr(row, spec.field, value)
        try:
            row.clean_fields(exclude=[f.name for f in row._meta.fields if f.name != spec.field])
        except ValidationError as e:
            # Model validation messages describe the rule, never repeat the value.
            messages = " ".join(m for msgs in e.message_dict.values() for m in msgs)
            raise CommandError(f"{spec.name}: {messages}", returncode=BAD_INPUT) from None
    else:
        _keys_follow_their_address(spec, value)
        if spec.check is not None and value not in (None, ""):
            saved = load_saved()
            saved.values[spec.name] = value
            problem = spec.check(value, resolve(saved).connection(spec.provider))
            if problem:
                raise CommandError(f"{spec.name}: {problem}", returncode=BAD_INPUT)
    save_value(spec, value)
    logger.info("AI image setting %s changed from the command line", spec.name)


def _keys_follow_their_address(spec: Spec, value: Any) -> None:
    """A saved key only goes to the address it was saved for: changing the address needs the key set again."""
    declaration = PROVIDERS[spec.provider].settings
    if spec.key != declaration.url:
        return
    saved = load_saved()
    if value in (None, "") and saved.get(spec) in (None, ""):
        return
    if value == saved.get(spec):
        return
    key = SPEC_BY_NAME[f"{declaration.prefix}.api_key"]
    if key_saved(saved.get(key)):
        raise CommandError(
            f"{spec.name}: a key is saved for {PROVIDER_LABELS[spec.provider]}, and a saved key only goes to the "
            f"address it was saved for. Remove it first (`imagegen unset {key.name}`), change the address, then "
            f"set the key again (`imagegen set {key.name} --stdin`).",
            returncode=BAD_INPUT,
        )


class ConfigCommand(Subcommand):
    name = "config"
    help = "Show the effective settings and where each comes from (admin, environment, default); keys masked."
    description = (
        help + " A setting set in admin (or with `imagegen set`) wins over its environment variable, "
        "which wins over the default."
    )

    def handle(self, command: BaseCommand, **options: Any) -> None:
        config = get_config()
        status = config.generation_status()
        default = config.effective_default_provider()
        headline = "available" if status.available else f"not available — {status.reason}"
        if default:
            headline += f" (default provider: {config.provider(default).label})"
        command.stdout.write(f"Image generation: {headline}\n")
        rows = [("SETTING", "VALUE", "SOURCE")]
        for s in config.settings():
            if s.problem:
                rows.append((s.name, "invalid", s.problem))
            else:
                rows.append((s.name, s.value_text(), s.source_text()))
        widths = [max(len(r[i]) for r in rows) for i in range(2)]
        for name, value, source in rows:
            command.stdout.write(f"{name:<{widths[0]}}  {value:<{widths[1]}}  {source}".rstrip())


class SetCommand(Subcommand):
    name = "set"
    help = "Save a setting in the database; it then wins over the environment."
    description = (
        "Save NAME = VALUE in the database, where it wins over the environment variable. "
        "For keys use --stdin so the key stays out of shell history and process lists: "
        '`printf %s "$KEY" | manage.py imagegen set openai.api_key --stdin` (on a terminal it prompts without echo). '
        "Booleans: true/false; timeouts: whole seconds; monthly_budget: USD. " + NAMES_HELP
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("setting", metavar="NAME", help="the setting, e.g. openai.api_key")
        parser.add_argument("value", metavar="VALUE", nargs="?", help="the value (omit with --stdin)")
        parser.add_argument("--stdin", action="store_true", help="read the value from standard input")

    def handle(
        self, command: BaseCommand, *, setting: str, value: str | None, stdin: bool, **options: Any
    ) -> None:
        spec = _spec(setting)
        if stdin == (value is not None):
            raise CommandError("Give either VALUE or --stdin.", returncode=BAD_INPUT)
        if stdin:
            value = getpass.getpass(f"{spec.name}: ") if sys.stdin.isatty() else sys.stdin.read()
        elif spec.secret:
            command.stderr.write("Tip: use --stdin for keys, so they stay out of shell history.")
        try:
            parsed = parse(spec, value or "")
        except InvalidValue as e:
            raise CommandError(f"{spec.name}: {e}.", returncode=BAD_INPUT) from None
        _save(spec, parsed)
        command.stdout.write(f"{spec.name}: {get_config().setting(spec.name).display()}")


class UnsetCommand(Subcommand):
    name = "unset"
    help = "Clear a setting in the database, so the environment variable (or the default) applies again."
    description = help + " " + NAMES_HELP

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("setting", metavar="NAME", help="the setting, e.g. sd.endpoint")

    def handle(self, command: BaseCommand, *, setting: str, **options: Any) -> None:
        spec = _spec(setting)
        _save(spec, None if spec.provider or spec.kind not in ("provider", "choice") else "")
        command.stdout.write(f"{spec.name}: {get_config().setting(spec.name).display()}")


class StatusCommand(Subcommand):
    name = "status"
    help = "Show whether image generation and each provider are available, and why not. Exit 0 if available, 1 if not."

    def handle(self, command: BaseCommand, *, live: bool = False, **options: Any) -> None:
        config = get_config()
        width = max(len(config.provider(pid).label) for pid in PROVIDER_IDS)
        for pid in PROVIDER_IDS:
            provider = config.provider(pid)
            status = provider.status()
            text = "available" if status.available else f"not available — {status.reason}"
            command.stdout.write(f"{provider.label:<{width}}  {text}")
        generation = config.generation_status()
        if not generation.available:
            command.stdout.write(f"Image generation: not available — {generation.reason}")
            raise CommandError(f"Image generation is not available: {generation.reason}.", returncode=1)
        default = config.effective_default_provider()
        command.stdout.write(
            f"Image generation: available (default provider: {config.provider(default).label})"
        )
        for warning in retirement_warnings(config, live=live):
            command.stdout.write(f"Warning: {warning.message()}")


# `status` is registered by provider_cmds, whose subclass adds --live (the live upstream checks).
SUBCOMMANDS: list[Subcommand] = [ConfigCommand(), SetCommand(), UnsetCommand()]

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
    SPEC_BY_NAME,
    SPECS,
    InvalidValue,
    Spec,
    get_config,
    parse,
    resolve,
)
from imagegen.key_guard import keys_left_behind
from imagegen.models import ImageGenerationSettings
from imagegen.retirement import retirement_warnings
from imagegen.saved_settings import Saved, load_saved, save_value

logger = logging.getLogger("imagegen.config")

NAMES_HELP = "Settings: " + ", ".join(s.name for s in SPECS) + "."
BAD_INPUT = 2


def _spec(name: str) -> Spec:
    try:
        return SPEC_BY_NAME[name]
    except KeyError:
        raise CommandError(f"Unknown setting {name!r}. {NAMES_HELP}", returncode=BAD_INPUT) from None


def _save(spec: Spec, value: Any, *, key: tuple[Spec, str] | None = None) -> None:
    """Validate and save one setting as admin's form would, with messages for a terminal; with `key`, that
    provider's key re-entered in the same save."""
    changes = {spec: value, **({key[0]: key[1]} if key else {})}
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
        before = load_saved()
        after = Saved(before.row, dict(before.values))
        for changed, new in changes.items():
            if new in (None, ""):
                after.values.pop(changed.name, None)
            else:
                after.values[changed.name] = new
        # A changed address must not take a saved key along unasked (imagegen/key_guard.py).
        given = [changed.name for changed in changes if changed.secret]
        left = next(iter(keys_left_behind(before, after, keys_given=given)), None)
        if left is not None:
            raise CommandError(
                f"{left.url_name}: {left.message} Add --key-stdin to give it with the new address, or first "
                f"remove it with `imagegen unset {left.key_name}`.",
                returncode=BAD_INPUT,
            )
        if spec.check is not None and value not in (None, ""):
            problem = spec.check(value, resolve(after).connection(spec.provider))
            if problem:
                raise CommandError(f"{spec.name}: {problem}", returncode=BAD_INPUT)
    for changed, new in changes.items():
        save_value(changed, new)
    logger.info("AI image setting %s changed from the command line", ", ".join(c.name for c in changes))


def _provider_key(spec: Spec) -> Spec:
    """The key setting of the provider an address setting belongs to ("openai.base_url" → "openai.api_key")."""
    return next(s for s in SPECS if s.secret and s.provider == spec.provider)


def _read_secret(prompt: str) -> str:
    return getpass.getpass(prompt) if sys.stdin.isatty() else sys.stdin.read()


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
        parser.add_argument(
            "--key-stdin",
            action="store_true",
            help="with a base URL or endpoint: read that provider's key from standard input and save it too "
            "(needed when a key is saved for the provider, so the key never follows a changed address unasked)",
        )

    def handle(
        self,
        command: BaseCommand,
        *,
        setting: str,
        value: str | None,
        stdin: bool,
        key_stdin: bool,
        **options: Any,
    ) -> None:
        spec = _spec(setting)
        if stdin == (value is not None):
            raise CommandError("Give either VALUE or --stdin.", returncode=BAD_INPUT)
        if key_stdin and (spec.kind != "url" or stdin):
            raise CommandError(
                "--key-stdin goes with a base URL or endpoint given as VALUE.", returncode=BAD_INPUT
            )
        if stdin:
            value = _read_secret(f"{spec.name}: ")
        elif spec.secret:
            command.stderr.write("Tip: use --stdin for keys, so they stay out of shell history.")
        try:
            parsed = parse(spec, value or "")
        except InvalidValue as e:
            raise CommandError(f"{spec.name}: {e}.", returncode=BAD_INPUT) from None
        key = None
        if key_stdin:
            key_spec = _provider_key(spec)
            try:
                key = (key_spec, parse(key_spec, _read_secret(f"{key_spec.name}: ")))
            except InvalidValue as e:
                raise CommandError(f"{key_spec.name}: {e}.", returncode=BAD_INPUT) from None
        _save(spec, parsed, key=key)
        config = get_config()
        command.stdout.write(f"{spec.name}: {config.setting(spec.name).display()}")
        if key:
            command.stdout.write(f"{key[0].name}: {config.setting(key[0].name).display()}")


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
        assert default is not None  # generation is available, so some provider is
        command.stdout.write(
            f"Image generation: available (default provider: {config.provider(default).label})"
        )
        for warning in retirement_warnings(config, live=live):
            command.stdout.write(f"Warning: {warning.message()}")


# `status` is registered by provider_cmds, whose subclass adds --live (the live upstream checks).
SUBCOMMANDS: list[Subcommand] = [ConfigCommand(), SetCommand(), UnsetCommand()]

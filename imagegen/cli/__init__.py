"""Subcommands of `manage.py imagegen`, one small module per topic.

A subcommand is a `Subcommand` subclass; a module lists its instances in `SUBCOMMANDS`, and
imagegen/management/commands/imagegen.py registers each module's list with one line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.management.base import BaseCommand, CommandParser

if TYPE_CHECKING:
    from imagegen.options import Option


class Subcommand:
    name: ClassVar[str]
    help: ClassVar[str]  # one line, shown in `manage.py imagegen --help`
    description: ClassVar[str] = ""  # more, shown in `manage.py imagegen NAME --help`

    def add_arguments(self, parser: CommandParser) -> None:
        """Add this subcommand's own arguments."""

    # `*args: Any, **options: Any` lets each subcommand name the options it takes as keyword-only parameters.
    def handle(self, command: BaseCommand, *args: Any, **options: Any) -> None:
        """Do the work; write with command.stdout / command.stderr; raise CommandError(..., returncode=2) on bad input."""
        raise NotImplementedError


def add_option_arguments(parser: CommandParser, options: Iterable[Option]) -> None:
    """One flag per declared option (imagegen/options.py): `generate` and `edit` take theirs the same way."""
    for option in options:
        parser.add_argument(option.cli_flag, dest=option.name, metavar=option.metavar, help=option.cli_help)

"""Subcommands of `manage.py imagegen`, one small module per topic.

A subcommand is a `Subcommand` subclass; a module lists its instances in `SUBCOMMANDS`, and
imagegen/management/commands/imagegen.py registers each module's list with one line.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.management.base import BaseCommand, CommandParser


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

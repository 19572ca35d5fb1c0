"""`manage.py imagegen` — the admin CLI for image generation. See `manage.py imagegen --help`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from imagegen.cli import Subcommand, housekeeping_cmds, iterate_cmds, job_cmds, provider_cmds, settings_cmds

# Every subcommand, in help order. A new topic is a module in imagegen/cli/ plus one line here.
SUBCOMMANDS: list[Subcommand] = [
    *settings_cmds.SUBCOMMANDS,
    *provider_cmds.SUBCOMMANDS,
    *job_cmds.SUBCOMMANDS,
    *iterate_cmds.SUBCOMMANDS,
    *housekeeping_cmds.SUBCOMMANDS,
]


class Command(BaseCommand):
    help = "Configure and inspect AI image generation."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
        for subcommand in SUBCOMMANDS:
            p = sub.add_parser(
                subcommand.name, help=subcommand.help, description=subcommand.description or subcommand.help
            )
            subcommand.add_arguments(p)

    def handle(self, *args: Any, **options: Any) -> None:
        by_name = {s.name: s for s in SUBCOMMANDS}
        by_name[options.pop("subcommand")].handle(self, **options)

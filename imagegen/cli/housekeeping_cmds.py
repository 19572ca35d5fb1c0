"""`imagegen cleanup | usage` — housekeeping and reporting on generation jobs, for operators and cron."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from imagegen import saving, services, usage
from imagegen.cli import Subcommand
from imagegen.limits import start_of_month

BAD_INPUT = 2


def _bad(message: str) -> CommandError:
    return CommandError(message, returncode=BAD_INPUT)


class CleanupCommand(Subcommand):
    name = "cleanup"
    help = "Remove expired candidates (images nobody saved) and fail jobs a crashed worker left running."
    description = (
        help
        + " Candidates older than --older-than hours are deleted with their files; images saved to a library "
        "are media items and stay. Jobs running long past their provider's timeout, and queued jobs no worker picked "
        "up within an hour, are marked failed. Run it from cron, e.g. hourly."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        hours = saving.CANDIDATE_MAX_AGE.total_seconds() / 3600
        parser.add_argument(
            "--older-than",
            type=float,
            default=hours,
            metavar="HOURS",
            help=f"candidate age (default {hours:g})",
        )

    def handle(self, command: BaseCommand, *, older_than: float, **options: Any) -> None:
        if older_than <= 0:
            raise _bad("--older-than must be more than 0 hours.")
        removed = saving.candidates_expire(older_than=timedelta(hours=older_than))
        failed = services.jobs_fail_stuck()
        command.stdout.write(f"Removed {removed} candidate(s) older than {older_than:g} h.")
        command.stdout.write(f"Marked {failed} stuck job(s) as failed.")


class UsageCommand(Subcommand):
    name = "usage"
    help = "Show images made and spend per month, per provider and per user since a date."
    description = (
        help
        + " Spend is the cost the provider reported, else our estimate (ESTIMATED is that part); jobs that "
        "failed without an image or a reported cost count as $0. Default: since the start of this month."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since", metavar="YYYY-MM-DD", help="first day to count (default: the 1st of this month)"
        )

    def handle(self, command: BaseCommand, *, since: str | None, **options: Any) -> None:
        if since:
            try:
                start = timezone.make_aware(datetime.strptime(since.strip(), "%Y-%m-%d"))
            except ValueError:
                raise _bad(f"--since {since!r}: write a date as YYYY-MM-DD, e.g. 2025-01-31.") from None
        else:
            start = start_of_month()
        for line in usage.text_report(start):
            command.stdout.write(line)


SUBCOMMANDS: list[Subcommand] = [CleanupCommand(), UsageCommand()]

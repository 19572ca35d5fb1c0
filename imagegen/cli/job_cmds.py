"""`imagegen generate | cleanup | usage` — generation jobs from the command line.

`generate` checks its options the way the Generate Image dialog does, then creates and runs the job in this process
through the same services (not through the queue), so its record, limits and cost are those of any other job.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from imagegen import services, usage
from imagegen.catalog import ModelOption, ModelSpec
from imagegen.cli import Subcommand
from imagegen.config import PROVIDER_IDS, PROVIDER_LABELS, EffectiveConfig, get_config
from imagegen.generate_form import MAX_SEED, MAX_STEPS, PREFERRED_MODELS, SD_DEFAULT_STEPS
from imagegen.limits import LimitReached, start_of_month
from imagegen.models import GenerationJob
from imagegen.permissions import PERMISSION_NAME, can_generate
from imagegen.prompts import ComposedPrompt, Role, compose_prompt
from imagegen.providers import ProviderError, get_provider
from projects.access import can_edit
from projects.models import Element, Project

BAD_INPUT = 2
NOTHING_MADE = 1
POLL_SECONDS = 0.5
# The dialog's defaults (imagegen/generate_form.py), so the same request costs the same from either place.


def _bad(message: str) -> CommandError:
    return CommandError(message, returncode=BAD_INPUT)


@dataclass(frozen=True)
class Plan:
    """A validated generation request, ready for services.job_create."""

    user: AbstractBaseUser
    project: Project
    spec: ModelSpec
    options: services.GenerationOptions
    composed: ComposedPrompt
    estimated_cost: Decimal | None


# --- Checking the request: the dialog's rules, with messages that say which option to change -----------------


def _project(slug: str) -> Project:
    project = Project.objects.select_related("owner").filter(slug=slug).first()
    if project is None:
        raise _bad(f"No project with the slug {slug!r}. The slug is the last part of the project's address.")
    return project


def _user(username: str | None, project: Project) -> AbstractBaseUser:
    if not username:
        user = project.owner
    else:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise _bad(f"No user named {username!r}.")
        if not can_edit(user, project):
            raise _bad(
                f"{username} cannot edit {project.title!r}; only its owner and editors may generate images for it."
            )
    if not can_generate(user):
        name = user.get_username()
        raise _bad(
            f"{name} may not generate images (it spends the site's credit): give the account the permission "
            f"“{PERMISSION_NAME}” in Django admin → Users → {name}, or choose another user with --user."
        )
    return user


def _provider(provider_id: str | None, config: EffectiveConfig) -> str:
    status = config.generation_status()
    if not status.available:
        raise _bad(f"Image generation is not available: {status.reason}. See `manage.py imagegen status`.")
    provider_id = provider_id or config.effective_default_provider() or ""
    if provider_id not in PROVIDER_IDS:
        raise _bad(f"Unknown provider {provider_id!r}; use one of {', '.join(PROVIDER_IDS)}.")
    availability = config.provider_status(provider_id)
    if not availability.available:
        raise _bad(f"{PROVIDER_LABELS[provider_id]} is not available: {availability.reason}.")
    return provider_id


def _model(provider_id: str, model_id: str | None, models: Sequence[ModelOption]) -> ModelOption:
    label = PROVIDER_LABELS[provider_id]
    usable = [m for m in models if m.available]
    if not model_id:
        if not usable:
            raise _bad(f"{label} offers no model you can use right now. See `manage.py imagegen status`.")
        # The same first choice as the dialog: the provider's current model, not the oldest in its list.
        preferred = PREFERRED_MODELS.get(provider_id)
        return next((m for m in usable if m.id == preferred), usable[0])
    # Stable Diffusion checkpoints answer to their title ("name.safetensors [hash]") or their short name.
    found = next((m for m in models if model_id in (m.id, m.label)), None)
    if found is None:
        names = ", ".join(m.id for m in usable) or "none"
        raise _bad(f"{label} has no model {model_id!r}. Models you can use: {names}.")
    if not found.available:
        raise _bad(f"{found.label} cannot be used now: {found.unavailable_reason}")
    return found


def _choice(what: str, value: str, allowed: Sequence[str], spec: ModelSpec) -> str:
    if value and value not in allowed:
        offered = f"one of {', '.join(allowed)}" if allowed else "none"
        raise _bad(f"{spec.label} does not offer {what} {value!r}; it offers {offered}.")
    return value


def _elements(project: Project, specs: Sequence[str]) -> list[tuple[Element, str]]:
    chosen = []
    for text in specs:
        # rpartition: an element's name may itself contain a colon ("Act II: The Flood").
        name, sep, role = text.rpartition(":")
        role = role.strip().lower()
        if not sep or not name.strip():
            raise _bad(f'--element {text!r}: write NAME:ROLE, e.g. "Mira Vale:subject".')
        if role not in Role.LABELS:
            raise _bad(f"--element {text!r}: unknown role {role!r}; use one of {', '.join(Role.ORDER)}.")
        matches = list(project.elements.filter(name__iexact=name.strip()))
        exact = [e for e in matches if e.name == name.strip()]
        matches = exact or matches
        if not matches:
            raise _bad(f"{project.title!r} has no worldbuilding element named {name.strip()!r}.")
        if len(matches) > 1:
            raise _bad(
                f"{project.title!r} has {len(matches)} elements named {name.strip()!r}; rename one first."
            )
        chosen.append((matches[0], role))
    return chosen


def plan_generation(
    *, config: EffectiveConfig, models_for: Callable[[str], Sequence[ModelOption]], **o: Any
) -> Plan:
    project = _project(o["project"])
    user = _user(o.get("user"), project)
    provider_id = _provider(o.get("provider"), config)
    spec = _model(provider_id, o.get("model"), models_for(provider_id))

    prompt = (o.get("prompt") or "").strip()
    if not prompt:
        raise _bad("The prompt is empty: describe the image you want with --prompt.")
    if len(prompt) > spec.max_prompt_chars:
        raise _bad(
            f"The prompt is {len(prompt)} characters; {spec.label} takes at most {spec.max_prompt_chars}."
        )
    size = o.get("size") or ("1024x1024" if spec.allows_size("1024x1024") else spec.sizes[0])
    if not spec.allows_size(size):
        raise _bad(f"{spec.label} does not allow size {size!r}; it offers {', '.join(spec.sizes)}.")
    default_quality = "medium" if "medium" in spec.qualities else (spec.default_quality or "")
    quality = _choice("quality", o.get("quality") or default_quality, spec.qualities, spec)
    style = _choice("style", o.get("style") or (spec.styles[0] if spec.styles else ""), spec.styles, spec)
    count = o.get("count") or 1
    if not 1 <= count <= spec.max_images_per_job:
        raise _bad(
            f"{spec.label} makes 1 to {spec.max_images_per_job} images per job; --count {count} is outside that."
        )
    negative = (o.get("negative_prompt") or "").strip()
    if negative and not spec.negative_prompt:
        raise _bad(f"{spec.label} takes no negative prompt.")
    seed = o.get("seed")
    if seed is not None and (not spec.seed or not 0 <= seed <= MAX_SEED):
        raise _bad(f"{spec.label} takes no seed." if not spec.seed else f"The seed must be 0 to {MAX_SEED}.")
    steps = o.get("steps")
    if steps is not None and (not spec.steps or not 1 <= steps <= MAX_STEPS):
        raise _bad(f"{spec.label} takes no steps." if not spec.steps else f"Steps must be 1 to {MAX_STEPS}.")
    if spec.steps and steps is None:
        steps = SD_DEFAULT_STEPS
    elements = _elements(project, o.get("element") or [])

    price = spec.price(size, quality)
    options = services.GenerationOptions(
        provider=provider_id,
        model=spec.id,
        prompt=prompt,
        size=size,
        quality=quality,
        style=style,
        count=count,
        negative_prompt=negative,
        seed=seed,
        steps=steps,
        elements=elements,
    )
    return Plan(
        user=user,
        project=project,
        spec=spec,
        options=options,
        composed=compose_prompt(prompt, elements, max_chars=spec.max_prompt_chars),
        estimated_cost=price * count if price is not None else None,
    )


# --- Running in this process, with progress on the terminal ---------------------------------------------------


def run_with_progress(
    job: GenerationJob, write: Callable[[str], None], interval: float = POLL_SECONDS
) -> GenerationJob:
    """Run the job in a thread (as a worker would) and print a line whenever its status or progress changes."""
    failure: list[BaseException] = []

    def work() -> None:
        try:
            services.job_run(job_id=job.pk)
        except BaseException as err:  # re-raised below, in the command's own thread
            failure.append(err)
        finally:
            connection.close()  # this thread's own connection; nobody else will close it

    thread = threading.Thread(target=work, name=f"imagegen-generate-{job.pk}", daemon=True)
    started = time.monotonic()
    # The job was created queued: say so before the thread can move it on, so the first line never depends on timing.
    last: tuple[str, int | None] | None = (job.status, None)
    write(f"  {0:5.1f}s  {job.get_status_display()}")
    thread.start()
    try:
        while True:
            alive = thread.is_alive()  # read before the row, so the last state printed is the final one
            row = GenerationJob.objects.filter(pk=job.pk).values("status", "progress").first() or {}
            progress = row.get("progress")
            state = (row.get("status", ""), None if progress is None else round(progress * 100))
            if state != last:
                label = GenerationJob.Status(state[0]).label if state[0] else "?"
                running = state[1] is not None and state[0] == GenerationJob.Status.RUNNING
                write(f"  {time.monotonic() - started:5.1f}s  {label}{f' {state[1]}%' if running else ''}")
                last = state
            if not alive:
                break
            thread.join(interval)
    except KeyboardInterrupt:
        write("Interrupted: asking the provider to stop (Ctrl-C again to leave at once)…")
        services.job_cancel(job=job)
        thread.join()
    if failure:
        raise failure[0]
    return GenerationJob.objects.get(pk=job.pk)


def _cost_text(job: GenerationJob) -> str:
    if job.actual_cost is not None:
        return f"cost {usage.format_usd(job.actual_cost)} (reported by the provider)"
    if job.images_made == 0:
        return "nothing charged"
    if job.estimated_cost is None:
        return "cost unknown (the model's price is not known)"
    return f"cost about {usage.format_usd(job.estimated_cost)} (estimated)"


class GenerateCommand(Subcommand):
    name = "generate"
    help = "Generate images for a project now, in this process, as the Generate Image dialog would."
    description = (
        "Check the options against the model (as the dialog does), create the job — limits and budget apply — and "
        "run it here, not through the queue, showing progress. With --save every image made is saved to the "
        "project's media library. Exit status: 0 when at least one image was made, 1 when none was, 2 for bad input."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--project", required=True, metavar="SLUG", help="the project's slug (from its address)"
        )
        parser.add_argument("--prompt", required=True, metavar="TEXT", help="what the image should show")
        parser.add_argument(
            "--provider", choices=PROVIDER_IDS, help="default: the effective default provider"
        )
        parser.add_argument(
            "--model", help="a model id (for Stable Diffusion, a checkpoint); default: the first usable"
        )
        parser.add_argument("--size", metavar="WxH", help="e.g. 1024x1024; default 1024x1024 where allowed")
        parser.add_argument("--quality", help="one the model offers, e.g. standard, hd, medium")
        parser.add_argument("--style", help="one the model offers, e.g. vivid, natural")
        parser.add_argument("--count", type=int, default=1, help="how many images (default 1)")
        parser.add_argument("--negative-prompt", metavar="TEXT", help="what to avoid (Stable Diffusion)")
        parser.add_argument("--seed", type=int, help="repeat an image (models that take a seed)")
        parser.add_argument(
            "--steps", type=int, help=f"sampling steps (Stable Diffusion; default {SD_DEFAULT_STEPS})"
        )
        parser.add_argument(
            "--element",
            action="append",
            metavar="NAME:ROLE",
            help=f"a worldbuilding element and its role ({', '.join(Role.ORDER)}); repeat for more",
        )
        parser.add_argument("--save", action="store_true", help="save every image made to the media library")
        parser.add_argument("--user", metavar="USERNAME", help="who generates (default: the project's owner)")

    def handle(self, command: BaseCommand, **options: Any) -> None:
        write = command.stdout.write
        config = get_config()

        def models_for(provider_id: str) -> Sequence[ModelOption]:
            try:
                return get_provider(provider_id, config.connection(provider_id)).models()
            except ProviderError as err:
                raise _bad(f"{PROVIDER_LABELS[provider_id]}: {err.message}") from None

        plan = plan_generation(config=config, models_for=models_for, **options)
        for note in plan.composed.omissions:
            write(f"Prompt shortened to fit {plan.spec.label}: {note}.")
        try:
            job = services.job_create(
                user=plan.user,
                project=plan.project,
                options=plan.options,
                composed=plan.composed,
                estimated_cost=plan.estimated_cost,
                config=config,
                enqueue=False,
            )
        except LimitReached as err:
            raise _bad(err.message) from None
        estimate = "unknown" if plan.estimated_cost is None else usage.format_usd(plan.estimated_cost)
        write(
            f"Job {job.pk}: {PROVIDER_LABELS[job.provider]} {plan.spec.label}, {job.images_requested} image(s) "
            f"at {plan.options.size}, estimated cost {estimate}."
        )
        job = run_with_progress(job, write)
        write(
            f"Job {job.pk}: {job.get_status_display()} — {job.images_made} of {job.images_requested} image(s) made, "
            f"{_cost_text(job)}."
        )
        if job.error_class:
            write(f"Error: {job.error_class} — {job.error_message}")
        if options["save"] and job.images_made:
            items = services.candidates_save(job=job, candidates=list(job.candidates.all()), user=plan.user)
            for item in items:
                write(f"Saved media item {item.pk}: {item.display_title} — {item.get_absolute_url()}")
        if not job.images_made:
            raise CommandError(
                f"No image was made (job {job.pk}, {job.error_class or 'no error class'}).",
                returncode=NOTHING_MADE,
            )


# --- Housekeeping and reporting -------------------------------------------------------------------------------


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
        hours = services.CANDIDATE_MAX_AGE.total_seconds() / 3600
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
        removed = services.candidates_expire(older_than=timedelta(hours=older_than))
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


SUBCOMMANDS: list[Subcommand] = [GenerateCommand(), CleanupCommand(), UsageCommand()]

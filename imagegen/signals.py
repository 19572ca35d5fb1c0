"""Files follow their rows: however a job or candidate is deleted (expiry, admin, a project or user deleted with
everything in it), its image, thumbnail and painted mask are removed once the deletion is committed.

Jobs outlive their project for the audit, but what the project's writers made and painted goes with it."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, pre_delete
from django.dispatch import receiver

from media_library.services import delete_stored_files
from projects.models import Project

from .models import Candidate, GenerationJob


@receiver(post_delete, sender=Candidate, dispatch_uid="candidate_files")
def delete_candidate_files(sender: type[Candidate], instance: Candidate, **kwargs: Any) -> None:
    names = [instance.file.name, instance.thumbnail.name]
    transaction.on_commit(lambda: delete_stored_files(names))


@receiver(post_delete, sender=GenerationJob, dispatch_uid="job_mask")
def delete_job_mask(sender: type[GenerationJob], instance: GenerationJob, **kwargs: Any) -> None:
    names = [instance.mask.name]
    transaction.on_commit(lambda: delete_stored_files(names))


@receiver(pre_delete, sender=Project, dispatch_uid="project_generated_files")
def delete_project_candidates_and_masks(sender: type[Project], instance: Project, **kwargs: Any) -> None:
    Candidate.objects.filter(job__project=instance).delete()
    jobs = GenerationJob.objects.filter(project=instance).exclude(mask="")
    names = list(jobs.values_list("mask", flat=True))
    jobs.update(mask="")
    transaction.on_commit(lambda: delete_stored_files(names))

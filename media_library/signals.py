"""Files follow their media item: however an item is deleted (the Media tab, admin, a project or user deleted with
everything in it), its file and thumbnail are removed once the deletion is committed."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import MediaItem
from .services import delete_stored_files


@receiver(post_delete, sender=MediaItem, dispatch_uid="media_item_files")
def delete_files_with_item(sender: type[MediaItem], instance: MediaItem, **kwargs: Any) -> None:
    names = [instance.file.name, instance.thumbnail.name]
    transaction.on_commit(lambda: delete_stored_files(names))

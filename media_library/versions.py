"""Versions: every edit, variation and upscale of an image is a media item of its own, linked to its source.

An item's `source` is the item it was made from; its `original` is the first image of its version history (both
empty for an original), so a whole history is one query. The history is a tree — an image can be edited twice,
and each edit edited again — shown on an image's page as a strip in the order a writer reads it: the original,
then each version after the one it was made from.

**Deleting a version that others were made from** re-links them rather than refusing: they are the writer's work
and stay. Each version made from the deleted one is linked to the deleted one's own source, so the history keeps
its order ("1 → 2 → 3", deleting 2, reads "1 → 3"). Deleting an original makes each version made directly from it
the original of its own history, with its own versions under it: nothing is invented about where an image came
from. The confirmation page says which of the two will happen before anything is deleted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Q

from .models import MediaItem


@dataclass(frozen=True)
class Version:
    """One image in a version strip."""

    item: MediaItem
    number: int  # 1 for the original, in strip order
    source_number: int | None  # the number of the version it was made from (None for the original)
    follows_previous: bool  # made from the version just before it in the strip

    @property
    def label(self) -> str:
        """ "Original", "Edit", "Variation", "Upscale 2×"."""
        item = self.item
        if not item.source_id and not item.operation:
            return "Original"
        label = item.get_operation_display() if item.operation else "Version"
        factor = (
            (item.generation.get("options") or {}).get("factor")
            if isinstance(item.generation, dict)
            else None
        )
        return f"{label} {factor}×" if item.operation == MediaItem.Operation.UPSCALE and factor else label

    @property
    def instruction(self) -> str:
        """The words it was made with (an edit's instruction, a variation's prompt); "" for the rest."""
        if self.item.operation not in (MediaItem.Operation.EDIT, MediaItem.Operation.VARIATION):
            return ""
        prompt = self.item.generation.get("prompt") if isinstance(self.item.generation, dict) else ""
        return prompt if isinstance(prompt, str) else ""


def history(item: MediaItem) -> list[Version]:
    """The item's whole version history in strip order: depth first from the original, older versions first.

    One query for the history (the original and everything with it as `original`). Empty for an image without
    versions, so a page shows no strip for it.
    """
    root_id = item.original_id or item.pk
    members = list(
        MediaItem.objects.filter(Q(pk=root_id) | Q(original_id=root_id), project_id=item.project_id).order_by(
            "created_at", "pk"
        )
    )
    if len(members) < 2:
        return []
    for member in members:
        member.project = item.project  # their links need the project's slug: the one the page already has
    by_pk = {m.pk: m for m in members}
    children: dict[int | None, list[MediaItem]] = defaultdict(list)
    for member in members:
        # A source outside the history (should not happen) is shown as made from the original.
        parent = (
            member.source_id if member.source_id in by_pk else (None if member.pk == root_id else root_id)
        )
        children[parent].append(member)
    ordered: list[MediaItem] = []
    stack = list(reversed(children[None]))
    while stack:
        node = stack.pop()
        ordered.append(node)
        stack.extend(reversed(children[node.pk]))
    numbers = {m.pk: i for i, m in enumerate(ordered, start=1)}
    versions = []
    for index, member in enumerate(ordered):
        source = member.source_id if member.source_id in numbers else None
        versions.append(
            Version(
                item=member,
                number=index + 1,
                source_number=numbers.get(source) if source else None,
                follows_previous=bool(source) and index > 0 and ordered[index - 1].pk == source,
            )
        )
    return versions


@dataclass(frozen=True)
class Relinking:
    """What deleting an item does to the versions made from it (said before, and after)."""

    versions: list[MediaItem]  # made directly from the item
    new_source: MediaItem | None  # what they will be linked to; None: each becomes an original

    def __bool__(self) -> bool:
        return bool(self.versions)

    def sentence(self) -> str:
        """One sentence for the writer: which versions stay, and what they will follow."""
        if not self.versions:
            return ""
        names = ", ".join(f"“{v.display_title}”" for v in self.versions[:5])
        if len(self.versions) > 5:
            names += f" and {len(self.versions) - 5} more"
        noun = "version was" if len(self.versions) == 1 else "versions were"
        if self.new_source is not None:
            return (
                f"{len(self.versions)} {noun} made from it ({names}); they stay, linked to "
                f"“{self.new_source.display_title}”, the image it was made from."
            )
        return (
            f"{len(self.versions)} {noun} made from it ({names}); they stay, each as the original of its own "
            "version history."
        )


def relinking(item: MediaItem) -> Relinking:
    versions = list(MediaItem.objects.filter(source=item).order_by("created_at", "pk"))
    new_source = MediaItem.objects.filter(pk=item.source_id).first() if item.source_id else None
    return Relinking(versions=versions, new_source=new_source)


def relink_before_delete(item: MediaItem) -> Relinking:
    """Re-link the versions made from `item` (see the module docstring). Call inside the deleting transaction."""
    plan = relinking(item)
    if not plan:
        return plan
    if plan.new_source is not None:
        MediaItem.objects.filter(source=item).update(source=plan.new_source)
        return plan
    # An original: each version made from it starts a history of its own, taking its own versions along.
    members = list(MediaItem.objects.filter(original=item).values_list("pk", "source_id"))
    children: dict[int, list[int]] = defaultdict(list)
    for pk, source_id in members:
        if source_id is not None:
            children[source_id].append(pk)
    for version in plan.versions:
        subtree, stack = [], list(children[version.pk])
        while stack:
            pk = stack.pop()
            subtree.append(pk)
            stack.extend(children[pk])
        MediaItem.objects.filter(pk=version.pk).update(source=None, original=None)
        MediaItem.objects.filter(pk__in=subtree).update(original=version)
    return plan

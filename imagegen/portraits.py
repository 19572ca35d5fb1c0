"""Consistent characters: an element's image is its portrait, and it goes upstream with the element.

When a Subject or a Reference has an image and the model takes input images, the image goes along so the model
can keep the character (or the object, the place) as it looks. The writer can switch it off per element in the
dialog. The model takes only so many images, so the rule for what fits is fixed and stated in the dialog:

    Subjects first, then References, each in the order the dialog lists them; an edit's own image comes before
    them all and counts as one. The rest are left out, by name.

An element whose image *is* the image being edited does not send it twice. The plan is made when the writer
submits (the dialog shows it) and recorded on the job, element by element (`send_image`); the worker sends exactly
those images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from media_library.models import MediaItem
from projects.models import Element

from .models import GenerationJob
from .prompts import Role

# The order portraits are taken in; this sentence is what the dialog says.
ORDER = (Role.SUBJECT, Role.REFERENCE)
RULE = "Subjects first, then References, in the order listed"


@dataclass(frozen=True)
class PortraitPlan:
    """Which elements' images go upstream with a request, and which do not and why."""

    sent: tuple[Element, ...] = ()
    left_out: tuple[Element, ...] = ()  # switched on, but past the model's limit
    switched_off: tuple[Element, ...] = ()
    limit: int = 0  # how many portraits fit: the model's input-image limit, less an edit's own image
    takes_images: bool = False
    candidates: tuple[Element, ...] = field(default=(), repr=False)  # Subjects and References with an image

    @property
    def sent_ids(self) -> frozenset[int]:
        return frozenset(e.pk for e in self.sent)

    def summary(self, model_label: str, *, edit: bool) -> str:
        """The rule and its outcome in two sentences, for the dialog (empty when no element has an image)."""
        if not self.candidates:
            return ""
        if not self.takes_images:
            return f"{model_label} takes no images, so no portrait goes along; the elements are described in words."
        room = f"up to {self.limit} portrait{'s' if self.limit != 1 else ''}"
        if edit:
            room += " (the image being edited takes one of the model's places)"
        text = f"Portraits go along with their elements: {RULE}, {room}."
        if self.left_out:
            names = ", ".join(f"“{e.name}”" for e in self.left_out)
            text += f" Left out, over {model_label}'s limit: {names}."
        return text


def plan_portraits(
    chosen: Sequence[tuple[Element, str]],
    *,
    wanted: Callable[[Element], bool],
    model_limit: int,
    edit: bool = False,
    exclude_item: int | None = None,
) -> PortraitPlan:
    """The plan for `chosen` (element, role) pairs; `wanted` is the element's switch in the dialog."""
    candidates = [
        element
        for role in ORDER
        for element, chosen_role in chosen
        if chosen_role == role and element.image_id and element.image_id != exclude_item
    ]
    limit = max(0, model_limit - (1 if edit else 0)) if model_limit else 0
    on, seen = [], set()
    for element in candidates:
        if wanted(element) and element.image_id not in seen:  # an image two elements share goes up once
            on.append(element)
            seen.add(element.image_id)
    return PortraitPlan(
        sent=tuple(on[:limit]),
        left_out=tuple(on[limit:]) if model_limit else (),
        switched_off=tuple(e for e in candidates if not wanted(e)),
        limit=limit,
        takes_images=bool(model_limit),
        candidates=tuple(candidates),
    )


def input_images(job: GenerationJob, limit: int) -> tuple[bytes, ...]:
    """The portraits the job's plan sends, in its order, at most `limit` (read when the job runs).

    Jobs from before portraits were recorded (no `send_image`) keep the old rule: Reference images only.
    """
    if not limit:
        return ()
    ids = [
        e["image_id"]
        for e in job.elements
        if e.get("image_id") and (e["send_image"] if "send_image" in e else e.get("role") == Role.REFERENCE)
    ][:limit]
    items = {item.pk: item for item in MediaItem.objects.filter(pk__in=ids, project=job.project_id)}
    images = []
    for pk in ids:
        if pk in items:  # an image deleted since the job was made is left out, not an error
            with items[pk].file.open("rb") as handle:
                images.append(handle.read())
    return tuple(images)

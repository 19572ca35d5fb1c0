"""Which element images go upstream: the rule the dialog states, the switch, the limit, and the job's record."""

from __future__ import annotations

import pytest

from imagegen.models import GenerationJob
from imagegen.portraits import input_images, plan_portraits
from media_library.services import media_item_create_from_bytes
from projects.models import Element
from tests.fixtures_projects import image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(project, owner) -> dict[str, Element]:
    """Four elements with images of their own, and one without."""
    made = {}
    for index, name in enumerate(["Ada", "Bram", "Cole", "Dara"]):
        image, _ = media_item_create_from_bytes(
            project=project, data=image_bytes(color=(index, 9, 9)), created_by=owner
        )
        made[name] = Element.objects.create(project=project, name=name, image=image)
    made["Nobody"] = Element.objects.create(project=project, name="Nobody")
    return made


def names(elements) -> list[str]:
    return [e.name for e in elements]


def test_subjects_first_then_references_in_the_order_listed(cast):
    chosen = [(cast["Ada"], "reference"), (cast["Bram"], "subject"), (cast["Cole"], "setting"),
              (cast["Dara"], "subject"), (cast["Nobody"], "subject")]  # fmt: skip
    plan = plan_portraits(chosen, wanted=lambda e: True, model_limit=16)
    assert names(plan.sent) == ["Bram", "Dara", "Ada"]  # a Setting's image never goes; Nobody has none
    assert plan.left_out == () and plan.limit == 16


def test_past_the_limit_the_last_are_left_out_and_an_edit_takes_one_place(cast):
    chosen = [(cast[n], "subject") for n in ("Ada", "Bram", "Cole")]
    plan = plan_portraits(chosen, wanted=lambda e: True, model_limit=3, edit=True)
    assert (names(plan.sent), names(plan.left_out), plan.limit) == (["Ada", "Bram"], ["Cole"], 2)
    assert plan.summary("Gemini", edit=True) == (
        "Portraits go along with their elements: Subjects first, then References, in the order listed, up to 2 "
        "portraits (the image being edited takes one of the model's places). Left out, over Gemini's limit: “Cole”."
    )


def test_the_switch_turns_one_off_without_using_a_place(cast):
    chosen = [(cast[n], "subject") for n in ("Ada", "Bram", "Cole")]
    plan = plan_portraits(chosen, wanted=lambda e: e.name != "Ada", model_limit=2)
    assert (names(plan.sent), names(plan.switched_off), plan.left_out) == (["Bram", "Cole"], ["Ada"], ())


def test_a_model_without_images_sends_none_and_says_so(cast):
    plan = plan_portraits([(cast["Ada"], "subject")], wanted=lambda e: True, model_limit=0)
    assert plan.sent == () and plan.left_out == () and not plan.takes_images
    assert plan.summary("v1-5", edit=False) == (
        "v1-5 takes no images, so no portrait goes along; the elements are described in words."
    )


def test_one_image_goes_once_and_never_the_image_being_edited(cast):
    shared = cast["Ada"].image
    cast["Bram"].image = shared
    cast["Bram"].save()
    chosen = [(cast["Ada"], "subject"), (cast["Bram"], "reference"), (cast["Cole"], "subject")]
    plan = plan_portraits(chosen, wanted=lambda e: True, model_limit=16, exclude_item=cast["Cole"].image_id)
    assert names(plan.sent) == ["Ada"]


def test_the_job_sends_what_was_planned_and_old_jobs_keep_the_old_rule(project, owner, cast):
    def job(elements):
        return GenerationJob.objects.create(project=project, user=owner, provider="openai", model="gpt-image-2",
                                            prompt="p", composed_prompt="p", elements=elements)  # fmt: skip

    def entry(name, role, **more):
        return {"id": cast[name].pk, "name": name, "role": role, "image_id": cast[name].image_id, **more}

    planned = job([entry("Ada", "subject", send_image=True), entry("Bram", "reference", send_image=False),
                   entry("Cole", "reference", send_image=True)])  # fmt: skip
    sizes = [len(i) for i in input_images(planned, 16)]
    assert sizes == [cast["Ada"].image.size_bytes, cast["Cole"].image.size_bytes]
    assert len(input_images(planned, 1)) == 1 and input_images(planned, 0) == ()
    # Recorded before portraits existed: References only, as then.
    legacy = job([entry("Ada", "subject"), entry("Bram", "reference")])
    assert [len(i) for i in input_images(legacy, 16)] == [cast["Bram"].image.size_bytes]

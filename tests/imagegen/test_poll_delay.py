"""The dialog's polling pace: quick for a short job, about once a second for a long one, within a shared budget."""

from datetime import timedelta

import pytest
from django.utils import timezone

from imagegen.models import GenerationJob
from imagegen.views import poll_delay


def job_aged(seconds: float) -> GenerationJob:
    return GenerationJob(created_at=timezone.now() - timedelta(seconds=seconds))


@pytest.mark.parametrize(
    ("age", "expected_ms"),
    [(0, 40), (1, 40), (2, 50), (10, 250), (40, 1000), (600, 1000)],
)
def test_pace_follows_the_time_waited(age, expected_ms):
    delay = int(poll_delay(job_aged(age), unfinished=0).removesuffix("ms"))
    assert abs(delay - expected_ms) <= 2


@pytest.mark.parametrize(("unfinished", "expected_ms"), [(20, 1000), (40, 2000), (100, 5000)])
def test_all_dialogs_together_stay_within_the_budget_even_past_the_cap(unfinished, expected_ms):
    # Every open dialog waits at least unfinished / 20 s: about 20 polls a second in total, however many.
    assert poll_delay(job_aged(600), unfinished=unfinished) == f"{expected_ms}ms"
    assert poll_delay(job_aged(1), unfinished=unfinished) == f"{expected_ms}ms"


@pytest.mark.django_db
def test_the_count_comes_from_the_database(project, owner):
    from django.core.cache import cache

    cache.delete("imagegen:poll:unfinished")
    for _ in range(60):
        GenerationJob.objects.create(user=owner, project=project, provider="openai", model="m", prompt="p")
    assert poll_delay(job_aged(1)) == "3000ms"

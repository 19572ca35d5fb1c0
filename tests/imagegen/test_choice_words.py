"""Choices read as the engines' own menus show them, not as ids (the walk-through saw "Sgm uniform")."""

from __future__ import annotations

import dataclasses

import pytest

from imagegen.options import OPTIONS, words_of
from imagegen.providers.openai_models import GPT_IMAGE_2


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("sgm_uniform", "SGM uniform"),  # ComfyUI's scheduler ids
        ("kl_optimal", "KL optimal"),
        ("ddim_uniform", "DDIM uniform"),
        ("linear_quadratic", "Linear quadratic"),
        ("dpmpp_2m_sde_gpu", "DPM++ 2M SDE GPU"),  # ComfyUI's sampler ids
        ("euler_ancestral_cfg_pp", "Euler ancestral CFG++"),
        ("lcm", "LCM"),
        ("karras", "Karras"),  # the WebUI's scheduler names
        ("DPM++ 2M", "DPM++ 2M"),  # the WebUI's sampler names are words already
        ("Euler a", "Euler a"),
        ("high", "High"),  # OpenAI's qualities and formats
        ("webp", "WebP"),
    ],
)
def test_a_choice_reads_as_the_engine_names_it(value, shown):
    assert words_of(value) == shown


def test_the_dialog_offers_schedulers_and_samplers_by_their_names():
    declared = {option.name: option for option in OPTIONS}
    spec = dataclasses.replace(
        GPT_IMAGE_2, samplers=("euler", "dpmpp_2m"), schedulers=("normal", "sgm_uniform")
    )
    assert declared["scheduler"].fields(spec)["scheduler"].choices == [
        ("", "The model's default"), ("normal", "Normal"), ("sgm_uniform", "SGM uniform"),
    ]  # fmt: skip
    assert [label for _, label in declared["sampler"].fields(spec)["sampler"].choices][1:] == [
        "Euler",
        "DPM++ 2M",
    ]

"""Prompt composition: golden examples of the documented format, and shortening that never cuts the writer."""

from dataclasses import dataclass, field

import pytest

from imagegen.prompts import Role, compose_prompt, split_sentences


@dataclass
class El:
    name: str
    kind: str
    description: str = ""
    attributes: list[list[str]] = field(default_factory=list)

    def get_kind_display(self) -> str:
        return self.kind.capitalize()


MIRA = El(
    "Mira Vale",
    "character",
    "A cartographer who maps other people's dreams. She never sleeps",
    [["Hair", "silver"], ["Age", "25"]],
)
LIBRARY = El("The Drowned Library", "location", "Half-submerged stacks lit by green lanterns.")
INK = El("Ink wash", "style", "Loose brush strokes in muted indigo.")
COMPASS = El("The Brass Compass", "item", "Its needle points at whatever you lost.", [["Material", "brass"]])

GOLDEN = """A portrait at dusk, looking over her shoulder.

Subject: Mira Vale, a character. A cartographer who maps other people's dreams. She never sleeps. Hair: silver. Age: 25.
Setting: The Drowned Library, a location. Half-submerged stacks lit by green lanterns.
Style: Ink wash, a style. Loose brush strokes in muted indigo.
Reference: The Brass Compass, an item. Its needle points at whatever you lost. Material: brass."""


def test_golden_full_context_in_role_order():
    # Chosen in a scrambled order: the prompt still lists subject, setting, style, reference.
    composed = compose_prompt(
        "  A portrait at dusk, looking over her shoulder. ",
        [(COMPASS, Role.REFERENCE), (INK, Role.STYLE), (MIRA, Role.SUBJECT), (LIBRARY, Role.SETTING)],
    )
    assert composed.text == GOLDEN
    assert not composed.shortened
    assert composed.omissions == []


def test_no_elements_is_just_the_writers_prompt():
    assert compose_prompt("A lighthouse in fog", []).text == "A lighthouse in fog"


def test_an_article_before_vowels_and_two_subjects_keep_their_order():
    owl = El("Hoot", "other", "", [])
    composed = compose_prompt("Two friends", [(owl, Role.SUBJECT), (MIRA, Role.SUBJECT)])
    lines = composed.text.splitlines()
    assert lines[2] == "Subject: Hoot, an other."
    assert lines[3].startswith("Subject: Mira Vale, a character.")


def test_shortening_drops_references_first_then_style_and_keeps_subjects():
    elements = [(MIRA, Role.SUBJECT), (LIBRARY, Role.SETTING), (INK, Role.STYLE), (COMPASS, Role.REFERENCE)]
    full = compose_prompt("A portrait at dusk, looking over her shoulder.", elements).text
    limit = len(full) - len(" Material: brass.") - len(" Its needle points at whatever you lost.")
    composed = compose_prompt("A portrait at dusk, looking over her shoulder.", elements, max_chars=limit)
    assert composed.shortened
    assert len(composed.text) <= limit
    assert composed.text.endswith("Reference: The Brass Compass, an item.")
    assert "Hair: silver." in composed.text
    assert composed.omissions == ['Reference "The Brass Compass" shortened (2 details left out)']

    # Tighter: the reference goes entirely, then the style's sentence; the subject is untouched.
    limit = (
        len(GOLDEN)
        - len(
            "\nReference: The Brass Compass, an item. Its needle points at whatever you lost. Material: brass."
        )
        - 10
    )
    composed = compose_prompt("A portrait at dusk, looking over her shoulder.", elements, max_chars=limit)
    assert "Reference:" not in composed.text
    assert composed.text.splitlines()[-1] == "Style: Ink wash, a style."
    assert 'Reference "The Brass Compass" left out' in composed.omissions
    assert composed.text.splitlines()[2] == GOLDEN.splitlines()[2]


@pytest.mark.parametrize("limit", [60, 100, 140, 200])
def test_writers_prompt_is_never_cut(limit):
    prompt = "A portrait at dusk, looking over her shoulder."
    composed = compose_prompt(prompt, [(MIRA, Role.SUBJECT), (COMPASS, Role.REFERENCE)], max_chars=limit)
    assert composed.text.startswith(prompt)
    assert len(composed.text) <= limit
    # Subjects go last: the reference disappears before the subject loses anything.
    if "Subject: Mira Vale, a character. A cartographer" not in composed.text:
        assert "Reference:" not in composed.text


def test_prompt_longer_than_the_limit_keeps_it_whole_and_drops_all_context():
    prompt = "x" * 50
    composed = compose_prompt(prompt, [(MIRA, Role.SUBJECT)], max_chars=40)
    assert composed.text == prompt
    assert composed.omissions == ['Subject "Mira Vale" left out']


def test_split_sentences_handles_line_breaks_and_missing_full_stops():
    assert split_sentences("One. Two!\nThree\n\n  Four?  ") == ["One.", "Two!", "Three.", "Four?"]

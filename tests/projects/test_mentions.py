"""Finding the worldbuilding elements a passage mentions (projects.mentions): names, aliases, whole words, case,
names inside other words, and overlapping names."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projects.mentions import find_mentions, mentioned


@dataclass(frozen=True, eq=False)
class El:
    name: str
    aliases: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [self.name, *self.aliases]


MIRA = El("Mira Vale", ["Mira", "the cartographer"])
LIBRARY = El("The Drowned Library")
STACKS = El("Library")
COMPASS = El("Brass Compass", ["compass"])
HARBOUR = El("Old Harbour")
TOWN = El("Harbour Town")
DR = El("Dr. Okafor")
OHARA = El("O'Hara")
ALL = [MIRA, LIBRARY, STACKS, COMPASS, HARBOUR, TOWN, DR, OHARA]


@pytest.mark.parametrize(
    ("passage", "expected"),
    [
        # by name, by alias, case-insensitive
        ("Mira Vale walked in.", [(MIRA, "Mira Vale")]),
        ("mira walked in.", [(MIRA, "mira")]),
        ("THE CARTOGRAPHER frowned.", [(MIRA, "THE CARTOGRAPHER")]),
        # whole words: a name inside another word is no mention
        ("Admiral Miranda came.", []),
        ("Her compasses were broken.", []),
        ("Mira's map", [(MIRA, "Mira")]),
        ("(Mira)", [(MIRA, "Mira")]),
        ("Mira—no, the cartographer", [(MIRA, "Mira"), (MIRA, "the cartographer")]),
        # overlapping names: the longest wins where they start together …
        ("In the Drowned Library it was dark.", [(LIBRARY, "the Drowned Library")]),
        ("The library was dark.", [(STACKS, "library")]),
        ("the Brass Compass and the compass", [(COMPASS, "Brass Compass"), (COMPASS, "compass")]),
        # … and read left to right where one starts inside the other
        ("the Old Harbour Town gate", [(HARBOUR, "Old Harbour")]),
        ("Harbour Town", [(TOWN, "Harbour Town")]),
        # a name wrapped across a line break or with extra spaces
        ("Mira\nVale", [(MIRA, "Mira\nVale")]),
        ("Mira   Vale", [(MIRA, "Mira   Vale")]),
        # punctuation inside or at the end of a name
        ("Ask Dr. Okafor.", [(DR, "Dr. Okafor")]),
        ("o'hara laughed", [(OHARA, "o'hara")]),
        ("Ask Dr Okafor", []),
        ("", []),
    ],
)
def test_mentions(passage: str, expected: list[tuple[El, str]]) -> None:
    assert [(m.element, m.text) for m in find_mentions(passage, ALL)] == expected


def test_mentioned_groups_words_per_element_in_order_of_first_mention() -> None:
    found = mentioned("The compass. Mira took the Brass Compass; mira smiled. Mira", ALL)
    assert list(found) == [COMPASS, MIRA]
    assert found[COMPASS] == ["compass", "Brass Compass"]
    assert found[MIRA] == ["Mira", "mira"]


def test_elements_without_names_and_a_shared_alias() -> None:
    twin = El("Lio", ["the cartographer"])
    assert find_mentions("anything", []) == []
    # Two elements share an alias: the first listed keeps it, the other is still found by its name.
    assert [(m.element, m.text) for m in find_mentions("the cartographer and Lio", [MIRA, twin])] == [
        (MIRA, "the cartographer"),
        (twin, "Lio"),
    ]


names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12
).filter(lambda s: s.strip())
words = st.text(st.characters(categories=("L",)), min_size=1, max_size=8)
word_names = st.lists(words, min_size=1, max_size=3).map(" ".join)
punctuation = st.text(st.sampled_from(" .,;:!?()—\n\"'"), max_size=10)


@given(name=word_names, before=punctuation, after=punctuation, upper=st.booleans())
def test_a_name_between_punctuation_is_always_found(name: str, before: str, after: str, upper: bool) -> None:
    written = name.upper() if upper else name
    passage = f"{before} {written} {after}"
    found = find_mentions(passage, [El(name)])
    # upper() may change a letter's length ("ß" → "SS"); then only the place is not where it was written.
    if len(written) == len(name):
        assert [(m.start, m.text) for m in found] == [(len(before) + 1, written)]


@given(name=word_names, before=words, after=words)
def test_a_name_inside_a_longer_word_is_never_found(name: str, before: str, after: str) -> None:
    assert find_mentions(f"{before}{name}{after}", [El(name)]) == []


@given(name=names, passage=st.text(max_size=60))
def test_every_mention_is_the_name_as_whole_words(name: str, passage: str) -> None:
    for m in find_mentions(passage, [El(name)]):
        assert passage[m.start : m.end] == m.text
        assert " ".join(m.text.casefold().split()) or m.text
        assert m.start == 0 or not (passage[m.start - 1].isalnum() or passage[m.start - 1] == "_")
        assert m.end == len(passage) or not (passage[m.end].isalnum() or passage[m.end] == "_")

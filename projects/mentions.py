"""Which worldbuilding elements a passage mentions, found by name or alias.

A mention is a whole-word, case-insensitive match of an element's name or one of its aliases: "Mira" is found in
"mira smiled." and "Mira's map", never inside "Admiral" or "Miranda". Names that overlap in the text are read the
way a reader would, left to right, the longest name first: in "the Drowned Library" the element called
"The Drowned Library" is mentioned, not one called "Library". Runs of spaces or a line break inside a name still
match ("Mira\\nVale"), because a passage is wrapped text.

The search is one regular expression built from every name, tried at each word start: a 600-character paragraph
against 200 elements (400 names) takes about 3 ms, a 140,000-character chapter about 0.6 s — fine for a passage, the
only thing matched today; a whole book would want a trie of names instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar


class Named(Protocol):
    """What matching needs of an element (projects.models.Element satisfies it)."""

    @property
    def names(self) -> list[str]: ...


E = TypeVar("E", bound=Named)


@dataclass(frozen=True)
class Mention(Generic[E]):
    element: E
    # The words as the passage has them ("the Cartographer"), and where.
    text: str
    start: int
    end: int


def _pattern(name: str) -> str:
    return r"\s+".join(re.escape(word) for word in name.split())


def find_mentions(text: str, elements: Iterable[E]) -> list[Mention[E]]:
    """Every mention in `text`, in the order they appear."""
    # Keyed by the name casefolded with its spaces collapsed; the name itself, as written, makes the pattern
    # (a casefolded name is not always the same letters: "İ" folds to "i" and a combining dot).
    by_key: dict[str, tuple[E, str]] = {}
    for element in elements:
        for name in element.names:
            key = " ".join(name.casefold().split())
            # Two elements with the same name or alias: the first keeps it (ordering is the caller's).
            if key:
                by_key.setdefault(key, (element, name))
    if not by_key:
        return []
    # Longest first: the regex takes the first alternative that matches at a position, so at any start the
    # longest name wins. (?<!\w)/(?!\w) rather than \b, which fails next to a name that starts or ends in
    # punctuation ("Dr. Vale", "O'Hara").
    named = sorted(by_key.values(), key=lambda pair: len(pair[1]), reverse=True)
    patterns = [(element, _pattern(name)) for element, name in named]
    regex = re.compile(r"(?<!\w)(?:" + "|".join(p for _, p in patterns) + r")(?!\w)", re.IGNORECASE)

    def owner(words: str) -> E:
        key = " ".join(words.casefold().split())
        if key in by_key:
            return by_key[key][0]
        # Case-insensitive matching and casefold() disagree on a few letters (e.g. "ß" and "SS"): ask each name.
        return next(element for element, p in patterns if re.fullmatch(p, words, re.IGNORECASE))

    return [Mention(owner(m.group(0)), m.group(0), m.start(), m.end()) for m in regex.finditer(text)]


def mentioned(text: str, elements: Sequence[E]) -> dict[E, list[str]]:
    """Each mentioned element (in the order of first mention) with the words that named it, without repeats."""
    found: dict[E, list[str]] = {}
    for mention in find_mentions(text, elements):
        words = found.setdefault(mention.element, [])
        if mention.text not in words:
            words.append(mention.text)
    return found

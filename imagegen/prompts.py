"""Worldbuilding elements + roles → the prompt sent upstream.

The composed prompt is the writer's prompt, a blank line, then one line per chosen element, introduced by its role.
Roles come in this order — subjects, then the setting, then style, then references — and elements keep the order the
writer chose them in within a role. Each line reads as plain sentences, which image models follow well:

    A portrait at dusk, looking over her shoulder.

    Subject: Mira Vale, a character. A cartographer who maps other people's dreams. Hair: silver. Age: 25.
    Setting: The Drowned Library, a location. Half-submerged stacks lit by green lanterns.
    Style: Ink wash, a style. Loose brush strokes in muted indigo.
    Reference: The Brass Compass, an item. Its needle points at whatever you lost.

An element's line is "<Role>: <name>, a <kind>." followed by its description's sentences and then its attributes as
"Key: value." sentences, in the writer's order.

**The writer's prompt is never cut.** When the whole is longer than the model allows, context is shortened at field or
sentence boundaries: references first, then style, then the setting, subjects last; within a role the last-chosen element
first; within an element its attributes (last first), then its description sentences (last first), and finally the
element's introduction itself. Every removal is recorded so the dialog can say what was left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class Role:
    SUBJECT = "subject"
    SETTING = "setting"
    STYLE = "style"
    REFERENCE = "reference"

    CHOICES = [
        (SUBJECT, "Subject"),
        (SETTING, "Setting"),
        (STYLE, "Style"),
        (REFERENCE, "Reference"),
    ]
    LABELS = dict(CHOICES)
    # The order in which roles appear in the prompt; shortening walks it backwards.
    ORDER = [SUBJECT, SETTING, STYLE, REFERENCE]


class ElementLike(Protocol):
    """What prompts need of a worldbuilding element (projects.models.Element satisfies it)."""

    name: str
    description: str
    # Ordered [key, value] pairs, as the writer entered them.
    attributes: Sequence[Sequence[str]]

    def get_kind_display(self) -> str: ...


@dataclass
class _ElementBlock:
    role: str
    name: str
    intro: str
    sentences: list[str]
    attributes: list[str]
    dropped_parts: int = 0
    dropped_whole: bool = False

    def render(self) -> str:
        label = Role.LABELS[self.role]
        return " ".join([f"{label}: {self.intro}", *self.sentences, *self.attributes])

    def drop_one(self) -> bool:
        """Remove the least important remaining part; False when only the introduction was left (now dropped)."""
        if self.attributes:
            self.attributes.pop()
        elif self.sentences:
            self.sentences.pop()
        else:
            self.dropped_whole = True
            return False
        self.dropped_parts += 1
        return True


@dataclass(frozen=True)
class ComposedPrompt:
    text: str
    writer_prompt: str
    shortened: bool = False
    # Human-readable notes on what was left out, e.g. 'Reference "The Compass" left out'.
    omissions: list[str] = field(default_factory=list)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> list[str]:
    """Split prose at sentence ends; line breaks count as boundaries too. Each sentence ends with punctuation."""
    sentences: list[str] = []
    for line in text.splitlines():
        for piece in _SENTENCE_END.split(line.strip()):
            piece = piece.strip()
            if piece:
                sentences.append(piece if piece[-1] in ".!?" else piece + ".")
    return sentences


def _attribute_sentence(key: str, value: str) -> str:
    key, value = key.strip(), value.strip()
    sentence = f"{key}: {value}" if key else value
    return sentence if sentence.endswith((".", "!", "?")) else sentence + "."


def _block(role: str, element: ElementLike) -> _ElementBlock:
    kind = element.get_kind_display().lower()
    article = "an" if kind[:1] in "aeiou" else "a"
    return _ElementBlock(
        role=role,
        name=element.name,
        intro=f"{element.name.strip()}, {article} {kind}.",
        sentences=split_sentences(element.description or ""),
        attributes=[_attribute_sentence(k, v) for k, v in element.attributes or [] if (k or v).strip()],
    )


def _render(writer_prompt: str, blocks: Iterable[_ElementBlock]) -> str:
    lines = [block.render() for block in blocks if not block.dropped_whole]
    if not lines:
        return writer_prompt
    return writer_prompt + "\n\n" + "\n".join(lines)


def compose_prompt(
    writer_prompt: str,
    elements: Sequence[tuple[ElementLike, str]],
    *,
    max_chars: int | None = None,
) -> ComposedPrompt:
    """Compose the upstream prompt from the writer's prompt and (element, role) pairs.

    `max_chars` is the model's prompt limit; None means no limit.
    """
    writer_prompt = writer_prompt.strip()
    by_role = {role: [_block(role, el) for el, r in elements if r == role] for role in Role.ORDER}
    blocks = [block for role in Role.ORDER for block in by_role[role]]
    text = _render(writer_prompt, blocks)
    if max_chars is None or len(text) <= max_chars:
        return ComposedPrompt(text=text, writer_prompt=writer_prompt)

    # Shorten: references first, subjects last; within a role, the last-chosen element first.
    for role in reversed(Role.ORDER):
        for block in reversed(by_role[role]):
            while not block.dropped_whole and len(_render(writer_prompt, blocks)) > max_chars:
                block.drop_one()
            if len(_render(writer_prompt, blocks)) <= max_chars:
                break
        if len(_render(writer_prompt, blocks)) <= max_chars:
            break

    omissions = []
    for block in blocks:
        label = Role.LABELS[block.role]
        if block.dropped_whole:
            omissions.append(f'{label} "{block.name}" left out')
        elif block.dropped_parts:
            noun = "detail" if block.dropped_parts == 1 else "details"
            omissions.append(f'{label} "{block.name}" shortened ({block.dropped_parts} {noun} left out)')
    return ComposedPrompt(
        text=_render(writer_prompt, blocks), writer_prompt=writer_prompt, shortened=True, omissions=omissions
    )

"""An embed inserted after paragraph N (projects.embeds.insert_embed_after_paragraph), for any body: it lands right
after that paragraph, as its own block, and nothing else changes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from projects import embeds

lines = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30),
    st.sampled_from(["", "  ", "[[image:3]]", "[[image:4|A caption]]", "[[image:99999999999999999999]]"]),
)
bodies = st.lists(lines, max_size=12).map("\n".join)


def sequence(body: str) -> list[tuple[str, str]]:
    """The body as the page shows it: paragraphs by their text, embeds by their image's number."""
    return [
        ("p", block.text) if isinstance(block, embeds.Paragraph) else ("embed", block.group(1))
        for block in embeds._blocks(body.splitlines())
    ]


@given(body=bodies, number=st.integers(min_value=1, max_value=15))
def test_the_embed_lands_right_after_its_paragraph_and_nothing_else_changes(body: str, number: int) -> None:
    before = sequence(body)
    after = sequence(embeds.insert_embed_after_paragraph(body, number, 777, "Dawn"))
    places = [i for i, (kind, _) in enumerate(before) if kind == "p"]
    new = ("embed", "777")
    if number <= len(places):
        index = places[number - 1]
        assert after == [*before[: index + 1], new, *before[index + 1 :]]
    else:
        assert after == [*before, new]

"""Property tests (Hypothesis) for every parser of writer or upstream input (issue 11).

Whatever a writer types or an upstream answers, these raise nothing but our own errors (ProviderError and its
kinds), and keep their promises: sizes are positive pairs, the writer's words are never cut from a prompt, every
error body becomes an error class with a message a person can read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import responses
from hypothesis import given
from hypothesis import strategies as st

from imagegen.catalog import parse_size
from imagegen.prompts import Role, compose_prompt
from imagegen.providers import ProviderError, get_provider
from imagegen.providers.base import Provider
from imagegen.providers.errors import ERROR_CLASSES, UnavailableError
from imagegen.providers.http import error_text, parse_json, parse_retry_after
from imagegen.providers.images import decode_base64, split_data_url
from imagegen.providers.results import upstream_message

from .cases import CASES, ProviderCase
from .conftest import TINY_PNG_B64

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
# Bodies shaped like the real ones (an "error" object, a "data" list, "choices", "images") with anything inside.
KEYS = ["error", "message", "code", "type", "metadata", "reasons", "data", "b64_json", "url", "revised_prompt",
        "choices", "images", "image_url", "finish_reason", "usage", "cost", "info", "detail", "errors", "seed"]  # fmt: skip
shaped = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30) | st.just(TINY_PNG_B64),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(KEYS), children, max_size=5)
    ),
    max_leaves=25,
)
headers = st.dictionaries(
    st.sampled_from(["retry-after", "retry-after-ms", "x-request-id", "content-type", "x-ratelimit-reset"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
    max_size=3,
)


# --- Sizes ------------------------------------------------------------------------------------------------------


@given(st.text(max_size=30) | st.from_regex(r"[0-9²٣]{0,8}x[0-9²٣]{0,8}", fullmatch=True))
def test_parse_size_gives_a_positive_pair_or_nothing(text: str) -> None:
    parsed = parse_size(text)
    assert parsed is None or (isinstance(parsed, tuple) and all(isinstance(n, int) and n > 0 for n in parsed))


@given(st.integers(1, 100_000), st.integers(1, 100_000))
def test_parse_size_reads_what_it_should(width: int, height: int) -> None:
    assert parse_size(f"{width}x{height}") == (width, height)


def test_parse_size_refuses_digits_of_other_scripts_and_endless_numbers() -> None:
    assert parse_size("²x1") is None and parse_size("٣x٣") is None
    assert parse_size("9" * 5000 + "x1") is None


# --- The prompt composer -----------------------------------------------------------------------------------------


@dataclass
class FakeElement:
    name: str
    kind: str
    description: str
    attributes: list[list[str]]

    def get_kind_display(self) -> str:
        return self.kind


elements = st.builds(
    FakeElement,
    name=st.text(max_size=40),
    kind=st.sampled_from(["Character", "Location", "Item", "Faction", "Style", ""]),
    description=st.text(max_size=300),
    attributes=st.lists(st.lists(st.text(max_size=20), min_size=2, max_size=2), max_size=5),
)


@given(
    writer=st.text(max_size=400),
    chosen=st.lists(st.tuples(elements, st.sampled_from([*Role.ORDER, "bogus", ""])), max_size=6),
    max_chars=st.none() | st.integers(1, 2000),
)
def test_the_composer_never_cuts_the_writers_words(
    writer: str, chosen: list[Any], max_chars: int | None
) -> None:
    composed = compose_prompt(writer, chosen, max_chars=max_chars)
    assert composed.text.startswith(writer.strip())
    if max_chars is not None:
        assert len(composed.text) <= max(max_chars, len(writer.strip()))
    assert all(isinstance(note, str) for note in composed.omissions)


# --- Upstream bodies -----------------------------------------------------------------------------------------------


@given(st.binary(max_size=300))
def test_error_text_reads_any_bytes(body: bytes) -> None:
    _parsed, text = error_text(body)
    assert isinstance(text, str)


@given(st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_parse_json_gives_a_value_or_a_bad_response(body: bytes) -> None:
    try:
        parse_json(bytearray(body))
    except ProviderError as err:
        assert err.error_class == "bad_response"


@given(headers)
def test_retry_after_is_a_wait_or_nothing(values: dict[str, str]) -> None:
    wait = parse_retry_after(values)
    assert wait is None or wait >= 0


@given(json_values | shaped)
def test_upstream_message_is_text(body: Any) -> None:
    assert isinstance(upstream_message(body), str)


@given(st.text(max_size=200))
def test_base64_and_data_urls_parse_or_say_why(text: str) -> None:
    for parse in (decode_base64, split_data_url):
        try:
            parse(text)
        except ProviderError as err:
            assert err.error_class == "bad_response"


def _provider(case: ProviderCase) -> Provider:
    return get_provider(case.provider_id, case.connection(), sleep=lambda s: None)


@given(case=st.sampled_from(CASES), status=st.integers(300, 599), body=json_values | shaped, text=st.text(max_size=80),
       extra=headers)  # fmt: skip
def test_every_error_answer_becomes_an_error_class_with_a_message(
    case: ProviderCase, status: int, body: Any, text: str, extra: dict[str, str]
) -> None:
    err = _provider(case).classify_error(status, body, text, extra)
    assert isinstance(err, ProviderError) and err.error_class in ERROR_CLASSES
    assert err.message.strip()


def _no_network_for_links(self: Provider, url: str, **fields: Any) -> Any:
    # Links in answers are fetched by public_fetch (tested on its own); here they must not leave the machine.
    raise UnavailableError("The provider's image link could not be fetched. Try again.")


@given(case=st.sampled_from(CASES), status=st.sampled_from([200, 200, 201, 400, 402, 403, 429, 500, 503]),
       body=shaped | json_values, raw=st.booleans())  # fmt: skip
def test_any_answer_to_a_generation_is_images_or_our_error(
    case: ProviderCase, status: int, body: Any, raw: bool
) -> None:
    original = Provider.fetch_image
    Provider.fetch_image = _no_network_for_links  # type: ignore[method-assign]
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            case.prepare(rsps)
            payload = json.dumps(body) if not raw else (json.dumps(body)[:-1] or "{")
            rsps.post(case.generate_url, body=payload, status=status, content_type="application/json")
            try:
                result = _provider(case).generate(case.request())
            except ProviderError as err:
                assert err.error_class in ERROR_CLASSES and err.message.strip()
            else:
                assert all(image.width > 0 and image.height > 0 for image in result.images)
                assert all(isinstance(e, ProviderError) for e in result.errors)
    finally:
        Provider.fetch_image = original  # type: ignore[method-assign]

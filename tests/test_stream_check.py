"""Citation markers checked while the answer streams (``stream_check.CitationStream``)."""

from __future__ import annotations

import re

import pytest

from studyrag.records import Chunk, Hit
from studyrag.stream_check import CitationStream


def hit(i: int, text: str) -> Hit:
    return Hit(Chunk(f"c{i}", "g.md", ("Section",), text, 0, len(text), title="Guide"), 1.0 / i, i)


SOURCES = [
    hit(1, "Dropout randomly zeroes activations during training to reduce overfitting."),
    hit(2, "Adam adapts the learning rate of each weight using moment estimates."),
]


def streamed(pieces: list[str], sources: list[Hit] = SOURCES, question: str = "") -> tuple[str, list[str]]:
    stream = CitationStream(sources, question=question)
    shown = [stream.feed(p) for p in pieces] + [stream.flush()]
    assert stream.shown == "".join(shown)
    return "".join(shown), shown


def chars(text: str) -> list[str]:
    return list(text)


def words(text: str) -> list[str]:
    """``text`` in word pieces, spaces kept: how a model streams."""
    return re.findall(r"\S+\s*", text)


@pytest.mark.parametrize(
    "text",
    [
        "Dropout zeroes activations during training [1]. Adam adapts each weight's learning rate [2].",
        "Dropout zeroes activations during training. [1]",
        "Both are covered [1][2].",
        "Markdown [links](https://example.org) and [notes] stay, as does an open [bracket",
        "Nothing to cite here.",
    ],
)
def test_text_with_right_citations_streams_unchanged(text: str) -> None:
    for pieces in (chars(text), words(text), [text]):
        assert streamed(pieces)[0] == text


def test_a_miscited_sentence_shows_the_source_that_supports_it() -> None:
    text, _ = streamed(chars("Adam adapts the learning rate of each weight [1]. Dropout zeroes activations. [2]"))
    assert text == "Adam adapts the learning rate of each weight [2]. Dropout zeroes activations. [1]"


def test_numbers_outside_the_sources_are_dropped_and_good_ones_kept() -> None:
    assert streamed(["Dropout zeroes activations [1, 5]."])[0] == "Dropout zeroes activations [1]."
    assert streamed(["Dropout zeroes activations [7]."])[0] == "Dropout zeroes activations."


def test_a_marker_is_held_only_until_it_closes() -> None:
    _, shown = streamed(["Dropout zeroes activations ", "[", "1", "]", "."])
    assert shown == ["Dropout zeroes activations ", "", "", "[1]", ".", ""]
    # a "[" that never closes is released once it is too long to be a marker, and at the end
    _, shown = streamed(["x [", "this is plain bracketed text, not a citation marker"])
    assert "".join(shown[:2]).startswith("x [this")
    assert streamed(["x [", "1"])[0] == "x [1"


def test_a_dropped_marker_takes_the_space_before_it_along() -> None:
    # the model streams " [" as one token; with one source, its "[2]" is dropped and "instructions ."
    # was shown with a stray space
    one = [hit(1, "Alpaca (52K instructions) and Dolly (15K human-generated).")]
    text, _ = streamed(["Dolly has 15,000 instructions", " [", "2", "]."], sources=one)
    assert text == "Dolly has 15,000 instructions."
    assert streamed(["Dolly has 15,000 instructions", " [", "1", "]."], sources=one)[0] == (
        "Dolly has 15,000 instructions [1]."
    )


def test_a_stray_bracket_before_a_marker_does_not_hide_it() -> None:
    # the marker is the last "[" before its "]": [99] points nowhere and is dropped, [1] is checked
    text, _ = streamed(["Dropout zeroes activations [see below [99] and [a]."])
    assert text == "Dropout zeroes activations [see below and [a]."
    text, _ = streamed(["Dropout zeroes activations [x [1]."])
    assert text == "Dropout zeroes activations [x [1]."


def test_what_is_shown_does_not_depend_on_how_the_model_splits_its_text() -> None:
    import random

    fragments = (*"abc XY.,;:!?()[]0123456789-\n*#`'\"…日", "[1]", "[2, 3]", "[1][2]", "[0]", "[99]",
                 "[1-3]", "【1】", "(1)", "[^1]", "e.g.", "3.5", "Dropout zeroes activations. ")
    rng = random.Random(6)
    for _ in range(500):
        text = "".join(rng.choice(fragments) for _ in range(rng.randint(0, 60)))
        sources = [hit(i, "".join(rng.choice(fragments) for _ in range(30))) for i in range(1, rng.randint(2, 5))]
        pieces, i = [], 0
        while i < len(text):
            step = rng.randint(1, 5)
            pieces.append(text[i : i + step])
            i += step
        whole, _ = streamed([text], sources, question="q")
        split, _ = streamed(pieces, sources, question="q")
        # only spaces may differ: one already shown cannot go with a marker dropped after it
        assert re.sub(r"\s+", "", whole) == re.sub(r"\s+", "", split), text

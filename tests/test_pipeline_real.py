"""The whole pipeline with the real default models on the shipped guides: MiniLM + FAISS + BM25 over
the real corpus, and Qwen2.5-Coder-1.5B (Q4_K_M) answering. Three questions, as a student asks them."""

from __future__ import annotations

import pytest

from studyrag.config import Settings, project_root
from studyrag.errors import ModelNotFoundError
from studyrag.pipeline import StudyRAG

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rag(tmp_path_factory) -> StudyRAG:
    pytest.importorskip("llama_cpp")
    settings = Settings.from_env(
        corpus_dir=project_root() / "corpus", index_dir=tmp_path_factory.mktemp("indexes"), rerank=False
    )
    try:
        return StudyRAG.load(settings, progress=False)
    except ModelNotFoundError as e:
        pytest.skip(f"default models unavailable: {e}")


def test_paged_attention_answer_cites_the_paged_attention_material(rag: StudyRAG) -> None:
    answer = rag.ask("What is PagedAttention?")
    assert not answer.abstained, answer.text
    assert answer.citations, answer.text
    cited = [c.chunk for c in answer.citations]
    assert any("PagedAttention" in c.section or "PagedAttention" in c.text for c in cited), answer.text
    assert "[" in answer.text and answer.model.startswith("qwen2.5")


def test_moe_routing_question_is_answered_from_the_load_balancing_material(rag: StudyRAG) -> None:
    answer = rag.ask("How do I stop an MoE router from sending every token to a few experts?")
    assert not answer.abstained, answer.text
    text = " ".join(c.chunk.section + " " + c.chunk.text for c in answer.citations).lower()
    assert "load balanc" in text or "auxiliary" in text, answer.text


def test_a_question_the_guides_never_mention_abstains(rag: StudyRAG) -> None:
    answer = rag.ask("What year did the Byzantine Empire fall?")
    assert answer.abstained and not answer.citations, answer.text
    assert answer.text.startswith("The guides do not cover this.")

"""HybridRetriever: fusion of both retrievers over an index; one real-model check on the real corpus."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from studyrag.config import Settings, project_root
from studyrag.dense import SentenceTransformerEmbedder
from studyrag.errors import BadQuestionError, StaleIndexError
from studyrag.fakes import FakeEmbedder
from studyrag.retrieve import HybridRetriever
from studyrag.store import Index, open_index, read_manifest

GUIDES = ["comprehensive-llm-study-guide.md", "advanced-ai-knowledge-cheatsheet.md"]


@pytest.fixture(scope="module")
def fake_index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    root = tmp_path_factory.mktemp("retrieve")
    corpus = root / "corpus"
    corpus.mkdir()
    for name in GUIDES:
        (corpus / name).write_bytes((project_root() / "corpus" / name).read_bytes())
    s = Settings(corpus_dir=corpus, index_dir=root / "indexes")
    return open_index(s, FakeEmbedder(), progress=False)


@pytest.fixture
def retriever(fake_index: Index) -> HybridRetriever:
    return HybridRetriever(fake_index, FakeEmbedder(), Settings())


QUERY = "What does LoRA train instead of the full weights?"


def test_search_returns_k_fused_hits_best_first(retriever: HybridRetriever) -> None:
    hits = retriever.search(QUERY, k=5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert all(h.score == h.fused_score for h in hits)
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:], strict=False))
    assert len({h.chunk.id for h in hits}) == 5
    assert "lora" in hits[0].chunk.text.lower()


@pytest.mark.parametrize("fusion", ["zscore", "rrf"])
def test_fused_hits_carry_the_component_ranks_and_scores(fake_index: Index, fusion: str) -> None:
    s = Settings(fusion=fusion)
    retriever = HybridRetriever(fake_index, FakeEmbedder(), s)
    bm25 = {h.chunk.id: h for h in retriever.search_bm25(QUERY, k=50)}
    dense = {h.chunk.id: h for h in retriever.search_dense(QUERY, k=50)}
    # z-score fusion standardises by every chunk's score: recompute them all, independently
    all_bm25 = fake_index.bm25.scores(QUERY)
    all_dense = [c.score for c in sorted(fake_index.dense.search(FakeEmbedder().embed([QUERY])[0], 10_000, own=True),
                                         key=lambda c: c.index)]
    hits = retriever.search(QUERY, k=10)
    # BM25's weight is gated by how much of the query its best 5 matches cover (checked below)
    w_bm25 = s.bm25_weight * fake_index.bm25.coverage(QUERY, [fake_index.chunks.index(bm25[c].chunk)
                                                                for c in sorted(bm25, key=lambda c: bm25[c].rank)[:5]])
    assert 0 < w_bm25 <= s.bm25_weight
    for h in hits:
        assert h.bm25_rank is not None or h.dense_rank is not None
        if h.bm25_rank is not None:
            assert (h.bm25_rank, h.bm25_score) == (bm25[h.chunk.id].rank, bm25[h.chunk.id].score)
        else:
            assert h.chunk.id not in bm25
        if h.dense_rank is not None:
            assert (h.dense_rank, h.dense_score) == (dense[h.chunk.id].rank, dense[h.chunk.id].score)
        if fusion == "rrf":
            expected = sum(
                w / (s.rrf_k + r) for r, w in ((h.bm25_rank, w_bm25), (h.dense_rank, s.dense_weight)) if r
            )
        else:
            # a chunk outside a top-50 list counts as that list's 50th score (or 0: no shared term)
            b = h.bm25_score if h.bm25_rank else (sorted(bm25.values(), key=lambda x: x.rank)[-1].score
                                                   if len(bm25) == 50 else 0.0)
            d = h.dense_score if h.dense_rank else sorted(dense.values(), key=lambda x: x.rank)[-1].score
            expected = w_bm25 * (b - np.mean(all_bm25)) / np.std(all_bm25) + s.dense_weight * (
                d - np.mean(all_dense)
            ) / np.std(all_dense)
        assert h.fused_score == pytest.approx(expected, rel=1e-4)
    assert [h.fused_score for h in hits] == sorted((h.fused_score for h in hits), reverse=True)


def test_component_searches_fill_only_their_fields(retriever: HybridRetriever) -> None:
    b = retriever.search_bm25(QUERY, k=3)
    d = retriever.search_dense(QUERY, k=3)
    assert [h.rank for h in b] == [1, 2, 3] and all(
        h.dense_rank is None and h.score == h.bm25_score for h in b
    )
    assert [h.rank for h in d] == [1, 2, 3] and all(
        h.bm25_rank is None and h.score == h.dense_score for h in d
    )


def test_weights_from_settings_steer_the_fusion(fake_index: Index) -> None:
    bm25_only = HybridRetriever(fake_index, FakeEmbedder(), Settings(dense_weight=0.0))
    fused = [h.chunk.id for h in bm25_only.search(QUERY, k=3)]
    assert fused == [h.chunk.id for h in bm25_only.search_bm25(QUERY, k=3)]
    dense_only = HybridRetriever(fake_index, FakeEmbedder(), Settings(bm25_weight=0.0))
    assert [h.chunk.id for h in dense_only.search(QUERY, k=3)] == [
        h.chunk.id for h in dense_only.search_dense(QUERY, k=3)
    ]


def test_bm25_weight_follows_the_query_coverage_of_its_best_match(fake_index: Index) -> None:
    gated = HybridRetriever(fake_index, FakeEmbedder(), Settings(bm25_weight=2.0))
    plain = HybridRetriever(fake_index, FakeEmbedder(), Settings(bm25_weight=2.0, bm25_gate=False))
    top = fake_index.bm25.search(QUERY, 50)
    assert plain.bm25_weight(QUERY, top) == 2.0
    # LoRA's own chunk holds the query's rare terms: most of BM25's weight stays
    assert 1.0 < gated.bm25_weight(QUERY, top) < 2.0
    assert gated.bm25_weight(QUERY, top[10:]) < gated.bm25_weight(QUERY, top)
    assert gated.bm25_weight(QUERY, []) == 0.0
    # no weight at all: fused order is dense order
    no_match = HybridRetriever(fake_index, FakeEmbedder(), Settings(bm25_weight=0.0))
    assert [h.chunk.id for h in no_match.search(QUERY, k=5)] == [h.chunk.id for h in no_match.search_dense(QUERY, k=5)]


def test_candidates_bound_what_each_retriever_contributes(retriever: HybridRetriever) -> None:
    hits = retriever.search(QUERY, k=3, candidates=3)
    assert all((h.bm25_rank or 0) <= 3 and (h.dense_rank or 0) <= 3 for h in hits)
    every = retriever.search(QUERY, k=len(retriever.chunks))
    assert len(every) == len(retriever.chunks) and max(h.dense_rank or 0 for h in every) > 3


def test_an_expansion_moves_the_dense_query_but_not_bm25(retriever: HybridRetriever) -> None:
    q, extra = retriever.query_vector(QUERY), retriever.query_vector("mixture of experts routing")
    assert np.allclose(retriever.query_vector(QUERY, "  "), q)
    mixed = retriever.query_vector(QUERY, "mixture of experts routing")
    assert np.isclose(np.linalg.norm(mixed), 1.0)
    assert np.allclose(mixed, (q + extra) / np.linalg.norm(q + extra), atol=1e-6)
    plain, expanded = retriever.search(QUERY, k=10), retriever.search(QUERY, k=10, expansion="mixture of experts routing")
    assert [h.chunk.id for h in plain] != [h.chunk.id for h in expanded]
    by_id = {h.chunk.id: h for h in plain}
    assert all(h.bm25_score == by_id[h.chunk.id].bm25_score for h in expanded if h.chunk.id in by_id)


def test_stop_word_query_still_gets_dense_hits(retriever: HybridRetriever) -> None:
    assert retriever.search_bm25("what is the", k=5) == []
    assert len(retriever.search("what is the", k=5)) == 5


@pytest.mark.parametrize("query", ["", "   \n"])
def test_empty_query_is_a_bad_question(retriever: HybridRetriever, query: str) -> None:
    with pytest.raises(BadQuestionError):
        retriever.search(query)


def test_embedder_of_another_dimension_is_refused(fake_index: Index) -> None:
    with pytest.raises(StaleIndexError, match="--rebuild"):
        HybridRetriever(fake_index, FakeEmbedder(dim=32), Settings())


# ------------------------------------------------------------------------------- real model
@pytest.fixture(scope="session")
def real_retriever(tmp_path_factory: pytest.TempPathFactory) -> HybridRetriever:
    emb = SentenceTransformerEmbedder("default")  # the packaged all-MiniLM-L6-v2, loaded once
    s = Settings(corpus_dir=project_root() / "corpus", index_dir=Path(tmp_path_factory.mktemp("real-index")))
    built = project_root() / "indexes" / s.index_name
    if read_manifest(built) is not None:
        # Seed with the project's built index: open_index still checks it against the corpus and
        # this embedder, and re-embeds only what differs (embedding 400+ chunks costs ~30 s on CPU).
        shutil.copytree(built, s.index_dir / s.index_name)
    return HybridRetriever(open_index(s, emb, progress=False), emb, s)


def test_real_corpus_moe_routing_question_finds_load_balancing(real_retriever: HybridRetriever) -> None:
    hits = real_retriever.search(
        "How do I stop an MoE router from sending every token to a few experts?", k=3
    )
    assert any(
        (
            "mixture of experts" in f"{h.chunk.section} {h.chunk.text}".lower()
            or "moe" in h.chunk.section.lower()
        )
        and ("load balancing" in h.chunk.text.lower() or "auxiliary" in h.chunk.text.lower())
        for h in hits
    ), [(h.chunk.section, h.chunk.text[:80]) for h in hits]


def test_named_first_moves_only_chunks_named_what_is_asked() -> None:
    from studyrag.asking import asked_subject
    from studyrag.labels import chunk_names, named_first
    from studyrag.records import Chunk, Hit

    texts = {"a": ("**QLoRA (Quantized LoRA):** 4-bit weights.", "G › PEFT"), "b": ("Uses LoRA.", "G › LoRA"),
             "c": ("**Transformers:**\nAttention everywhere.", "G › Models"), "d": ("**LoRA**\nW = W0 + BA", "G › PEFT")}
    hits = [Hit(Chunk(i, "g.md", (t[1],), t[0], 0, 1), 10.0 - r, r) for r, (i, t) in enumerate(texts.items(), 1)]
    names = {h.chunk.id: chunk_names(h.chunk.text) for h in hits}

    def order(question: str) -> list[str]:
        return [h.chunk.id for h in named_first(hits, asked_subject(question), lambda h: names[h.chunk.id])]

    assert order("What is LoRA?") == ["d", "a", "b", "c"]  # "b" is only headed LoRA: chunk_names reads no heading
    assert order("what are transformers") == ["c", "a", "b", "d"]  # a plural finds the singular label
    assert order("What is quantized LoRA?") == ["a", "b", "c", "d"]  # the bracketed name counts too
    assert order("What does LoRA stand for?") == order("Tell me about LoRA.") == ["d", "a", "b", "c"]
    assert order("Describe the transformers") == order("what is meant by transformers") == ["c", "a", "b", "d"]
    assert order("How does LoRA work?") == ["d", "a", "b", "c"]  # asks what LoRA is and does
    assert order("What is quantized-LoRA?") == order("what is the quantized lora") == ["a", "b", "c", "d"]  # hyphens
    assert order("how do the transformers work") == ["c", "a", "b", "d"]
    assert order("Why does LoRA work?") == order("What is attention?") == ["a", "b", "c", "d"]
    assert order("How does LoRA work with 4-bit weights?") == ["a", "b", "c", "d"]  # a question about a use
    moved = named_first(hits, "lora", lambda h: names[h.chunk.id])
    assert [h.rank for h in moved] == [1, 2, 3, 4] and [h.named for h in moved] == [True, False, False, False]
    # an alias (the acronym of a spelt-out name) moves the chunks it names too, in fused order
    aliased = named_first(hits, "low-rank adaptation", lambda h: names[h.chunk.id], {"low rank adaptation": "lora"})
    assert [h.chunk.id for h in aliased] == ["d", "a", "b", "c"]
    assert [h.chunk.id for h in named_first(hits, "low rank adaptation", lambda h: names[h.chunk.id])] == list("abcd")
    # the alias of a plural is its singular's ("low-rank adaptations")
    assert [h.chunk.id for h in named_first(hits, "low rank adaptations", lambda h: names[h.chunk.id],
                                            {"low rank adaptation": "lora"})] == ["d", "a", "b", "c"]
    assert order("What are quantized LoRAs?") == ["a", "b", "c", "d"]


def test_acronym_aliases_only_for_an_acronym_spelt_out_one_way() -> None:
    from studyrag.labels import acronym_aliases

    headings = ["Mixture of Experts (MoE)", "Sparsely-Gated Mixture of Experts (MoE)", "DPO (Direct Preference Optimization)",
                "SAM (Segment Anything Model)", "Sharpness-Aware Minimization (SAM)", "Load Balancing (MoE)", "RAG"]
    assert acronym_aliases(headings) == {
        "mixture of experts": "moe", "sparsely gated mixture of experts": "moe", "direct preference optimization": "dpo"}


def test_real_corpus_a_spelt_out_name_finds_the_entry_headed_by_its_acronym(real_retriever: HybridRetriever) -> None:
    # the Modern guide's "Mixture of Experts (MoE)" has no passage of its own; the glossary's MoE
    # entry has a longer name ("Sparsely-Gated ..."), so only the acronym connects them
    for question in ("What is a mixture of experts?", "What are mixtures of experts?"):
        first = real_retriever.search(question, k=3)[0]
        assert first.chunk.path[-1] == "Sparsely-Gated Mixture of Experts (MoE)" and first.named, question
    plain = HybridRetriever(real_retriever.index, real_retriever.embedder, Settings(label_first=False))
    # without label_first a passage about MoE theory comes first, not the entry named MoE
    assert plain.search("What is a mixture of experts?", k=1)[0].chunk.path[-1] != "Sparsely-Gated Mixture of Experts (MoE)"


def test_real_corpus_what_is_lora_finds_the_chunk_labelled_lora_first(real_retriever: HybridRetriever) -> None:
    hits = real_retriever.search("What is LoRA?", k=5)
    assert hits[0].chunk.text.startswith("**LoRA (Low-Rank Adaptation):**") and hits[0].named
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5] and not any(h.named for h in hits[1:])
    # without the rule it is not in the top 5: chunks that only mention LoRA score higher
    plain = HybridRetriever(real_retriever.index, real_retriever.embedder, Settings(label_first=False))
    assert hits[0].chunk.id not in [h.chunk.id for h in plain.search("What is LoRA?", k=5)]
    # a question of another kind keeps fused order
    other = real_retriever.search("How does LoRA reduce memory?", k=5)
    assert not any(h.named for h in other)
    assert all(a.score >= b.score for a, b in zip(other, other[1:], strict=False))


def test_real_corpus_how_does_rlhf_work_starts_with_the_rlhf_entry(real_retriever: HybridRetriever) -> None:
    first = real_retriever.search("How does RLHF work?", k=3)[0]
    assert first.named and first.chunk.section == "Reinforcement Learning from Human Feedback (RLHF)"
    # fused order alone puts RLAIF, a variant, first
    plain = HybridRetriever(real_retriever.index, real_retriever.embedder, Settings(label_first=False))
    assert plain.search("How does RLHF work?", k=3)[0].chunk.id != first.chunk.id


def test_each_named_first_puts_one_passage_per_named_compared_subject_first() -> None:
    from studyrag.asking import compared
    from studyrag.labels import each_named_first
    from studyrag.records import Chunk, Hit

    names = {"a": {"iterative dpo"}, "b": {"dpo"}, "c": {"dpo"}, "d": set(), "e": {"ppo"}}
    hits = [Hit(Chunk(i, "g.md", (i,), i, 0, 1), 10.0 - r, r) for r, i in enumerate(names, 1)]

    def order(question: str) -> list[str]:
        pair = compared(question)
        return [h.chunk.id for h in each_named_first(hits, pair or (), lambda h: names[h.chunk.id])]

    for q in ("What is the difference between DPO and PPO?", "Compare PPO with DPO", "DPO vs. PPO",
              "How does DPO differ from PPO?", "What makes PPO different from the DPO?",
              # as students type it: no apostrophe or a typographic one, no "what is", a second question
              "whats the difference between dpo and ppo", "What’s the difference between DPO and PPO?",
              "difference between dpo and ppo?", "Explain the key differences between DPO and PPO.",
              "How do DPO and PPO differ in stability?", "How are DPO and PPO different?",
              "What is the difference between DPO and PPO, and which one needs a reward model?"):
        assert order(q) == ["b", "e", "a", "c", "d"], q  # the best of each side, in fused order
    assert order("What is the difference between DPO and KTO?") == ["b", "a", "c", "d", "e"]  # KTO: no passage
    assert order("What is the difference between SFT and KTO?") == ["a", "b", "c", "d", "e"]  # neither side
    # a noun after the last side belongs to both: "DPO and PPO training" compares DPO training with PPO training
    names.update({"b": {"dpo training"}, "e": {"ppo"}})
    assert order("What is the difference between DPO and PPO training?") == ["b", "e", "a", "c", "d"]
    # sides of equal length keep their words: "PPO training" is not a passage named "PPO"
    assert order("What is the difference between DPO training and PPO training?") == ["b", "a", "c", "d", "e"]
    assert compared("How does attention work?") is None and compared("What is DPO?") is None


def test_heading_names_only_for_a_heading_that_spells_out_an_acronym() -> None:
    from studyrag.labels import heading_names

    assert heading_names("GRPO (Group Relative Policy Optimization)") == {"grpo", "group relative policy optimization"}
    assert heading_names("Multi-head Latent Attention (MLA)") == {"mla", "multi-head latent attention"}
    assert heading_names("ALiBi (Attention with Linear Biases)") == {"alibi", "attention with linear biases"}
    assert heading_names("RLAIF (RL from AI Feedback)") == {"rlaif", "rl from ai feedback"}  # acronyms inside
    assert heading_names("KTO (Kahneman–Tversky Optimization)") == {"kto", "kahneman tversky optimization"}
    assert heading_names("Sparsely-Gated Mixture of Experts (MoE)") == {"moe", "sparsely-gated mixture of experts"}
    # the acronym inside the name: the whole, not the name alone (ViT has an entry of its own)
    assert heading_names("Chain-of-Thought (CoT) Prompting") == {"chain-of-thought prompting", "cot prompting"}
    assert heading_names("Vision Transformer (ViT) Variants") == {"vision transformer variants", "vit variants"}
    for heading in ("Mixtral 8x7B (Mistral AI)", "GPT-4 (Speculative - Unconfirmed)", "Sparse MoE (Layer)",
                    "Load Balancing (MoE) Loss", "Mistral (AI) Models", "Interview Questions", "", "Step (1)",
                    "Process Reward Models (PRM) vs Outcome Reward Models (ORM)"):
        assert heading_names(heading) == frozenset(), heading


def test_path_names_a_top_level_heading_whole_and_a_deeper_one_only_as_an_acronym() -> None:
    from studyrag.labels import path_names

    assert path_names(("Distributed Training (Data & Model Parallelism)",)) == {
        "distributed training", "distributed training data model parallelism"}
    assert path_names(("Interview Questions", "RAG")) == path_names(()) == frozenset()
    assert path_names(("Alignment", "Proximal Policy Optimization (PPO)")) == {"ppo", "proximal policy optimization"}


def test_real_corpus_what_is_x_finds_the_glossary_entry_headed_x(real_retriever: HybridRetriever) -> None:
    first = real_retriever.search("What is FlashAttention?", k=3)[0]
    assert first.chunk.path == ("FlashAttention",) and first.named
    plain = HybridRetriever(real_retriever.index, real_retriever.embedder, Settings(label_first=False))
    assert plain.search("What is FlashAttention?", k=1)[0].chunk.path != ("FlashAttention",)  # -2 and -3 first


def test_real_corpus_what_is_an_acronym_finds_the_section_that_spells_it_out(real_retriever: HybridRetriever) -> None:
    plain = HybridRetriever(real_retriever.index, real_retriever.embedder, Settings(label_first=False))
    for question, heading in (("What is DPO?", "Direct Preference Optimization (DPO)"),
                              ("What is RAG?", "Retrieval-Augmented Generation (RAG)"),
                              ("What is RLHF?", "Reinforcement Learning from Human Feedback (RLHF)"),
                              ("What is chain-of-thought prompting?", "Chain-of-Thought (CoT) Prompting")):
        first = real_retriever.search(question, k=3)[0]
        assert first.chunk.path[-1] == heading and first.named, (question, first.chunk.section)
        # fused order alone puts a look-alike first ("Iterative DPO", "Interview Questions › RAG", RLAIF,
        # "Graph of Thoughts")
        assert plain.search(question, k=1)[0].chunk.path[-1] != heading, question


def test_real_corpus_a_comparison_gets_both_sides_first(real_retriever: HybridRetriever) -> None:
    question = "What is the difference between DPO and PPO?"
    top = [h.chunk.path[-1] for h in real_retriever.search(question, k=5)]
    assert top[:2] == ["Direct Preference Optimization (DPO)", "Proximal Policy Optimization (PPO)"], top
    plain = HybridRetriever(real_retriever.index, real_retriever.embedder, Settings(label_first=False))
    assert "Proximal Policy Optimization (PPO)" not in [h.chunk.path[-1] for h in plain.search(question, k=5)]
    for casual in ("is DPO better than PPO?", "DPO or PPO?", "should I use DPO or PPO"):
        top = [h.chunk.path[-1] for h in real_retriever.search(casual, k=5)]
        # one of DPO's own sections (the glossary's or the techniques guide's), then PPO's
        assert "Direct Preference Optimization" in top[0] and top[1] == "Proximal Policy Optimization (PPO)", (casual, top)


def test_real_corpus_technical_token_query(real_retriever: HybridRetriever) -> None:
    hits = real_retriever.search("Q4_K_M", k=3)
    assert any("Q4_K_M" in h.chunk.text for h in hits)


class _CountingFake(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def embed(self, texts, *, batch_size: int = 32, progress: bool = False):
        self.calls += len(texts)
        return super().embed(texts)


def test_a_repeated_query_is_embedded_once(fake_index: Index) -> None:
    emb = _CountingFake()
    r = HybridRetriever(fake_index, emb, Settings())
    r.search(QUERY)
    r.search_dense(QUERY)
    r.search(QUERY, k=3)
    assert emb.calls == 1
    r.search("another question")
    assert emb.calls == 2
    uncached = HybridRetriever(fake_index, emb, Settings(), query_cache=0)
    uncached.search(QUERY)
    uncached.search(QUERY)
    assert emb.calls == 4


def test_dense_ranks_by_best_sentence_and_confidence_by_chunk_vectors(
    retriever: HybridRetriever, fake_index: Index
) -> None:
    import numpy as np

    from studyrag.store import sentence_texts

    emb = FakeEmbedder()
    chunk_vecs = emb.embed([c.embed_text for c in fake_index.chunks])
    # the chunk holding a sentence, asked that sentence: found by its sentence vector
    c = next(c for c in fake_index.chunks if len(sentence_texts(c)) >= 3)
    sentence = sentence_texts(c)[1]
    top = retriever.search_dense(sentence, k=1)[0]
    assert top.chunk == c and top.score == pytest.approx(1.0 - fake_index.dense.extra_margin, abs=1e-5)
    assert fake_index.dense.extra_margin == Settings().sentence_margin > 0
    # confidence ignores sentence vectors: the best cosine with a chunk's own vector
    q = emb.embed([QUERY])[0]
    assert retriever.confidence(QUERY) == pytest.approx(float(np.max(chunk_vecs @ q)), abs=1e-5)


def test_key_sentences_pick_each_sources_sentence_closest_to_the_question(
    retriever: HybridRetriever, fake_index: Index
) -> None:
    from studyrag.records import Chunk, Hit
    from studyrag.store import chunk_sentences

    several = [c for c in fake_index.chunks if len(chunk_sentences(c)) >= 3][:2]
    lone = Chunk("lone", "g.md", ("S",), "One sentence of several words only.", 0, 35)
    # not in the index, so its sentences have no stored vectors: they are embedded on the spot
    new = Chunk("new", "g.md", ("S",), "Routers pick two experts per token. A balance loss spreads tokens.", 0, 66)
    hits = [Hit(c, 1.0, rank) for rank, c in enumerate((*several, lone, new), 1)]
    # asked the second sentence of the first chunk, word for word
    question = chunk_sentences(several[0])[1]
    marks = retriever.key_sentences(question, hits)
    assert marks[several[0].id] == question
    assert marks[several[1].id] in chunk_sentences(several[1])
    assert lone.id not in marks  # a chunk of one sentence is its own best sentence: nothing to mark
    assert retriever.key_sentences("How does a balance loss spread tokens?", [hits[-1]]) == {
        "new": "A balance loss spreads tokens."
    }
    assert retriever.key_sentences(question, []) == {}


def test_key_sentences_mark_the_first_sentence_of_an_entry_labelled_what_is_asked(
    retriever: HybridRetriever, fake_index: Index
) -> None:
    import dataclasses

    from studyrag.records import Chunk, Hit
    from studyrag.store import chunk_sentences

    # the first chunk of its section, asked its second sentence word for word
    opener = next(
        c for c in fake_index.chunks if len(chunk_sentences(c)) >= 3 and retriever._opens_entry(c) and not c.text.startswith("**")
    )
    question = chunk_sentences(opener)[1]
    hit = Hit(opener, 1.0, 1)
    assert retriever.key_sentences(question, [hit])[opener.id] == question
    # labelled what the question asks about: the sentence its heading introduces
    named = dataclasses.replace(hit, named=True)
    assert retriever.key_sentences(question, [named])[opener.id] == chunk_sentences(opener)[0]
    assert retriever.closest_sentences(question, [named])[opener.id] == question
    # a later chunk of a long section starts mid-entry: its closest sentence stays
    later = dataclasses.replace(opener, id="later", start=opener.start + 1)
    assert not retriever._opens_entry(later)
    assert retriever.key_sentences(question, [dataclasses.replace(named, chunk=later)])["later"] == question
    # unless it opens with a bold label of its own
    text = "**LoRA (Low-Rank Adaptation):** Instead of updating all weights, inject adapters. - A: trainable matrix (r x k) here."
    labelled = Chunk("lab", "g.md", ("PEFT",), text, 10_000, 10_000 + len(text))
    assert retriever._opens_entry(labelled)
    marks = retriever.key_sentences("What is LoRA?", [Hit(labelled, 1.0, 1, named=True)])
    assert marks["lab"] == chunk_sentences(labelled)[0]
    # a comparison asks for the difference, not a definition: the closest sentence stays
    text = "**ORPO:** A preference objective with one loss for both stages. It drops the reference model that DPO needs."
    orpo = Hit(Chunk("orpo", "g.md", ("Alignment",), text, 20_000, 20_000 + len(text)), 1.0, 1, named=True)
    assert retriever.key_sentences("ORPO vs DPO reference model", [orpo])["orpo"] == chunk_sentences(orpo.chunk)[1]
    assert retriever.key_sentences("What is ORPO?", [orpo])["orpo"] == chunk_sentences(orpo.chunk)[0]


def test_real_corpus_what_is_lora_marks_the_sentence_that_defines_lora(real_retriever: HybridRetriever) -> None:
    # closest by vector, LoRA's entry had "- A: trainable matrix (r × k)" in bold (all of its
    # sentences sat 0.0-0.12 from the question) and the answer read "LoRA replaces all weights"
    question = "What is LoRA?"
    hits = real_retriever.search(question, k=4)
    assert hits[0].named and "LoRA" in hits[0].chunk.text
    assert real_retriever.key_sentences(question, hits)[hits[0].chunk.id].startswith("Instead of updating all weights")


def test_real_corpus_a_misspelt_comparison_keeps_its_closest_sentences(real_retriever: HybridRetriever) -> None:
    # search reads the question respelt, so the label rule puts DPO's and PPO's passages first as
    # a comparison's; the bold marks must read it the same way, not as two "What is X?" openers
    question = "What is the diference between DPO and PPO?"
    assert real_retriever.respell(question) == "What is the difference between DPO and PPO?"
    hits = real_retriever.search(question, k=4)
    assert any(h.named for h in hits)
    assert real_retriever.key_sentences(question, hits) == real_retriever.closest_sentences(question, hits)


def test_real_corpus_a_respelt_unanswerable_question_stays_below_the_gate(real_retriever: HybridRetriever) -> None:
    # "perceptron" is in neither the guides nor the English word list, so it is read as "perception";
    # the question must still be declined: its best chunk stays under the abstention threshold
    question = "Who invented the perceptron, and in what year?"
    assert real_retriever.respell(question) == "Who invented the perception, and in what year?"
    assert real_retriever.confidence(question) < Settings().abstain_threshold
    assert real_retriever.confidence(real_retriever.respell(question)) < Settings().abstain_threshold


def test_real_corpus_what_is_x_with_a_slip_finds_the_entry_named_x(real_retriever: HybridRetriever) -> None:
    for question in ("What is paged atention?", "What is Paged Attention?", "how does flash attention work"):
        first = real_retriever.search(question, k=3)[0]
        assert first.named and first.chunk.path[-1] in ("PagedAttention", "FlashAttention"), question
    plain = HybridRetriever(real_retriever.index, real_retriever.embedder, Settings(respell=False))
    assert plain.search("What is paged atention?", k=1)[0].chunk.path[-1] != "PagedAttention"


def test_what_x_does_and_how_x_is_trained_ask_about_x() -> None:
    from studyrag.asking import asked_subject

    assert asked_subject("What does the logit lens do?") == "logit lens"
    assert asked_subject("How is CLIP trained?") == "clip" and asked_subject("How are LoRA adapters used?") == "lora adapters"
    # a longer question about X is not a question about what X is
    assert asked_subject("How is CLIP trained on image-caption pairs?") is None


def test_x_in_y_finds_the_passage_named_x_when_it_speaks_of_y() -> None:
    from studyrag.asking import asked_subject
    from studyrag.labels import named_first
    from studyrag.records import Chunk, Hit

    texts = {"a": ("LLaVA", "**Training Strategy:** two stages, projector then end-to-end"),
             "b": ("Chunked Prefill", "Chunked prefill splits a long prompt in LLM serving."),
             "c": ("Reward Hacking", "The policy exploits a proxy reward.")}
    hits = [Hit(Chunk(c, "g.md", (p,), t, 0, len(t)), 1.0, i) for i, (c, (p, t)) in enumerate(texts.items(), 1)]
    names = {"a": frozenset({"training strategy"}), "b": frozenset({"chunked prefill"}),
             "c": frozenset({"reward hacking"})}

    def first(question: str) -> str:
        moved = named_first(hits, asked_subject(question), lambda h: names[h.chunk.id])
        return moved[0].chunk.id if moved[0].named else "-"

    assert first("What is chunked prefill in LLM serving?") == "b"
    assert first("What is the training strategy in DPO?") == "-"  # LLaVA's says nothing of DPO
    assert first("What is reward hacking and how does the KL penalty help against it?") == "c"
    assert first("What is reward hacking? Explain it simply.") == "c"
    assert first("What’s reward hacking, and how does the KL penalty help?") == "c"  # a second question after ", and"
    assert asked_subject("What is reward hacking and the KL penalty?") == "reward hacking and the kl penalty"


def test_a_bare_name_typed_as_the_query_is_asked_about() -> None:
    from studyrag.asking import asked_subject

    assert asked_subject("LoRA") == "lora" and asked_subject("kv cache?") == "kv cache"
    assert asked_subject("whats lora") == "lora"  # "what's" without its apostrophe
    # a question or a request is no name, nor is a sentence
    assert asked_subject("why is attention quadratic") is None
    assert asked_subject("list the routers") is None
    assert asked_subject("routers send tokens to a few experts") is None


@pytest.mark.parametrize(
    ("question", "subject"),
    [
        ("can you explain LoRA", "lora"),
        ("Could you please tell me what DPO is?", "dpo"),
        ("i dont understand what RLHF is", "rlhf"),
        ("I'm not sure what grokking means", "grokking"),
        ("help me understand speculative decoding", "speculative decoding"),
        ("ELI5 flash attention", "flash attention"),
        ("explain QLoRA like I'm five", "qlora"),
        ("explain QLoRA in simple terms", "qlora"),
        ("what do the guides say about mixture of experts", "mixture of experts"),
        ("summarize what the guides say about LoRA", "lora"),
        ("What does the glossary say about PagedAttention?", "pagedattention"),
        ("What is HNSW used for?", "hnsw"),
        ("so what is MoE anyway?", "moe"),
        ("what's DPO exactly?", "dpo"),
        ("What is meant by grokking in the guides?", "grokking"),
        ("I keep hearing about grokking, what is it?", "grokking"),
        ("I want to learn about LoRA", "lora"),
        ("give me a quick explanation of RAG", "rag"),
        ("can you explain how LoRA works", "lora"),
        ("how does speculative decoding actually work?", "speculative decoding"),
        ("why do we need RLHF?", "rlhf"),
        ("what's the point of a KV cache?", "kv cache"),
        ("when should I use QLoRA?", "qlora"),
        ("What problem does FlashAttention solve?", "flashattention"),
        ("walk me through how LoRA works", "lora"),
        ("why is gradient checkpointing useful?", "gradient checkpointing"),
        ("what does RAG help with?", "rag"),
        ("can u explain lora", "lora"),
        ("wat is lora", "lora"),
        ("LoRA - what is it?", "lora"),
        ("Briefly, what is QLoRA?", "qlora"),
        ("What is QLoRA, in short?", "qlora"),
        ("Define: QLoRA", "qlora"),
        ("QLoRA definition", "qlora"),
        ("what is QLoRA?? thx", "qlora"),
        ("What does U-Net do?", "u-net"),  # a "U" inside a name stays
    ],
)
def test_a_student_s_wrapping_of_what_is_x_is_read_as_what_is_x(question: str, subject: str) -> None:
    from studyrag.asking import asked_subject

    assert asked_subject(question) == subject


def test_wrapping_words_do_not_make_a_question_about_something_else_a_what_is_x() -> None:
    from studyrag.asking import asked_subject, compared

    assert asked_subject("Can you save memory by dropping old tokens?") is None  # no request to explain
    assert asked_subject("I read about MoE routers. How do they balance load?") is None
    assert asked_subject("could you explain why attention is quadratic") == "why attention is quadratic"  # as before
    assert compared("Hey, can you explain the difference between LoRA and QLoRA?") == ("lora", "qlora")


@pytest.mark.parametrize(
    ("question", "pair"),
    [
        ("is LoRA better than full fine-tuning?", ("lora", "full fine-tuning")),
        ("is GPTQ the same as AWQ?", ("gptq", "awq")),
        ("GPTQ or AWQ?", ("gptq", "awq")),
        ("which is better, DPO or PPO?", ("dpo", "ppo")),
        ("what's better: DPO or PPO?", ("dpo", "ppo")),
        ("should I use GPTQ or GGUF", ("gptq", "gguf")),
        ("can you compare LoRA and QLoRA", ("lora", "qlora")),
        ("LoRA compared to QLoRA", ("lora", "qlora")),
        ("when would I use RAG over fine-tuning?", ("rag", "fine-tuning")),
        ("Why use RAG instead of fine-tuning?", ("rag", "fine-tuning")),
        ("pros and cons of MoE vs dense models", ("moe", "dense models")),
        ("LoRA versus QLoRA: pros and cons", ("lora", "qlora")),
        ("LoRA vs. QLoRA - what's the difference?", ("lora", "qlora")),
        ("i can't decide between GPTQ and AWQ", ("gptq", "awq")),
    ],
)
def test_a_student_s_ways_of_asking_for_a_comparison_are_read_as_one(question: str, pair: tuple[str, str]) -> None:
    from studyrag.asking import compared

    assert compared(question) == pair


def test_an_or_inside_a_question_is_no_comparison() -> None:
    from studyrag.asking import compared

    assert compared("Can LoRA or QLoRA run on a CPU?") is None
    assert compared("Is there a way to make models faster or smaller?") is None
    assert compared("Do I need a GPU or can I use a CPU?") is None


def test_real_corpus_a_wrapped_what_is_x_finds_the_passage_named_x_first(real_retriever: HybridRetriever) -> None:
    for question in ("can you explain LoRA", "what do the guides say about LoRA", "i dont understand what LoRA is"):
        first = real_retriever.search(question, k=3)[0]
        assert first.named and first.chunk.text.startswith("**LoRA (Low-Rank Adaptation):**"), question


def test_real_corpus_a_bare_name_finds_the_passage_named_so_first(real_retriever: HybridRetriever) -> None:
    first = real_retriever.search("lora", k=3)[0]
    assert first.named and first.chunk.text.startswith("**LoRA (Low-Rank Adaptation):**")
    assert real_retriever.search("DPO", k=1)[0].chunk.path[-1] in (
        "Direct Preference Optimization (DPO)", "DPO (Direct Preference Optimization)")

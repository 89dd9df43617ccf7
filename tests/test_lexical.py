"""Tokenizer behaviour on technical tokens, and BM25Index against rank_bm25's reference scores."""

from __future__ import annotations

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from studyrag.errors import IndexError_
from studyrag.lexical import BM25Index, score_moments, tokenize


@pytest.mark.parametrize(
    ("text", "whole"),
    [
        ("Q4_K_M", "q4_k_m"),
        ("GPT-4", "gpt-4"),
        ("ZeRO-3", "zero-3"),
        ("Mixtral 8x7B", "8x7b"),
        ("β-VAE", "beta-vae"),
        ("Llama-3.1", "llama-3.1"),
    ],
)
def test_technical_tokens_stay_whole(text: str, whole: str) -> None:
    assert whole in tokenize(text)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("Q4_K_M", {"q4"}),
        ("GPT-4", {"gpt", "4"}),
        ("ZeRO-3", {"zero", "3"}),
        ("β-VAE", {"beta", "vae"}),
    ],
)
def test_technical_tokens_also_emit_parts(text: str, parts: set[str]) -> None:
    assert parts <= set(tokenize(text))


def test_spacing_variants_meet_the_compound() -> None:
    # a user typing "GPT 4" or "zero 3" shares terms with "GPT-4" / "ZeRO-3"
    assert set(tokenize("GPT 4")) <= set(tokenize("GPT-4"))
    assert set(tokenize("zero 3")) <= set(tokenize("ZeRO-3"))


def test_greek_letter_and_its_name_meet() -> None:
    assert tokenize("β-VAE") == tokenize("beta-VAE")
    # a Greek *word* is not spelled out letter by letter
    assert tokenize("λόγος") == ["λόγος"]
    assert tokenize("α = 0.5") == ["alpha", "0.5"]


def test_stemming_joins_word_forms() -> None:
    assert len(set(tokenize("quantized quantization quantizing"))) == 1
    assert tokenize("experts") == tokenize("expert")
    assert tokenize("fine-tuned") == tokenize("fine-tuning")


def test_numbers_are_not_stemmed_or_split() -> None:
    assert tokenize("1.5") == ["1.5"]
    assert tokenize("4bit") == ["4bit"]


def test_unicode_normalization() -> None:
    # NFKC folds full-width letters and ligatures to plain ones
    assert tokenize("ＧＰＴ-４") == tokenize("GPT-4")
    assert tokenize("ﬁne-tuning") == tokenize("fine-tuning")


def test_stop_words_and_question_boilerplate_are_dropped() -> None:
    assert tokenize("What is the") == []
    assert tokenize("How do I explain what it does?") == []
    assert tokenize("What is LoRA?") == ["lora"]
    assert tokenize("Don't the model's weights") == ["model", "weight"]


def test_single_letters_dropped_but_digits_kept() -> None:
    assert tokenize("top-k x y") == ["top-k", "top"]
    assert tokenize("Llama 3") == ["llama", "3"]


# ----------------------------------------------------------------------------------- BM25
CORPUS = [
    "Mixture of Experts routes each token to a few experts chosen by a router.",
    "Load balancing loss keeps the router from sending every token to the same experts.",
    "LoRA adds low-rank adapters to frozen weights for cheap fine-tuning.",
    "QLoRA fine-tunes a 4-bit quantized model with LoRA adapters.",
    "GGUF files store quantized weights such as Q4_K_M for llama.cpp.",
    "ZeRO-3 shards parameters, gradients and optimizer states across GPUs.",
    "Diffusion models denoise images step by step.",
    "",
]


@pytest.mark.parametrize(
    "query", ["router experts load balancing", "quantized LoRA", "Q4_K_M weights", "ZeRO-3", "model model"]
)
def test_bm25_scores_equal_rank_bm25(query: str) -> None:
    idx = BM25Index.build(CORPUS)
    ref = BM25Okapi([tokenize(t) for t in CORPUS])
    np.testing.assert_allclose(idx.scores(query), ref.get_scores(tokenize(query)), rtol=1e-5, atol=1e-6)


def test_bm25_moments_cover_every_document_even_unmatched_ones() -> None:
    idx = BM25Index.build(CORPUS)
    ref = BM25Okapi([tokenize(t) for t in CORPUS]).get_scores(tokenize("router experts"))
    assert score_moments(idx.scores("router experts")) == pytest.approx((ref.mean(), ref.std()), rel=1e-5)
    assert score_moments(idx.scores("what is the")) == (0.0, 0.0)  # only stop words: every score is 0


def test_bm25_search_ranks_the_matching_chunk_first() -> None:
    idx = BM25Index.build(CORPUS)
    assert idx.search("Q4_K_M", k=3)[0].index == 4
    assert idx.search("How does ZeRO-3 shard optimizer states?", k=3)[0].index == 5
    assert idx.search("quantization of a model", k=3)[0].index in (3, 4)
    top = idx.search("router load balancing", k=3)
    assert top[0].index == 1 and all(a.score >= b.score for a, b in zip(top, top[1:], strict=False))


def test_coverage_is_the_idf_share_of_the_query_one_document_holds(tmp_path) -> None:
    idx = BM25Index.build(CORPUS)
    n = len(CORPUS)
    idf = {t: np.log1p((n - df + 0.5) / (df + 0.5)) for t, df in (("lora", 2), ("diffus", 1), ("model", 2))}
    # "LoRA diffusion models": doc 2 holds lora only, doc 6 diffus and model, doc 3 lora and model
    share = {d: sum(idf[t] for t in held) / sum(idf.values())
             for d, held in ((2, ["lora"]), (6, ["diffus", "model"]), (3, ["lora", "model"]))}
    query = "LoRA diffusion models"
    for d, expected in share.items():
        assert idx.coverage(query, [d]) == pytest.approx(expected)
    assert idx.coverage(query, [2, 6, 3]) == pytest.approx(max(share.values()))  # the best one counts
    assert idx.coverage(query, [0]) == 0.0 and idx.coverage(query, []) == 0.0
    assert idx.coverage("what is the xyzzy", [0, 1]) == 0.0  # no indexed term: nothing to cover
    assert idx.coverage("ZeRO-3 optimizer states", [5]) == 1.0
    idx.save(tmp_path)
    assert BM25Index.load(tmp_path).coverage(query, [6]) == pytest.approx(share[6])


def test_bm25_search_returns_only_positive_scores_and_respects_k() -> None:
    idx = BM25Index.build(CORPUS)
    assert idx.search("what is the", k=5) == []
    assert idx.search("nothing matches xyzzy", k=5) == []
    assert len(idx.search("experts token router weights", k=2)) == 2
    assert idx.search("experts", k=0) == []


def test_bm25_save_load_round_trip(tmp_path) -> None:
    idx = BM25Index.build(CORPUS, k1=1.2, b=0.7)
    paths = idx.save(tmp_path)
    assert all(p.is_file() for p in paths)
    back = BM25Index.load(tmp_path)
    assert (back.k1, back.b, back.n_docs) == (1.2, 0.7, len(CORPUS))
    for q in ["router experts", "Q4_K_M", "LoRA adapters"]:
        np.testing.assert_array_equal(back.scores(q), idx.scores(q))


def test_bm25_load_of_damaged_state_raises_index_error(tmp_path) -> None:
    BM25Index.build(CORPUS).save(tmp_path)
    (tmp_path / "bm25.npz").write_bytes(b"not a numpy file")
    with pytest.raises(IndexError_, match="--rebuild"):
        BM25Index.load(tmp_path)


def test_bm25_needs_documents() -> None:
    with pytest.raises(IndexError_):
        BM25Index.build([])
    # documents without a single term still make a (useless but valid) index
    assert BM25Index.build(["the", "a"]).search("the", k=2) == []


def test_chinese_and_japanese_text_is_searchable_without_spaces() -> None:
    # a run of these characters used to be one term the length of a sentence, matching nothing
    docs = [
        "过拟合是指模型在训练集上表现很好，但在测试集上表现很差。",
        "梯度下降通过沿着损失函数梯度的反方向更新参数来最小化损失。",
        "過学習とは、モデルが訓練データに過度に適合することです。",
        "Gradient descent moves the weights against the gradient.",
    ]
    idx = BM25Index.build(docs)
    assert idx.search("什么是过拟合？", k=1)[0].index == 0
    assert idx.search("梯度下降的学习率", k=1)[0].index == 1
    assert idx.search("過学習とは何ですか", k=1)[0].index == 2
    assert idx.search("gradient descent", k=1)[0].index == 3  # English as before
    assert tokenize("用GPT-4模型") == ["用", "gpt-4", "gpt", "4", "模型"]

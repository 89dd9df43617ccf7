"""Evaluation metrics on hand-worked examples; every expected number is worked out in a comment."""

from __future__ import annotations

import doctest
import math

import pytest

from studyrag.evaluation import claims, grounding, judges, metrics, normalize, relevance
from studyrag.evaluation.claims import split_claims
from studyrag.evaluation.metrics import (
    ContextScores,
    Evidence,
    abstention_scores,
    accuracy,
    citation_scores,
    cohen_kappa,
    compare_runs,
    context_scores,
    evidence_recall,
    fact_present,
    faithfulness,
    key_fact_recall,
    locate,
    mean_scores,
    paired_bootstrap,
    relevant_chunks,
    retrieval_metrics,
    retrieval_metrics_per_query,
    retrieval_scores,
)
from studyrag.records import Chunk


@pytest.mark.parametrize("module", [normalize, relevance, claims, metrics, grounding, judges])
def test_doctests_pass(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


# ---------------------------------------------------------------------------------------------
# Evidence → relevant chunks

DOC = "Alpha beta gamma. Delta epsilon zeta. Eta theta iota. Kappa lambda mu."  # 70 characters


def _chunk(cid: str, start: int, end: int, source: str = "g.md") -> Chunk:
    return Chunk(id=cid, source=source, path=("S",), text=DOC[start:end], start=start, end=end)


# c1 "Alpha beta gamma. " [0, 18), c2 "Delta epsilon zeta. " [18, 38), c3 "Eta theta iota. " [38, 54),
# c4 "Kappa lambda mu." [54, 70); c5 is the same text in another guide.
CHUNKS = [_chunk("c1", 0, 18), _chunk("c2", 18, 38), _chunk("c3", 38, 54), _chunk("c4", 54, 70)]
OTHER = _chunk("c5", 0, 18, source="other.md")


def test_locate_ignores_case_whitespace_and_emphasis():
    assert locate(DOC, "BETA   gamma") == (6, 16)
    assert locate("**Beta** gamma", "beta gamma") == (2, 14)
    assert locate(DOC, "omega") is None


def test_relevant_chunks_containment_straddling_and_sources():
    evidence = [
        {"source": "g.md", "snippet": "beta  GAMMA"},  # inside c1 only
        # "zeta. Eta theta" spans [32, 47): c2 covers [32, 38) = 6/15 = 0.4, c3 covers [38, 47) = 9/15 = 0.6
        {"source": "g.md", "snippet": "zeta. Eta theta"},
        # "gamma. Delta epsilon" spans [11, 31): c1 covers [11, 18) = 7/20 = 0.35, c2 [18, 31) = 13/20 = 0.65
        {"source": "g.md", "snippet": "gamma. Delta epsilon"},
        {"source": "g.md", "snippet": "not in the guide"},
    ]
    rel = relevant_chunks(evidence, CHUNKS + [OTHER], documents={"g.md": DOC, "other.md": DOC[:18]})
    assert rel == {0: {"c1"}, 1: {"c3"}, 2: {"c2"}, 3: set()}  # c5 (other guide) never counts


def test_relevant_chunks_partial_overlap_threshold_and_fallback():
    # "iota. Kappa" spans [48, 59): c3 covers [48, 54) = 6/11 = 0.55, c4 covers [54, 59) = 5/11 = 0.45
    ev = [Evidence("g.md", "iota. Kappa")]
    assert relevant_chunks(ev, CHUNKS, {"g.md": DOC}, min_overlap=0.4) == {0: {"c3", "c4"}}
    assert relevant_chunks(ev, CHUNKS, {"g.md": DOC}, min_overlap=0.5) == {0: {"c3"}}
    # Nothing reaches 0.9, so the chunk with the largest overlap (c3, 0.55) still counts.
    assert relevant_chunks(ev, CHUNKS, {"g.md": DOC}, min_overlap=0.9) == {0: {"c3"}}


def test_relevant_chunks_rebuilds_text_from_chunks_without_documents():
    ev = [Evidence("g.md", "zeta. Eta theta")]
    assert relevant_chunks(ev, CHUNKS) == relevant_chunks(ev, CHUNKS, {"g.md": DOC}) == {0: {"c3"}}


def test_evidence_from_dict_needs_a_snippet():
    assert Evidence.from_dict({"source": "g.md", "snippet": "x"}) == Evidence("g.md", "x")
    with pytest.raises(ValueError, match="snippet"):
        Evidence.from_dict({"source": "g.md"})


# ---------------------------------------------------------------------------------------------
# Retrieval


def test_evidence_recall_counts_each_evidence_item_once():
    rel = {0: {"a", "b"}, 1: {"c"}}
    ranked = ["x", "a", "b", "c"]
    assert evidence_recall(rel, ranked, 1) == 0.0
    assert evidence_recall(rel, ranked, 2) == 0.5  # item 0 found through "a"
    assert evidence_recall(rel, ranked, 3) == 0.5  # "b" is item 0 again: no gain
    assert evidence_recall(rel, ranked, 4) == 1.0
    with pytest.raises(ValueError):
        evidence_recall({}, ranked, 3)


def test_retrieval_scores_hand_worked():
    relevant = {"q1": {0: {"a", "b"}, 1: {"c"}}, "q2": {0: {"d"}}, "q3": {}}
    ranked = {"q1": ["x", "a", "c", "b"], "q2": ["y", "z"], "q3": ["a"]}
    s = retrieval_scores(relevant, ranked, ks=(1, 3))
    assert set(s) == {"q1", "q2"}  # q3 has no evidence (unanswerable): skipped
    q1 = s["q1"]
    assert q1["recall@1"] == 0.0 and q1["recall@3"] == 1.0  # a (item 0) at 2, c (item 1) at 3
    assert q1["chunk_recall@3"] == pytest.approx(2 / 3)  # a and c of {a, b, c}
    assert q1["mrr@10"] == pytest.approx(0.5)  # first relevant at rank 2
    # DCG = 1/log2(3) + 1/log2(4) + 1/log2(5) = 0.6309 + 0.5 + 0.4307 = 1.5616
    # IDCG = 1 + 1/log2(3) + 1/log2(4) = 2.1309  ->  nDCG = 0.7328
    assert q1["ndcg@10"] == pytest.approx(1.5616 / 2.1309, abs=1e-4)
    assert all(v == 0.0 for v in s["q2"].values())
    assert mean_scores(s)["recall@3"] == 0.5  # (1 + 0) / 2


def test_retrieval_metrics_with_ranx_means():
    qrels = {"q1": {"a": 1, "b": 1}, "q2": {"c": 1}}
    run = {"q1": {"a": 3.0, "x": 2.0, "b": 1.0}, "q2": {"y": 2.0, "c": 1.0}}
    m = retrieval_metrics(qrels, run, ks=(1, 3))
    assert m["recall@1"] == pytest.approx(0.25)  # q1: 1/2, q2: 0/1
    assert m["recall@3"] == pytest.approx(1.0)
    assert m["mrr@10"] == pytest.approx(0.75)  # (1 + 1/2) / 2


def test_per_query_scores_stay_with_their_query_and_empty_runs_score_zero():
    # ranx sorts query ids internally: "zeta" must keep its own score, not alpha's
    qrels = {"zeta": {"z": 1}, "alpha": {"a": 1}, "mid": {"m": 1}}
    run = {"zeta": {"z": 2.0, "x": 1.0}, "alpha": {"x": 2.0, "a": 1.0}, "mid": {}}
    per_query = retrieval_metrics_per_query(qrels, run, ks=(1,))
    assert per_query["zeta"]["mrr@10"] == 1.0 and per_query["alpha"]["mrr@10"] == 0.5
    assert per_query["mid"]["mrr@10"] == 0.0  # no results at all
    assert retrieval_metrics_per_query(qrels, {}, ks=(1,))["zeta"] == {
        "recall@1": 0.0,
        "mrr@10": 0.0,
        "ndcg@10": 0.0,
    }


def test_compare_runs_finds_the_better_run():
    qrels = {f"q{i}": {"rel": 1} for i in range(10)}
    good = {f"q{i}": {"rel": 3.0, "x": 2.0, "y": 1.0} for i in range(10)}
    # two queries at rank 1, eight at rank 3: MRR = (2 * 1 + 8 / 3) / 10 = 0.4667
    bad = {
        f"q{i}": ({"rel": 3.0, "x": 2.0} if i < 2 else {"x": 3.0, "y": 2.0, "rel": 1.0}) for i in range(10)
    }
    out = compare_runs(qrels, {"good": good, "bad": bad}, metrics=["mrr@10"])
    assert out["scores"]["good"]["mrr@10"] == pytest.approx(1.0)
    assert out["scores"]["bad"]["mrr@10"] == pytest.approx(0.4667, abs=1e-4)
    p = out["p_values"]["good"]["bad"]["mrr@10"]
    assert p == out["p_values"]["bad"]["good"]["mrr@10"] and p < 0.01


def test_context_scores_hand_worked():
    # prompt chunks a, b, c, d; gold: item 0 -> {a, b}, item 1 -> {z}
    # precision = |{a, b}| / 4 = 0.5; recall = 1 of 2 items = 0.5
    assert context_scores({0: {"a", "b"}, 1: {"z"}}, ["a", "b", "c", "d"]) == ContextScores(0.5, 0.5)
    assert context_scores({0: {"a"}}, []) == ContextScores(None, 0.0)


# ---------------------------------------------------------------------------------------------
# Correctness


@pytest.mark.parametrize(
    ("answer", "fact", "present"),
    [
        ("Mixtral uses eight experts [1].", "8 experts", True),  # number words
        ("It was trained on 1000 GPUs.", "1,000 GPUs", True),  # digit grouping
        ("A 7 B model", "7B model", True),  # spacing of units
        ("a 7 billion parameter model", "7B parameters", True),  # scale words, plural
        ("Mixtral uses 18 experts.", "8 experts", False),  # a raw substring would match "8 experts"
        ("It uses top-2 routing.", "top-1 routing", False),
        ("The weights of the adapter are trained.", "trained adapter weights", True),  # order-free
        ("Low rank adaptation", "low-rank adaptation", True),  # hyphens
        ("ﬁne-tuning", "Fine tuning", True),  # unicode ligature, case
        ("LoRA is cheap [1].", "1", False),  # citation marks are not numbers
        ("It is what it is.", "it is", True),  # stop words only: normalized substring
    ],
)
def test_fact_present(answer, fact, present):
    assert fact_present(answer, fact) is present


def test_key_fact_recall_share():
    answer = "QLoRA quantizes the frozen base model to 4 bits and trains LoRA adapters."
    facts = ["4-bit base model", "LoRA adapters", "paged optimizers"]
    assert key_fact_recall(answer, facts) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        key_fact_recall(answer, [])


# ---------------------------------------------------------------------------------------------
# Abstention, agreement, bootstrap


def test_abstention_scores_hand_worked():
    abstained = [True, True, False, False, True, False]
    answerable = [False, False, False, True, True, True]
    s = abstention_scores(abstained, answerable)
    assert s.abstention_rate == pytest.approx(2 / 3)  # 2 of the 3 unanswerable
    assert s.false_abstention_rate == pytest.approx(1 / 3)  # 1 of the 3 answerable
    assert abstention_scores([False], [True]).abstention_rate is None


def test_cohen_kappa_hand_worked_table():
    # both yes 4, a yes/b no 2, a no/b yes 1, both no 3 (n = 10)
    a = [1] * 4 + [1] * 2 + [0] * 1 + [0] * 3
    b = [1] * 4 + [0] * 2 + [1] * 1 + [0] * 3
    # p_o = 7/10; p_yes(a) = 6/10, p_yes(b) = 5/10; p_e = .6 * .5 + .4 * .5 = .5; kappa = .2 / .5 = .4
    assert accuracy(a, b) == pytest.approx(0.7)
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa([1, 0, 1, 0], [0, 1, 0, 1]) == pytest.approx(-1.0)
    assert math.isnan(cohen_kappa([1, 1], [1, 1]))
    with pytest.raises(ValueError):
        cohen_kappa([1], [1, 0])


def test_paired_bootstrap():
    assert paired_bootstrap([0.5, 1.0], [0.5, 1.0], n=200) == (0.0, 0.0, 0.0, 1.0)
    # every resample of a constant difference is that difference: CI collapses, p = 1 / (n + 1)
    assert paired_bootstrap([1.0] * 5, [0.0] * 5, n=99) == (1.0, 1.0, 1.0, 0.01)
    a, b = [1, 0, 1, 1, 0, 1], [0, 0, 1, 0, 0, 1]  # differences 1, 0, 0, 1, 0, 0: mean 1/3
    mean, lo, hi, p = paired_bootstrap(a, b, n=2000, seed=1)
    assert mean == pytest.approx(1 / 3) and 0.0 <= lo < mean < hi <= 1.0
    assert 0.0 < p < 1.0
    assert paired_bootstrap(a, b, n=2000, seed=1) == (mean, lo, hi, p)  # seeded: reproducible


# ---------------------------------------------------------------------------------------------
# Citations (ALCE) and faithfulness with a stub judge

KEYWORDS = ("alpha", "beta", "gamma", "delta")


class KeywordJudge:
    """Supports a claim iff the evidence holds every keyword the claim mentions."""

    id = "keywords"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def supports(self, claim: str, evidence: str) -> bool:
        self.calls.append((claim, evidence))
        needed = [k for k in KEYWORDS if k in claim.lower()]
        return bool(needed) and all(k in evidence for k in needed)

    def score(self, claim: str, evidence: str) -> float:
        return float(self.supports(claim, evidence))


SOURCES = ["alpha", "beta", "gamma", "alpha beta"]


def test_citation_scores_follow_alce():
    answer = (
        "This needs alpha [1]. "  # joint "alpha" supports: recall 1, its one citation precise
        "This needs alpha and beta [1][2]. "  # neither alone, both jointly: recall 1, precision 1, 1
        "This needs alpha too [1][3]. "  # [3] alone fails and [1] without it supports: [3] irrelevant
        "This needs alpha again [1][4]. "  # each alone supports: both precise (ALCE keeps redundancy)
        "This needs gamma [2]. "  # cited source lacks it: recall 0, precision 0
        "This needs beta [7]. "  # out of range (4 sources): recall 0, precision 0
        "This needs delta."  # no citation: recall 0
    )
    s = citation_scores(answer, SOURCES, KeywordJudge())
    assert [x.recall for x in s.sentences] == [1, 1, 1, 1, 0, 0, 0]
    assert [x.precision for x in s.sentences] == [(1,), (1, 1), (1, 0), (1, 1), (0,), (0,), ()]
    assert s.recall == pytest.approx(4 / 7)
    assert s.n_citations == 9 and s.precision == pytest.approx(6 / 9)


def test_citation_recall_is_joint_with_a_chunkwise_fallback_for_long_evidence():
    judge = KeywordJudge()
    joint = citation_scores("This needs alpha and beta [1][2].", SOURCES, judge)
    assert judge.calls[0] == ("This needs alpha and beta.", "alpha\nbeta")  # marks stripped, joined
    assert joint.recall == 1.0
    # joined text (10 chars) over the limit: judged chunk by chunk, and no single chunk has both
    chunkwise = citation_scores(
        "This needs alpha and beta [1][2].", SOURCES, KeywordJudge(), max_joint_chars=5
    )
    assert chunkwise.recall == 0.0 and chunkwise.precision == 0.0


def test_citation_scores_of_an_empty_answer_are_zero():
    s = citation_scores("", SOURCES, KeywordJudge())
    assert (s.recall, s.precision, s.n_sentences, s.n_citations) == (0.0, 0.0, 0, 0)


def test_faithfulness_supported_share_and_sources():
    answer = "The method needs alpha [1]. It also needs gamma here; it needs beta as well."
    f = faithfulness(answer, ["alpha text", "beta text"], KeywordJudge())
    assert [c.claim for c in f.claims] == [
        "The method needs alpha.",
        "It also needs gamma here.",
        "it needs beta as well.",
    ]
    assert [(c.supported, c.source) for c in f.claims] == [(True, 1), (False, None), (True, 2)]
    assert f.score == pytest.approx(2 / 3) and f.n_supported == 2
    assert faithfulness("", ["alpha"], KeywordJudge()).score is None


def test_split_claims_is_conservative():
    assert split_claims("LoRA freezes W, and it trains two small matrices.") == [
        "LoRA freezes W.",
        "it trains two small matrices.",
    ]
    assert split_claims("MoE layers use routers, experts, and gates.") == [
        "MoE layers use routers, experts, and gates."
    ]
    assert split_claims("## Overview\nHere is how it works:\nWhat is LoRA?") == []


class ScriptedGenerator:
    """Returns canned replies in order and records what it was asked."""

    name = "scripted"

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.requests: list[dict] = []

    def generate(self, messages, *, max_tokens, temperature, json_schema=None, grammar=None) -> str:
        self.requests.append({"messages": messages, "json_schema": json_schema, "temperature": temperature})
        return self.replies.pop(0)


def test_llm_claim_splitter_uses_a_schema_and_falls_back():
    gen = ScriptedGenerator('{"claims": ["LoRA freezes W.", "LoRA trains A and B."]}', "not json")
    splitter = claims.LLMClaimSplitter(gen)
    assert splitter("LoRA freezes W and trains A and B [1].") == ["LoRA freezes W.", "LoRA trains A and B."]
    req = gen.requests[0]
    assert req["json_schema"]["required"] == ["claims"] and req["temperature"] == 0.0
    assert "[1]" not in req["messages"][-1].content
    assert splitter("The router picks two experts per token.") == ["The router picks two experts per token."]
    assert splitter.fallbacks == 1

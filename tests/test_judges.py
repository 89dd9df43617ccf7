"""Support judges on small, clear cases; the LLM judge with a scripted generator (and, slow, the real model)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from studyrag.evaluation.judges import (
    LexicalFeatures,
    LexicalJudge,
    LLMJudge,
    SupportJudge,
    evidence_windows,
    negation_scopes,
)
from studyrag.fakes import FakeEmbedder, KeepsCache

MOE = "Mixtral 8x7B routes each token to two of its eight experts in every layer."
QLORA = "QLoRA combines 4-bit quantization of the frozen base model with LoRA adapters trained in higher precision."
GQA = (
    "Grouped-query attention shares key and value heads across groups of query heads, reducing KV-cache size."
)
PAGED = (
    "PagedAttention stores the KV cache in fixed-size non-contiguous blocks, instead of requiring one "
    "contiguous allocation per sequence."
)


@pytest.fixture(scope="module")
def judge() -> LexicalJudge:
    return LexicalJudge(threshold=0.65)


@pytest.mark.parametrize(
    ("claim", "evidence", "supported"),
    [
        # paraphrase and verbatim
        ("Mixtral sends every token to 2 of its experts.", MOE, True),
        ("QLoRA quantizes the frozen base model to 4 bits and trains LoRA adapters.", QLORA, True),
        ("GQA lets groups of query heads share key and value heads.", GQA, True),  # acronym spelled out
        # numbers must match as numbers
        ("Mixtral sends every token to 3 of its experts.", MOE, False),
        ("QLoRA quantizes the frozen base model to 8 bits.", QLORA, False),
        ("Mixtral routes each token to two experts.", "Mixtral routes each token to 2 experts.", True),
        # negation: the claim negates what the evidence states, or asserts what it rules out
        ("Mixtral does not route tokens to experts.", MOE, False),
        ("PagedAttention requires one contiguous allocation per sequence.", PAGED, False),
        ("PagedAttention keeps the KV cache in blocks that are not contiguous.", PAGED, True),
        # swapped or invented names
        ("The Switch Transformer routes each token to two of its eight experts.", MOE, False),
        ("QLoRA combines 4-bit quantization with DoRA adapters.", QLORA, False),
        # absolute claims the evidence does not make
        ("QLoRA always trains adapters in higher precision.", QLORA, False),
        # unrelated
        ("Diffusion models denoise images step by step.", MOE, False),
    ],
)
def test_lexical_judge_clear_cases(judge, claim, evidence, supported):
    assert judge.supports(claim, evidence) is supported


def test_lexical_judge_reports_why(judge):
    f = judge.features("Mixtral sends every token to 3 experts.", MOE)
    assert f.missing_numbers == ("#3",) and f.hard_fail
    f = judge.features("The Switch Transformer routes each token to two experts.", MOE)
    assert f.missing_entities == ("Switch", "Transformer")
    assert judge.features("Mixtral does not route tokens.", MOE).negation_mismatch
    assert judge.score("Mixtral does not route tokens.", MOE) == 0.0


def test_lexical_threshold_is_a_constructor_argument():
    claim = "Mixtral routes each token to two experts using a learned gate."  # 5 of 7 terms covered
    f = LexicalJudge().features(claim, MOE)
    assert f.local_coverage == pytest.approx(5 / 7) and not f.hard_fail
    assert LexicalJudge(threshold=0.7).supports(claim, MOE)
    assert not LexicalJudge(threshold=0.75).supports(claim, MOE)


def test_lexical_judge_blends_embedding_cosine():
    embedder = FakeEmbedder()
    judge = LexicalJudge(threshold=0.5, embed=embedder.embed, embed_weight=0.25)
    claim = "Mixtral routes each token to two experts."
    f = judge.features(claim, MOE)
    vectors = embedder.embed([claim, MOE])
    assert f.cosine == pytest.approx(float(vectors[0] @ vectors[1]), abs=1e-6)
    assert judge.score(claim, MOE) == pytest.approx(0.75 * f.local_coverage + 0.25 * f.cosine)
    # hard checks still win over a high cosine
    assert judge.combine(LexicalFeatures(1.0, 1.0, 1.0, ("#3",), (), False)) == 0.0
    assert "cos0.25" in judge.id


def test_judges_follow_the_protocol():
    assert isinstance(LexicalJudge(), SupportJudge)
    assert isinstance(LLMJudge(ScriptedGenerator()), SupportJudge)


def test_negation_scopes_stop_at_punctuation_and_ignore_not_only():
    negated, affirmed = negation_scopes(
        "Top-k sends tokens to k experts instead of to every expert. It is sparse."
    )
    assert negated == {"every", "expert"} and {"spars", "token"} <= affirmed  # stemmed
    assert negation_scopes("It is not only fast but also small.")[0] == set()


def test_evidence_windows_cover_every_sentence_with_overlap():
    text = "One two three. Four five six. Seven eight nine. Ten eleven twelve."
    # sentences of 14, 14, 17 and 18 characters: windows of at most 36, one sentence shared
    windows = evidence_windows(text, max_chars=36)
    assert windows == [
        "One two three. Four five six.",
        "Four five six. Seven eight nine.",
        "Seven eight nine. Ten eleven twelve.",
    ]
    assert all(len(w) <= 36 for w in windows)
    assert evidence_windows("short", max_chars=100) == ["short"]


# ---------------------------------------------------------------------------------------------
# LLM judge with a scripted generator


class ScriptedGenerator:
    """Says supported iff the evidence in the prompt contains ``keyword``; records every request."""

    name = "scripted-model"

    def __init__(self, keyword: str = "experts", reply: str | None = None) -> None:
        self.keyword = keyword
        self.reply = reply
        self.requests: list[dict] = []

    def generate(self, messages, *, max_tokens, temperature, json_schema=None, grammar=None) -> str:
        self.requests.append({"messages": messages, "temperature": temperature, "json_schema": json_schema})
        if self.reply is not None:
            return self.reply
        evidence = messages[-1].content.split("Claim:")[0]
        return json.dumps({"supported": self.keyword in evidence})


def test_llm_judge_asks_aside_so_the_answer_prompts_cache_stays():
    class Keeping(KeepsCache, ScriptedGenerator):
        def generate(self, messages, **kwargs) -> str:
            assert self.inside  # a verdict never evicts the cached answer prompt (``generate.aside``)
            return super().generate(messages, **kwargs)

    gen = Keeping()
    assert LLMJudge(gen).supports("Mixtral uses two experts [1].", MOE)
    assert len(gen.requests) == 1 and not gen.inside


def test_llm_judge_prompt_schema_and_cache():
    gen = ScriptedGenerator()
    judge = LLMJudge(gen)
    assert judge.supports("Mixtral uses two experts [1].", MOE)
    assert not judge.supports("QLoRA uses 4 bits.", QLORA)
    req = gen.requests[0]
    assert req["temperature"] == 0.0
    assert req["json_schema"] == {
        "type": "object",
        "properties": {"supported": {"type": "boolean"}},
        "required": ["supported"],
    }
    prompt = req["messages"][-1].content
    assert MOE in prompt and "Claim: Mixtral uses two experts." in prompt  # citation marks stripped
    assert "states or directly implies" in req["messages"][0].content
    judge.supports("Mixtral uses two experts [1].", MOE)
    assert len(gen.requests) == 2  # the repeated pair came from the cache
    assert judge.score("Mixtral uses two experts.", MOE) == 1.0 and judge.id == "llm:scripted-model:v1"


def test_llm_judge_reads_long_evidence_window_by_window():
    gen = ScriptedGenerator()
    evidence = (
        " ".join(f"Filler sentence number {i} about nothing." for i in range(40)) + " Mixtral has experts."
    )
    judge = LLMJudge(gen, max_evidence_chars=300)
    assert judge.supports("Mixtral has experts.", evidence)  # only the last window holds the fact
    assert len(gen.requests) > 1
    assert all(len(r["messages"][-1].content.split("Claim:")[0]) < 400 for r in gen.requests)


def test_llm_judge_cache_file_survives_a_restart(tmp_path: Path):
    path = tmp_path / "cache" / "verdicts.json"
    first = LLMJudge(ScriptedGenerator(), cache_path=path)
    assert first.supports("Mixtral uses experts.", MOE)
    assert path.is_file() and len(json.loads(path.read_text())) == 1
    gen = ScriptedGenerator(reply='{"supported": false}')
    second = LLMJudge(gen, cache_path=path)
    assert second.supports("Mixtral uses experts.", MOE) and gen.requests == []


@pytest.mark.parametrize(
    ("reply", "verdict", "failures"),
    [
        ('{"supported": true}', True, 0),
        ('Sure! {"supported" : false, "why": "x"}', False, 0),  # not JSON, but the verdict is readable
        ("I think so", False, 1),
        ('{"supported": "yes"}', False, 1),
    ],
)
def test_llm_judge_parsing(reply, verdict, failures):
    judge = LLMJudge(ScriptedGenerator(reply=reply))
    assert judge.supports("A claim here.", "Some evidence.") is verdict
    assert judge.parse_failures == failures


def test_llm_judge_skips_empty_inputs():
    gen = ScriptedGenerator()
    assert not LLMJudge(gen).supports("  ", MOE) and not LLMJudge(gen).supports("Claim.", "")
    assert gen.requests == []


# ---------------------------------------------------------------------------------------------
# The calibration script's split


def _calibration_module():
    path = Path(__file__).resolve().parents[1] / "scripts" / "calibrate_judges.py"
    spec = importlib.util.spec_from_file_location("calibrate_judges", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_calibration_split_is_fixed_stratified_and_disjoint():
    cal = _calibration_module()
    pairs = [cal.Pair(f"p{i:02d}", "c", "e", i % 3 == 0, ["a", "b"][i % 2]) for i in range(24)]
    tune, holdout = cal.split_pairs(pairs, seed=0)
    assert {p.id for p in tune}.isdisjoint({p.id for p in holdout})
    assert len(tune) + len(holdout) == 24 and abs(len(tune) - len(holdout)) <= 1
    for key in {(p.type, p.supported) for p in pairs}:  # every stratum is split in two
        n_tune = sum((p.type, p.supported) == key for p in tune)
        n_hold = sum((p.type, p.supported) == key for p in holdout)
        assert abs(n_tune - n_hold) <= 1
    assert cal.split_pairs(list(reversed(pairs)), seed=0) == (tune, holdout)
    assert cal.split_pairs(pairs, seed=1) != (tune, holdout)


# ---------------------------------------------------------------------------------------------
# The real default model (slow: loads the 1.5B GGUF)


@pytest.fixture(scope="session")
def real_llm_judge():
    pytest.importorskip("llama_cpp")
    from studyrag.config import Settings
    from studyrag.generate import LlamaGenerator
    from studyrag.models import resolve_llm

    path = resolve_llm("default", Settings.from_env().cache_dir, progress=False)
    return LLMJudge(LlamaGenerator(path, n_ctx=2048, n_threads=2))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("claim", "evidence", "supported"),
    [
        ("In QLoRA, the frozen base model is quantized to 4 bits.", QLORA, True),
        ("QLoRA quantizes the frozen base model to 8 bits.", QLORA, False),
        ("Diffusion models generate images by iterative denoising.", MOE, False),
    ],
)
def test_llm_judge_with_the_real_model(real_llm_judge, claim, evidence, supported):
    assert real_llm_judge.supports(claim, evidence) is supported
    assert real_llm_judge.parse_failures == 0

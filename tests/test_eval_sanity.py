"""Sanity check of the evaluation itself: a deliberately broken pipeline must score much worse.

The broken pipeline answers from the right passages but then shows (and numbers) a different set:
the passages given to the prompt are shuffled together with unrelated chunks before the citations
are resolved, so ``[n]`` points at a chunk that did not say it. Citation precision and faithfulness
must collapse while the intact pipeline keeps them high: if they did not, the metrics would not be
measuring grounding at all.
"""

from __future__ import annotations

import json
import random
import shutil
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from studyrag.citations import resolve_citations
from studyrag.config import Settings
from studyrag.evaluation import runner
from studyrag.fakes import FakeEmbedder, FakeGenerator
from studyrag.pipeline import StudyRAG
from studyrag.records import Answer, Hit, TokenEvent

EVAL = Path(__file__).resolve().parent.parent / "eval"
LIMIT = 15  # the first 15 questions: answerable factual ones, answered by the fake generator


class ShuffledSourcesRAG(StudyRAG):
    """The pipeline with a bookkeeping bug: the sources it reports are the prompt's passages shuffled
    among unrelated chunks, and the answer's ``[n]`` are resolved against that shuffled list."""

    def ask_stream(self, question: str, **kwargs) -> Iterator[TokenEvent | Answer]:
        for event in super().ask_stream(question, **kwargs):
            if isinstance(event, Answer) and event.sources and not event.abstained:
                event = self._misnumber(event)
            yield event

    def _misnumber(self, answer: Answer) -> Answer:
        rng = random.Random(zlib.crc32(answer.question.encode()))  # deterministic per question
        used = {h.chunk.id for h in answer.sources}
        unrelated = rng.sample([c for c in self.chunks if c.id not in used], 3 * len(answer.sources))
        pool = [h.chunk for h in answer.sources] + unrelated
        rng.shuffle(pool)
        sources = tuple(Hit(chunk=c, score=0.0, rank=i) for i, c in enumerate(pool[: len(answer.sources)], 1))
        report = resolve_citations(answer.text, sources)
        return Answer(
            question=answer.question,
            text=answer.text,
            citations=report.citations,
            sources=sources,
            uncited_sentences=report.uncited,
            invalid_citations=report.invalid,
            timings=answer.timings,
            model=answer.model,
            standalone_question=answer.standalone_question,
        )


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("sanity")
    eval_dir = tmp / "eval"  # the questions without a calibration report: the plain lexical judge
    eval_dir.mkdir()
    shutil.copy(EVAL / "questions.jsonl", eval_dir / "questions.jsonl")
    settings = Settings(index_dir=tmp / "indexes", cache_dir=tmp / "cache", rerank=False)
    embedder = FakeEmbedder()
    out = {}
    for name, cls in (("intact", StudyRAG), ("broken", ShuffledSourcesRAG)):
        rag = cls.load(settings, embedder=embedder, generator=FakeGenerator(), progress=False)
        out[name] = runner.run(
            settings,
            suite="answers",
            limit=LIMIT,
            judge="lexical",
            out=tmp / name,
            quiet=True,
            rag=rag,
            eval_dir=eval_dir,
            cache_from=[],
        )
        out[name]["dir"] = tmp / name
    return out


def test_intact_pipeline_is_grounded(reports):
    intact = reports["intact"]["answers"]
    assert intact["n_questions"] == LIMIT and intact["n_errors"] == 0
    assert intact["citation_precision"] >= 0.6
    assert intact["faithfulness"] >= 0.6


def test_shuffled_sources_collapse_citation_precision_and_faithfulness(reports):
    intact, broken = reports["intact"]["answers"], reports["broken"]["answers"]
    assert intact["citation_precision"] - broken["citation_precision"] >= 0.3
    assert intact["citation_recall"] - broken["citation_recall"] >= 0.3
    assert intact["faithfulness"] - broken["faithfulness"] >= 0.3


def test_answer_text_is_identical_so_only_grounding_differs(reports):
    def answers(name: str) -> dict[str, str]:
        data = json.loads((reports[name]["dir"] / "report.json").read_text(encoding="utf-8"))
        return {q["id"]: q["answer"] for q in data["answers"]["questions"]}

    assert answers("intact") == answers("broken")
    # correctness looks at the text alone: the bug is invisible to it
    assert reports["intact"]["answers"]["correctness"] == reports["broken"]["answers"]["correctness"]


def test_compare_reports_flags_the_drop_as_significant(reports):
    rows = json.loads(
        runner.compare_reports(reports["intact"]["dir"], reports["broken"]["dir"], as_json=True)
    )["rows"]
    by_metric = {r["metric"]: r for r in rows if r["section"] == "answers"}
    for metric in ("citation_precision", "faithfulness"):
        assert by_metric[metric]["diff"] <= -0.3
        assert by_metric[metric]["p"] < 0.05
        assert by_metric[metric]["ci95"][1] < 0

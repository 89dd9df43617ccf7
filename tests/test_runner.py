"""The evaluation runner end to end on a small deterministic slice: fake embedder, reranker and
generator, the lexical judge, the real corpus and question sets, everything written to tmp dirs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from studyrag.config import Settings
from studyrag.errors import ConfigError
from studyrag.evaluation import runner
from studyrag.evaluation.cache import GenerationCache
from studyrag.evaluation.datasets import load_questions, take
from studyrag.fakes import FakeEmbedder, FakeGenerator, FakeReranker
from studyrag.pipeline import StudyRAG

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "eval"
N = 12  # stratified: two of each of the six question kinds
try:  # the reranking stage may land after this test; without it the "reranked" run is left out
    import studyrag.rerank  # noqa: F401

    HAS_RERANK = True
except ImportError:
    HAS_RERANK = False


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("eval")


@pytest.fixture(scope="module")
def eval_dir(workdir) -> Path:
    """The shipped question sets without a judge calibration report: the plain lexical judge."""
    d = workdir / "eval-data"
    d.mkdir()
    for name in ("retrieval.jsonl", "questions.jsonl"):
        shutil.copy(EVAL / name, d / name)
    return d


@pytest.fixture(scope="module")
def rag(workdir) -> StudyRAG:
    # respell off: with the fake embedder, r166's "perceptron" read as "perception" retrieves above
    # the threshold, and the slice needs an abstention to count (the real embedder still declines
    # it: test_retrieve's test_real_corpus_a_respelt_unanswerable_question_stays_below_the_gate)
    settings = Settings(
        index_dir=workdir / "indexes", cache_dir=workdir / "cache", rerank=HAS_RERANK, respell=False
    )
    reranker = FakeReranker() if HAS_RERANK else None
    return StudyRAG.load(
        settings, embedder=FakeEmbedder(), generator=FakeGenerator(), reranker=reranker, progress=False
    )


@pytest.fixture(scope="module")
def first(rag, workdir, eval_dir) -> tuple[dict, Path]:
    out = workdir / "run1"
    summary = runner.run(
        rag.settings,
        suite="all",
        limit=N,
        stratify=True,
        out=out,
        quiet=True,
        rag=rag,
        eval_dir=eval_dir,
        cache_from=[],
    )
    return summary, out


def _report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def test_run_writes_report_json_markdown_and_linked_plots(first):
    summary, out = first
    assert summary["out"] == str(out)
    for name in (
        "report.json",
        "report.md",
        "recall_at_k.png",
        "answers_by_guide.png",
        "faithfulness_hist.png",
    ):
        assert (out / name).stat().st_size > 0, name
    md = (out / "report.md").read_text(encoding="utf-8")
    for png in ("recall_at_k.png", "answers_by_guide.png", "faithfulness_hist.png"):
        assert f"]({png})" in md
    assert "## Retrieval" in md and "## Answers" in md and "## Worst failures" in md
    report = _report(out)
    assert report["settings"] == json.loads(json.dumps(report["settings"]))  # JSON-clean
    assert report["settings"]["rerank"] is HAS_RERANK
    assert report["models"]["generator"] == "fake-generator"
    # greedy answers differ between CPUs, so the report says where it ran
    assert report["machine"]["cpu"] and report["machine"]["cores"] >= 1
    assert f"- machine: {report['machine']['cpu']}, {report['machine']['cores']} cores" in md
    assert report["index"]["chunks"] > 0 and report["index"]["fingerprint"]["corpus"]
    assert report["eval_files"]["questions.jsonl"]["bytes"] > 0


def test_retrieval_metrics_are_in_range_and_monotone_in_k(first):
    summary, out = first
    retrieval = summary["retrieval"]
    assert retrieval["n_questions"] == N
    assert set(retrieval["retrievers"]) == {"bm25", "dense", "fused"} | (
        {"reranked"} if HAS_RERANK else set()
    )
    for name, s in retrieval["retrievers"].items():
        for key in ("recall@1", "recall@3", "recall@5", "recall@10", "mrr@10", "ndcg@10"):
            assert 0.0 <= s[key] <= 1.0, (name, key)
        assert s["recall@1"] <= s["recall@3"] <= s["recall@5"] <= s["recall@10"], name
        assert s["latency_ms_p95"] >= s["latency_ms_median"] >= 0
    # the slice's questions share words with their gold passages: BM25 must find most of them
    assert retrieval["retrievers"]["bm25"]["recall@10"] >= 0.5
    report = _report(out)["retrieval"]
    unanswerable = [q for q in report["questions"] if not q["evidence"]]
    assert unanswerable and all(q["runs"]["fused"]["scores"] is None for q in unanswerable)
    assert report["summary"]["dense"]["top_scores"]["unanswerable"]["n"] == len(unanswerable)
    first_q = report["questions"][0]
    assert first_q["runs"]["fused"]["ranked"][0]["section"]  # retrieved sections are recorded


def test_answer_metrics_are_in_range_and_records_are_complete(first):
    summary, out = first
    answers = summary["answers"]
    assert answers["n_questions"] == N and answers["n_errors"] == 0 and answers["n_cached"] == 0
    assert answers["judge"].startswith("lexical")
    for key in ("correctness", "context_recall", "citation_recall", "citation_precision", "faithfulness"):
        assert 0.0 <= answers[key] <= 1.0, key
    # the fake generator copies cited sentences from its sources: its citations hold up
    assert answers["citation_precision"] >= 0.6 and answers["faithfulness"] >= 0.6
    report = _report(out)["answers"]
    kinds = {q["kind"] for q in report["questions"]}
    assert {"factual", "unanswerable", "multi_turn", "adversarial"} <= kinds
    assert set(report["by_kind"]) == kinds
    assert sum(g["n"] for g in report["by_guide"].values()) >= N
    for q in report["questions"]:
        assert q["answer"] and q["model"] == "fake-generator"
        assert bool(q["abstain_reason"]) == q["abstained"], q["id"]
        if not q["abstained"]:
            assert q["sources"] and q["sources"][0]["n"] == 1 and q["sources"][0]["section"]
    # every abstention is counted under its reason, for answerable and unanswerable questions apart
    counted = sum(n for group in report["abstain_reasons"].values() for n in group.values())
    assert counted == sum(q["abstained"] for q in report["questions"]) > 0
    assert "Abstentions by reason" in (out / "report.md").read_text(encoding="utf-8")
    turn = next(q for q in report["questions"] if q["kind"] == "multi_turn")
    assert turn["history"] and turn["history"][0]["answer"]  # earlier turns were asked and answered


def test_rerun_scores_from_the_cache_without_generating(rag, first, eval_dir):
    summary, out = first
    generator = rag.generator
    calls = generator.calls
    first_records = _report(out)["answers"]["questions"]
    again = runner.run(
        rag.settings,
        suite="all",  # rewrites report.json whole: keep both suites for later tests
        limit=N,
        stratify=True,
        out=out,
        quiet=True,
        rag=rag,
        eval_dir=eval_dir,
        cache_from=[],
    )
    assert generator.calls == calls
    assert again["answers"]["n_cached"] == N
    cached = _report(out)["answers"]["questions"]
    assert [q["abstain_reason"] for q in cached] == [q["abstain_reason"] for q in first_records]
    for key in ("correctness", "citation_precision", "faithfulness"):
        assert again["answers"][key] == summary["answers"][key]


def test_cache_of_another_run_is_reused_only_for_the_same_settings(rag, first, workdir, eval_dir):
    _, out = first
    reused = runner.run(
        rag.settings,
        suite="answers",
        limit=3,
        stratify=True,  # the first three of run1's order: all cached
        out=workdir / "run2",
        quiet=True,
        rag=rag,
        eval_dir=eval_dir,
        cache_from=[out],
    )
    assert reused["answers"]["n_cached"] == 3
    # the reused generations are copied into the new run's own cache
    assert len((workdir / "run2" / "cache" / "generations.jsonl").read_text().splitlines()) == 3
    other = StudyRAG(rag.settings.replace(sources=2), rag.index, rag.embedder, generator=FakeGenerator())
    fresh = runner.run(
        other.settings,
        suite="answers",
        limit=3,
        out=workdir / "run3",
        quiet=True,
        rag=other,
        eval_dir=eval_dir,
        cache_from=[out],
    )
    assert fresh["answers"]["n_cached"] == 0


def test_cache_skips_a_line_cut_short_by_a_crash(tmp_path):
    q = load_questions(EVAL / "questions.jsonl")[0]
    cache = GenerationCache(tmp_path / "g.jsonl")
    key = cache.key(q, "h", "m")
    cache.put(key, q, "h", "m", {"text": "x"})
    with open(tmp_path / "g.jsonl", "a", encoding="utf-8") as f:
        f.write('{"key": "half')
    assert GenerationCache(tmp_path / "g.jsonl").get(key)["answer"] == {"text": "x"}
    assert cache.key(q, "h", "other-model") != key


def test_compare_reports_same_run_shows_no_difference(first):
    _, out = first
    result = json.loads(runner.compare_reports(out, out, as_json=True))
    metrics = {(r["section"], r["metric"]) for r in result["rows"]}
    assert ("retrieval:fused", "recall@5") in metrics and ("retrieval:bm25", "mrr@10") in metrics
    assert ("answers", "faithfulness") in metrics
    assert all(r["diff"] == 0 for r in result["rows"])
    text = runner.compare_reports(out, out)
    assert "B − A" in text and "answers" in text


def test_compare_reports_notes_runs_made_on_different_machines(first, tmp_path):
    import shutil

    _, out = first
    other = tmp_path / "other-machine"
    shutil.copytree(out, other)
    report = _report(other)
    report["machine"] = {**report["machine"], "cpu": "Some Other CPU"}
    (other / "report.json").write_text(json.dumps(report), encoding="utf-8")
    assert json.loads(runner.compare_reports(out, out, as_json=True))["machines_differ"] is None
    text = runner.compare_reports(out, other)
    assert "note: A ran on" in text and "B on Some Other CPU" in text
    # a report from before the machine record: nothing to say
    del report["machine"]
    (other / "report.json").write_text(json.dumps(report), encoding="utf-8")
    assert "note:" not in runner.compare_reports(out, other)


def test_compare_reports_detects_a_worse_run(rag, first, workdir, eval_dir):
    _, out = first
    worse = StudyRAG(rag.settings.replace(sources=1), rag.index, rag.embedder, generator=FakeGenerator())
    out2 = workdir / "one-source"
    runner.run(
        worse.settings,
        suite="answers",
        limit=N,
        stratify=True,
        out=out2,
        quiet=True,
        rag=worse,
        eval_dir=eval_dir,
        cache_from=[],
    )
    rows = {r["metric"]: r for r in json.loads(runner.compare_reports(out, out2, as_json=True))["rows"]}
    assert rows["context_recall"]["diff"] < 0  # one passage in the prompt instead of four
    assert rows["context_recall"]["n"] > 0 and 0 < rows["context_recall"]["p"] <= 1


def test_cli_compare_prints_the_table(first):
    from studyrag.cli import cli

    _, out = first
    res = CliRunner().invoke(cli, ["eval", "--compare", str(out), str(out)])
    assert res.exit_code == 0, res.output
    assert "recall@5" in res.output
    missing = CliRunner().invoke(cli, ["eval", "--compare", str(out), str(out / "nope")])
    assert missing.exit_code == ConfigError.exit_code and "studyrag eval" in missing.output


def test_unknown_suite_and_negative_limit_are_refused(rag, tmp_path):
    with pytest.raises(ConfigError, match="unknown suite"):
        runner.run(rag.settings, suite="speed", rag=rag, out=tmp_path, quiet=True)
    with pytest.raises(ConfigError, match="limit"):
        take([], -1)


def test_broken_question_file_names_the_line(tmp_path):
    good = (EVAL / "questions.jsonl").read_text(encoding="utf-8").splitlines()[:2]
    (tmp_path / "questions.jsonl").write_text(
        "\n".join([*good, '{"id": "x", "question": ""}']), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="line 3"):
        load_questions(tmp_path / "questions.jsonl")
    (tmp_path / "questions.jsonl").write_text("\n".join([good[0], good[0]]), encoding="utf-8")
    with pytest.raises(ConfigError, match="duplicate id"):
        load_questions(tmp_path / "questions.jsonl")


def test_judge_follows_the_calibration_report(rag, tmp_path):
    from studyrag.evaluation.judges import LexicalJudge, LLMJudge

    judge, why = runner.make_judge(None, rag, tmp_path)
    assert isinstance(judge, LexicalJudge) and "no calibration report" in why
    report = {
        "default_judge": "llm",
        "judges": {
            "lexical": {"params": {"threshold": 0.55, "check_negation": False}, "holdout": {"kappa": 0.4}},
            "llm": {"params": {"model": "default"}, "holdout": {"kappa": 0.6}},
        },
    }
    (tmp_path / "judge_calibration_report.json").write_text(json.dumps(report), encoding="utf-8")
    assert isinstance(runner.make_judge(None, rag, tmp_path)[0], LLMJudge)
    lexical, _ = runner.make_judge("lexical", rag, tmp_path)
    assert isinstance(lexical, LexicalJudge) and lexical.threshold == 0.55 and not lexical.check_negation
    with pytest.raises(ConfigError, match="unknown judge"):
        runner.make_judge("nli", rag, tmp_path)


def test_kinds_keep_only_those_questions_and_unknown_kinds_say_which_exist(rag, workdir, eval_dir):
    out = workdir / "kinds"
    summary = runner.run(
        rag.settings,
        suite="answers",
        kinds=("unanswerable",),
        limit=3,
        out=out,
        quiet=True,
        rag=rag,
        eval_dir=eval_dir,
        cache_from=[],
    )
    report = _report(out)
    assert report["kinds"] == ["unanswerable"] and summary["out"] == str(out)
    assert [q["kind"] for q in report["answers"]["questions"]] == ["unanswerable"] * 3
    with pytest.raises(ConfigError, match="its kinds are"):
        runner.run(
            rag.settings,
            suite="answers",
            kinds=("nonsense",),
            out=workdir / "k2",
            quiet=True,
            rag=rag,
            eval_dir=eval_dir,
            cache_from=[],
        )
    assert not (workdir / "k2").exists()  # refused before a report folder was made


def test_a_set_inside_eval_uses_the_main_calibration_and_records_its_files(rag, workdir, monkeypatch):
    """eval/heldout has no judge calibration: a set nested in the main eval folder borrows it."""
    root = workdir / "project"
    main, nested = root / "eval", root / "eval" / "heldout"
    nested.mkdir(parents=True)
    for name in ("retrieval.jsonl", "questions.jsonl"):
        shutil.copy(EVAL / "heldout" / name, nested / name)
    report_json = {"default_judge": "lexical", "judges": {"lexical": {"params": {"threshold": 0.123}}}}
    (main / "judge_calibration_report.json").write_text(json.dumps(report_json), encoding="utf-8")
    monkeypatch.setattr(runner, "project_root", lambda: root)
    out = workdir / "nested"
    summary = runner.run(rag.settings, suite="all", limit=4, stratify=True, out=out, quiet=True, rag=rag,
                         eval_dir=nested, cache_from=[])
    report = _report(out)
    assert "0.123" in report["answers"]["judge_choice"]  # the main folder's tuned judge
    assert report["eval_dir"] == "eval/heldout"
    assert set(report["eval_files"]) == {"retrieval.jsonl", "questions.jsonl"}
    ids = [q["id"] for q in report["answers"]["questions"]]
    assert ids and all(i.startswith("s") for i in ids) and summary["answers"]["n_questions"] == 4
    # the same files outside eval/ keep the untuned default
    alone = workdir / "alone"
    shutil.copytree(nested, alone)
    runner.run(rag.settings, suite="answers", limit=2, out=workdir / "alone-run", quiet=True, rag=rag,
               eval_dir=alone, cache_from=[])
    assert "0.123" not in _report(workdir / "alone-run")["answers"]["judge_choice"]


def test_with_hyde_on_the_retrieval_suite_adds_a_fused_hyde_run(rag, workdir, eval_dir):
    gen = FakeGenerator(reply="Low-rank adapters freeze the pretrained weights.")  # the written passage
    hyde = StudyRAG(rag.settings.replace(hyde=True), rag.index, rag.retriever.embedder, generator=gen)
    summary = runner.run(
        hyde.settings, suite="retrieval", limit=4, out=workdir / "hyde", quiet=True, rag=hyde,
        eval_dir=eval_dir, cache_from=[],
    )
    assert "fused+hyde" in summary["retrieval"]["retrievers"]
    assert gen.calls >= 4  # one passage per question
    assert _report(workdir / "hyde")["settings"]["hyde"] is True


def test_a_report_that_cannot_be_written_leaves_no_half_file_and_names_the_path(tmp_path: Path, monkeypatch) -> None:
    from studyrag.locking import atomic_write_text  # what write_report and the judge cache use

    real = Path.write_text

    def fill_disk(self: Path, text: str, *args, **kwargs) -> int:
        real(self, text[:10], *args, **kwargs)  # part of it went to disk, then the disk was full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", fill_disk)
    with pytest.raises(OSError, match="No space left") as e:
        atomic_write_text(tmp_path / "report.json", "{}" * 100)
    assert e.value.filename == str(tmp_path / "report.json")
    assert list(tmp_path.iterdir()) == []


def test_a_gold_snippet_found_nowhere_is_reported_on_stderr(rag, workdir, capsys):
    d = workdir / "typo-set"
    d.mkdir()
    rows = [json.loads(line) for line in (EVAL / "retrieval.jsonl").read_text(encoding="utf-8").splitlines()[:2]]
    rows[1]["evidence"][0]["snippet"] = "a snippet with a typo in it, found in no guide"
    (d / "retrieval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    runner.run(rag.settings, suite="retrieval", out=workdir / "typo", quiet=True, rag=rag, eval_dir=d)
    err = capsys.readouterr().err
    assert f"1 gold evidence snippet(s) match no chunk of the corpus: {rows[1]['id']}" in err
    assert f"check_eval_data.py --eval-dir {d}" in err
    assert _report(workdir / "typo")["retrieval"]["unmatched_evidence"][0]["id"] == rows[1]["id"]
    runner.run(rag.settings, suite="retrieval", limit=1, out=workdir / "fine", quiet=True, rag=rag, eval_dir=d)
    assert "gold evidence" not in capsys.readouterr().err


def test_an_interrupted_run_says_where_its_answers_are_and_the_rerun_reuses_them(workdir, eval_dir, capsys):
    class StopsAfterTwo(FakeGenerator):
        def stream(self, messages, **kwargs):
            if self.calls >= 2:
                raise KeyboardInterrupt
            yield from super().stream(messages, **kwargs)

    settings = Settings(index_dir=workdir / "indexes", cache_dir=workdir / "cache", rerank=False)
    gen = StopsAfterTwo()
    rag = StudyRAG.load(settings, embedder=FakeEmbedder(), generator=gen, progress=False)
    out = workdir / "interrupted"
    kinds = ("factual",)
    with pytest.raises(KeyboardInterrupt):
        runner.run(settings, suite="answers", kinds=kinds, limit=4, out=out, quiet=True, rag=rag, eval_dir=eval_dir, cache_from=[])
    assert f"2 answers are saved in {out / 'cache' / 'generations.jsonl'}: the same command again" in capsys.readouterr().err
    gen.calls = -10  # let it answer now
    again = runner.run(settings, suite="answers", kinds=kinds, limit=4, out=out, quiet=True, rag=rag, eval_dir=eval_dir, cache_from=[])
    assert again["answers"]["n_cached"] == 2

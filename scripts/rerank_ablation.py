"""Does reranking improve what reaches the prompt? Fused order vs fused + each reranker candidate.

For every answerable question of ``eval/retrieval.jsonl``, the hybrid retriever gives its 30 fused
candidates once; each reranker reorders those same 30. Prints Recall@1, Recall@3 (evidence recall),
MRR@10 and nDCG@10 per question kind, and the latency each reranker adds per question (median, p95,
wall clock and CPU seconds; the load average is recorded because this CPU is shared). Writes
``eval/reports/rerank_ablation.json``.

    python scripts/rerank_ablation.py                                # fused vs the default reranker
    python scripts/rerank_ablation.py --reranker l3=/path/to/ce --reranker text=default:text
    python scripts/rerank_ablation.py --reranker gguf=gguf --limit 10  # the LLM as a yes/no reranker

A reranker spec is ``default``, a CrossEncoder folder or hub id, ``fake`` or ``gguf``; append
``:text`` to score the bare chunk text instead of heading path + text.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studyrag import rerank
from studyrag.config import Settings, project_root
from studyrag.evaluation.datasets import RetrievalQuestion, load_retrieval, take
from studyrag.evaluation.metrics import mean_scores, retrieval_scores
from studyrag.records import Hit

log = logging.getLogger("rerank_ablation")
KINDS = ("factual", "paraphrase", "multi_section")
METRICS = ("recall@1", "recall@3", "mrr@10", "ndcg@10")
CANDIDATES = 30


# ------------------------------------------------------------------------------ option B: the LLM
class GGUFYesNoReranker:
    """Pointwise LLM reranking: score = logit(" yes") - logit(" no") after "Does the passage answer
    the question?". The question comes first so its tokens are decoded once per query (KV prefix
    reuse); each passage still costs a full prefill of its own tokens."""

    def __init__(self, settings: Settings) -> None:
        from studyrag.generate import LlamaGenerator
        from studyrag.models import resolve_llm

        self.gen = LlamaGenerator(resolve_llm(settings.llm, settings.cache_dir), n_ctx=1024, n_threads=2)
        self.llm = self.gen.llama
        self.id = f"gguf-yes-no:{self.gen.name}"
        tok = self.llm.tokenize
        self.yes = tok(b" yes", add_bos=False, special=False)[-1]
        self.no = tok(b" no", add_bos=False, special=False)[-1]
        self.prompt_tokens = 0

    def _tokens(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        prefix = self._tokens(
            "<|im_start|>system\nYou judge search results.<|im_end|>\n<|im_start|>user\n"
            f"Question: {query}\nPassage: "
        )
        suffix = self._tokens(
            "\nDoes the passage answer the question? Reply yes or no.<|im_end|>\n<|im_start|>assistant\nAnswer:"
        )
        llm = self.llm
        llm.reset()
        llm.eval(prefix)
        out = []
        for text in texts:
            body = self._tokens(" ".join(text.split())[:900])
            llm._ctx.kv_cache_seq_rm(-1, len(prefix), -1)  # drop the previous passage, keep the question
            llm.n_tokens = len(prefix)
            llm.eval(body + suffix)
            self.prompt_tokens += len(body) + len(suffix)
            logits = llm.scores[llm.n_tokens - 1]
            out.append(float(logits[self.yes] - logits[self.no]))
        return np.asarray(out, dtype=np.float32)


# ------------------------------------------------------------------------------ running
@dataclass
class Candidate:
    name: str
    spec: str
    reranker: rerank.Reranker | None  # None: fused order
    text_fn: Callable | None = None


def make_candidate(name: str, spec: str, settings: Settings) -> Candidate:
    text_fn = None
    if spec.endswith(":text"):
        spec, text_fn = spec[: -len(":text")], (lambda c: c.text)
    if spec == "fused":
        return Candidate(name, spec, None)
    if spec == "fake":
        from studyrag.fakes import FakeReranker

        return Candidate(name, spec, FakeReranker(), text_fn)
    if spec == "gguf":
        return Candidate(name, spec, GGUFYesNoReranker(settings), text_fn)
    r = rerank.load_reranker(settings.replace(reranker=spec))
    return Candidate(name, spec, r, text_fn)


def _rerank(c: Candidate, query: str, hits: list[Hit]) -> list[Hit]:
    return rerank.rerank_hits(c.reranker, query, hits, top_n=10, text_of=c.text_fn)


def _pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def evaluate(
    questions: Sequence[RetrievalQuestion],
    candidates: dict[str, list[Hit]],
    relevant,
    cands: Sequence[Candidate],
) -> dict:
    out = {}
    for c in cands:
        ranked, wall, cpu = {}, [], []
        for i, q in enumerate(questions, 1):
            hits = candidates[q.id]
            t, p = time.perf_counter(), time.process_time()
            top = hits[:10] if c.reranker is None else _rerank(c, q.question, hits)
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - p)
            ranked[q.id] = [h.chunk.id for h in top]
            if i % 20 == 0:
                log.info("%s: %d/%d questions", c.name, i, len(questions))
        per_q = retrieval_scores({q.id: relevant[q.id] for q in questions}, ranked)
        by_kind = {k: mean_scores(per_q, [q.id for q in questions if q.kind == k]) for k in KINDS}
        by_kind["all"] = mean_scores(per_q)
        out[c.name] = {
            "spec": c.spec,
            "id": getattr(c.reranker, "id", "fused"),
            "text": "text" if c.text_fn else "heading path + text",
            "metrics": {k: {m: v[m] for m in METRICS} for k, v in by_kind.items() if v},
            "n": {k: sum(1 for q in questions if q.kind == k) for k in KINDS} | {"all": len(questions)},
            "latency_s": {
                "wall_median": statistics.median(wall),
                "wall_p95": _pct(wall, 95),
                "cpu_median": statistics.median(cpu),
                "cpu_p95": _pct(cpu, 95),
            },
            "first_relevant_rank": {
                q.id: next(
                    (
                        r
                        for r, cid in enumerate(ranked[q.id], 1)
                        if any(cid in s for s in relevant[q.id].values())
                    ),
                    None,
                )
                for q in questions
            },
        }
        if hasattr(c.reranker, "prompt_tokens"):
            out[c.name]["prompt_tokens_per_question"] = c.reranker.prompt_tokens / len(questions)
    return out


def table(results: dict) -> str:
    head = f"{'reranker':<16}{'kind':<15}{'n':>4}" + "".join(f"{m:>10}" for m in METRICS)
    head += f"{'+s median':>11}{'+s p95':>9}{'cpu-s med':>11}"
    lines = [head, "-" * len(head)]
    for name, r in results.items():
        lat = r["latency_s"]
        for kind in (*KINDS, "all"):
            if kind not in r["metrics"]:
                continue
            row = f"{name:<16}{kind:<15}{r['n'][kind]:>4}" + "".join(
                f"{r['metrics'][kind][m]:>10.3f}" for m in METRICS
            )
            if kind == "all":
                row += f"{lat['wall_median']:>11.2f}{lat['wall_p95']:>9.2f}{lat['cpu_median']:>11.2f}"
            lines.append(row)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--reranker",
        action="append",
        default=[],
        metavar="NAME=SPEC",
        help="a candidate (repeatable); default: default=default",
    )
    p.add_argument("--limit", type=int, help="only the first N answerable questions (stratified by kind)")
    p.add_argument("--index-dir", help="index directory (default: the settings' index_dir)")
    p.add_argument("--out", type=Path, default=project_root() / "eval" / "reports" / "rerank_ablation.json")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    import torch

    torch.set_num_threads(2)
    from studyrag.evaluation.runner import relevance
    from studyrag.loaders import load_corpus
    from studyrag.pipeline import StudyRAG

    settings = Settings.from_env(index_dir=args.index_dir, rerank=False)
    rag = StudyRAG.load(settings, progress=True)
    questions = [q for q in load_retrieval(project_root() / "eval" / "retrieval.jsonl") if q.answerable]
    questions = take(questions, args.limit, stratify=args.limit is not None)
    documents = {d.source: d.text for d in load_corpus(Path(settings.corpus_dir))}
    relevant = relevance(questions, rag.chunks, documents)
    candidates = {q.id: rag.retriever.search(q.question, CANDIDATES) for q in questions}
    specs = [s.split("=", 1) for s in (args.reranker or ["default=default"])]
    cands = [Candidate("fused", "fused", None)] + [make_candidate(n, s, settings) for n, s in specs]
    ceiling = retrieval_scores(
        {q.id: relevant[q.id] for q in questions},
        {q.id: [h.chunk.id for h in candidates[q.id]] for q in questions},
        ks=(CANDIDATES,),
    )
    load_before = os.getloadavg()
    results = evaluate(questions, candidates, relevant, cands)
    report = {
        "questions": len(questions),
        "candidates": CANDIDATES,
        "cpu": f"{os.cpu_count()} cores, torch threads {torch.get_num_threads()}",
        "load_average_before_after": [load_before[0], os.getloadavg()[0]],
        "chunks": len(rag.chunks),
        # the best any reranker can do: evidence found anywhere among the 30 candidates
        "candidate_recall@30": {
            k: mean_scores(ceiling, [q.id for q in questions if k in ("all", q.kind)])[f"recall@{CANDIDATES}"]
            for k in (*KINDS, "all")
        },
        "results": results,
    }
    print(table(results))
    print("evidence recall of the 30 candidates (the ceiling):", report["candidate_recall@30"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

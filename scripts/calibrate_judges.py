#!/usr/bin/env python
"""Calibrate the support judges against hand-labelled (claim, evidence) pairs.

Reads ``eval/judge_calibration.jsonl`` (``{"id", "claim", "evidence", "source", "supported", "type"}``),
splits it in two halves with a fixed seed (stratified by pair type and label), tunes the lexical
judge's settings on the *tune* half only, and reports accuracy and Cohen's kappa against the human
labels on both halves, overall and per pair type, for:

- ``lexical``         LexicalJudge, word coverage + hard checks (threshold, checks tuned)
- ``lexical+minilm``  the same blended with all-MiniLM-L6-v2 cosine (weight and threshold tuned)
- ``llm``             LLMJudge on the default 1.5B GGUF model (nothing tuned; skipped with --llm none)

The default judge is the one with the highest kappa on the held-out half. Writes
``eval/judge_calibration_report.json``. Reference point: ALCE's 11B NLI judge agreed with people at
kappa 0.70 (citation recall) and 0.53 (citation precision).

    python scripts/calibrate_judges.py                 # everything (LLM: ~5 min on 2 CPU cores)
    python scripts/calibrate_judges.py --llm none      # lexical judges only (seconds)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from studyrag.config import Settings, project_root
from studyrag.evaluation import LexicalJudge, LLMJudge, SupportJudge, accuracy, cohen_kappa

ALCE_KAPPA = {"citation_recall": 0.70, "citation_precision": 0.53}
THRESHOLDS = [round(0.30 + 0.05 * i, 2) for i in range(14)]  # 0.30 .. 0.95
EMBED_WEIGHTS = [0.2, 0.3, 0.4, 0.5, 0.6]


@dataclass(frozen=True)
class Pair:
    id: str
    claim: str
    evidence: str
    supported: bool
    type: str


def load_pairs(path: Path) -> list[Pair]:
    pairs = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            if not isinstance(row.get("supported"), bool):
                sys.exit(f"{path}:{n}: 'supported' must be true or false")
            pairs.append(
                Pair(row["id"], row["claim"], row["evidence"], row["supported"], row.get("type", ""))
            )
    if not pairs:
        sys.exit(f"{path} holds no pairs")
    return pairs


def split_pairs(pairs: Sequence[Pair], seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """Two halves, stratified by (type, label): each stratum is shuffled with ``seed`` and dealt
    alternately, so both halves see every kind of pair. Deterministic for a given file and seed."""
    strata: dict[tuple[str, bool], list[Pair]] = defaultdict(list)
    for p in sorted(pairs, key=lambda p: p.id):
        strata[(p.type, p.supported)].append(p)
    rng = random.Random(seed)
    tune: list[Pair] = []
    holdout: list[Pair] = []
    turn = 0
    for key in sorted(strata):
        group = strata[key]
        rng.shuffle(group)
        for p in group:
            (tune if turn % 2 == 0 else holdout).append(p)
            turn += 1
    return tune, holdout


def _num(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 4)


def agreement(pairs: Sequence[Pair], verdicts: dict[str, bool]) -> dict[str, Any]:
    gold = [p.supported for p in pairs]
    pred = [verdicts[p.id] for p in pairs]
    return {"n": len(pairs), "accuracy": _num(accuracy(gold, pred)), "kappa": _num(cohen_kappa(gold, pred))}


def by_type(pairs: Sequence[Pair], verdicts: dict[str, bool]) -> dict[str, Any]:
    """Per pair type (kappa is undefined where every pair of a type has one label: then None)."""
    groups: dict[str, list[Pair]] = defaultdict(list)
    for p in pairs:
        groups[p.type].append(p)
    return {t: agreement(g, verdicts) for t, g in sorted(groups.items())}


def _kappa(pairs: Sequence[Pair], verdicts: dict[str, bool]) -> float:
    k = cohen_kappa([p.supported for p in pairs], [verdicts[p.id] for p in pairs])
    return -1.0 if math.isnan(k) else k


def tune_lexical(
    tune: Sequence[Pair], make: Callable[..., LexicalJudge], grid: Sequence[dict[str, Any]]
) -> tuple[dict[str, Any], float]:
    """The grid point with the highest kappa on the tune half (ties: higher accuracy, then grid order)."""
    best: tuple[float, float] = (-2.0, -1.0)
    best_params: dict[str, Any] = {}
    for params in grid:
        judge = make(**params)
        verdicts = {p.id: judge.supports(p.claim, p.evidence) for p in tune}
        key = (_kappa(tune, verdicts), accuracy([p.supported for p in tune], [verdicts[p.id] for p in tune]))
        if key > best:
            best, best_params = key, params
    return best_params, best[0]


def evaluate(
    judge: SupportJudge, pairs: Sequence[Pair], tune: Sequence[Pair], holdout: Sequence[Pair]
) -> dict:
    start = time.perf_counter()
    verdicts = {p.id: judge.supports(p.claim, p.evidence) for p in pairs}
    seconds = time.perf_counter() - start
    return {
        "id": judge.id,
        "tune": agreement(tune, verdicts),
        "holdout": agreement(holdout, verdicts),
        "all": agreement(pairs, verdicts),
        "holdout_by_type": by_type(holdout, verdicts),
        "all_by_type": by_type(pairs, verdicts),
        "seconds_per_pair": round(seconds / len(pairs), 4),
        "errors": sorted(p.id for p in pairs if verdicts[p.id] != p.supported),
    }


def minilm_embed() -> Callable[[list[str]], np.ndarray]:
    from studyrag.dense import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder("default")

    @lru_cache(maxsize=4096)
    def one(text: str) -> np.ndarray:
        return embedder.embed([text])[0]

    return lambda texts: np.stack([one(t) for t in texts])


def llm_judge(spec: str, settings: Settings) -> LLMJudge:
    from studyrag.generate import LlamaGenerator
    from studyrag.models import resolve_llm

    path = resolve_llm(spec, settings.cache_dir)
    generator = LlamaGenerator(path, n_ctx=2048, n_threads=2, seed=0)
    return LLMJudge(generator, cache_path=settings.cache_dir / "judge_cache.json")


def main(argv: Sequence[str] | None = None) -> int:
    root = project_root()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=Path, default=root / "eval" / "judge_calibration.jsonl")
    ap.add_argument("--out", type=Path, default=root / "eval" / "judge_calibration_report.json")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--llm", default="default", help="'default' (1.5B), 'small', a .gguf path, or 'none'")
    ap.add_argument("--no-embed", action="store_true", help="skip the MiniLM-cosine lexical judge")
    args = ap.parse_args(argv)

    pairs = load_pairs(args.pairs)
    tune, holdout = split_pairs(pairs, args.seed)
    print(f"{len(pairs)} pairs: {len(tune)} to tune on, {len(holdout)} held out (seed {args.seed})")
    judges: dict[str, dict[str, Any]] = {}

    names = [
        {"check_entities": False},
        {"check_entities": True},
        {"check_entities": True, "initial_names": True},
    ]
    checks = [{**e, "check_negation": n} for e in names for n in (True, False)]
    grid = [{"threshold": t, **c} for c in checks for t in THRESHOLDS]
    params, _ = tune_lexical(tune, LexicalJudge, grid)
    judges["lexical"] = {"params": params, **evaluate(LexicalJudge(**params), pairs, tune, holdout)}

    if not args.no_embed:
        embed = minilm_embed()

        def with_embed(**kw: Any) -> LexicalJudge:
            return LexicalJudge(embed=embed, name="lexical", **kw)

        grid_e = [{**g, "embed_weight": w} for g in grid for w in EMBED_WEIGHTS]
        params_e, _ = tune_lexical(tune, with_embed, grid_e)
        judges["lexical+minilm"] = {
            "params": params_e,
            **evaluate(with_embed(**params_e), pairs, tune, holdout),
        }

    if args.llm != "none":
        judge = llm_judge(args.llm, Settings.from_env())
        result = evaluate(judge, pairs, tune, holdout)
        judges["llm"] = {
            "params": {"model": args.llm},
            **result,
            "parse_failures": judge.parse_failures,
            "model_calls": judge.calls,  # 0 when every verdict came from the cache
            "seconds_per_model_call": round(judge.seconds / judge.calls, 3) if judge.calls else None,
        }

    default = max(judges, key=lambda name: judges[name]["holdout"]["kappa"] or -1.0)
    report = {
        "pairs": str(args.pairs.relative_to(root) if args.pairs.is_relative_to(root) else args.pairs),
        "pairs_sha256": hashlib.sha256(args.pairs.read_bytes()).hexdigest(),
        "n": len(pairs),
        "seed": args.seed,
        "split": {"tune": sorted(p.id for p in tune), "holdout": sorted(p.id for p in holdout)},
        "judges": judges,
        "default_judge": default,
        "default_chosen_by": "highest Cohen's kappa on the held-out half",
        "reference_alce_kappa": ALCE_KAPPA,
        "machine": {
            "python": platform.python_version(),
            "processor": platform.machine(),
            "cpus": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],  # the CPU is shared: timings vary
        },
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    print(f"{'judge':16} {'tune acc':>9} {'tune κ':>7} {'hold acc':>9} {'hold κ':>7}  params")
    for name, r in judges.items():
        t, h = r["tune"], r["holdout"]
        print(
            f"{name:16} {t['accuracy']:9.3f} {t['kappa']:7.3f} {h['accuracy']:9.3f} {h['kappa']:7.3f}  {r['params']}"
        )
    for name, r in judges.items():
        cells = ", ".join(f"{t} {v['accuracy']:.2f} (n={v['n']})" for t, v in r["all_by_type"].items())
        print(f"{name} accuracy by type (all pairs): {cells}")
    print(
        f"default judge: {default}  (ALCE NLI judge: κ {ALCE_KAPPA['citation_recall']} / "
        f"{ALCE_KAPPA['citation_precision']})  → {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

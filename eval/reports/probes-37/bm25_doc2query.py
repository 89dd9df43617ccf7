"""Ad hoc: does BM25 gain from the guides' synthetic questions appended to the text it indexes
(doc2query, on the lexical side only)? The questions are `eval/rerank_train.jsonl`'s LLM- and
agent-written ones; each goes to the current chunk holding most of its positive passage's words.

    python eval/reports/probes-37/bm25_doc2query.py ORIGINS OUT   # e.g. agent-paraphrase,llm-paraphrase /tmp/d2q

Builds a separate index under OUT/indexes and runs `studyrag eval --suite retrieval` on every set.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SETS = ["", "dev", "heldout", "unseen", "unseen2", "unseen3", "student"]


def questions_by_chunk(origins: set[str]) -> dict[str, list[str]]:
    recs = [json.loads(line) for line in (ROOT / "eval" / "rerank_train.jsonl").read_text(encoding="utf-8").splitlines()]
    passages = {r["pid"]: set(r["text"].lower().split()) for r in recs if r["type"] == "passage"}
    lines = (ROOT / "indexes" / "default" / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    chunks = [json.loads(line) for line in lines]
    words = {c["id"]: set(c["text"].lower().split()) for c in chunks}
    home = {}
    for pid, p in passages.items():
        home[pid] = pid if pid in words else max(words, key=lambda c: len(p & words[c]) / (len(p) or 1))
    out: dict[str, list[str]] = defaultdict(list)
    for r in recs:
        if r["type"] == "query" and r["origin"] in origins:
            out[home[r["pos"]]].append(r["query"])
    return out


def main() -> None:
    origins, out = set(sys.argv[1].split(",")), Path(sys.argv[2])
    extra = questions_by_chunk(origins)
    print(f"{sum(map(len, extra.values()))} questions over {len(extra)} chunks", flush=True)
    import studyrag.store as store

    plain = store.lexical_text
    if os.environ.get("NEW_WORDS"):  # each question word the passage lacks, once
        from studyrag.lexical import tokenize

        def expanded(c):
            have = set(tokenize(plain(c)))
            new = {}
            for w in " ".join(extra.get(c.id, [])).split():
                terms = [t for t in tokenize(w) if t not in have]
                if terms:
                    new[w] = None
                    have.update(terms)
            return plain(c) + "\n" + " ".join(new)

        store.lexical_text = expanded
    else:
        store.lexical_text = lambda c: plain(c) + "\n" + "\n".join(extra.get(c.id, []))
    run_sets(out)


def run_sets(out: Path) -> None:
    """`studyrag eval --suite retrieval` on every gold set, index and reports under ``out``."""
    os.environ["STUDYRAG_INDEX_DIR"] = str(out / "indexes")
    from studyrag.cli import cli

    for s in SETS:
        args = ["eval", "--suite", "retrieval", "--out", str(out / (s or "full"))]
        args += ["--eval-dir", f"eval/{s}"] if s else []
        with contextlib.suppress(SystemExit):
            cli(args, standalone_mode=False)


if __name__ == "__main__":
    main()

"""Write the shipped guides' question files (``corpus/<guide>.questions.jsonl``, see
``studyrag.questions``) from the agent-written paraphrase questions of ``eval/rerank_train.jsonl``.

    python scripts/make_guide_questions.py            # rewrites corpus/*.questions.jsonl

Those 829 questions were written by LLM agents from each passage alone, two per passage,
describing its idea without naming it, and none is a near-duplicate of a gold question
(``tests/test_rerank.py`` checks it). Each goes to the current chunk of its guide that shares
most words with the passage it was written about (the training set's passages come from an older
chunking), and is anchored by eight words from the middle of that chunk, found in no other chunk of
the guide, so it keeps finding its passage when the chunking changes again.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

from studyrag.config import Settings
from studyrag.dense import SentenceTransformerEmbedder
from studyrag.questions import fold, questions_file
from studyrag.records import Chunk
from studyrag.store import corpus_chunks

ROOT = Path(__file__).resolve().parents[1]
ORIGIN = "agent-paraphrase"
WORDS = 8


def anchor(chunk: Chunk, others: list[Chunk]) -> str | None:
    """Eight consecutive words of ``chunk``, the middle ones first, that no chunk of ``others`` holds."""
    words = chunk.text.replace("*", "").split()
    starts = sorted(range(max(1, len(words) - WORDS + 1)), key=lambda i: abs(i - (len(words) - WORDS) / 2))
    for i in starts:
        piece = " ".join(words[i : i + WORDS])
        if not any(fold(piece) in fold(o.text) for o in others):
            return piece
    return None


def main() -> int:
    settings = Settings.from_env()
    chunks = corpus_chunks(settings, SentenceTransformerEmbedder.from_settings(settings))
    by_source: dict[str, list[Chunk]] = defaultdict(list)
    for c in chunks:
        by_source[c.source].append(c)
    lines = (ROOT / "eval" / "rerank_train.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    passages = {r["pid"]: r for r in rows if r["type"] == "passage"}
    home: dict[str, tuple[Chunk, str]] = {}
    for pid, p in passages.items():
        words = set(p["text"].lower().split())
        best = max(by_source[p["source"]], key=lambda c: len(words & set(c.text.lower().split())))
        where = anchor(best, [c for c in by_source[p["source"]] if c.id != best.id])
        if where is None:
            print(f"no unique anchor in {best.source} › {best.section}", file=sys.stderr)
            continue
        home[pid] = (best, where)
    out: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r["type"] == "query" and r["origin"] == ORIGIN and r["pos"] in home:
            chunk, where = home[r["pos"]]
            out[chunk.source].append(json.dumps({"question": r["query"], "anchor": where}, ensure_ascii=False))
    for source, lines in sorted(out.items()):
        path = questions_file(settings.corpus_dir / source)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{path}: {len(lines)} questions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

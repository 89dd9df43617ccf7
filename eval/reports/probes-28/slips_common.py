"""Shared by the probes-28 scripts: a seeded typing slip, and the name a chunk goes by."""

import random
import re

from studyrag.spelling import is_english

BOLD = re.compile(r"^\*\*(.+?)\*\*\s*$|^\*\*(.+?):\*\*")


def slip(word: str, rng: random.Random) -> str | None:
    """``word`` with one letter dropped, swapped with the next, changed or added, away from its
    ends, never another English word (None after 30 tries)."""
    for _ in range(30):
        i = rng.randrange(1, len(word) - 1)
        c = rng.choice("abcdefghijklmnopqrstuvwxyz")
        out = rng.choice([word[:i] + word[i + 1 :], word[:i] + word[i + 1] + word[i] + word[i + 2 :],
                          word[:i] + c + word[i + 1 :], word[:i] + c + word[i:]])
        if out.lower() != word.lower() and not is_english(out.lower()):
            return out
    return None


def name_of(chunk, max_words: int) -> str | None:
    """The concept a chunk is named after: its opening bold label, else its last heading; before
    any bracket, without "5. " numbering, at most ``max_words`` words."""
    lines = chunk.text.strip().splitlines()
    m = BOLD.match(lines[0].strip()) if lines else None
    head = (m.group(1) or m.group(2)) if m else chunk.section.split(" › ")[-1]
    head = re.sub(r"^\d+[.)]\s+", "", head.strip().rstrip(":").partition(" (")[0].strip())
    return head if 0 < len(head.split()) <= max_words else None


def unique_names(chunks, max_words: int) -> dict[str, str]:
    """Chunk id -> the name (``name_of``) of each chunk whose name no other chunk has."""
    from collections import Counter

    from studyrag.asking import norm_name

    names = {c.id: n for c in chunks if (n := name_of(c, max_words))}
    counts = Counter(norm_name(n) for n in names.values())
    return {cid: n for cid, n in names.items() if counts[norm_name(n)] == 1}


def rank(retriever, query: str, chunk_id: str) -> int:
    """Where ``chunk_id`` ranks in ``retriever``'s top 10 for ``query`` (99: not in it)."""
    ids = [h.chunk.id for h in retriever.search(query, 10)]
    return ids.index(chunk_id) + 1 if chunk_id in ids else 99


def summary(label: str, ranks: list[int]) -> str:
    """``label``, the count, and the share of ``ranks`` at 1 and within 3, and MRR@10."""
    n = len(ranks)
    return (f"{label} n={n}  top1 {sum(r == 1 for r in ranks) / n:.3f}  top3 {sum(r <= 3 for r in ranks) / n:.3f}  "
            f"MRR@10 {sum(1 / r for r in ranks if r <= 10) / n:.3f}")


def gold_questions():
    """(set name, row) for each distinct question of every gold set's retrieval.jsonl and questions.jsonl."""
    import json
    from pathlib import Path

    seen: set[str] = set()
    for path in sorted(Path("eval").glob("**/*.jsonl")):
        if path.name not in ("retrieval.jsonl", "questions.jsonl") or "reports" in path.parts:
            continue
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if row["question"] not in seen:
                seen.add(row["question"])
                yield path.parent.name, row

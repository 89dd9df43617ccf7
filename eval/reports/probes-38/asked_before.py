"""Which questions below the abstention gate's cosine read like a question filed beside the guides
(``HybridRetriever.asked_before``): the answerable ones the gate declines, against the unanswerable.

    python eval/reports/probes-38/asked_before.py > eval/reports/probes-38/asked_before.txt

Runs retrieval only (no generation) over the seven gold sets' retrieval files, with the gate's
other vetoes (a hit holding every term, a labelled passage) as ``StudyRAG._weak`` applies them but
without the question match itself.
"""

from __future__ import annotations

import json
from pathlib import Path

from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

ROOT = Path(__file__).resolve().parents[3]
SETS = {"eval/": "", "dev": "dev", "heldout": "heldout", "unseen": "unseen", "unseen2": "unseen2",
        "unseen3": "unseen3", "student": "student"}
TUNED = {"eval/", "dev"}  # where the threshold was chosen; the other five check it


def main() -> None:
    rag = StudyRAG.load(Settings.from_env(question_match=2.0), progress=False)  # the match off: see every weak one
    rows = []
    for name, folder in SETS.items():
        for line in (ROOT / "eval" / folder / "retrieval.jsonl").read_text(encoding="utf-8").splitlines():
            q = json.loads(line)
            hits, _ = rag._retrieve(q["question"], 10, rerank=False, guides=None)
            if rag._weak(q["question"], hits, None):
                answerable = q["kind"] != "unanswerable"
                rows.append((rag.retriever.asked_before(q["question"]), answerable, name, q["id"], q["question"]))
    rows.sort(reverse=True)
    print(f"{len(rows)} questions fall below the gate's cosine ({rag.settings.abstain_threshold})")
    print("match  kind          set       id     question")
    for score, answerable, name, qid, text in rows:
        print(f"{score:.3f}  {'answerable' if answerable else 'UNANSWERABLE':<12}  {name:<8}  {qid:<5}  {text[:80]}")
    for label, keep in (("tuning sets (eval/, dev)", TUNED), ("the other five", set(SETS) - TUNED)):
        part = [r for r in rows if r[2] in keep]
        ans = [r[0] for r in part if r[1]]
        una = [r[0] for r in part if not r[1]]
        print(f"\n{label}: answerable {len(ans)}, highest {max(ans, default=0):.3f}; "
              f"unanswerable {len(una)}, highest {max(una, default=0):.3f}")
        for t in (0.40, 0.42, 0.45, 0.50):
            print(f"  at {t:.2f}: answers {sum(a >= t for a in ans)} of {len(ans)} answerable, "
                  f"{sum(u >= t for u in una)} of {len(una)} unanswerable")


if __name__ == "__main__":
    main()

"""Should the abstention gate answer a weak question that names one of its top three passages? The
gate already answers when a passage is labelled what a "what is X?" question asks
(``Hit.named``); "What do KTO's training labels look like?" names KTO's entry, which fused order
puts first, yet is declined (cosine 0.24; eval/ a025 as a pirate). Here a passage is named when
one of its names (``HybridRetriever.names``: its bold label's and its headings') appears in the
question as whole words.

    python eval/reports/probes-39/named_gate.py > eval/reports/probes-39/named_gate.txt

Retrieval only, no generation: every question of the seven gold sets' retrieval and answer files
that ``StudyRAG._weak`` declines (the rule, ``abstain.names_a_passage``, is applied after it, in
``StudyRAG._gate``), with the names a looser match spots: any name of the top three as whole words, in any case. The rule
adopted (``names_a_passage``) also wants a capital in the question, so "applications" or "zero",
typed in lower case, names no passage.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

ROOT = Path(__file__).resolve().parents[3]
SETS = ["", "dev", "heldout", "unseen", "unseen2", "unseen3", "student"]


def words(text: str) -> str:
    """>>> words("What do KTO's labels look like?")
    ' what do kto s labels look like '"""
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


def spotted(rag: StudyRAG, question: str, hits) -> list[str]:
    asked = words(question)
    return sorted({n for h in hits[:3] for n in rag.retriever.names[h.chunk.id] if words(n) in asked})


def main() -> None:
    from studyrag.abstain import without_asides

    rag = StudyRAG.load(Settings.from_env(), progress=False)
    counts: dict[tuple[str, bool, bool], int] = {}
    for folder in SETS:
        for file in ("retrieval.jsonl", "questions.jsonl"):
            for line in (ROOT / "eval" / folder / file).read_text(encoding="utf-8").splitlines():
                q = json.loads(line)
                if q.get("history"):
                    continue  # a follow-up is asked rewritten by the model
                text = rag.retriever.respell(without_asides(q["question"]))
                hits, _ = rag._retrieve(text, 10, rerank=False, guides=None)
                if not rag._weak(text, hits, None):
                    continue
                answerable = q.get("kind") != "unanswerable" and q.get("expected", "answer") != "abstain"
                names = spotted(rag, text, hits)
                key = (file, answerable, bool(names))
                counts[key] = counts.get(key, 0) + 1
                tag = "answerable  " if answerable else "UNANSWERABLE"
                print(f"{file:<16} {folder or 'eval/':<8} {q['id']:<5} {tag} {'SPOT ' + ', '.join(names) if names else '-':<30} {text[:80]}")
    print()
    for (file, answerable, spot), n in sorted(counts.items()):
        print(f"{file:<16} {'answerable' if answerable else 'unanswerable':<12} {'named' if spot else 'not named':<10} {n}")


if __name__ == "__main__":
    main()

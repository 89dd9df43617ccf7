"""Ad hoc: with a passage labelled what is asked in the prompt, should the other sources lose their
bold sentence? Asked "What is X?", the 1.5B model sometimes takes the bold line of a look-alike
source as X's definition ("what is a reward model" got the process reward model's). Here the marks
of every source but the named ones are dropped (comparisons and questions without a named source
keep theirs). Counts the answer-set prompts this changes and asks each both ways, graded by key
facts.

    python eval/reports/probes-34/named_only_bold.py eval/reports/c32-{full,...} > named_only_bold.txt
"""

import json
import sys
from pathlib import Path

from studyrag.config import Settings
from studyrag.evaluation.metrics import key_fact_recall
from studyrag.pipeline import StudyRAG
from studyrag.prompt import close_sources
from studyrag.retrieve import HybridRetriever

marks_now = HybridRetriever.key_sentences


def named_only(self, query, hits):
    out = marks_now(self, query, hits)
    if any(h.named for h in hits):
        keep = {h.chunk.id for h in hits if h.named}
        out = {cid: s for cid, s in out.items() if cid in keep}
    return out


rag = StudyRAG.load(Settings.from_env(), progress=False)
items = []
for report in sys.argv[1:]:
    for q in json.loads((Path(report) / "report.json").read_text())["answers"]["questions"]:
        question = q["standalone_question"] or q["question"]
        hits, _ = rag._retrieve(question, 5)
        sources = close_sources(hits[:4], rag.settings.source_min_ratio)
        if named_only(rag.retriever, question, sources) != marks_now(rag.retriever, question, sources):
            items.append((f"{Path(report).name} {q['id']}", question, q["key_facts"] or []))
print(f"{len(items)} prompts change", flush=True)
totals = {"now": 0, "named only": 0}
for label, question, facts in items:
    print(f"{label}: {question}  facts={facts}")
    for arm, marks in (("now", marks_now), ("named only", named_only)):
        HybridRetriever.key_sentences = marks
        a = rag.ask(question)
        got = key_fact_recall(a.text, facts) if facts and not a.abstained else 0.0
        totals[arm] += got > 0
        state = f"DECLINED ({a.abstain_reason})" if a.abstained else f"facts={got:.2f}"
        print(f"  {arm}: {state} {(a.draft if a.abstained else a.text)!r}", flush=True)
    HybridRetriever.key_sentences = marks_now
print(f"{len(items)} prompts asked; with a key fact: now {totals['now']}, named only {totals['named only']}")

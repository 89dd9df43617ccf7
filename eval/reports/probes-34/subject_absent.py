"""Ad hoc: does an answer define something its cited sources never mention? Asked "What is mode
collapse in GANs?" (no guide says "mode collapse"), the model wrote "Mode collapse is the failure
mode where many inputs map to nearly the same embedding or hidden state [1]", the definition of
Representation Collapse, its source [1]. Asked "What is rotary positional embedding?" it gave
ALiBi's. A candidate check: the question asks what X is (``asking.asked_subject``) and no cited
source holds every content word of X (``support.content_words``, stemmed) in its text or section
path. Only a name counts: an X of at most three words, no comparison in it ("vs", "between",
"and"): the long Xs asked_subject also returns ("difference between gptq and awq quantization")
are sentences, not names.

Over every stored answer of the given reports (its final text's citations, the chunks from
today's index), counts the answers the check flags, by whether they state a key fact.

    python eval/reports/probes-34/subject_absent.py eval/reports/c32-{full,...}
"""

import json
import sys
from collections import Counter
from pathlib import Path

from studyrag import citations
from studyrag.asking import asked_subject
from studyrag.config import Settings
from studyrag.evaluation.metrics import key_fact_recall
from studyrag.pipeline import StudyRAG
from studyrag.records import Hit
from studyrag.support import content_words


def absent(subject: str, cited: list[Hit]) -> bool:
    words = content_words(subject)
    return bool(words) and not any(words <= content_words(h.chunk.text + " " + " ".join(h.chunk.path)) for h in cited)


if __name__ == "__main__":
    chunk_of = {c.id: c for c in StudyRAG.load(Settings.from_env(), progress=False).chunks}
    counts: Counter[str] = Counter()
    asked_n: Counter[str] = Counter()
    for report in sys.argv[1:]:
        for q in json.loads((Path(report) / "report.json").read_text())["answers"]["questions"]:
            if q["abstained"] or not q["answer"]:
                continue
            question = q["standalone_question"] or q["question"]
            subject = asked_subject(question)
            if q["expected"] == "answer":
                kind = "right" if q["key_facts"] and key_fact_recall(q["answer"], q["key_facts"]) > 0 else "wrong"
            else:
                kind = q["expected"]
            if not subject or len(subject.split()) > 3 or {"vs", "between", "and"} & set(subject.split()):
                continue
            asked_n[kind] += 1
            sources = [Hit(chunk_of[s["chunk_id"]], 0.0, s["n"]) for s in q["sources"]]
            r = citations.resolve_citations(q["answer"], sources, question=question)
            cited = [sources[c.n - 1] for c in r.citations]
            if absent(subject, cited):
                counts[kind] += 1
                print(f"{Path(report).name} {q['id']} {kind} X={subject!r}: {q['answer'][:140]!r}")
    print(f"answers to 'what is X' questions: {dict(asked_n)}; flagged: {dict(counts)}")

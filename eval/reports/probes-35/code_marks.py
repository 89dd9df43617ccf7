"""Ad hoc: leave a source unmarked when its sentence closest to the question lies inside a code
block. Each source has its closest sentence in bold (``prompt.highlight``), and the 1.5B model
reads its answer there. In 137 of the 536 answer-set questions some source has its bold inside a
fenced block, mostly an import, a comment or a diagram line: asked "How can a language model
teach itself when to call a calculator or search API without humans showing it examples?",
Toolformer's entry at [1] had its defining sentence in bold, [3] had "# **Example instruction
format**" inside a Python block, and the answer read "Use instruction tuning: ... [3]."

For every stored question of the given reports (its standalone question; the same sources as
the pipeline), finds the ones whose prompt the change alters and asks each both ways, graded by
its key facts (answerable) or by declining (should abstain):

    python eval/reports/probes-35/code_marks.py eval/reports/c34-full eval/reports/c32-{dev,...} > code_marks.txt
"""

import json
import sys
from pathlib import Path

import studyrag.prompt as prompt_module
from studyrag.citations import is_trivial, parse_citations
from studyrag.config import Settings
from studyrag.evaluation.metrics import fact_present
from studyrag.pipeline import StudyRAG
from studyrag.prompt import close_sources, unbold

shipped = prompt_module.highlight


def outside_code(text: str, sentence: str | None) -> str:
    """``highlight``, but a sentence inside a fenced code block stays unmarked."""
    at = text.find(sentence) if sentence else -1
    if at >= 0 and text[:at].count("```") % 2 == 1:
        return text
    return shipped(text, sentence)


def changed(rag: StudyRAG, question: str) -> bool:
    hits, _ = rag._retrieve(question, 5)
    sources = close_sources(hits[:4], rag.settings.source_min_ratio)
    marks = rag.retriever.key_sentences(question, sources)
    for h in sources:
        text, mark = unbold(h.chunk.text), unbold(marks.get(h.chunk.id) or "") or None
        if shipped(text, mark) != outside_code(text, mark):
            return True
    return False


def claims(answer: str) -> tuple[int, int]:
    """(claim sentences, cited claim sentences) of an answer."""
    sentences = [s for s in parse_citations(answer) if not is_trivial(s.text)]
    return len(sentences), sum(bool(s.numbers) for s in sentences)


rag = StudyRAG.load(Settings.from_env(), progress=False)
totals = {arm: {"facts": 0, "declined_answerable": 0, "declined_unanswerable": 0, "claims": 0, "cited": 0} for arm in ("shipped", "outside_code")}
n_ans = n_unans = n_all = 0
for report in sys.argv[1:]:
    for q in json.loads((Path(report) / "report.json").read_text())["answers"]["questions"]:
        if q.get("error"):
            continue
        n_all += 1
        question = q["standalone_question"] or q["question"]
        if not changed(rag, question):
            continue
        answerable = q["expected"] != "abstain"
        n_ans += answerable
        n_unans += not answerable
        print(f"{Path(report).name} {q['id']} ({'answerable' if answerable else 'should abstain'}): {question}  facts={q['key_facts']}")
        for arm, fn in (("shipped", shipped), ("outside_code", outside_code)):
            prompt_module.highlight = fn
            a = rag.ask(question)
            t = totals[arm]
            if answerable:
                got = not a.abstained and any(fact_present(a.text, f) for f in q["key_facts"] or [])
                t["facts"] += got
                t["declined_answerable"] += a.abstained
                if not a.abstained:
                    c, cited = claims(a.text)
                    t["claims"] += c
                    t["cited"] += cited
                state = f"DECLINED ({a.abstain_reason})" if a.abstained else ("FACT" if got else "no fact")
            else:
                t["declined_unanswerable"] += a.abstained
                state = "declined" if a.abstained else "ANSWERED"
            print(f"  {arm}: {state} {(a.draft if a.abstained else a.text)!r}", flush=True)
        prompt_module.highlight = shipped
        print()
print(f"{n_ans + n_unans} of {n_all} questions' prompts change ({n_ans} answerable, {n_unans} should abstain)")
for arm, t in totals.items():
    print(f"{arm}: with a key fact {t['facts']} of {n_ans}; answerable declined {t['declined_answerable']}; "
          f"should-abstain declined {t['declined_unanswerable']} of {n_unans}; cited claim sentences {t['cited']} of {t['claims']}")

"""Ad hoc: would a yes/no hint that asks for the source number keep "Yes, it can." sentences cited?

The yes/no hint (``prompt.YES_NO_HINT``) made answers name what the sources call the thing, but their
opening "Yes, ..." sentence is often left uncited (most of the uncited claim sentences in the c29 runs).
Every stored yes/no question is asked again with the hint replaced by ``HINT`` (the variant named on the
command line); the other answers are kept. Prints each changed outcome, then totals per report in the
terms of ``scripts/answer_targets.py``.

    python eval/reports/probes-30/yes_no_cite.py number eval/reports/c29-full eval/reports/c29-framing-dev ...
"""

import sys
from pathlib import Path

import studyrag.prompt as prompt
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
from answer_targets import targets  # noqa: E402
from replay import replay_report  # noqa: E402

HINTS = {
    "number": "Say yes or no and end that sentence with its source number, then name what the sources "
    "call it and what they say about it.",
    "one": 'Start with yes or no and what the sources call it, in one sentence such as "Yes: the sources '
    'call it X [1].", then say what they say about it.',
}
variant, reports = sys.argv[1], sys.argv[2:]
prompt.YES_NO_HINT = HINTS[variant]
rag = StudyRAG.load(Settings.from_env(), progress=False)


pooled_before, pooled_after = [], []
for report in reports:
    before, after = replay_report(
        rag, report, lambda q: prompt.is_yes_no(q["standalone_question"] or q["question"])
    )
    pooled_before += before
    pooled_after += after
    b, c = targets(before), targets(after)
    print(f"{report}: any key fact {b['any_key_fact']:.3f} -> {c['any_key_fact']:.3f}, "
          f"cited {b['cited_sentences']:.3f} -> {c['cited_sentences']:.3f}, "
          f"answerable declined {b['abstained_when_answerable']:.3f} -> {c['abstained_when_answerable']:.3f}", flush=True)
b, c = targets(pooled_before), targets(pooled_after)
print(f"pooled ({variant}): any key fact {b['any_key_fact']:.3f} -> {c['any_key_fact']:.3f}, "
      f"cited {b['cited_sentences']:.3f} -> {c['cited_sentences']:.3f}, "
      f"answerable declined {b['abstained_when_answerable']:.3f} -> {c['abstained_when_answerable']:.3f}")

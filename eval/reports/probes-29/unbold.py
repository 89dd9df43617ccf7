"""Ad hoc: the guides' own **bold** left out of the prompt (``prompt.unbold``), so that bold marks
only the sentence closest to the question. Every stored answer whose prompt this changes is asked
again with today's code; unchanged prompts give the stored answers. Prints, per changed question,
the stored and new outcome (declined, at least one key fact, claim sentences cited), then totals
per report in the terms of ``scripts/answer_targets.py``.

    python eval/reports/probes-29/unbold.py eval/reports/c27-full eval/reports/c256-dev ...
"""

import sys
from pathlib import Path

import studyrag.prompt as prompt
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
from answer_targets import targets  # noqa: E402
from replay import prompt_changed, replay_report  # noqa: E402

rag = StudyRAG.load(Settings.from_env(), progress=False)
unbold = prompt.unbold


def strip(on: bool) -> None:  # the variant: the guide's bold left out (on) or kept (off)
    prompt.unbold = unbold if on else (lambda text: text)


changed = prompt_changed(rag, strip)
for report in sys.argv[1:]:
    before, after = replay_report(rag, report, changed)
    b, c = targets(before), targets(after)
    print(f"{report}: changed prompts asked again; any key fact {b['any_key_fact']:.3f} -> {c['any_key_fact']:.3f}, "
          f"cited {b['cited_sentences']:.3f} -> {c['cited_sentences']:.3f}, "
          f"unanswerable declined {b['abstained_when_unanswerable']:.3f} -> {c['abstained_when_unanswerable']:.3f}, "
          f"answerable declined {b['abstained_when_answerable']:.3f} -> {c['abstained_when_answerable']:.3f}", flush=True)

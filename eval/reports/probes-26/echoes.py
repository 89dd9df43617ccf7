"""Ad hoc: answer sentences that repeat the prompt's worked example rather than a source. For every
answer (or declined draft) of the given reports, each sentence that shares a run of N words with the
worked example's sources or answer, a run that no source of its own prompt holds, is printed.

    python eval/reports/probes-26/echoes.py [--n 4] eval/reports/c25-full eval/reports/c256-dev ...
"""

import argparse
import json
from pathlib import Path

from studyrag import prompt
from studyrag.citations import split_sentences
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG


def runs(text: str, n: int) -> set[tuple[str, ...]]:
    return prompt._word_runs(text, n)  # lower case, citation markers left out


ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, default=4)
ap.add_argument("reports", nargs="+")
args = ap.parse_args()
example = " ".join([*(t for _, t in prompt._EXAMPLE_SOURCES), prompt._EXAMPLE_ANSWER])
example_runs = runs(example, args.n)
text_of = {c.id: c.text for c in StudyRAG.load(Settings.from_env(), progress=False).chunks}
for report in args.reports:
    flagged = 0
    for q in json.loads((Path(report) / "report.json").read_text())["answers"]["questions"]:
        said = q["draft"] if q["abstained"] else q["answer"]
        if not said:
            continue
        sources = " ".join(text_of.get(s["chunk_id"], "") for s in q["sources"])
        for sentence in split_sentences(said):
            echo = (runs(sentence, args.n) & example_runs) - runs(sources, args.n)
            if echo:
                flagged += 1
                state = f"declined ({q['abstain_reason']})" if q["abstained"] else "answered"
                print(f"{report} {q['id']} {q['expected']} {state}: {sentence!r} {sorted(' '.join(r) for r in echo)}")
    print(f"{report}: {flagged} sentences")

"""Ad hoc: Markdown tables written out row by row in the answer prompt, each row as "label: column
value, column value" (the 1.5B model had read unseen's u017 "INT4 gives 0.25x memory" from the INT8
row of a pipe table). Every stored answer whose prompt this changes is asked again; unchanged
prompts give the stored answers. Prints each changed question's stored and new outcome, then totals
per report in the terms of ``scripts/answer_targets.py``.

    python eval/reports/probes-31/tables.py eval/reports/c29-full eval/reports/c29-framing-dev ...
"""

import re
import sys
from pathlib import Path

import studyrag.prompt as prompt
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
from replay import prompt_changed, replay_report, totals_line  # noqa: E402

# a row of cells between pipes (the prompt's bold mark may wrap the whole row); under the header a rule
ROW = re.compile(r"^\s*(\*\*)?\|(.*)\|(\*\*)?\s*$")
RULE = re.compile(r"^\s*\|?(?:\s*:?-{3,}:?\s*\|)+(?:\s*:?-{3,}:?\s*)?$")


def cells(row: str) -> list[str]:
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", row)]


def table_rows(text: str) -> str:
    """``| INT4 | 0.125x |`` under ``| Precision | Memory |`` becomes ``- INT4: Memory 0.125x``."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        head = ROW.match(lines[i])
        if not (head and i + 1 < len(lines) and RULE.match(lines[i + 1])):
            out.append(lines[i])
            i += 1
            continue
        names, i = cells(head.group(2)), i + 2
        while i < len(lines) and (row := ROW.match(lines[i])):
            label, *values = cells(row.group(2))
            pairs = [f"{n} {v}" if n else v for n, v in zip(names[1:], values, strict=False) if v]
            bold = "**" if row.group(1) and row.group(3) else ""
            out.append(f"- {bold}{label}: {', '.join(pairs)}{bold}")
            i += 1
    return "\n".join(out)


rag = StudyRAG.load(Settings.from_env(), progress=False)
plain = prompt.highlight


def rows(on: bool) -> None:  # build_prompt sets each source's text through highlight last
    prompt.highlight = (lambda text, mark: table_rows(plain(text, mark))) if on else plain


changed = prompt_changed(rag, rows)
for report in sys.argv[1:]:
    before, after = replay_report(rag, report, changed)
    print(totals_line(report, before, after), flush=True)

"""Ad hoc: how many answers change their words, with the code and the sources unchanged.

1. Between two machines: each pair of reports ``A:B`` given (same questions, same code), the
   answers (or, when declined, the drafts) that differ word for word.
2. Between two orders on one machine: the ``shipped`` arm of ``code_marks.txt`` (this session's
   code, the prompts asked in the probe's order, each question twice) against the ``c35-*``
   reports made on the same machine in the eval's order.

    python eval/reports/probes-35/answer_drift.py c34-full:c35-full c34-student:c35-student c32-dev:c35-dev > answer_drift.txt
"""

import ast
import json
import re
import sys
from pathlib import Path

REPORTS = Path(__file__).resolve().parents[1]


def answers(run: str) -> dict[str, str]:
    qs = json.loads((REPORTS / run / "report.json").read_text())["answers"]["questions"]
    return {q["id"]: q["draft"] if q["abstained"] else q["answer"] for q in qs}


pairs = [arg.split(":") for arg in sys.argv[1:]]
for a, b in pairs:
    old, new = answers(a), answers(b)
    print(f"{a} -> {b}: {sum(old[k] != new[k] for k in old)} of {len(old)} answers differ word for word")

later = {a: b for a, b in pairs}  # the probe names each question by its older report
same = differ = 0
for block in (Path(__file__).parent / "code_marks.txt").read_text().split("\n\n"):
    head = re.match(r"(\S+) (\S+) \(", block.strip())
    arm = re.search(r"  shipped: (?:DECLINED \(\w+\)|no fact|FACT|declined|ANSWERED) (.*)", block)
    if not head or not arm or head.group(1) not in later:
        continue
    probe, run = ast.literal_eval(arm.group(1)), answers(later[head.group(1)])[head.group(2)]
    if probe == run:
        same += 1
    else:
        differ += 1
        print(f"  {later[head.group(1)]} {head.group(2)}: probe {probe[:60]!r} | report {run[:60]!r}")
print(f"one machine, two orders: {differ} of {same + differ} answers differ word for word")

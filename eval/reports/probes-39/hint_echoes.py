"""Which stored answers or drafts hold a sentence that ``prompt.drop_example_echoes`` drops as the
yes/no hint written out as an answer (held-out s027)? No model runs: every answer and draft of the
given answer reports goes through the function with and without the hint's word runs.

    python eval/reports/probes-39/hint_echoes.py eval/reports/c3[5-9]-* > eval/reports/probes-39/hint_echoes.txt
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from unittest.mock import patch

from studyrag import prompt


def main() -> None:
    seen = changed = 0
    for report in sys.argv[1:]:
        path = Path(report) / "report.json"
        if not path.exists():
            continue
        for q in json.loads(path.read_text(encoding="utf-8")).get("answers", {}).get("questions", []):
            for field in ("answer", "draft"):
                text = q.get(field) or ""
                if not text:
                    continue
                seen += 1
                with patch.object(prompt, "_HINT_RUNS", set()):
                    without = prompt.drop_example_echoes(text, [])
                if without != prompt.drop_example_echoes(text, []):
                    changed += 1
                    print(f"{Path(report).name} {q['id']} {field}: {text[:160]!r}")
    print(f"{changed} of {seen} stored answers and drafts change")


if __name__ == "__main__":
    main()

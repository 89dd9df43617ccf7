"""Ad hoc: "What is X?" for every name of one to four words the label rule knows
(``probes-33/common.named_passages``), kept when the bold sentence of a named source differs
between its closest sentence and its first (see ``named_answers.py``). Prints how many, and writes
the questions for ``named_answers.py --questions``; with a seed, a random sample of them.

    python eval/reports/probes-34/named_questions.py OUT.txt [N SEED]
"""

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "probes-33"))
from common import named_passages  # noqa: E402

from studyrag.config import Settings  # noqa: E402
from studyrag.pipeline import StudyRAG  # noqa: E402
from studyrag.prompt import close_sources  # noqa: E402

rag = StudyRAG.load(Settings.from_env(), progress=False)
names = sorted(named_passages(rag))
differ = []
for name in names:
    q = f"What is {name}?"
    hits, _ = rag._retrieve(q, 5)
    sources = close_sources(hits[:4], rag.settings.source_min_ratio)
    if rag.retriever.key_sentences(q, sources) != rag.retriever.closest_sentences(q, sources):
        differ.append(q)
print(f"{len(differ)} of {len(names)} names' questions have a bold sentence that changes")
if len(sys.argv) > 2:
    differ = sorted(random.Random(int(sys.argv[3])).sample(differ, min(int(sys.argv[2]), len(differ))))
Path(sys.argv[1]).write_text("".join(q + "\n" for q in differ))

"""Ad hoc: retrieval when the student mistypes. Each answerable question of a stored retrieval
report gets one typing slip (a letter dropped, doubled away, swapped or changed) in one word of
six letters or more, seeded, never turning it into another English word. The fused top 5 is
scored on the report's relevant chunks for the question as written, with the slip, and with the
slip but ``Settings.respell`` off. R@5: share of evidence items with a relevant chunk in the top 5.

    python eval/reports/probes-28/typos.py eval/reports/c256-main-retrieval [more reports] > typos.txt

Five seeds (28-32), each a different draw of slips, and their mean.
"""

import dataclasses
import json
import random
import re
import sys
from pathlib import Path

from slips_common import slip

from studyrag.config import Settings
from studyrag.lexical import STOP_WORDS
from studyrag.pipeline import StudyRAG
from studyrag.retrieve import HybridRetriever

rag = StudyRAG.load(Settings.from_env(), progress=False)
plain = HybridRetriever(rag.index, rag.embedder, dataclasses.replace(rag.settings, respell=False))


def recall(hits, relevant) -> float:
    top = {h.chunk.id for h in hits[:5]}
    return sum(bool(top & set(ids)) for ids in relevant.values()) / len(relevant)


SEEDS = range(28, 33)  # five draws of slips: one draw moves R@5 by chance (see the rows printed)
for report in sys.argv[1:]:
    questions = json.loads(Path(report, "report.json").read_text())["retrieval"]["questions"]
    totals = []
    for seed in SEEDS:
        rng = random.Random(seed)
        rows = []
        for q in questions:
            if not q["relevant"]:
                continue
            words = [m for m in re.finditer(r"[A-Za-z]{6,}", q["question"]) if m.group().lower() not in STOP_WORDS]
            if not words:
                continue
            m = rng.choice(words)
            typo = slip(m.group(), rng)
            if typo is None:
                continue
            typed = q["question"][: m.start()] + typo + q["question"][m.end() :]
            read = rag.retriever.respell(typed)
            rows.append((q["kind"], recall(rag.retriever.search(q["question"], 10), q["relevant"]),
                         recall(plain.search(typed, 10), q["relevant"]),
                         recall(rag.retriever.search(typed, 10), q["relevant"]),
                         read == q["question"], m.group(), typo, read))
        print(f"{report}, seed {seed}: {len(rows)} questions with one slip")
        for kind in sorted({r[0] for r in rows}) + ["all"]:
            sel = [r for r in rows if kind in ("all", r[0])]
            m = [sum(r[i] for r in sel) / len(sel) for i in (1, 2, 3)]
            print(f"  {kind:14} n={len(sel):3}  R@5 as written {m[0]:.3f}  with the slip {m[1]:.3f}  respelt {m[2]:.3f}")
        totals.append(m)
        back = sum(r[4] for r in rows)
        print(f"  respelling restores the question exactly for {back} of {len(rows)}")
        for r in rows:
            if r[2] != r[3]:
                print(f"    R@5 as written {r[1]:.2f}, slip {r[2]:.2f}, respelt {r[3]:.2f}: {r[5]} -> {r[6]} -> {r[7]}")
    mean = [sum(t[i] for t in totals) / len(totals) for i in range(3)]
    print(f"mean over {len(totals)} seeds, all kinds: R@5 as written {mean[0]:.3f}  with the slip {mean[1]:.3f}  "
          f"respelt {mean[2]:.3f}")

"""Ad hoc: "What is X?" for every concept X that names exactly one chunk (a bold label, or the last
heading of its path, before any bracket, at most five words), asked three ways: as written, with
one typing slip in X's longest word (seeded; never another English word), and with a CamelCase
name split in two ("Paged Attention" for PagedAttention). Prints the named chunk's rank as written,
with the slip and ``Settings.respell`` off, and with the slip and respelling on (the default); then
the same for the split names with the label rule comparing names without spaces (today) against
the rule as it was (``labels._keys`` with spaces kept).

    python eval/reports/probes-28/label_slips.py > eval/reports/probes-28/label_slips.txt
"""

import dataclasses
import random
import re
from unittest import mock

from slips_common import rank, slip, unique_names

from studyrag import labels
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG
from studyrag.retrieve import HybridRetriever

CAMEL = re.compile(r"^([A-Z][a-z]+)([A-Z][a-z]+)$")
rng = random.Random(28)

rag = StudyRAG.load(Settings.from_env(), progress=False)
on = rag.retriever
off = HybridRetriever(on.index, on.embedder, dataclasses.replace(on.settings, respell=False))


names = unique_names(rag.chunks, 5)



def summary(label: str, rs: list[int]) -> None:
    n = len(rs)
    print(f"{label:<34} n={n}  top1 {sum(r == 1 for r in rs) / n:.3f}  top3 {sum(r <= 3 for r in rs) / n:.3f}  "
          f"MRR@10 {sum(1 / r for r in rs if r <= 10) / n:.3f}")


cols: dict[str, list[int]] = {"as written": [], "slip, respell off": [], "slip, respell on": []}
for cid, name in sorted(names.items(), key=lambda kv: kv[1]):
    words = [m for m in re.finditer(r"[A-Za-z]{5,}", name)]
    if not words:
        continue
    m = max(words, key=lambda m: len(m.group()))
    typo = slip(m.group(), rng)
    if typo is None:
        continue
    typed = f"What is {name[: m.start()]}{typo}{name[m.end():]}?"
    r = [rank(on, f"What is {name}?", cid), rank(off, typed, cid), rank(on, typed, cid)]
    for col, x in zip(cols, r, strict=True):
        cols[col].append(x)
    if r[1] != r[2]:
        print(f"{r[0]:>3} {r[1]:>3} -> {r[2]:>3}  {typed}  (read as: {on.respell(typed)})")
for col, rs in cols.items():
    summary(col, rs)

print()
old_keys = lambda ns: {n.replace("-", " ") for n in ns}  # noqa: E731  spaces kept: the rule before
split: dict[str, list[int]] = {"split, names with spaces": [], "split, names without": []}
for cid, name in sorted(names.items(), key=lambda kv: kv[1]):
    if not (m := CAMEL.match(name)):
        continue
    q = f"What is {m.group(1)} {m.group(2)}?"
    with mock.patch.object(labels, "_keys", old_keys):
        before = rank(on, q, cid)
    after = rank(on, q, cid)
    split["split, names with spaces"].append(before)
    split["split, names without"].append(after)
    print(f"{before:>3} -> {after:>3}  {q}")
for col, rs in split.items():
    summary(col, rs)

"""Ad hoc: "What does X do?", "How is X used?", "What is X and why does it matter?", "What is X?
Explain it simply." and "What is X in Y?" (Y the heading above X's chunk, or another chunk's) for
every concept X that names exactly one chunk (as in label_slips.py): the named chunk's rank with the label rule reading these forms
(``labels._STANDS``, ``_head``, ``_FIRST_QUESTION`` today) and without (the rule as it was). Then the gold questions of every
set whose subject the new forms read differently.

    python eval/reports/probes-28/more_forms.py > eval/reports/probes-28/more_forms.txt
"""

import re
from unittest import mock

from slips_common import gold_questions, rank, summary, unique_names

from studyrag import asking, labels
from studyrag.asking import norm_name
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

OLD = re.compile(
    r"^(?:what\s+(?:does|do)\s+(?:an?\s+|the\s+)?(.+?)\s+(?:stand\s+for|mean)"
    r"|how\s+(?:does|do)\s+(?:an?\s+|the\s+)?(.+?)\s+work"
    r"|(?:summari[sz]e|(?:give\s+(?:me\s+)?)?an\s+overview\s+of)\s+(?:an?\s+|the\s+)?(.+?))\s*[?.!]*$",
    re.I,
)
rag = StudyRAG.load(Settings.from_env(), progress=False)
on = rag.retriever
names = unique_names(rag.chunks, 5)



NEVER = re.compile(r"(?!)")
chunks = {c.id: c for c in rag.chunks}


def parent(cid: str) -> str | None:
    """The heading above a chunk's own, before any bracket ("Mixture of Experts"), if it has one."""
    path = chunks[cid].path
    return re.sub(r"^\d+[.)]\s+", "", path[-2].partition(" (")[0]).strip() if len(path) >= 2 else None


def before_and_today(form: str, pairs: list[tuple[str, str]]) -> dict[str, list[int]]:
    cols: dict[str, list[int]] = {"rule before": [], "rule today": []}
    for cid, q in pairs:
        with mock.patch.object(labels, "_STANDS", OLD), mock.patch.object(labels, "_head", lambda subject: (subject, "")), \
                mock.patch.object(labels, "_FIRST_QUESTION", NEVER):
            cols["rule before"].append(rank(on, q, cid))
        cols["rule today"].append(rank(on, q, cid))
    for col, rs in cols.items():
        print(summary(f"{form:<36} {col:<11}", rs))
    return cols


ordered = sorted(names.items(), key=lambda kv: kv[1])
for form in ("What does {} do?", "How is {} used?", "What is {} and why does it matter?", "What is {}? Explain it simply."):
    before_and_today(form, [(cid, form.format(name)) for cid, name in ordered])
# "X in Y": Y the heading above X's chunk (its context), or the one above another chunk (not its
# context: the rule must not put X's chunk first then, unless the chunk happens to mention Y)
inside = [(cid, name, p) for cid, name in ordered if (p := parent(cid)) and norm_name(p) != norm_name(name)]
before_and_today("What is X in <its own parent heading>?", [(cid, f"What is {n} in {p}?") for cid, n, p in inside])
others = [p for _, _, p in inside]
wrong = [(cid, f"What is {n} in {others[(i + 7) % len(others)]}?") for i, (cid, n, p) in enumerate(inside)
         if norm_name(others[(i + 7) % len(others)]) != norm_name(p)]
cols = before_and_today("What is X in <another parent heading>?", wrong)

gold = list(gold_questions())
for set_name, row in gold:
    q = row["question"].strip()
    with mock.patch.object(labels, "_STANDS", OLD), mock.patch.object(labels, "_head", lambda subject: (subject, "")), \
            mock.patch.object(labels, "_FIRST_QUESTION", NEVER):
        before = asking.asked_subject(q)
    if asking.asked_subject(q) != before:
        print(f"gold question read differently: {set_name}/{row['id']}: {q} -> {asking.asked_subject(q)} (was {before})")
print(f"{len(gold)} distinct gold questions checked")

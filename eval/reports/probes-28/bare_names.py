"""Ad hoc: a bare name typed as the whole query ("LoRA", "kv cache"), for every concept that names
exactly one chunk (as in label_slips.py): the named chunk's rank with the label rule reading bare
names (``asking._bare``, today) and without (the rule before: only "What is X?" and its kin).
Then which gold questions, of every set, the bare-name reading applies to at all (a comparison,
"X vs Y?", is read as one before any subject).

    python eval/reports/probes-28/bare_names.py > eval/reports/probes-28/bare_names.txt
"""

from unittest import mock

from slips_common import gold_questions, rank, summary, unique_names

from studyrag import asking
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

rag = StudyRAG.load(Settings.from_env(), progress=False)
on = rag.retriever


names = unique_names(rag.chunks, 4)



cols: dict[str, list[int]] = {"bare name, rule before": [], "bare name, rule today": []}
for cid, name in sorted(names.items(), key=lambda kv: kv[1]):
    if asking._bare(name) is None:
        continue
    with mock.patch.object(asking, "_bare", lambda q: None):
        before = rank(on, name, cid)
    after = rank(on, name, cid)
    cols["bare name, rule before"].append(before)
    cols["bare name, rule today"].append(after)
    if before != after:
        print(f"{before:>3} -> {after:>3}  {name}")
for col, rs in cols.items():
    print(summary(f"{col:<24}", rs))

gold = list(gold_questions())
for set_name, row in gold:
    asked = row["question"].strip()
    if not asking.compared(asked) and not asking._STANDS.match(asked) and not asking._ASKS.match(asked) \
            and asking.asked_subject(asked):
        print(f"gold question read as a bare name: {set_name}: {asked}")
print(f"{len(gold)} distinct gold questions checked")

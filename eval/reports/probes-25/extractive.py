"""Ad hoc: how often would quoting the guide beat the model? For each answerable question of the
stored answer reports, the sentence of each prompt source closest to the question (the one the
prompt puts in bold: HybridRetriever.key_sentences) is taken as an "extractive answer". Counts
questions with at least one key fact (metrics.fact_present) in: the model's answer; the key
sentence of [1]; the key sentences of [1] and [2]; the whole text of [1]; any source of the prompt (the most a prompt-bound answer could state).

    python eval/reports/probes-25/extractive.py eval/reports/c24-full eval/reports/c256-dev ...
"""

import json
import sys
from pathlib import Path

from studyrag.config import Settings
from studyrag.evaluation.metrics import fact_present
from studyrag.pipeline import StudyRAG

rag = StudyRAG.load(Settings.from_env(), progress=False)
by_id = {c.id: c for c in rag.chunks}
pooled: dict[str, int] = {}
for d in sys.argv[1:]:
    rows = json.loads((Path(d) / "report.json").read_text())["answers"]["questions"]
    counts = dict.fromkeys(("n", "model", "key [1]", "key [1]+[2]", "chunk [1]", "any prompt source", "model or key [1]"), 0)
    for r in rows:
        if r["expected"] == "abstain" or not r["key_facts"]:
            continue
        hits = [h for h in rag.retriever.search(r["standalone_question"] or r["question"], 10)]
        order = {h.chunk.id: h for h in hits}
        srcs = [order.get(s["chunk_id"]) for s in r["sources"]]
        srcs = [h for h in srcs if h is not None]
        keys = rag.retriever.key_sentences(r["standalone_question"] or r["question"], srcs) if srcs else {}
        texts = {
            "model": "" if r["abstained"] else r["answer"],
            "key [1]": keys.get(srcs[0].chunk.id, srcs[0].chunk.text) if srcs else "",
            "key [1]+[2]": " ".join(keys.get(h.chunk.id, h.chunk.text) for h in srcs[:2]),
            "chunk [1]": srcs[0].chunk.text if srcs else "",
            "any prompt source": "",
        }
        hit = {k: any(fact_present(t, f) for f in r["key_facts"]) for k, t in texts.items()}
        hit["any prompt source"] = any(fact_present(h.chunk.text, f) for h in srcs for f in r["key_facts"])
        hit["model or key [1]"] = hit["model"] or hit["key [1]"]
        counts["n"] += 1
        for k, v in hit.items():
            counts[k] += v
    print(Path(d).name, counts)
    for k, v in counts.items():
        pooled[k] = pooled.get(k, 0) + v
print("pooled", pooled, {k: round(v / pooled["n"], 3) for k, v in pooled.items() if k != "n"})

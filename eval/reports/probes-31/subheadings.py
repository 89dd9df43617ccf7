"""Ad hoc: each sentence vector's prefix carries the subheading above it inside its chunk ("Section 7:
Scalable Systems › Cost Optimization: Spot instance strategies" instead of "Section 7: Scalable Systems:
Spot instance strategies"; 13 of the 404 chunks have such "##"-"######" lines, the cheat sheet's lists
that several paraphrase misses point at), optionally with sentences of fewer words kept (the default
keeps 4 or more). Builds its own index under STUDYRAG_INDEX_DIR, then prints fused and dense R@5 / MRR@10
pooled over the seven gold sets, paraphrases, per set, the MoE question's load-balancing ranks and the
number of vectors.

    rm -rf /tmp/idx; STUDYRAG_INDEX_DIR=/tmp/idx python eval/reports/probes-31/subheadings.py {plain,sub} [MIN_WORDS]
"""
import re
import sys
from functools import lru_cache
from pathlib import Path

from studyrag import store
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pooled import gold_sets, pooled  # noqa: E402

MODE = sys.argv[1]
SUB = re.compile(r"(?m)^#{2,6}\s+(.+?)\s*$")
MIN = int(sys.argv[2]) if len(sys.argv) > 2 else 4

if MIN != 4:
    @lru_cache(maxsize=20000)
    def _long(text):
        from studyrag.citations import split_sentences
        found = [s.strip() for s in split_sentences(text)]
        found = [s for s in found if len(s.split()) >= MIN]
        return tuple(found) if len(found) >= 2 else ()
    store._long_sentences = _long

def sentence_texts(chunk):
    out = []
    subs = [(m.start(), m.group(1)) for m in SUB.finditer(chunk.text)]
    for s in store.chunk_sentences(chunk):
        at = chunk.text.find(s)
        sub = [name for pos, name in subs if pos <= at and s.lstrip("#").strip() != name]
        head = chunk.section + (f" › {sub[-1]}" if sub and MODE == "sub" else "")
        out.append(f"{head}: {s}" if chunk.path else s)
    return out
store.sentence_texts = sentence_texts

base = Settings.from_env()
rag = StudyRAG.load(base, progress=False)
pooled(f"{MODE} min{MIN} ({rag.index.dense.n_vectors} vectors)", rag.retriever, gold_sets(rag, base))

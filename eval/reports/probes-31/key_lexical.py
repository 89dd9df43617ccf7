"""Ad hoc: the bold key sentence of each source (``HybridRetriever.key_sentences``) chosen by its
cosine with the question plus ``LAMBDA`` per content word it shares with the question, instead of the
cosine alone. The MoE question's [3] had "Pᵢ: fraction of router probability for expert i" in bold
(cosine 0.418) over "Router learns to use only a few experts → Add auxiliary loss" (0.345). Every
stored answer whose prompt this changes is asked again; unchanged prompts give the stored answers.
Prints each changed question's stored and new outcome, then totals per report in the terms of
``scripts/answer_targets.py``.

    python eval/reports/probes-31/key_lexical.py 0.05 eval/reports/c29-full eval/reports/c29-framing-dev ...
"""

import sys
from pathlib import Path

import numpy as np

from studyrag.citations import content_words
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG
from studyrag.retrieve import HybridRetriever
from studyrag.store import chunk_sentences

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
from replay import prompt_changed, replay_report, totals_line  # noqa: E402

LAMBDA = float(sys.argv[1])
rag = StudyRAG.load(Settings.from_env(), progress=False)
cosine_only = HybridRetriever.key_sentences


def with_words(self, query, hits):
    vector = self._embed_query(self._query(query))
    asked = content_words(query)
    out = {}
    for h in hits:
        sentences = chunk_sentences(h.chunk)
        if not sentences:
            continue
        stored = self.index.dense.extra_vectors(self._positions[h.chunk.id])
        shared = np.array([len(content_words(s) & asked) for s in sentences])
        out[h.chunk.id] = sentences[int(np.argmax(stored @ vector + LAMBDA * shared))]
    return out


def words_too(on: bool) -> None:
    HybridRetriever.key_sentences = with_words if on else cosine_only


changed = prompt_changed(rag, words_too)
for report in sys.argv[2:]:
    before, after = replay_report(rag, report, changed)
    print(totals_line(report, before, after), flush=True)

"""Ad hoc: attribute an uncited claim sentence by what it adds to the question. Today
``citations.attribute_uncited`` gives an uncited sentence the source holding half of all its words
(0.5); a yes/no answer's opener restates the question ("Yes, there is a network design called Switch
Transformer.") and misses that bar on the question's words alone. The variant also attributes a
sentence still uncited when one source holds half of the words it adds to the question and
``MIN_SUPPORT`` of all its words: the two-part test ``citations.better_source`` applies to cited
sentences. Every stored answer, or draft declined as unsupported, goes through the post-passes of
``StudyRAG.ask_stream`` both ways (``scripts/replay.py``'s ``recheck_report``); no model runs. Prints
each answer the variant changes, and per report the figures in the terms of ``scripts/answer_targets.py``.

    python eval/reports/probes-31/adds_attribution.py eval/reports/c29-full eval/reports/c29-framing-dev ...
"""

import sys
from pathlib import Path

from studyrag import citations
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG
from studyrag.records import Hit

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
from replay import recheck_report, totals_line  # noqa: E402


def by_adds(text: str, sources: list[Hit], question: str) -> str:
    docs = [h.chunk.embed_text for h in sources]
    asked = citations.content_words(question)
    out = text
    for s in reversed(citations.parse_citations(text)):
        if any(1 <= n <= len(sources) for n in s.numbers) or citations.is_trivial(text[s.start : s.end]):
            continue
        adds = [citations.support_score(s.text, d, ignore=asked) for d in docs]
        whole = [citations.support_score(s.text, d) for d in docs]
        scores = [a if w >= citations.MIN_SUPPORT else 0.0 for a, w in zip(adds, whole, strict=True)]
        best = max(range(len(docs)), key=lambda i: (scores[i], -i))
        if scores[best] >= 0.5:
            out = citations._insert_marker(out, s.start, s.end, best + 1)
    return out


def checked(said: str, sources: list[Hit], question: str, variant: bool) -> tuple[str, bool]:
    text = citations.attribute_uncited(said, sources)
    if variant:
        text = by_adds(text, sources, question)
    text = citations.repair_citations(text, sources, question=question)
    return text, citations.resolve_citations(text, sources, question=question).grounded


chunk_of = {c.id: c for c in StudyRAG.load(Settings.from_env(), progress=False).chunks}
for report in sys.argv[1:]:
    before, after = recheck_report(report, chunk_of, checked)
    print(totals_line(report, before, after), flush=True)

"""Ad hoc: do the guide questions' vectors help the dense retriever too, as extra vectors of the chunk
they ask about (like its sentences: one must beat the chunk's own vector by the sentence margin to
lift it)? The tenth session tried this with the 1.5B model's questions and found nothing; the
agents' questions now filed beside the guides are the ones the abstention gate matches.

    python eval/reports/probes-38/dense_questions.py OUT   # e.g. /tmp/p38/denseq
    QSCALE=0.9 python eval/reports/probes-38/dense_questions.py OUT   # question vectors scaled by 0.9:
        # a cosine of 0.5 counts 0.45, on top of the sentence margin

Builds a separate index under OUT/indexes and runs `studyrag eval --suite retrieval` on every set;
compare with `python eval/reports/probes-37/pooled.py c37 OUT`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "probes-37"))
from bm25_doc2query import run_sets  # noqa: E402


def main() -> None:
    out, scale = Path(sys.argv[1]), float(os.environ.get("QSCALE", "1"))
    import studyrag.store as store
    from studyrag.config import Settings

    settings = Settings.from_env()
    dense_texts, build = store._dense_texts, store.DenseIndex.build
    n_asked = [0]

    def with_questions(chunks, sentences):
        texts, owners = dense_texts(chunks, sentences)
        asked = store._lexical_docs(settings, chunks).asked
        n_asked[0] = len(asked)
        return texts + [q for _, q in asked], np.concatenate([owners, np.asarray([i for i, _ in asked], dtype=np.int64)])

    def scaled(vectors, factory, owners=None, **kw):
        if owners is not None and scale != 1 and n_asked[0]:
            vectors = vectors.copy()
            vectors[-n_asked[0]:] *= scale
        return build(vectors, factory, owners, **kw)

    store._dense_texts = with_questions
    store.DenseIndex.build = scaled
    run_sets(out)


if __name__ == "__main__":
    main()

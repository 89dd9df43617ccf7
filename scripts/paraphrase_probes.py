#!/usr/bin/env python
"""Probes for paraphrase retrieval that did not pay: query-side changes and the GGUF as a picker.

``query`` re-runs retrieval on the gold sets with the dense query vector changed, and prints
Recall@5 / MRR@10 per kind, fused and dense:

- ``base``: the question as typed (what ``HybridRetriever`` does);
- ``strip``: question scaffolding removed first ("Is there a", "How can I", "What is it called when");
- ``prf B×M``: pseudo-relevance feedback, query + B × the mean of the top M chunk vectors;
- ``questions +M``: document expansion (doc2query): the synthetic LLM-written questions of
  ``eval/rerank_train.jsonl`` (the embedder adapter's training set, no evaluation question in it)
  become extra vectors of their chunk, counting the sentence margin plus M less;
- ``hub-q B`` / ``hub-d B``: a hubness correction in the manner of CSLS: every vector's cosine is
  lowered by B × its mean cosine with its 10 nearest synthetic questions (``q``) or guide vectors
  (``d``), so that a generic chunk close to everything ("LLMs › Overview") stops topping vague
  questions.

``pick`` asks the default GGUF model to choose, among the top ``--n`` fused candidates of the
paraphrase questions, the one that answers. It prints how often the choice is relevant, against
the fused top 1:

- ``letter``: the section titles as lettered options; the next token's logits over the letters;
- ``title``: each title's mean token log-probability after "The question is about";
- ``title-pmi``: the same, minus its log-probability after a question-free prompt.

Asserts nothing. ``query`` takes about 3 minutes; ``pick`` about 8 minutes on 2 cores.

    python scripts/paraphrase_probes.py query
    python scripts/paraphrase_probes.py pick --eval-dir eval
"""

from __future__ import annotations

import argparse
import json
import re
import string
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from studyrag.config import Settings, project_root
from studyrag.dense import DenseIndex, normalize
from studyrag.evaluation.datasets import load_retrieval
from studyrag.evaluation.metrics import mean_scores, retrieval_scores
from studyrag.evaluation.runner import _documents, relevance
from studyrag.fusion import Scored
from studyrag.generate import Message
from studyrag.pipeline import StudyRAG

KINDS = ("factual", "paraphrase", "multi_section", None)
_SCAFFOLD = re.compile(
    r"^(?:is there (?:a|an|any)\s+(?:way|kind of|type of|name for)?\s*|how (?:can|do|should|would) "
    r"(?:i|you|we|one)\s+|can (?:i|you|we|one)\s+|what is it called when\s+|what (?:kind|sort|type) of\s+"
    r"|which\s+|what\s+)",
    re.IGNORECASE,
)


def strip_scaffold(question: str) -> str:
    """The question without its opening words.

    >>> strip_scaffold("Is there a way to shrink a model?")
    'to shrink a model?'
    """
    return _SCAFFOLD.sub("", question).strip() or question


def _gold(rag: StudyRAG, eval_dir: Path, kinds: Sequence[str] | None = None):
    questions = [q for q in load_retrieval(eval_dir / "retrieval.jsonl") if q.evidence]
    if kinds:
        questions = [q for q in questions if q.kind in kinds]
    rel = relevance(questions, rag.chunks, _documents(rag.settings))
    return questions, {q.id: rel[q.id] for q in questions}


class _QuestionVectors:
    """A dense index whose items also own the synthetic questions asked about them: the shipped
    index's vectors plus one per question, a question row counting ``margin`` less than a sentence."""

    def __init__(self, base: DenseIndex, vectors: np.ndarray, owners: np.ndarray, margin: float) -> None:
        rows = base.index.reconstruct_n(0, base.n_vectors)
        self.first_question = base.n_vectors
        self.inner = DenseIndex.build(
            np.concatenate([rows, vectors]), "Flat", np.concatenate([base.owners, owners]),
            extra_margin=base.extra_margin,
        )
        self.margin = margin

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def search(self, query: np.ndarray, k: int = 10, *, own: bool = False) -> list[Scored]:
        if own:
            return self.inner.search(query, k, own=True)
        best: dict[int, float] = {}
        for s in self.inner._raw(query, min(self.inner.n_vectors, 8 * k + 64)):
            extra = s.index >= self.inner.size
            score = s.score - (self.inner.extra_margin if extra else 0.0)
            score -= self.margin if s.index >= self.first_question else 0.0
            item = int(self.inner.owners[s.index])
            best[item] = max(score, best.get(item, -np.inf))
        return [Scored(i, sc) for i, sc in sorted(best.items(), key=lambda kv: -kv[1])[:k]]


class _HubCorrected:
    """The shipped dense index with each vector's cosine lowered by ``beta × hub[row]``, searched
    by brute force (the shipped corpus has under 2,000 vectors)."""

    def __init__(self, base: DenseIndex, hub: np.ndarray, beta: float) -> None:
        self.base, self.hub, self.beta = base, hub, beta
        self.rows = base.index.reconstruct_n(0, base.n_vectors)

    def __getattr__(self, name: str):
        return getattr(self.base, name)

    def search(self, query: np.ndarray, k: int = 10, *, own: bool = False) -> list[Scored]:
        b = self.base
        s = self.rows @ normalize(query[None])[0] - self.beta * self.hub
        s[b.size :] -= b.extra_margin
        best = s[: b.size].copy()
        if not own:
            np.maximum.at(best, b.owners, s)
        top = np.argsort(-best)[:k]
        return [Scored(int(i), float(best[i])) for i in top]

    def moments(self, query: np.ndarray) -> tuple[float, float]:
        mean, std = self.base.moments(query)
        return mean - self.beta * float(self.hub[: self.base.size].mean()), std


def _hubness(rows: np.ndarray, reference: np.ndarray, k: int = 10) -> np.ndarray:
    """Each row's mean cosine with its ``k`` nearest reference vectors.

    >>> _hubness(np.eye(2), np.array([[1.0, 0.0], [0.6, 0.8]]), k=1).tolist()
    [1.0, 0.8]
    """
    return np.sort(rows @ reference.T, axis=1)[:, -k:].mean(axis=1)


def _synthetic_questions(rag: StudyRAG) -> tuple[list[str], np.ndarray]:
    """The LLM-written questions of the adapter's training set and the chunk each is about."""
    at = {c.id: i for i, c in enumerate(rag.retriever.chunks)}
    texts, owners = [], []
    with open(project_root() / "eval" / "rerank_train.jsonl", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec["type"] == "query" and rec.get("origin", "").startswith("llm") and rec["pos"] in at:
                texts.append(rec["query"])
                owners.append(at[rec["pos"]])
    return texts, np.asarray(owners, dtype=np.int64)


def query_probes(rag: StudyRAG, eval_dirs: Sequence[Path]) -> None:
    r = rag.retriever
    own = r.index.dense.index.reconstruct_n(0, r.index.dense.size)
    shipped = r.index.dense
    texts, owners = _synthetic_questions(rag)
    question_vectors = r.embedder.embed(texts)

    def plain(q: str) -> np.ndarray:
        return r.embedder.embed([q])[0]

    def prf(beta: float, m: int) -> Callable[[str], np.ndarray]:
        def vector(q: str) -> np.ndarray:
            v = plain(q)
            top = r.index.dense.search(v, m)
            return normalize((v + beta * own[[s.index for s in top]].mean(axis=0))[None])[0]

        return vector

    variants: dict[str, Callable[[str], np.ndarray]] = {
        "base": plain,
        "strip": lambda q: plain(strip_scaffold(q)),
        "prf 0.3x3": prf(0.3, 3),
        "prf 0.5x3": prf(0.5, 3),
        "prf 0.3x5": prf(0.3, 5),
    }
    indexes = {name: shipped for name in variants}
    for margin in (0.0, 0.04):
        variants[f"questions +{margin}"] = plain
        indexes[f"questions +{margin}"] = _QuestionVectors(shipped, question_vectors, owners, margin)
    rows = shipped.index.reconstruct_n(0, shipped.n_vectors)
    hubs = {"q": _hubness(rows, normalize(question_vectors)), "d": _hubness(rows, rows, k=11)}  # d: itself too
    for beta in (0.3, 0.5, 1.0):
        for ref, hub in hubs.items():
            variants[f"hub-{ref} {beta}"] = plain
            indexes[f"hub-{ref} {beta}"] = _HubCorrected(shipped, hub, beta)
    print(f"{len(texts)} synthetic questions as extra vectors in the 'questions' variants")
    for eval_dir in eval_dirs:
        questions, gold = _gold(rag, eval_dir)
        print(f"\n{eval_dir} ({len(questions)} answerable): Recall@5 / MRR@10 per kind")
        for name, vector in variants.items():
            r._embed_query = vector  # what search and search_dense embed the query with
            object.__setattr__(r.index, "dense", indexes[name])  # Index is frozen; a probe swaps it
            for mode, search in (("fused", r.search), ("dense", r.search_dense)):
                runs = {q.id: [h.chunk.id for h in search(q.question, k=10)] for q in questions}
                per = retrieval_scores(gold, runs, (1, 3, 5, 10))
                cells = []
                for kind in KINDS:
                    m = mean_scores(per, [q.id for q in questions if kind is None or q.kind == kind])
                    cells.append(f"{(kind or 'all')[:5]} {m['recall@5']:.3f} / {m['mrr@10']:.3f}")
                print(f"  {name:12} {mode:5} " + "   ".join(cells), flush=True)


def pick_probes(rag: StudyRAG, eval_dir: Path, n: int) -> None:
    gen = rag.generator
    llm = gen.llama  # the default GGUF through llama-cpp-python

    def last_logits() -> np.ndarray:
        return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).copy()

    def log_softmax(x: np.ndarray) -> np.ndarray:
        x = x - x.max()
        return x - np.log(np.exp(x).sum())

    def tokens(text: str, special: bool = False) -> list[int]:
        return llm.tokenize(text.encode(), add_bos=False, special=special)

    def title_logprobs(prefix: str, titles: Sequence[str]) -> np.ndarray:
        pre = tokens(prefix, special=True)
        llm.reset()
        llm.eval(pre)
        first = log_softmax(last_logits())
        out = []
        for title in titles:
            toks = tokens(" " + title)
            llm.n_tokens = len(pre)  # back to the shared prefix; eval drops the cache after it
            lp = first[toks[0]]
            for j in range(1, len(toks)):
                llm.eval([toks[j - 1]])
                lp += log_softmax(last_logits())[toks[j]]
            out.append(lp / len(toks))
        return np.array(out)

    def naming_prompt(question: str) -> str:
        msgs = [
            Message("system", "You name the machine-learning technique or concept a student's question is about."),
            Message("user", f"Question: {question}\nName the technique or concept only."),
        ]
        return gen.prompt_text(msgs) + "The question is about"

    letters = string.ascii_uppercase[:n]
    letter_ids = [tokens(c)[0] for c in letters]
    questions, gold = _gold(rag, eval_dir, ["paraphrase"])
    right = {"fused top 1": 0, "letter": 0, "title": 0, "title-pmi": 0}
    for q in questions:
        hits = rag.retriever.search(q.question, k=n)
        titles = [h.chunk.path[-1] if h.chunk.path else h.chunk.source for h in hits]
        relevant = {i for i, h in enumerate(hits) if h.chunk.id in {c for cs in gold[q.id].values() for c in cs}}
        options = "\n".join(f"{letters[i]}. {t}" for i, t in enumerate(titles))
        msgs = [
            Message("system", "You match a student's question to the study-guide topic that answers it."),
            Message(
                "user",
                f"Question: {q.question}\n\nTopics:\n{options}\n\n"
                "Which topic answers the question? Reply with its letter only.",
            ),
        ]
        llm.reset()
        llm.eval(tokens(gen.prompt_text(msgs), special=True))
        letter = int(np.argmax(last_logits()[letter_ids]))
        cond = title_logprobs(naming_prompt(q.question), titles)
        free = title_logprobs(naming_prompt("What is this?"), titles)
        picks = {
            "fused top 1": 0,
            "letter": letter,
            "title": int(np.argmax(cond)),
            "title-pmi": int(np.argmax(cond - free)),
        }
        for name, i in picks.items():
            right[name] += i in relevant
        print(f"  {q.id} relevant at {sorted(relevant)}; picks {picks}", flush=True)
    print(f"\n{eval_dir}, {len(questions)} paraphrase questions, top {n} candidates: relevant pick")
    for name, k in right.items():
        print(f"  {name:12} {k} of {len(questions)}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("probe", choices=("query", "pick"))
    root = project_root() / "eval"
    ap.add_argument("--eval-dir", action="append", type=Path, help="gold set folder(s); default: eval, dev, heldout")
    ap.add_argument("--n", type=int, default=12, help="pick: candidates shown to the model (at most 26)")
    args = ap.parse_args(argv)
    dirs = args.eval_dir or [root, root / "dev", root / "heldout"]
    rag = StudyRAG.load(Settings.from_env(), progress=False)
    if args.probe == "query":
        query_probes(rag, dirs)
    else:
        pick_probes(rag, dirs[0], min(args.n, 26))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

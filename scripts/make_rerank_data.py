"""Make the synthetic training set of the reranker and the embedder adapter: ``eval/rerank_train.jsonl``.

Questions are written *from the guides*, never from the evaluation sets (near-duplicates of an
evaluation question are dropped, and a test checks it). Three kinds of query per chunk:

- ``llm``: the local 1.5B GGUF reads the chunk (truncated to ~120 tokens) and writes one short
  student question (InPars style). Slow on a 2-core CPU (~4 s a chunk), so it runs on its own,
  resumable, appending to a cache file::

      nohup python scripts/make_rerank_data.py llm --styles direct,paraphrase > /tmp/rerank_llm.log 2>&1 &

  (``direct``: "a question this passage answers"; ``paraphrase``: the same, "describing the idea in
  other words without using its name".)

- ``template``: "What is <title>?" / "Explain <title>." from section and glossary titles;
- ``keywords``: the chunk's most distinctive words, as a student types into a search box.

Then ``build`` mines hard negatives for every query with the hybrid retriever (plain MiniLM) over the
real corpus (top 30 fused candidates, minus the positive and chunks overlapping it) and writes the set::

    python scripts/make_rerank_data.py build

The committed set also holds 829 ``agent-paraphrase`` questions (thirteenth session): written by LLM
agents from the passage rows alone, two per passage, describing each idea without its name; appended
after ``build`` with negatives mined the same way (see docs/results.md, "Paraphrase questions by a
stronger writer"). ``build`` does not re-create them: keep those rows when rebuilding the file.
``append`` adds such questions (``{"pid", "query"}`` lines) under an origin of their own, dropping
near-duplicates of every gold set's questions and mining their negatives::

    python scripts/make_rerank_data.py append /tmp/new_questions.jsonl --origin agent-detail

Output (JSON Lines): first one ``{"type": "passage", "pid", "source", "title", "path", "text"}``
per chunk, then one ``{"type": "query", "query", "origin", "pos", "negs": [pid, ...]}`` per query.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import zip_longest
from pathlib import Path

from studyrag.config import Settings, project_root
from studyrag.records import Chunk
from studyrag.rerank_train import (
    DEFAULT_TRAIN_FILE,
    eval_questions,
    gold_questions,
    is_near_duplicate,
    normalize_question,
)

log = logging.getLogger("make_rerank_data")

N_NEGATIVES = 12  # hard negatives stored per query (training samples fewer)
MINE_DEPTH = 30  # the reranker sees 30 fused candidates: mine negatives where it will work
SYSTEM = "You write short exam questions for students."
PROMPTS = {
    "direct": "Passage from a study guide:\n{passage}\n\nWrite one short question that this passage answers. "
    "Reply with the question only.",
    "paraphrase": "Passage from a study guide:\n{passage}\n\nWrite one short question that this passage "
    "answers, describing the idea in other words without using its name. Reply with the question only.",
}
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]+")
_STOP = frozenset(
    """a an the and or of to in on for with by from as at is are was were be been being this that these
    those it its into than then so such can may might will would should could not no but if when
    which who whom whose what how why where also more most less very each any all both other some
    between over under about after before during using used use uses via per vs e g i like they their
    them we our you your one two three first second new example examples model models""".split()  # noqa: SIM905
)


def llm_cache_path(settings: Settings) -> Path:
    return Path(settings.cache_dir) / "rerank-data" / "llm_questions.jsonl"


def passage_of(chunk: Chunk, max_chars: int = 600) -> str:
    """The chunk as the question writer sees it: heading path, then the text cut at a word.

    >>> c = Chunk(id="x", source="g.md", path=("LoRA",), text="Low-rank adapters " * 3, start=0, end=54)
    >>> passage_of(c, max_chars=30)
    'LoRA\\nLow-rank adapters Low-rank…'
    """
    text = " ".join(chunk.text.split())
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0] + "…"
    return f"{chunk.section}\n{text}" if chunk.section else text


def clean_question(raw: str) -> str | None:
    """The first question in the model's reply, or ``None`` when it wrote none.

    >>> clean_question('Question: "What does LoRA freeze?"\\nAnswer: ...')
    'What does LoRA freeze?'
    >>> clean_question("I cannot help.") is None
    True
    """
    for line in raw.strip().splitlines():
        line = re.sub(r"^\s*(?:\*\*)?(?:question|q)\s*\d*\s*[:.)]\s*(?:\*\*)?\s*", "", line, flags=re.I)
        line = re.sub(r"^\s*\d+[.)]\s*", "", line).strip().strip("\"'*` ")
        if "?" in line:
            q = line[: line.index("?") + 1].strip()
            if 3 <= len(q.split()) <= 40:
                return q
    return None


def _key(chunk: Chunk, style: str) -> str:
    return hashlib.sha256(f"{style}\0{chunk.source}\0{chunk.text}".encode()).hexdigest()[:20]


def run_llm(chunks: Sequence[Chunk], settings: Settings, styles: Sequence[str], limit: int | None) -> None:
    """Append one LLM question per (chunk, style) to the cache; skip what is already there."""
    from studyrag.generate import LlamaGenerator, Message
    from studyrag.models import resolve_llm

    cache = llm_cache_path(settings)
    cache.parent.mkdir(parents=True, exist_ok=True)
    done = {json.loads(line)["key"] for line in cache.open(encoding="utf-8")} if cache.exists() else set()
    # round-robin over guides, so that a partial run covers every guide
    by_source: dict[str, list[Chunk]] = {}
    for c in chunks:
        by_source.setdefault(c.source, []).append(c)
    ordered = [c for group in zip_longest(*by_source.values()) for c in group if c is not None]
    todo = [(c, s) for s in styles for c in ordered if _key(c, s) not in done][:limit]
    log.info("%d (chunk, style) pairs to do, %d already cached in %s", len(todo), len(done), cache)
    if not todo:
        return
    gen = LlamaGenerator(resolve_llm(settings.llm, settings.cache_dir), n_ctx=1024, n_threads=2)
    t0 = time.perf_counter()
    with cache.open("a", encoding="utf-8") as out:
        for i, (chunk, style) in enumerate(todo, 1):
            msgs = [
                Message("system", SYSTEM),
                Message("user", PROMPTS[style].format(passage=passage_of(chunk))),
            ]
            raw = gen.generate(msgs, max_tokens=40, temperature=0.0)
            row = {
                "key": _key(chunk, style),
                "style": style,
                "source": chunk.source,
                "section": chunk.section,
                "raw": raw,
                "question": clean_question(raw),
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()  # resumable: a killed run keeps every finished question
            if i % 10 == 0 or i == len(todo):
                rate = (time.perf_counter() - t0) / i
                log.info(
                    "%d/%d  %.1f s/question  eta %.0f min", i, len(todo), rate, rate * (len(todo) - i) / 60
                )


# ------------------------------------------------------------------------------------------ cheap queries
def _clean_title(title: str) -> str:
    """A heading as a question word: numbering, Markdown marks and trailing colons removed.

    >>> _clean_title("3. Parameter-Efficient Fine-Tuning (PEFT):")
    'Parameter-Efficient Fine-Tuning (PEFT)'
    """
    t = re.sub(r"[*_`#]", "", title)
    t = re.sub(r"^\s*(?:\d+[.)]|[IVX]+\.|Step \d+:?|Project \d+:?)\s*", "", t)
    return t.strip().rstrip(":").strip()


def template_queries(chunk: Chunk) -> list[str]:
    """Questions about the chunk's own section title (the last heading, the most specific).

    >>> c = Chunk(id="x", source="g.md", path=("Glossary", "PagedAttention"), text="...", start=0, end=3)
    >>> template_queries(c)
    ['What is PagedAttention?', 'Explain PagedAttention.']
    """
    if not chunk.path:
        return []
    title = _clean_title(chunk.path[-1])
    if not (2 <= len(title) <= 80) or len(title.split()) > 8:
        return []
    return [f"What is {title}?", f"Explain {title}."]


def keyword_queries(chunks: Sequence[Chunk], per_chunk: int = 4) -> dict[str, str]:
    """Chunk id → its ``per_chunk`` most distinctive words (tf-idf over the corpus), in text order.

    >>> cs = [Chunk(id=str(i), source="g", path=(), text=t, start=0, end=1) for i, t in
    ...       enumerate(["rotary embeddings rotate query vectors", "sparse experts route tokens"])]
    >>> keyword_queries(cs, per_chunk=2)["1"]
    'sparse experts'
    """
    docs = [[w.lower() for w in _WORD.findall(c.text) if w.lower() not in _STOP] for c in chunks]
    df = Counter(w for d in docs for w in set(d))
    out: dict[str, str] = {}
    for c, words in zip(chunks, docs, strict=True):
        tf = Counter(words)
        best = sorted(tf, key=lambda w: (-tf[w] * math.log(len(chunks) / df[w]), words.index(w)))[:per_chunk]
        if len(best) >= 2:
            out[c.id] = " ".join(sorted(best, key=words.index))
    return out


# ------------------------------------------------------------------------------------------ assembling
def read_llm_questions(settings: Settings) -> dict[str, list[tuple[str, str]]]:
    """Cache key → [(style, question)] of the LLM questions written so far."""
    cache = llm_cache_path(settings)
    out: dict[str, list[tuple[str, str]]] = {}
    if cache.exists():
        for line in cache.open(encoding="utf-8"):
            row = json.loads(line)
            if row.get("question"):
                out.setdefault(row["key"], []).append((row["style"], row["question"]))
    return out


def queries_for(chunks: Sequence[Chunk], settings: Settings) -> list[tuple[str, str, str]]:
    """(query, origin, chunk id) for every chunk: LLM questions, templates, keywords; de-duplicated."""
    llm = read_llm_questions(settings)
    keywords = keyword_queries(chunks)
    out: list[tuple[str, str, str]] = []
    for c in chunks:
        for style in PROMPTS:
            out += [(q, f"llm-{s}", c.id) for s, q in llm.get(_key(c, style), [])]
        out += [(q, "template", c.id) for q in template_queries(c)]
        if c.id in keywords:
            out.append((keywords[c.id], "keywords", c.id))
    return out


def filter_queries(
    queries: Iterable[tuple[str, str, str]], banned: Sequence[str]
) -> tuple[list[tuple[str, str, str]], int]:
    """Drop evaluation near-duplicates, and questions asked of two chunks (ambiguous positives)."""
    queries = list(queries)
    owners: dict[str, set[str]] = {}
    for q, _, cid in queries:
        owners.setdefault(normalize_question(q), set()).add(cid)
    kept, dropped_eval = [], 0
    seen: set[tuple[str, str]] = set()
    for q, origin, cid in queries:
        n = normalize_question(q)
        if len(owners[n]) > 1 or (n, cid) in seen:
            continue
        if is_near_duplicate(q, banned):
            dropped_eval += 1
            continue
        seen.add((n, cid))
        kept.append((q, origin, cid))
    return kept, dropped_eval


def _overlaps(a: Chunk, b: Chunk) -> bool:
    return a.source == b.source and a.start < b.end and b.start < a.end


def build(settings: Settings, out_path: Path) -> None:
    from studyrag.pipeline import StudyRAG

    # negatives are mined with the plain MiniLM (in an index of its own), so that the training set
    # does not depend on the embedder adapter that is later trained from it (studyrag.embed_tune)
    rag = StudyRAG.load(
        settings.replace(rerank=False, embedder="minilm", index_name="rerank-data"), progress=True
    )
    chunks = list(rag.chunks)
    by_id = {c.id: c for c in chunks}
    banned = eval_questions(project_root() / "eval")
    queries, dropped = filter_queries(queries_for(chunks, settings), banned)
    log.info(
        "%d queries (%s); %d dropped as near-duplicates of evaluation questions",
        len(queries),
        dict(Counter(o for _, o, _ in queries)),
        dropped,
    )
    rows = []
    t0 = time.perf_counter()
    for i, (q, origin, cid) in enumerate(queries, 1):
        pos = by_id[cid]
        hits = rag.retriever.search(q, MINE_DEPTH)
        negs = [h.chunk.id for h in hits if h.chunk.id != cid and not _overlaps(h.chunk, pos)]
        rows.append({"type": "query", "query": q, "origin": origin, "pos": cid, "negs": negs[:N_NEGATIVES]})
        if i % 200 == 0:
            log.info("mined %d/%d (%.0f s)", i, len(queries), time.perf_counter() - t0)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for c in chunks:
            rec = {
                "type": "passage",
                "pid": c.id,
                "source": c.source,
                "title": c.title,
                "path": list(c.path),
                "text": c.text,
            }
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(out_path)
    log.info(
        "wrote %s: %d passages, %d queries, %.1f MB",
        out_path,
        len(chunks),
        len(rows),
        out_path.stat().st_size / 1e6,
    )


def append(settings: Settings, new_file: Path, origin: str, out_path: Path, max_cosine: float = 0.85) -> None:
    """Append questions written elsewhere (``{"pid", "query"}`` lines, e.g. by LLM agents that saw
    only the passage rows) to the training set, with negatives mined as :func:`build` mines them.

    Dropped: near-duplicates of a gold question (words, as ``build`` drops them, or a plain-MiniLM
    cosine of ``max_cosine`` or more) and repeats of a training question already in the set.
    """
    import numpy as np

    from studyrag.pipeline import StudyRAG

    rag = StudyRAG.load(
        settings.replace(rerank=False, embedder="minilm", index_name="rerank-data"), progress=True
    )
    by_id = {c.id: c for c in rag.chunks}
    lines = out_path.read_text(encoding="utf-8").splitlines()
    records = [json.loads(x) for x in lines if x.strip()]
    known = {normalize_question(r["query"]) for r in records if r["type"] == "query"}
    gold = gold_questions(project_root() / "eval")
    rows = [json.loads(x) for x in new_file.read_text(encoding="utf-8").splitlines() if x.strip()]
    rows = [r for r in rows if r["pid"] in by_id and normalize_question(r["query"]) not in known]
    embed = rag.retriever.embedder.embed
    closest = (embed([r["query"] for r in rows]) @ embed(gold).T).max(axis=1) if rows else np.zeros(0)
    kept = [
        r
        for r, cos in zip(rows, closest, strict=True)
        if cos < max_cosine and not is_near_duplicate(r["query"], gold)
    ]
    log.info("%d new questions kept, %d too close to a gold question", len(kept), len(rows) - len(kept))
    for r in kept:
        pos = by_id[r["pid"]]
        hits = rag.retriever.search(r["query"], MINE_DEPTH)
        negs = [h.chunk.id for h in hits if h.chunk.id != pos.id and not _overlaps(h.chunk, pos)]
        rec = {"type": "query", "query": r["query"], "origin": origin, "pos": pos.id}
        lines.append(json.dumps({**rec, "negs": negs[:N_NEGATIVES]}, ensure_ascii=False))
    tmp = out_path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(out_path)
    log.info("wrote %s: %d lines", out_path, len(lines))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=["llm", "build", "append"])
    p.add_argument("new_file", nargs="?", type=Path, help="append: JSON Lines of {pid, query}")
    p.add_argument("--origin", default="agent-detail", help="append: the origin recorded on each row")
    p.add_argument("--index-dir", help="index directory (default: the settings' index_dir)")
    p.add_argument("--styles", default="direct", help="LLM prompt styles, comma-separated: direct,paraphrase")
    p.add_argument("--limit", type=int, help="llm: stop after this many questions")
    p.add_argument("--out", type=Path, default=project_root() / DEFAULT_TRAIN_FILE)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    settings = Settings.from_env(index_dir=args.index_dir)
    if args.command == "llm":
        from studyrag.pipeline import StudyRAG

        chunks = StudyRAG.load(settings.replace(rerank=False), progress=True).chunks
        run_llm(chunks, settings, [s for s in args.styles.split(",") if s], args.limit)
    elif args.command == "append":
        if args.new_file is None or not args.new_file.is_file():
            p.error("append needs an existing file of new questions ({pid, query} lines)")
        if not args.out.is_file():
            p.error(f"{args.out} does not exist: build the training set first (make_rerank_data.py build)")
        append(settings, args.new_file, args.origin, args.out)
    else:
        build(settings, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python
"""Speed and scale of hybrid retrieval: prints figures, asserts nothing.

A. Shipped corpus, real MiniLM: cold index build (``open_index`` into an empty directory) and
   query latency (median / p95, model already loaded) of ``HybridRetriever`` fused, BM25 and dense.
B. Embedding throughput of the real MiniLM on a sample of synthetic chunks, and the time it would
   take for the whole synthetic corpus (EXTRAPOLATED, labelled so).
C. Synthetic corpus of N chunks (default 100k): sentences of the real chunks recombined under real
   heading paths. BM25 is built for real; FAISS Flat and HNSW32 are built for real over *proxy*
   vectors (each the mean of its source chunks' real embeddings plus noise: embedding 100k chunks
   on 2 CPU cores would take half an hour, see B; ``--real-vectors`` embeds them all, for a GPU).
   Reports build time, peak RSS, query latency for
   bm25 / dense / fused (fused embeds the query with the real model, like production), and
   HNSW32's top-10 overlap with exact search.

Usage::

    python scripts/bench_scale.py                      # everything (~15 min on 2 busy cores)
    python scripts/bench_scale.py --chunks 20000 --embed-sample 500 --skip-shipped
    python scripts/bench_scale.py --json bench.json
    python scripts/bench_scale.py --device cuda --real-vectors    # on a GPU: real embeddings in C

Timings depend on machine load: the 1-minute load average is printed with the results.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from studyrag.config import Settings, project_root
from studyrag.dense import DenseIndex, SentenceTransformerEmbedder, normalize
from studyrag.lexical import BM25Index
from studyrag.records import Chunk
from studyrag.retrieve import HybridRetriever
from studyrag.store import lexical_text, open_index

T = TypeVar("T")

FALLBACK_QUERIES = [
    "How do I stop an MoE router from sending every token to a few experts?",
    "What is LoRA and why is it cheaper than full fine-tuning?",
    "What does Q4_K_M mean in a GGUF file name?",
    "How does ZeRO-3 shard optimizer states?",
    "What is the difference between DPO and RLHF?",
    "How does speculative decoding keep the target distribution?",
    "What is a β-VAE?",
    "Why does FlashAttention save memory?",
]


# ------------------------------------------------------------------------------------ helpers
def rss_mb() -> float:
    """Resident memory now (Linux /proc; falls back to the peak elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return peak_mb()


def peak_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


WARMUP = [f"warm-up question {i} about attention heads" for i in range(3)]


def latency(fn: Callable[[T], object], items: Sequence[T], warmup: Sequence[T] = WARMUP) -> dict[str, float]:
    """Median and p95 wall time of ``fn(item)`` in milliseconds, after calls on ``warmup``.

    The warm-up items are not timed items, so a cache cannot make the timed calls look faster.
    """
    for w in warmup:
        fn(w)
    times = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 2),
        "n": len(times),
    }


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    t = time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - t, 2)


def load_queries(limit: int) -> list[str]:
    """The gold retrieval questions (eval/retrieval.jsonl) when present, else a fixed list."""
    path = project_root() / "eval" / "retrieval.jsonl"
    qs = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                qs.append(json.loads(line)["question"])
    return (qs or FALLBACK_QUERIES)[:limit]


_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class Synthetic:
    """Synthetic chunks and, for each, the real chunks its sentences came from."""

    chunks: list[Chunk]
    sources: list[list[int]]


def synthetic_corpus(real: Sequence[Chunk], n: int, seed: int = 0) -> Synthetic:
    """``n`` chunks of sentences sampled from the real chunks, under real heading paths, each as
    long (in words) as a randomly drawn real chunk.

    Vocabulary, term statistics and lengths stay those of the guides, so BM25 posting lists and
    embedding cost are realistic; the texts themselves are nonsense, which is fine for timing.
    """
    rng = np.random.default_rng(seed)
    pool = [(s.strip(), i) for i, c in enumerate(real) for s in _SENTENCE.split(c.text) if s.strip()]
    sizes = np.array([len(s.split()) for s, _ in pool])
    lengths = [len(c.text.split()) for c in real]
    paths = [c.path for c in real]
    chunks, sources = [], []
    for i in range(n):
        target, words, picks = lengths[int(rng.integers(0, len(lengths)))], 0, []
        while words < target:
            j = int(rng.integers(0, len(pool)))
            picks.append(j)
            words += int(sizes[j])
        text = " ".join(pool[j][0] for j in picks)
        path = paths[int(rng.integers(0, len(paths)))] + (f"Part {i % 97}",)
        chunks.append(
            Chunk(
                id=f"syn{i:06d}",
                source=f"synthetic-{i % 50:02d}.md",
                path=path,
                text=text,
                start=0,
                end=len(text),
            )
        )
        sources.append(sorted({pool[j][1] for j in picks}))
    return Synthetic(chunks, sources)


def proxy_vectors(
    real_vectors: np.ndarray, sources: Sequence[Sequence[int]], noise: float = 0.3, seed: int = 1
):
    """Stand-in embeddings: the mean of the real embeddings of a chunk's source chunks, plus
    Gaussian noise of norm ~``noise``, normalized. Unlike uniform random vectors (where every
    point is about as far as every other and no ANN index can find true neighbours) they keep the
    clustered structure of real embeddings, and real query embeddings have real neighbours."""
    rng = np.random.default_rng(seed)
    dim = real_vectors.shape[1]
    out = np.empty((len(sources), dim), dtype=np.float32)
    for i, src in enumerate(sources):
        out[i] = real_vectors[list(src)].mean(axis=0)
    out += rng.standard_normal(out.shape, dtype=np.float32) * (noise / np.sqrt(dim))
    return normalize(out)


# ------------------------------------------------------------------------------------- parts
def bench_shipped(emb: SentenceTransformerEmbedder, queries: list[str], s: Settings) -> dict:
    """A: cold build of the shipped corpus (into an empty ``s.index_dir``) and query latency."""
    index, build_s = timed(lambda: open_index(s, emb, progress=False))
    r = HybridRetriever(index, emb, s, query_cache=0)
    return {
        "chunks": len(index.chunks),
        "cold_build_s": build_s,
        "embed_s": index.stats.embed_seconds,
        "reopen_s": timed(lambda: open_index(s, emb, progress=False))[1],
        "fused": latency(lambda q: r.search(q, k=10), queries),
        "bm25": latency(lambda q: r.search_bm25(q, k=10), queries),
        "dense": latency(lambda q: r.search_dense(q, k=10), queries),
        "embed_query": latency(lambda q: emb.embed([q]), queries),
        "settings": {"faiss_index": s.faiss_index, "chunk_tokens": s.chunk_tokens},
    }


def bench_embedding(
    emb: SentenceTransformerEmbedder, chunks: Sequence[Chunk], sample: int, total: int, batch_size: int = 32
) -> dict:
    """B: real-model throughput on ``sample`` chunks, extrapolated to ``total``."""
    texts = [c.embed_text for c in chunks[:sample]]
    emb.embed(texts[:batch_size], batch_size=batch_size)  # warm-up
    _, secs = timed(lambda: emb.embed(texts, batch_size=batch_size))
    per_s = len(texts) / secs
    return {
        "sample": len(texts),
        "seconds": secs,
        "chunks_per_s": round(per_s, 1),
        "extrapolated_total_s": round(total / per_s, 1),
        "extrapolated_for": total,
    }


def bench_scale(
    emb: SentenceTransformerEmbedder,
    syn: Synthetic,
    real_vectors: np.ndarray,
    queries: list[str],
    settings: Settings,
    sentences_per_chunk: float = 0.0,
    real_batch: int = 0,
    ef_values: Sequence[int] = (),
) -> dict:
    """C: BM25 and FAISS at scale, with proxy vectors standing in for embeddings (with
    ``real_batch``, every chunk embedded by the real model in batches of that size)."""
    chunks = syn.chunks
    out: dict = {"chunks": len(chunks), "rss_before_mb": round(rss_mb()), "real_vectors": bool(real_batch)}
    texts = [lexical_text(c) for c in chunks]
    bm25, out["bm25_build_s"] = timed(lambda: BM25Index.build(texts))
    out["bm25_terms"] = len(bm25.vocab)
    out["peak_after_bm25_mb"] = round(peak_mb())
    with tempfile.TemporaryDirectory() as tmp:
        _, out["bm25_save_s"] = timed(lambda: bm25.save(Path(tmp)))
        out["bm25_disk_mb"] = round(sum(p.stat().st_size for p in Path(tmp).iterdir()) / 2**20, 1)
        _, out["bm25_load_s"] = timed(lambda: BM25Index.load(Path(tmp)))

    if real_batch:
        texts = [c.embed_text for c in chunks]
        vectors, out["embed_all_s"] = timed(lambda: emb.embed(texts, batch_size=real_batch))
        out["embed_all_chunks_per_s"] = round(len(chunks) / max(out["embed_all_s"], 1e-9), 1)
    else:
        vectors = proxy_vectors(real_vectors, syn.sources)
    qvecs = emb.embed(queries)
    flat, out["flat_build_s"] = timed(lambda: DenseIndex.build(vectors, "Flat"))
    out["peak_after_flat_mb"] = round(peak_mb())
    hnsw, out["hnsw32_build_s"] = timed(lambda: DenseIndex.build(vectors, "HNSW32"))
    out["peak_after_hnsw32_mb"] = round(peak_mb())

    out["bm25"] = latency(lambda q: bm25.search(q, 50), queries)
    out["flat_search"] = latency(lambda v: flat.search(v, 50), list(qvecs), warmup=list(qvecs[:3]))
    out["hnsw32_search"] = latency(lambda v: hnsw.search(v, 50), list(qvecs), warmup=list(qvecs[:3]))
    def overlap_at_10() -> float:  # the share of the exact top 10 that HNSW also returns
        hits = [len({s.index for s in flat.search(v, 10)} & {s.index for s in hnsw.search(v, 10)}) for v in qvecs]
        return round(float(np.mean(hits)) / 10, 3)

    out["hnsw32_overlap_at_10"] = overlap_at_10()
    if ef_values:  # HNSW's search breadth (StudyRAG sets 256, dense._tune) against that share
        import faiss

        graph = faiss.downcast_index(hnsw.index).hnsw
        default, out["ef_search"] = graph.efSearch, {}
        for ef in ef_values:
            graph.efSearch = ef
            out["ef_search"][str(ef)] = {
                "overlap_at_10": overlap_at_10(),
                "search": latency(lambda v: hnsw.search(v, 50), list(qvecs), warmup=list(qvecs[:3])),
            }
        graph.efSearch = default
    for name, dense in (("flat", flat), ("hnsw32", hnsw)):
        r = HybridRetriever.from_parts(chunks, bm25, dense, emb, settings, query_cache=0)
        out[f"fused_{name}"] = latency(lambda q, r=r: r.search(q, k=10), queries)

    # Sentence vectors (Settings.sentence_vectors): as many extra vectors a chunk as the shipped
    # corpus has, each its chunk's proxy plus noise, searched with their owners.
    rng = np.random.default_rng(2)
    counts = rng.poisson(sentences_per_chunk, len(chunks))
    extra_owner = np.repeat(np.arange(len(chunks)), counts)
    scale = 0.3 / np.sqrt(vectors.shape[1])
    noise = rng.standard_normal((len(extra_owner), vectors.shape[1]), dtype=np.float32) * scale
    all_vectors = np.concatenate([vectors, normalize(vectors[extra_owner] + noise)])
    owners = np.concatenate([np.arange(len(chunks)), extra_owner])
    out["sentence_vectors"] = int(len(extra_owner))
    for name, factory in (("flat", "Flat"), ("hnsw32", "HNSW32")):
        dense, out[f"{name}_sentences_build_s"] = timed(
            lambda f=factory: DenseIndex.build(all_vectors, f, owners, extra_margin=settings.sentence_margin)
        )
        out[f"{name}_sentences_search"] = latency(
            lambda v, d=dense: d.search(v, 50), list(qvecs), warmup=list(qvecs[:3])
        )
        r = HybridRetriever.from_parts(chunks, bm25, dense, emb, settings, query_cache=0)
        out[f"fused_{name}_sentences"] = latency(lambda q, r=r: r.search(q, k=10), queries)
    out["peak_mb"] = round(peak_mb())
    return out


# ------------------------------------------------------------------------------------ report
def _row(name: str, d: dict) -> str:
    return f"  {name:<34} median {d['median_ms']:>8.2f} ms   p95 {d['p95_ms']:>8.2f} ms   (n={d['n']})"


def _print_rows(part: dict, rows: Sequence[tuple[str, str]]) -> None:
    for key, label in rows:
        print(_row(label, part[key]))


def print_report(res: dict) -> None:
    """Print the parts present in ``res`` (called after each part, so a late failure loses nothing)."""
    print(f"\nmachine: {os.cpu_count()} CPUs, 1-min load average now {os.getloadavg()[0]:.1f}")
    print(f"model load (not counted below): {res['model_load_s']} s   embedder {res['embedder']} on {res.get('device', 'cpu')}")
    if "shipped" in res:
        a = res["shipped"]
        print(f"\nA. shipped corpus ({a['chunks']} chunks, FAISS {a['settings']['faiss_index']})")
        print(
            f"  cold index build                   {a['cold_build_s']:>8.2f} s   (embedding {a['embed_s']} s)"
        )
        print(f"  reopen (fresh, load only)          {a['reopen_s']:>8.2f} s")
        _print_rows(
            a,
            (
                ("fused", "fused search k=10"),
                ("bm25", "bm25 search"),
                ("dense", "dense search (embeds query)"),
                ("embed_query", "query embedding alone"),
            ),
        )
    if "embedding" in res:
        b = res["embedding"]
        print(f"\nB. real MiniLM embedding throughput on {b['sample']} synthetic chunks")
        print(
            f"  {b['chunks_per_s']} chunks/s ({b['seconds']} s)   →  EXTRAPOLATED for {b['extrapolated_for']:,} chunks: "
            f"{b['extrapolated_total_s']:,.0f} s ({b['extrapolated_total_s'] / 60:.1f} min)"
        )
    if "scale" in res:
        c = res["scale"]
        kind = "real vectors" if c.get("real_vectors") else "proxy vectors"
        print(f"\nC. synthetic corpus: {c['chunks']:,} chunks, {kind} for FAISS (dim {res['dim']})")
        if "embed_all_s" in c:
            print(f"  embedding every chunk (real model)  {c['embed_all_s']:>8.2f} s   {c['embed_all_chunks_per_s']} chunks/s")
        print(
            f"  BM25 build (tokenize + index)      {c['bm25_build_s']:>8.2f} s   {c['bm25_terms']:,} terms, "
            f"{c['bm25_disk_mb']} MB on disk, save {c['bm25_save_s']} s, load {c['bm25_load_s']} s"
        )
        print(f"  FAISS Flat build                   {c['flat_build_s']:>8.2f} s")
        print(
            f"  FAISS HNSW32 build                 {c['hnsw32_build_s']:>8.2f} s   top-10 overlap with exact: "
            f"{c['hnsw32_overlap_at_10']}"
        )
        print(
            f"  peak RSS: after BM25 {c['peak_after_bm25_mb']} MB, after Flat {c['peak_after_flat_mb']} MB, "
            f"after HNSW32 {c['peak_after_hnsw32_mb']} MB, end {c['peak_mb']} MB (start {c['rss_before_mb']} MB)"
        )
        _print_rows(
            c,
            (
                ("bm25", "bm25 search top-50"),
                ("flat_search", "Flat search top-50 (no embedding)"),
                ("hnsw32_search", "HNSW32 search top-50 (no embedding)"),
                ("fused_flat", "fused k=10 over Flat (embeds query)"),
                ("fused_hnsw32", "fused k=10 over HNSW32 (embeds query)"),
            ),
        )
        for ef, e in c.get("ef_search", {}).items():
            print(f"  HNSW32 efSearch {ef:>4}: top-10 overlap with exact {e['overlap_at_10']}")
            print(_row(f"  HNSW32 efSearch {ef} search top-50", e["search"]))
        if "sentence_vectors" in c:
            print(
                f"  with {c['sentence_vectors']:,} sentence vectors: Flat build {c['flat_sentences_build_s']:.2f} s, "
                f"HNSW32 build {c['hnsw32_sentences_build_s']:.2f} s"
            )
            _print_rows(
                c,
                (
                    ("flat_sentences_search", "  Flat + sentences top-50"),
                    ("hnsw32_sentences_search", "  HNSW32 + sentences top-50"),
                    ("fused_flat_sentences", "  fused k=10, Flat + sentences"),
                    ("fused_hnsw32_sentences", "  fused k=10, HNSW32 + sentences"),
                ),
            )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chunks", type=int, default=100_000, help="synthetic corpus size (C)")
    ap.add_argument("--embed-sample", type=int, default=2000, help="chunks embedded for real in B")
    ap.add_argument("--queries", type=int, default=100, help="queries timed per mode")
    ap.add_argument("--skip-shipped", action="store_true", help="skip A")
    ap.add_argument("--skip-scale", action="store_true", help="skip B and C")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--device", default="cpu", help="where the embedder runs: cpu, cuda or auto")
    ap.add_argument("--real-vectors", action="store_true", help="C embeds every chunk (a GPU's job)")
    ap.add_argument("--batch-size", type=int, default=32, help="embedding batch size in B and C")
    ap.add_argument("--ef-search", default="", help="HNSW efSearch values to compare in C, e.g. 64,128,256")
    args = ap.parse_args(argv)

    res: dict = {"load_avg_1min_at_start": round(os.getloadavg()[0], 2)}
    settings = Settings.from_env()
    emb, res["model_load_s"] = timed(
        lambda: SentenceTransformerEmbedder.from_settings(settings.replace(embed_device=args.device))
    )
    res.update(embedder=emb.id, dim=emb.dim, device=emb.device, batch_size=args.batch_size)
    queries = load_queries(args.queries)

    def report(part: str, value: dict) -> None:
        res[part] = value
        res["load_avg_1min"] = round(os.getloadavg()[0], 2)
        print_report(
            {k: v for k, v in res.items() if k not in ("shipped", "embedding", "scale") or k == part}
        )
        if args.json:
            args.json.write_text(json.dumps(res, indent=2), encoding="utf-8")

    with tempfile.TemporaryDirectory(prefix="studyrag-bench-") as tmp:
        shipped = settings.replace(index_dir=Path(tmp))
        if not args.skip_shipped:
            print("A. building the shipped corpus index from scratch...", flush=True)
            report("shipped", bench_shipped(emb, queries, shipped))
        if not args.skip_scale:
            # the shipped index (built by A, or now) gives real chunks and their real embeddings
            index = open_index(shipped, emb, progress=True)
            real_vectors = np.load(index.path / "embeddings.npy")
            syn = synthetic_corpus(index.chunks, args.chunks)
            print(f"\nB. embedding {args.embed_sample} synthetic chunks with the real model...", flush=True)
            report("embedding", bench_embedding(emb, syn.chunks, args.embed_sample, args.chunks, args.batch_size))
            print(f"\nC. indexing {args.chunks:,} synthetic chunks...", flush=True)
            per_chunk = index.dense.n_vectors / index.dense.size - 1
            real_batch = args.batch_size if args.real_vectors else 0
            efs = [int(x) for x in args.ef_search.split(",") if x.strip()]
            report("scale", bench_scale(emb, syn, real_vectors, queries, settings, per_chunk, real_batch, efs))
    print("\ntargets: cold build of the shipped corpus < 60 s; fused query latency < 50 ms median")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

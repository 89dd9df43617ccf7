"""``studyrag bench``: per-stage latency of answering, against llama.cpp alone on the same prompt.

For each of a fixed set of questions it runs the full pipeline (retrieve → rerank → prompt → generate →
citations), then hands the *same* prompt messages straight to ``llama_cpp.Llama`` with no retrieval.
Both start from an empty KV cache, so prefill is paid in full by both. StudyRAG's overhead is
``(pipeline total − llama alone total) / llama alone total``. Each question is then asked once more
with the prompt's fixed opening cached, as in a chat after the warm-up (``warm_time_to_first_token_s``),
and ``same_words`` counts the answers whose words did not change (see ``LlamaGenerator.pin_opening``).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from .config import Settings
from .prompt import ANSWER_STOP

__all__ = ["BENCH_QUESTIONS", "run_bench", "summarize"]

# Fixed, answerable questions spread over the five guides (not drawn from the evaluation sets).
BENCH_QUESTIONS = (
    "What is PagedAttention?",
    "How does LoRA reduce the number of trainable parameters?",
    "What does the Chinchilla scaling law say about tokens per parameter?",
    "How do I stop an MoE router from sending every token to a few experts?",
    "What is classifier-free guidance in diffusion models?",
    "What is the difference between RLHF and DPO?",
    "What is KL divergence?",
    "What is a particle filter?",
    "How does CLIP align images and text?",
    "What is hybrid search in RAG?",
    "What is the vanishing gradient problem and how do ResNets help?",
    "What is speculative decoding?",
    "What is Mixtral 8x7B?",
    "What is HyDE?",
    "What is Constitutional AI?",
    "What is FlashAttention?",
    "What is the purpose of layer normalization?",
    "What is minLSTM?",
    "What is quantization in LLM inference?",
    "What is Self-RAG?",
)


def _pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile.

    >>> _pct([1, 2, 3, 4], 0.5), _pct([1, 2, 3, 4], 0.95)
    (2, 4)
    """
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(round(q * len(s) + 0.5)) - 1))]


def summarize(rows: list[dict[str, float]], keys: list[str]) -> dict[str, dict[str, float]]:
    """Median and p95 of each key over the rows that have it.

    >>> summarize([{"a": 1.0}, {"a": 3.0}], ["a"])["a"]["median"]
    2.0
    """
    out: dict[str, dict[str, float]] = {}
    for k in keys:
        vals = [r[k] for r in rows if k in r]
        if vals:
            out[k] = {"median": statistics.median(vals), "p95": _pct(vals, 0.95), "n": len(vals)}
    return out


def _llama_alone(llm: Any, messages: list[dict[str, str]], max_tokens: int, temperature: float, seed: int) -> dict[str, float]:
    """Time the bare model on a prompt: first token and total, from an empty KV cache (with the
    pipeline's stop strings, so both decode the same words)."""
    llm.reset()
    t0 = time.perf_counter()
    first = None
    n = 0
    for part in llm.create_chat_completion(
        messages=messages,
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
        stop=list(ANSWER_STOP),
        stream=True,
    ):
        delta = part["choices"][0].get("delta", {}).get("content")
        if delta:
            n += 1
            if first is None:
                first = time.perf_counter()
    t1 = time.perf_counter()
    return {"first_token_s": (first or t1) - t0, "total_s": t1 - t0, "pieces": n}


def run_bench(settings: Settings, n_questions: int = 20, *, quiet: bool = False, out: Path | None = None) -> dict[str, Any]:
    from .evaluation.provenance import machine_info
    from .locking import atomic_write_text
    from .pipeline import StudyRAG

    if out is not None:  # a folder that cannot be made fails now, not after minutes of benchmarking
        out.parent.mkdir(parents=True, exist_ok=True)
    rag = StudyRAG.load(settings, progress=not quiet)
    gen = rag.generator
    llm = getattr(gen, "llama", None)
    questions = list(BENCH_QUESTIONS[:n_questions])
    rag.warm_up()  # the model and the word list, as the chat does at start
    rag.ask(questions[0])  # touches every code path once

    rows: list[dict[str, float]] = []
    for i, q in enumerate(questions, 1):
        if llm is not None:
            llm.reset()
        t0 = time.perf_counter()
        ans = rag.ask(q)
        wall = time.perf_counter() - t0
        row: dict[str, float] = {k: float(v) for k, v in ans.timings.items()}
        row["pipeline_wall_s"] = wall
        row["abstained"] = float(ans.abstained)
        again = rag.ask(q)  # the cache now holds the fixed opening (and more, which is not re-used)
        if "time_to_first_token_s" in again.timings:
            row["warm_time_to_first_token_s"] = float(again.timings["time_to_first_token_s"])
        row["same_words"] = float(again.text == ans.text)
        if llm is not None and ans.sources and not ans.abstained:
            # the very prompt StudyRAG sent: the same bold sentences and excerpts
            prompt = rag.answer_prompt(ans.standalone_question or q, list(ans.sources), len(ans.sources))
            base = _llama_alone(
                llm, [m.as_dict() for m in prompt.messages], settings.max_tokens, settings.temperature, settings.seed
            )
            row["llama_prompt_tokens"] = float(prompt.n_tokens)  # equal to prompt_tokens: the same prompt
            row["llama_first_token_s"] = base["first_token_s"]
            row["llama_total_s"] = base["total_s"]
            row["overhead_s"] = wall - base["total_s"]
            row["overhead_pct"] = 100.0 * (wall - base["total_s"]) / base["total_s"]
        rows.append(row)
        if not quiet:
            print(
                f"[{i:>2}/{len(questions)}] ttft {row.get('time_to_first_token_s', 0):5.2f}s  "
                f"prompt {int(row.get('prompt_tokens', 0)):>4} tok  {row.get('tokens_per_s', 0):5.1f} tok/s  "
                f"total {wall:5.2f}s  llama alone {row.get('llama_total_s', float('nan')):5.2f}s  "
                f"warm ttft {row.get('warm_time_to_first_token_s', float('nan')):5.2f}s  {q}",
                flush=True,
            )

    keys = [
        "retrieve_s", "rerank_s", "prompt_s", "prompt_tokens", "first_token_s", "time_to_first_token_s",
        "completion_tokens", "tokens_per_s", "total_s", "pipeline_wall_s", "llama_first_token_s",
        "llama_total_s", "overhead_s", "overhead_pct", "warm_time_to_first_token_s",
    ]
    answered = [r for r in rows if not r.get("abstained")]
    gpu_layers = getattr(gen, "n_gpu_layers", None)  # -1: every layer on the GPU; None: not llama.cpp
    result = {
        "model": gen.name,
        "device": {None: "not llama.cpp", 0: "CPU"}.get(gpu_layers, "CUDA"),
        "gpu_layers": gpu_layers,
        "settings": settings.as_dict(),
        "questions": len(rows),
        "answered": len(answered),
        "same_words": int(sum(r["same_words"] for r in rows)),  # asked twice, the same answer both times
        "summary": summarize(answered, keys),
        "overhead_pct_total": (
            100.0 * (sum(r["pipeline_wall_s"] for r in answered if "llama_total_s" in r)
                     - sum(r["llama_total_s"] for r in answered if "llama_total_s" in r))
            / max(1e-9, sum(r["llama_total_s"] for r in answered if "llama_total_s" in r))
        ),
        "rows": rows,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,  # this CPU may be shared
        "machine": machine_info(),  # speeds, and even greedy answers, follow the CPU
    }
    if not quiet:
        print(f"\nmodel {gen.name} on {result['device']} · {len(answered)}/{len(rows)} answered (the rest abstained)")
        print(f"{'stage':<28}{'median':>10}{'p95':>10}")
        for k, v in result["summary"].items():
            print(f"{k:<28}{v['median']:>10.3f}{v['p95']:>10.3f}")
        print(f"StudyRAG overhead beyond llama.cpp alone (sum over questions): {result['overhead_pct_total']:.1f}%")
        print(f"asked again with the opening cached: {result['same_words']}/{len(rows)} answers in the same words")
    if out is not None:
        atomic_write_text(out, json.dumps(result, indent=2))
    return result

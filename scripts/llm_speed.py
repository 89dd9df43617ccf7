"""LLM speed on this machine: model load time, prefill and decode tokens/s on a RAG-sized prompt.

    python scripts/llm_speed.py                       # default 1.5B model, 2 threads, ~450-token prompt
    python scripts/llm_speed.py --model small --threads 2 --prompt-tokens 450 --repeats 3 --json

Timings for prefill and decode come from llama.cpp's own counters (llama_perf_context), so
Python overhead and sampling are not mixed into them. Each repeat clears the prompt cache so
the whole prompt is prefilled every time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from studyrag.config import Settings, project_root
from studyrag.generate import LlamaGenerator, Message, import_llama_cpp
from studyrag.models import resolve_llm

SYSTEM = (
    "You are a study assistant. Answer the question using only the numbered sources below and cite "
    "them like [1]. If the sources do not contain the answer, say you don't know."
)
QUESTION = "What problem does the mixture of experts architecture solve, and how is routing trained?"


def rag_messages(gen: LlamaGenerator, target_tokens: int) -> list[Message]:
    """A system prompt, numbered corpus passages and a question, about ``target_tokens`` long."""
    guide = project_root() / "corpus" / "comprehensive-llm-study-guide.md"
    paragraphs = [
        p.strip() for p in Path(guide).read_text(encoding="utf-8").split("\n\n") if len(p.strip()) > 200
    ]
    sources: list[str] = []
    for para in paragraphs:
        words = para.split()
        # the passage that overshoots is cut short, so the prompt lands just under the target
        while (
            words
            and gen.count_messages(_messages([*sources, _numbered(len(sources), words)])) > target_tokens
        ):
            words = words[: int(len(words) * 0.9)]
        if words:
            sources.append(_numbered(len(sources), words))
        if len(words) < len(para.split()):
            break
    return _messages(sources)


def _numbered(i: int, words: list[str]) -> str:
    return f"[{i + 1}] {' '.join(words)}"


def _messages(sources: list[str]) -> list[Message]:
    return [
        Message("system", SYSTEM),
        Message("user", "Sources:\n" + "\n\n".join(sources) + f"\n\nQuestion: {QUESTION}"),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default", help="'default', 'small' or a .gguf path")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--gpu-layers", default="auto")
    ap.add_argument("--prompt-tokens", type=int, default=450)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    llama_cpp = import_llama_cpp()
    path = resolve_llm(args.model, Settings().cache_dir)
    t = time.perf_counter()
    gen = LlamaGenerator(path, n_ctx=2048, n_threads=args.threads, n_gpu_layers=args.gpu_layers)
    load_s = time.perf_counter() - t
    messages = rag_messages(gen, args.prompt_tokens)
    n_prompt = gen.count_messages(messages)

    runs = []
    for _ in range(args.repeats):
        gen.llama.reset()  # forget the cached prompt: every repeat prefills all of it
        llama_cpp.llama_perf_context_reset(gen.llama.ctx)
        t = time.perf_counter()
        first = None
        for _piece in gen.stream(messages, max_tokens=args.max_tokens, temperature=0.0):
            first = first if first is not None else time.perf_counter() - t
        total = time.perf_counter() - t
        perf = llama_cpp.llama_perf_context(gen.llama.ctx)
        runs.append(
            {
                "prompt_tokens": perf.n_p_eval,
                "prefill_tok_s": perf.n_p_eval / (perf.t_p_eval_ms / 1000) if perf.t_p_eval_ms else 0.0,
                "decode_tokens": perf.n_eval,
                "decode_tok_s": perf.n_eval / (perf.t_eval_ms / 1000) if perf.t_eval_ms else 0.0,
                "first_token_s": first or 0.0,
                "total_s": total,
            }
        )
    result = {
        "model": path.name,
        "threads": gen.n_threads,
        "gpu_layers": gen.n_gpu_layers,
        "load_s": load_s,
        "prompt_tokens": n_prompt,
        "prefill_tok_s": statistics.median(r["prefill_tok_s"] for r in runs),
        "decode_tok_s": statistics.median(r["decode_tok_s"] for r in runs),
        "first_token_s": statistics.median(r["first_token_s"] for r in runs),
        "runs": runs,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"model          {result['model']}  (threads={result['threads']}, gpu_layers={result['gpu_layers']})"
    )
    print(f"load           {load_s:.2f} s")
    print(f"prompt         {n_prompt} tokens (chat template included)")
    for i, r in enumerate(runs, 1):
        print(
            f"run {i}          prefill {r['prompt_tokens']} tok at {r['prefill_tok_s']:.1f} tok/s · decode "
            f"{r['decode_tokens']} tok at {r['decode_tok_s']:.1f} tok/s · first token {r['first_token_s']:.2f} s "
            f"· total {r['total_s']:.2f} s"
        )
    print(
        f"median         prefill {result['prefill_tok_s']:.1f} tok/s · decode {result['decode_tok_s']:.1f} tok/s"
    )


if __name__ == "__main__":
    main()

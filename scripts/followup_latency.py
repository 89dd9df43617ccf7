#!/usr/bin/env python
"""Time to first token of a follow-up question, with and without keeping the answer prompt's cache.

``studyrag bench`` starts every question from an empty KV cache. In a chat the cache matters: the
answer prompt's system text and worked example stay cached from one answer to the next, unless a
side generation in between (the follow-up rewrite, a HyDE passage) overwrites them.
``generate.aside`` puts the cache back after such a generation. This script asks each pair below
(a question, then a follow-up with the first as history) twice: as StudyRAG does it, and with the
cache keeping switched off. With ``--hyde`` it asks the first questions one after another with
HyDE on instead. With ``--first`` it asks each first question of a new session (the model not yet
loaded), with and without ``StudyRAG.warm_up`` before it, which ``studyrag chat`` and the study chat
run in the background while the first question is typed. Prints the medians; asserts nothing. About
6 minutes on 2 cores (``--first``: 3).

    python scripts/followup_latency.py [--hyde | --first]
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Iterator
from contextlib import contextmanager

from studyrag.config import Settings
from studyrag.conversation import Turn
from studyrag.generate import LlamaGenerator
from studyrag.pipeline import StudyRAG

PAIRS = (
    ("What is LoRA?", "What rank is typical for it?"),
    ("What is PagedAttention?", "Which serving system uses it?"),
    ("What is speculative decoding?", "Does it change the output distribution?"),
    ("What is DPO?", "How does it differ from PPO-based RLHF?"),
    ("What is FlashAttention?", "Why is it faster?"),
    ("What is Mixtral 8x7B?", "How many experts does it use per token?"),
    ("What is a particle filter?", "What problems does it have in practice?"),
    ("What is Constitutional AI?", "What does it need instead of human feedback?"),
)


@contextmanager
def keeping(on: bool) -> Iterator[None]:
    """Cache keeping as shipped (``on``), or switched off for the comparison."""
    original = LlamaGenerator.keep_cache
    if not on:
        LlamaGenerator.keep_cache = None  # type: ignore[assignment,method-assign]  # aside() passes through
    try:
        yield
    finally:
        LlamaGenerator.keep_cache = original  # type: ignore[method-assign]


def followups(rag: StudyRAG) -> list[float]:
    out = []
    for first, follow in PAIRS:
        a = rag.ask(first)
        b = rag.ask(follow, history=[Turn(first, a.text)])
        out.append(b.timings["time_to_first_token_s"])
        print(f"  {b.timings['time_to_first_token_s']:5.2f} s  {b.standalone_question}", flush=True)
    return out


def hyde_questions(rag: StudyRAG) -> list[float]:
    out = []
    for first, _ in PAIRS:
        a = rag.ask(first)
        out.append(a.timings["time_to_first_token_s"])
        print(f"  {a.timings['time_to_first_token_s']:5.2f} s  {first}", flush=True)
    return out


def first_questions(rag: StudyRAG, warm: bool) -> list[float]:
    out = []
    for first, _ in PAIRS:
        fresh = StudyRAG(rag.settings, rag.index, rag.embedder)  # a new session: no model loaded yet
        if warm:
            fresh.warm_up()  # as if the question took longer to type than the warm-up to run
        a = fresh.ask(first)
        out.append(a.timings["time_to_first_token_s"])
        print(f"  {a.timings['time_to_first_token_s']:5.2f} s  {first}", flush=True)
        fresh.generator.close()  # type: ignore[attr-defined]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hyde", action="store_true", help="time HyDE questions instead of follow-ups")
    p.add_argument("--first", action="store_true", help="time the first question of a session")
    args = p.parse_args()
    if args.first:
        rag = StudyRAG.load(Settings.from_env(), progress=False)
        cold, warm = (statistics.median(first_questions(rag, w)) for w in (False, True))
        print(f"median time to first token of a session's first question: cold {cold:.2f} s, warmed {warm:.2f} s")
        return
    settings = Settings.from_env(hyde=True) if args.hyde else Settings.from_env()
    rag = StudyRAG.load(settings, progress=False)
    rag.ask(PAIRS[0][0])  # warm-up
    run = hyde_questions if args.hyde else followups
    medians = {}
    for on in (True, False):
        print("cache kept" if on else "cache not kept")
        with keeping(on):
            medians[on] = statistics.median(run(rag))
    what = "HyDE question" if args.hyde else "follow-up"
    print(f"median time to first token of a {what}: kept {medians[True]:.2f} s, not kept {medians[False]:.2f} s")


if __name__ == "__main__":
    main()

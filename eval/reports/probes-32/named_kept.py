"""Ad hoc: a source moved first because it is named what the question asks about (``Hit.named``)
kept in the prompt whatever its fused score, instead of only at half the best score or more
(``prompt.close_sources``). By the ratio, "whats the difference between lora and qlora" loses LoRA's
own passage to QLoRA's, which scores three times as much. The twenty-fourth session tried the same
(``probes-24/named_keep.txt``) and found two answers worse.

``replay REPORT...``: every stored answer whose prompt sources the variant changes is asked again
with it; the others keep their stored answers. Prints each changed question's stored and new
outcome, then totals per report in the terms of ``scripts/answer_targets.py``.
``ab``: comparison questions in a student's words, answered both ways where the sources differ.

    python eval/reports/probes-32/named_kept.py replay eval/reports/c29-full eval/reports/c29-framing-dev ...
    python eval/reports/probes-32/named_kept.py ab
"""

import sys
from pathlib import Path
from unittest import mock

from studyrag import prompt
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
from replay import replay_report, totals_line  # noqa: E402

QUESTIONS = [
    "whats the difference between lora and qlora",
    "How does DPO compare to RLHF?",
    "How does SigLIP differ from CLIP?",
    "difference between gans and vaes?",
    "batch norm vs layer norm",
    "What's the difference between RAG and fine-tuning?",
    "How do GQA and multi-query attention differ?",
    "whats the difference between ppo and dpo",
    "How is Mamba different from a transformer?",
    "RoPE vs ALiBi?",
    "Compare FlashAttention with PagedAttention",
    "What is the difference between pruning and distillation?",
]
settings = Settings.from_env()
rag = StudyRAG.load(settings, progress=False)
by_ratio = prompt.close_sources


def named_kept(hits, min_ratio):
    """``close_sources`` with every named hit kept."""
    close = {id(h) for h in by_ratio(hits, min_ratio)}
    return [h for h in hits if h.named or id(h) in close]


def sources(question: str) -> list:
    return rag.retriever.search(question, max(settings.sources, 5))[: settings.sources]


def differs(question: str) -> bool:
    hits = sources(question)
    return by_ratio(hits, settings.source_min_ratio) != named_kept(hits, settings.source_min_ratio)


if sys.argv[1] == "replay":
    with mock.patch.object(prompt, "close_sources", named_kept):
        for report in sys.argv[2:]:
            before, after = replay_report(rag, report, lambda q: differs(q["standalone_question"] or q["question"]))
            print(totals_line(report, before, after), flush=True)
else:
    for q in QUESTIONS:
        print(f"== {q}", flush=True)
        if not differs(q):
            print("   same sources\n")
            continue
        for label, rule in (("ratio (default)", by_ratio), ("named kept", named_kept)):
            with mock.patch.object(prompt, "close_sources", rule):
                a = rag.ask(q)
            print(f"-- {label}: " + " | ".join(f"[{i}] {s.chunk.section.split(' › ')[-1]}" for i, s in enumerate(a.sources, 1)))
            print("   " + a.text.replace("\n", " ")[:900], flush=True)
        print()

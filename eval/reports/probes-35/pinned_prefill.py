"""Ad hoc: does an answer depend on the question asked before it, and does pinning where prefill
resumes make it depend on its prompt alone?

llama.cpp keeps the last prompt's KV cache and re-uses its longest common prefix with the next one.
For answer prompts that prefix is the fixed opening (instructions and worked example) plus however
much of "<sources>\\n[1] <guide> › ..." the previous prompt shared, so where prefill resumes depends on
the previous question. ``--pin`` makes every call prefill in two fixed parts instead: the tokens the
prompt shares with the fixed opening (``prompt.PREAMBLE``), evaluated alone, then the rest. The cache is
re-used only up to that point, and only when it holds exactly that opening, computed the same way.

Each question is asked after each of two different questions (and, first, after nothing but the
model's load), and the answers are compared word for word:

    python eval/reports/probes-35/pinned_prefill.py [--pin] > pinned_prefill[-pin].txt

Since the thirty-sixth session the shipped code pins the opening itself (``LlamaGenerator.pin_opening``):
run without ``--pin`` it measures that (``probes-36/pinned_prefill-shipped.txt``).
"""

import sys
import time

from studyrag.config import Settings
from studyrag.generate import Message
from studyrag.pipeline import StudyRAG
from studyrag.prompt import PREAMBLE

QUESTIONS = [  # from `eval/`, among those whose words moved between runs (answer_drift.txt)
    "Roughly how long does it take to go from beginner to true expert in AI?",
    "How does ColBERT score a document against a query?",
    "How large a model can QLoRA fine-tune on a single GPU?",
    "How does Mixtral's expert routing differ from the Switch Transformer's?",
    "Why does the guide say LoRA trains all of the model's weights?",
    "What techniques shrink the KV cache during inference?",
]
BEFORE = ["What is PagedAttention?", "How does DPO differ from RLHF?"]

rag = StudyRAG.load(Settings.from_env(), progress=False)
gen = rag.generator
llm = gen.llama
state: dict[str, list[int]] = {"prefix": []}
opening = gen.prompt_tokens(PREAMBLE)
shipped = llm.create_chat_completion


def pinned(*args, **kwargs):
    tokens = gen.prompt_tokens([Message(**m) for m in kwargs["messages"]])
    n = 0
    while n < min(len(tokens) - 1, len(opening)) and tokens[n] == opening[n]:
        n += 1
    prefix = tokens[:n]
    if n and state["prefix"] == prefix and llm.n_tokens >= n and list(llm.input_ids[:n]) == prefix:
        llm.n_tokens = n  # resume exactly after the opening, whatever else the cache holds
    elif n:
        llm.reset()
        llm.eval(prefix)  # the opening alone, as one batch, every time it is computed
        state["prefix"] = prefix
    return shipped(*args, **kwargs)


if "--pin" in sys.argv:
    llm.create_chat_completion = pinned
print(f"pinned: {'--pin' in sys.argv}; the opening is {len(opening)} tokens")
rag.warm_up()
same = 0
ttft: list[float] = []
for q in QUESTIONS:
    answers = []
    for before in [None, *BEFORE]:
        if before:
            rag.ask(before)
        t = time.perf_counter()
        answers.append(rag.ask(q).text)
        ttft.append(time.perf_counter() - t)
    same += len(set(answers)) == 1
    print(f"{q}\n" + "".join(f"  after {b or 'the warm-up'}: {a!r}\n" for b, a in zip([None, *BEFORE], answers, strict=True)), flush=True)
ttft.sort()
print(f"{same} of {len(QUESTIONS)} questions got the same words after each predecessor; "
      f"median answer time {ttft[len(ttft) // 2]:.2f} s")

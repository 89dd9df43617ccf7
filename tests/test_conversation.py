"""Follow-up questions become standalone questions: cheaply when possible, checked when a model helps."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from studyrag.conversation import Turn, deterministic_rewrite, needs_rewrite, question_topic, rewrite_followup
from studyrag.errors import GenerationError
from studyrag.fakes import FakeGenerator
from studyrag.generate import Message

HISTORY = [Turn("What is LoRA?", "LoRA trains low-rank adapters and freezes the base weights [1].")]


@pytest.mark.parametrize(
    "question",
    [
        "What is QLoRA?",
        "How does mixture of experts routing work?",
        "What is the technique that reduces memory in fine-tuning?",
        "What is the attention mechanism and how does it scale?",
        "Define perplexity",
        "So what is RLHF?",
        "Does LoRA slow inference when it is merged?",
        "Why do large models need so much memory for their weights?",
        "Is LoRA cheaper than full fine-tuning, or does it cost more?",
        "How does BERT handle its inputs?",
        "What is a KV cache and what is stored in it?",
    ],
)
def test_standalone_questions_are_unchanged_without_a_model_call(question: str) -> None:
    g = FakeGenerator(reply="SHOULD NOT BE USED")
    assert not needs_rewrite(question)
    assert rewrite_followup(HISTORY, question, g) == question
    assert g.calls == 0


def test_without_history_nothing_is_rewritten() -> None:
    g = FakeGenerator(reply="How does LoRA compare to DPO?")
    assert rewrite_followup([], "And how does that compare to DPO?", g) == "And how does that compare to DPO?"
    assert g.calls == 0


@pytest.mark.parametrize(
    ("question", "standalone"),
    [
        ("And how does that compare to DPO?", "How does LoRA compare to DPO?"),
        ("How does it compare to DPO?", "How does LoRA compare to DPO?"),
        ("Why is it cheap?", "Why is LoRA cheap?"),
        ("What are its drawbacks?", "What are LoRA's drawbacks?"),
        ("What are the benefits of this approach?", "What are the benefits of LoRA?"),
        ("Is that better than full fine-tuning?", "Is LoRA better than full fine-tuning?"),
        ("What about QLoRA?", "What is QLoRA?"),
        ("And DPO?", "What is DPO?"),
        ("Compared with prefix tuning?", "How does LoRA compare to prefix tuning?"),
        ("Why?", "Regarding LoRA: Why?"),
        ("Any examples?", "Regarding LoRA: Any examples?"),
        # topic words before the pronoun that are not what "it" means
        ("What rank is typical for it?", "What rank is typical for LoRA?"),
        ("How many of its parameters are trained?", "How many of LoRA's parameters are trained?"),
        ("What's the biggest model it lets you fine-tune?", "What's the biggest model LoRA lets you fine-tune?"),
        ("How many GPUs does it need?", "How many GPUs does LoRA need?"),
        ("And why do people prefer the other one?", "Why do people prefer LoRA?"),
        # "it" ending the question after a preposition, though a name came before (eval/ m010)
        ("What does the KL term do in it?", "What does the KL term do in LoRA?"),
    ],
)
def test_follow_ups_are_rewritten_without_a_generator(question: str, standalone: str) -> None:
    assert needs_rewrite(question)
    assert rewrite_followup(HISTORY, question, None) == standalone


def test_a_good_model_rewrite_is_used() -> None:
    g = FakeGenerator(reply='Standalone question: "How does LoRA differ from DPO in cost?"')
    assert (
        rewrite_followup(HISTORY, "And how does that compare to DPO?", g)
        == "How does LoRA differ from DPO in cost?"
    )
    assert g.calls == 1


@pytest.mark.parametrize(
    "reply",
    [
        "",  # nothing
        "The guides do not cover this.",  # FakeGenerator's answer to a prompt without sources
        "How does QLoRA compare to PPO?",  # lost the follow-up's own subject (DPO)
        "How does it compare to DPO?",  # resolved nothing from the conversation
        "LoRA compares to DPO as follows [1]. " + "It is long. " * 30,  # an answer, not a question
    ],
)
def test_an_implausible_model_rewrite_falls_back(reply: str) -> None:
    g = FakeGenerator(reply=reply)
    assert (
        rewrite_followup(HISTORY, "And how does that compare to DPO?", g) == "How does LoRA compare to DPO?"
    )
    assert g.calls == 1


def test_the_default_fake_generator_falls_back_to_the_deterministic_rewrite() -> None:
    assert rewrite_followup(HISTORY, "Why is it cheap?", FakeGenerator()) == "Why is LoRA cheap?"


class _Recorder:
    """Records what the rewrite asks of the model; optionally fails."""

    name, n_ctx = "recorder", 4096

    def __init__(self, reply: str = "", fail: bool = False) -> None:
        self.reply, self.fail, self.seen = reply, fail, []

    def generate(self, messages: Sequence[Message], **kw) -> str:
        self.seen.append((list(messages), kw))
        if self.fail:
            raise GenerationError("backend down")
        return self.reply


def test_the_model_prompt_is_tiny_and_deterministic() -> None:
    rec = _Recorder("Why is LoRA cheap?")
    assert rewrite_followup(HISTORY, "Why is it cheap?", rec) == "Why is LoRA cheap?"
    [(messages, kw)] = rec.seen
    assert kw["max_tokens"] <= 40 and kw["temperature"] == 0
    assert sum(len(m.content.split()) for m in messages) < 80
    assert "What is LoRA?" in messages[-1].content and "Why is it cheap?" in messages[-1].content


def test_a_failing_model_falls_back() -> None:
    assert rewrite_followup(HISTORY, "Why is it cheap?", _Recorder(fail=True)) == "Why is LoRA cheap?"


def test_topic_comes_from_the_latest_question_that_has_one() -> None:
    history = [Turn("How does LoRA reduce memory?", "..."), Turn("Why?", "...")]
    assert deterministic_rewrite(history, "What are its limits?") == "What are LoRA's limits?"
    assert question_topic("What does the Chinchilla paper say about tokens?") == "Chinchilla"
    assert question_topic("Explain mixture of experts routing") == "mixture of experts routing"
    assert deterministic_rewrite([Turn("Why?", "...")], "And then?") == "And then?"  # no topic to add

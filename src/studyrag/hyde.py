"""Hypothetical passages (HyDE): the model writes a short textbook answer, and its words join the query.

A student often describes an idea instead of naming it ("How can a tiny helper model make a big model
write faster?"), and the 22M-parameter embedder then misses the section that names it. The 1.5B model
rarely knows the name either, but its paragraph talks about the idea in textbook words ("draft",
"verify", "tokens"), and the mean of the question's vector and the paragraph's lands nearer the right
section. The paragraph is used for retrieval only: it never reaches the answer prompt, so nothing it
invents can be passed off as a source (``HybridRetriever.search(..., expansion=...)``).

>>> from studyrag.fakes import FakeGenerator
>>> hypothetical_passage(FakeGenerator(reply="Speculative decoding drafts tokens."), "How to decode faster?")
'Speculative decoding drafts tokens.'
>>> hypothetical_passage(FakeGenerator(reply="I don't know."), "How to decode faster?")
''
"""

from __future__ import annotations

from .generate import Generator, Message, aside

__all__ = ["HYDE_SYSTEM", "hypothetical_passage", "hyde_messages"]

HYDE_SYSTEM = (
    "You are a machine-learning textbook. Answer the student's question with one short paragraph that "
    "names the technique or concept involved."
)


def hyde_messages(question: str) -> list[Message]:
    """The chat messages that ask for the paragraph.

    >>> [m.role for m in hyde_messages("Why?")]
    ['system', 'user']
    """
    return [Message("system", HYDE_SYSTEM), Message("user", question.strip())]


def hypothetical_passage(generator: Generator, question: str, *, max_tokens: int = 60) -> str:
    """The model's short paragraph answering ``question`` (greedy, so the same question always
    retrieves the same sections); empty when the model writes nothing."""
    from .abstain import is_abstention

    with aside(generator):  # the answer prompt llama.cpp keeps cached stays for the answer
        text = " ".join(generator.generate(hyde_messages(question), max_tokens=max_tokens, temperature=0.0).split())
    # "I don't know" carries no textbook words: better no expansion than a vague one
    return "" if is_abstention(text) else text

"""Follow-up questions in a conversation: "and how does that compare to DPO?" becomes a standalone
question before retrieval, because the retrievers only ever see one question.

Cheap first: a question without pronoun or ellipsis cues is returned as is (no model call); a
follow-up is rewritten by the generator in a tiny prompt, and the result is sanity-checked, with a
deterministic rewrite (the previous question's topic put in) as the fallback.

>>> history = [Turn("What is LoRA?", "LoRA trains low-rank adapters [1].")]
>>> rewrite_followup(history, "What is QLoRA?", None)
'What is QLoRA?'
>>> rewrite_followup(history, "And how does it compare to DPO?", None)
'How does LoRA compare to DPO?'
>>> rewrite_followup(history, "What about QLoRA?", None)
'What is QLoRA?'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import GenerationError
from .support import content_words

if TYPE_CHECKING:
    from .generate import Generator

__all__ = ["Turn", "needs_rewrite", "question_topic", "rewrite_followup", "deterministic_rewrite"]


@dataclass(frozen=True)
class Turn:
    """One exchange of a conversation. Store the *standalone* question when there was a rewrite:
    later follow-ups then resolve against a question that names its subject."""

    question: str
    answer: str


_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[-'’][A-Za-z0-9]+)*")
_PRONOUN_WORDS = "it its itself they them their theirs this that these those such former latter"
_PRONOUNS = frozenset(_PRONOUN_WORDS.split())
_POSSESSIVE = frozenset({"its", "their", "theirs"})
_PERSONAL = frozenset(["it", "its", "itself"])  # singular: "they"/"their" often mean a plural just named
# "does it need", "is it": a pronoun as the subject of the question is what the question is about.
_AUXILIARIES = frozenset(
    ["does", "do", "did", "is", "was", "can", "could", "will", "would", "should", "has", "have"]
)
_CLAUSE_BREAKS = frozenset(["and", "but", "or"])
# "What does the KL term do in it?": "it" ending the question after a preposition is what the
# conversation was about; asked of something the question names, a student says "in the KL term"
_PREPOSITIONS = frozenset(["in", "for", "with", "about", "from", "on", "inside", "within", "behind", "by"])
# "... decide where it looks": a pronoun in a subordinate clause usually refers within the question.
_SUBORDINATORS = frozenset(
    ["where", "when", "whenever", "while", "because", "since", "if", "unless", "whether", "once", "though"]
)
# Words that carry no topic: question words, function words, and verbs any question uses.
_NON_TOPIC_WORDS = """a an the and or but so also then of to in on at by for with from into as is are was were be been do
    does did can could would should will shall may might must have has had what which who whom whose when
    where why how whats hows whys i me my we you your please tell explain describe define show give list
    compare compared comparison differ difference differences different versus vs mean means meaning work
    works working use used uses using about more detail details further else example examples elaborate
    again any some other same main key really exactly briefly simple simply terms words between better
    worse than there here not no yes ok okay go on"""
_NON_TOPIC = frozenset(_NON_TOPIC_WORDS.split())
# "this approach", "that method": a demonstrative with a generic noun points back, wherever it is.
_GENERIC_NOUNS = (
    "approach|approaches|method|methods|technique|techniques|model|models|idea|concept|one|ones|paper|"
    "algorithm|architecture|trick|step|process|problem|issue|thing|things|version|variant|variants|"
    "framework|strategy|objective|loss|mechanism|term|acronym|topic|system|tool|option"
)
_DEMONSTRATIVE_NOUN = re.compile(
    rf"\b(?:(?:this|that|these|those|such|the same|the former|the latter)\s+(?:{_GENERIC_NOUNS})|the other one)\b",
    re.I,
)
_SIMPLE_PRONOUN = re.compile(r"\b(it|they|them|its|their)\b", re.IGNORECASE)
_BARE_DEMONSTRATIVE = re.compile(r"\b(this|that|these|those)\b(?=\s*(?:[?.!,]|$|(?P<next>[A-Za-z]+)))", re.I)
# one or more: "ok and DPO?", "ok so what about QLoRA?"
_LEADING_CONJUNCTION = re.compile(r"^\s*(?:(?:and|but|also|so|or|then|ok(?:ay)?|well)\b[\s,]*)+", re.IGNORECASE)
_WHAT_ABOUT = re.compile(
    r"^\s*(?:(?:and|but|so|ok(?:ay)?)[\s,]+)*(?:what|how)\s+about\s+(?P<x>.+?)\s*[?.!]*\s*$", re.I
)
_COMPARED = re.compile(
    r"^\s*(?:(?:and|but)[\s,]+)?(?:compared?\s+(?:to|with)|versus|vs\.?|in comparison (?:to|with)|relative to)"
    r"\s+(?P<x>.+?)\s*[?.!]*\s*$",
    re.I,
)


def _words(text: str) -> list[str]:
    return _TOKEN.findall(text)


def needs_rewrite(question: str) -> bool:
    """True when ``question`` leans on the conversation: a pronoun before any topic word ("how
    does it compare..."), a leading "and"/"what about"/"compared to", or nothing but generic
    words ("Why?", "Any examples?").

    >>> needs_rewrite("How does it compare to DPO?"), needs_rewrite("And DPO?"), needs_rewrite("Why?")
    (True, True, True)
    >>> needs_rewrite("What are the benefits of this approach?")
    True
    >>> needs_rewrite("What is the technique that reduces memory?"), needs_rewrite("So what is RLHF?")
    (False, False)
    >>> needs_rewrite("ok and DPO?"), needs_rewrite("ok so what about QLoRA?")
    (True, True)
    """
    if _WHAT_ABOUT.match(question) or _COMPARED.match(question):
        return True
    if _LEADING_CONJUNCTION.match(question):
        body = _LEADING_CONJUNCTION.sub("", question)
        if _is_ellipsis(body) or not body.strip():
            return True  # "And DPO?"
        question = body  # "So what is RLHF?" stands alone
    if _DEMONSTRATIVE_NOUN.search(question):
        return True
    words = _words(question)
    if _dangling_pronoun(words):
        return True
    return not any(w not in _NON_TOPIC and w not in _PRONOUNS for w in map(_fold, words))


def _fold(word: str) -> str:
    """Lowercase without apostrophes: "What's" → "whats"."""
    return word.lower().replace("'", "").replace("’", "")


def _dangling_pronoun(words: Sequence[str]) -> bool:
    """A pronoun with nothing in the question it can refer to.

    Any pronoun before the first topic word dangles ("Why is it cheap?"). After topic words, "it"
    or "its" still dangles when it is the question's subject ("How many GPUs does it need?"), no
    name came before it ("What rank is typical for it?", "Which serving system is built around
    it?": "rank" and "serving" are topic words but not what "it" means), or it ends the question
    after a preposition ("What does the KL term do in it?": the KL term is in RLHF, asked about
    before), unless a clause break separates it from a topic ("What is attention and how does it
    scale?") or a subordinator introduces it ("Does LoRA slow inference when it is merged?").

    >>> _dangling_pronoun("What rank is typical for it".split())
    True
    >>> _dangling_pronoun("What is the technique that reduces memory".split())
    False
    >>> _dangling_pronoun("What does the KL term do in it".split()), _dangling_pronoun("How does BERT handle its inputs".split())
    (True, False)
    """
    topic = named = after_break = False  # a topic word, a name, a clause break after a topic
    previous = ""
    for i, word in enumerate(words):
        w = _fold(word)
        if w in _PRONOUNS:
            if not topic:
                return True
            subject = previous in _AUXILIARIES
            last = i == len(words) - 1 and previous in _PREPOSITIONS
            if w in _PERSONAL and not after_break and previous not in _SUBORDINATORS and (subject or last or not named):
                return True
        elif w in _CLAUSE_BREAKS:
            after_break = after_break or topic
        elif w not in _NON_TOPIC:
            topic = True
            named = named or _salient(word, i == 0)
        previous = w
    return False


def _is_ellipsis(body: str) -> bool:
    """A few words and no question word: "DPO?", "the encoder side?"."""
    words = _words(body)
    return 0 < len(words) <= 4 and words[0].lower() not in _NON_TOPIC | _PRONOUNS


def _salient(word: str, first: bool) -> bool:
    """Acronyms and names ("LoRA", "GPT-4", a capitalized "Chinchilla" mid-question) make the best
    topics."""
    return (
        any(c.isupper() for c in word[1:])
        or any(c.isdigit() for c in word)
        or (word[0].isupper() and not first)
    )


def question_topic(question: str) -> str:
    """The key noun phrase of a question: the names (acronyms, capitalized words, joined by "of")
    in the first run of topic words holding one, else the longest run of topic words, else ``""``.

    >>> question_topic("How does LoRA reduce memory?"), question_topic("Explain mixture of experts routing")
    ('LoRA', 'mixture of experts routing')
    >>> question_topic("What is the Mixture of Experts architecture?"), question_topic("Why?")
    ('Mixture of Experts', '')
    """
    words = _words(question)
    runs: list[list[tuple[str, bool]]] = []  # (word, salient)
    current: list[tuple[str, bool]] = []
    for i, w in enumerate(words):
        low = w.lower()
        topical = low not in _NON_TOPIC and low not in _PRONOUNS
        joins = low == "of" and current and i + 1 < len(words) and words[i + 1].lower() not in _NON_TOPIC
        if topical or joins:
            current.append((w, topical and _salient(w, i == 0)))
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    if not runs:
        return ""
    named = next((r for r in runs if any(s for _, s in r)), None)
    if named is None:
        return " ".join(w for w, _ in max(runs, key=len))
    start = next(i for i, (_, s) in enumerate(named) if s)
    phrase: list[str] = []
    for w, s in named[start:]:
        if not (s or w == "of"):
            break
        phrase.append(w)
    while phrase[-1] == "of":
        phrase.pop()
    return " ".join(phrase)


def _history_topic(history: Sequence[Turn]) -> str:
    for turn in reversed(history):
        topic = question_topic(turn.question)
        if topic:
            return topic
    return ""


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def deterministic_rewrite(history: Sequence[Turn], question: str) -> str:
    """Put the previous question's topic into the follow-up, without a model.

    >>> h = [Turn("How does LoRA reduce memory?", "...")]
    >>> deterministic_rewrite(h, "Compared to full fine-tuning?")
    'How does LoRA compare to full fine-tuning?'
    >>> deterministic_rewrite(h, "Why?")
    'Regarding LoRA: Why?'
    >>> deterministic_rewrite(h, "What are its drawbacks?")
    "What are LoRA's drawbacks?"
    >>> deterministic_rewrite(h, "And is that method better than prompt tuning?")
    'Is LoRA better than prompt tuning?'
    >>> deterministic_rewrite(h, "And QLoRA?")
    'How does QLoRA reduce memory?'
    """
    topic = _history_topic(history)
    if not topic or not needs_rewrite(question):
        return question
    previous = next((t.question for t in reversed(history) if question_topic(t.question) == topic), "")
    m = _WHAT_ABOUT.match(question)
    if m:
        x = m.group("x")
        if re.search(rf"\b{re.escape(topic)}\b", previous):
            return re.sub(rf"\b{re.escape(topic)}\b", lambda _: x, previous, count=1)
        return f"{x} (compared with {topic})?"
    m = _COMPARED.match(question)
    if m:
        return f"How does {topic} compare to {m.group('x')}?"
    body = _LEADING_CONJUNCTION.sub("", question).strip() or question
    if body != question and _is_ellipsis(body):
        return deterministic_rewrite(history, f"What about {body}")  # "And DPO?"
    anaphor = _first_anaphor(body)
    if anaphor is not None:
        a, b, possessive = anaphor
        return _sentence_case(body[:a] + (f"{topic}'s" if possessive else topic) + body[b:])
    return f"Regarding {topic}: {_sentence_case(body)}"


def _first_anaphor(text: str) -> tuple[int, int, bool] | None:
    """Span of the first expression pointing back ("it", "their", "this method", a bare "that"),
    and whether it is possessive."""
    found: list[tuple[int, int, bool]] = []
    if m := _DEMONSTRATIVE_NOUN.search(text):
        found.append((m.start(), m.end(), False))
    if m := _SIMPLE_PRONOUN.search(text):
        found.append((m.start(), m.end(), m.group(1).lower() in _POSSESSIVE))
    for m in _BARE_DEMONSTRATIVE.finditer(text):
        nxt = (m.group("next") or "").lower()
        if not nxt or nxt in _NON_TOPIC:  # "is that better": a pronoun, not "that method"
            found.append((m.start(), m.end(), False))
            break
    return min(found) if found else None


_REWRITE_SYSTEM = (
    "Rewrite the follow-up as one standalone question that names its subject. Reply with the question only."
)
_MAX_WORDS = 40


def _first_words(text: str, n: int) -> str:
    words = text.split()
    return " ".join(words[:n]) + (" …" if len(words) > n else "")


def _clean_model_question(text: str) -> str:
    line = next((ln for ln in text.strip().splitlines() if ln.strip()), "")
    line = re.sub(
        r"^\s*(?:standalone question|rewritten question|question|rewrite)\s*:\s*", "", line, flags=re.I
    )
    return line.strip().strip("\"'`“”*").strip()


def _acceptable(candidate: str, question: str, history: Sequence[Turn]) -> bool:
    """The model's rewrite must be a short question that keeps the follow-up's own terms and
    brings in something from the conversation (else it resolved nothing)."""
    from .abstain import is_abstention

    if not candidate or len(candidate.split()) > _MAX_WORDS or len(candidate) > max(300, 3 * len(question)):
        return False
    if re.search(r"\[\d+\]", candidate) or is_abstention(candidate):
        return False
    have = content_words(candidate)
    own = content_words(question) - content_words(" ".join(_NON_TOPIC | _PRONOUNS))
    if own and len(own & have) * 2 < len(own):
        return False
    context = content_words(" ".join(f"{t.question} {t.answer}" for t in history[-2:]))
    return bool(have & (context - own))


def rewrite_followup(history: Sequence[Turn], question: str, generator: Generator | None) -> str:
    """A standalone version of ``question`` given the conversation so far.

    Unchanged when there is no history or no follow-up cue (no model call). Otherwise the
    generator rewrites it (≤ 40 tokens, temperature 0); a missing generator, a failure or an
    implausible rewrite falls back to :func:`deterministic_rewrite`.
    """
    if not history or not needs_rewrite(question):
        return question
    if generator is not None:
        from .generate import Message, aside

        last = history[-1]
        messages = [
            Message("system", _REWRITE_SYSTEM),
            Message(
                "user",
                f"Earlier question: {last.question}\nEarlier answer: {_first_words(last.answer, 40)}\n"
                f"Follow-up: {question}",
            ),
        ]
        try:
            with aside(generator):  # the last answer's cached prompt stays for the next one
                candidate = _clean_model_question(generator.generate(messages, max_tokens=40, temperature=0.0))
        except GenerationError:
            candidate = ""
        if _acceptable(candidate, question, history):
            return candidate
    return deterministic_rewrite(history, question)

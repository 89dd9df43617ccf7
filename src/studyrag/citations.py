"""Citation parsing, validation and repair for answers that cite numbered sources ``[n]``.

Everything here is pure: text in, records out. The model is asked for ``[n]`` after each sentence,
but small models write ``[1, 3]``, ``[Source 2]``, ``【1】``, ``[^1]`` or put the marker after the
full stop; :func:`parse_citations` reads all of these, :func:`clean_answer_text` rewrites them to
``[n]`` so the UI can link them, and :func:`attribute_uncited` adds a citation to sentences the model
left bare when one source clearly supports them.

>>> [(s.text, s.numbers) for s in parse_citations("LoRA adds adapters [1, 3]. It is cheap. [Source 2]")]
[('LoRA adds adapters.', (1, 3)), ('It is cheap.', (2,))]
>>> clean_answer_text("LoRA adds adapters [1-3]. It is cheap.【2】")
'LoRA adds adapters [1][2][3]. It is cheap [2].'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .records import Citation, Hit
from .support import MIN_SUPPORT, content_words, support_score

__all__ = [
    "CitedSentence",
    "CitationReport",
    "split_sentences",
    "sentence_spans",
    "find_citations",
    "parse_citations",
    "is_trivial",
    "resolve_citations",
    "attribute_uncited",
    "repair_citations",
    "better_source",
    "cite_verdict",
    "check_citations",
    "clean_answer_text",
    "mark_uncited",
    "UNCITED_MARK",
    "UNCITED_NOTE",
    "drop_invalid_citations",
]

# ---------------------------------------------------------------------------------------------
# Citation markers. Numbers are 1-3 digits so years such as [2017] are never read as citations.

_PREFIX = r"(?:(?:see\s+)?(?:sources?|srcs?|refs?\.?|references?|docs?|documents?|passages?|chunks?|excerpts?)\s*[:#]?\s*)"
_NUMS = rf"\d{{1,3}}(?:\s*(?:,|;|-|–|—|and|&|to)\s*{_PREFIX}?\d{{1,3}})*"
_MARKER = re.compile(
    rf"\[\^?\s*{_PREFIX}?(?P<b>{_NUMS})\s*\]"  # [1] [1, 3] [1-3] [^1] [Source 1] [sources: 1 and 2]
    rf"|[【［]\s*{_PREFIX}?(?P<f>{_NUMS})\s*[】］]"  # full-width brackets
    rf"|\(\s*{_PREFIX}(?P<p>{_NUMS})\s*\)"  # (Source 1)
    # a bare "(1)" only right after a word and at the end of a sentence: "(1) First step" is a list
    r"|(?<=\w )\((?P<q>\d{1,2}(?:\s*,\s*\d{1,2})*)\)(?=[.!?](?:\s|$)|[ \t]*(?:\n|$))",
    re.IGNORECASE,
)
_ANON = re.sub(r"\(\?P<\w+>", "(?:", _MARKER.pattern)  # the marker pattern without group names, to repeat it
_MAX_RANGE = 20  # [1-3] expands; a "range" wider than this is two numbers, not a list


def _numbers(group: str) -> list[int]:
    """``"1, 3-5"`` -> ``[1, 3, 4, 5]``."""
    out: list[int] = []
    tokens = re.findall(r"\d+|-|–|—|\bto\b", group, flags=re.IGNORECASE)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.isdigit():
            a = int(tok)
            if i + 2 < len(tokens) and not tokens[i + 1].isdigit() and tokens[i + 2].isdigit():
                b = int(tokens[i + 2])
                out.extend(range(a, b + 1) if a <= b <= a + _MAX_RANGE else (a, b))
                i += 3
                continue
            out.append(a)
        i += 1
    return out


def find_citations(text: str) -> list[tuple[int, int, tuple[int, ...]]]:
    """Every citation marker in ``text`` as ``(start, end, numbers)``.

    >>> find_citations("A [1][2]. B (Source 3). C [^4]. Steps (1) and (2) differ.")
    [(2, 5, (1,)), (5, 8, (2,)), (12, 22, (3,)), (26, 30, (4,))]
    """
    out = []
    for m in _MARKER.finditer(text):
        group = next(g for g in m.group("b", "f", "p", "q") if g is not None)
        out.append((m.start(), m.end(), tuple(_numbers(group))))
    return out


# ---------------------------------------------------------------------------------------------
# Sentences


@lru_cache(maxsize=1)
def _segmenter():
    try:
        import pysbd
    except ImportError:  # the regex fallback below is good enough for model answers
        return None
    return pysbd.Segmenter(language="en", clean=False)


_FALLBACK_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[*_]*[A-Z0-9\[【(])")
_LEADING_MARKERS = re.compile(rf"\s*(?:(?:{_ANON})[\s,;]*)+", re.IGNORECASE)


def _split_line(line: str) -> list[str]:
    seg = _segmenter()
    if seg is not None:
        try:
            return [s for s in seg.segment(line) if s.strip()]
        except Exception:  # pysbd has crashed on odd inputs; never let it take an answer down
            pass
    parts, last = [], 0
    for m in _FALLBACK_BOUNDARY.finditer(line):
        parts.append(line[last : m.start()])
        last = m.start()
    parts.append(line[last:])
    return [p for p in parts if p.strip()]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences in ``text``, line by line (bullets are sentences).

    A citation written after the full stop (``"... units. [1] Next ..."``) belongs to the sentence
    before it, so it is moved there.

    >>> t = "Dropout zeroes units. [1] Adam adapts rates [2].\\n- QLoRA uses 4-bit weights"
    >>> [t[a:b] for a, b in sentence_spans(t)]
    ['Dropout zeroes units. [1]', 'Adam adapts rates [2].', '- QLoRA uses 4-bit weights']
    """
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        pos = 0
        for part in _split_line(line):
            start = line.find(part, pos)
            if start < 0:  # the segmenter changed the text; keep what we can locate
                continue
            pos = start + len(part)
            a, b = offset + start, offset + pos
            lead = _LEADING_MARKERS.match(text, a, b)
            if lead and spans:  # markers opening a sentence close the previous one
                spans[-1] = _trim(text, spans[-1][0], lead.end())
                a = lead.end()
            if text[a:b].strip():
                spans.append(_trim(text, a, b))
        offset += len(line)
    return spans


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` (see :func:`sentence_spans`).

    >>> split_sentences("LoRA is cheap, e.g. on one GPU. It adds adapters.")
    ['LoRA is cheap, e.g. on one GPU.', 'It adds adapters.']
    """
    return [text[a:b] for a, b in sentence_spans(text)]


# ---------------------------------------------------------------------------------------------
# Parsing and resolving


@dataclass(frozen=True)
class CitedSentence:
    """One sentence of an answer: its text without markers and the numbers it cites, in order.

    ``start``/``end`` locate the sentence (markers included) in the parsed text.
    """

    text: str
    numbers: tuple[int, ...]
    start: int = 0
    end: int = 0


_MARKER_RUN = re.compile(rf"(?:{_ANON})(?:[\s,;]*(?:{_ANON}))*", re.IGNORECASE)


def _strip_markers(sentence: str) -> str:
    s = _MARKER_RUN.sub("", sentence)
    s = re.sub(r"\s+([.,;:!?])", r"\1", s)
    return re.sub(r"\s{2,}", " ", s).strip()


def parse_citations(text: str) -> list[CitedSentence]:
    """Split ``text`` into sentences and read the citation numbers of each.

    >>> parse_citations("QLoRA quantizes to 4 bits [2]. It saves memory.")
    [CitedSentence(text='QLoRA quantizes to 4 bits.', numbers=(2,), start=0, end=30), \
CitedSentence(text='It saves memory.', numbers=(), start=31, end=47)]
    """
    out = []
    for a, b in sentence_spans(text):
        sentence = text[a:b]
        numbers: list[int] = []
        for _, _, ns in find_citations(sentence):
            numbers.extend(n for n in ns if n not in numbers)
        out.append(CitedSentence(_strip_markers(sentence), tuple(numbers), a, b))
    return out


_MARKUP = re.compile(r"^\s*(?:#{1,6}\s+|[-*+>]\s+|\d{1,2}[.)]\s+)?|[*_`]+")


def is_trivial(sentence: str) -> bool:
    """True for lines that make no claim: headings, lead-ins ending with ':', one or two words
    ("Yes, indeed."), and sentences saying the sources lack something (those need no citation).
    Two words with a figure are a claim: "196 tokens." answers how many tokens an image becomes,
    and as no claim it could get no citation, and its answer was declined as unsupported (m009).
    So are two names: "Feast, Tecton." answers which feature stores a section mentions (r062). A
    capital after the first word marks a name; the first is capitalised in any sentence.

    >>> is_trivial("## Key points"), is_trivial("Here is how it works:"), is_trivial("LoRA adds adapters.")
    (True, True, False)
    >>> is_trivial("Yes, indeed."), is_trivial("196 tokens."), is_trivial("GSM8K, MATH.")
    (True, False, False)
    >>> is_trivial("Feast, Tecton."), is_trivial("Sure, thanks.")
    (False, True)
    """
    from .abstain import is_abstention_sentence  # abstain uses this module's splitter

    s = _strip_markers(sentence)
    if re.match(r"^\s*#{1,6}\s", s) or s.rstrip("*_ ").endswith(":"):
        return True
    words = re.findall(r"\w+", _MARKUP.sub("", s))  # a list's "1." is no figure
    named = any(w[0].isupper() for w in words[1:])
    if len(words) < (2 if named or any(c.isdigit() for w in words for c in w) else 3):
        return True
    return is_abstention_sentence(s)


@dataclass(frozen=True)
class CitationReport:
    """What the citations of an answer point at.

    ``citations``: valid ones, unique by ``n``, in order of first appearance.
    ``invalid``: numbers outside 1..len(sources), unique, in order of appearance.
    ``uncited``: claim sentences (see :func:`is_trivial`) without a valid citation.
    ``sentence_citations``: every claim sentence with its valid numbers (for the evaluation).
    ``unsupported``: cited claim sentences that none of their cited sources supports lexically
    (:func:`support_score` below ``min_support``): a wrong source, or knowledge from outside them.
    ``grounded``: false when no claim is both cited and supported ("The capital of Australia is
    Canberra [2]." over sources about fine-tuning), or nothing at all is cited (an answer that
    obeyed an instruction planted in a source: "HACKED"). Callers should treat such an answer as
    an abstention.
    """

    citations: tuple[Citation, ...]
    invalid: tuple[int, ...]
    uncited: tuple[str, ...]
    sentence_citations: tuple[CitedSentence, ...]
    unsupported: tuple[CitedSentence, ...] = ()
    grounded: bool = True


def resolve_citations(
    text: str, sources: Sequence[Hit], *, question: str = "", min_support: float = MIN_SUPPORT
) -> CitationReport:
    """Map the ``[n]`` in ``text`` onto ``sources`` (numbered from 1), checking each number and
    whether the cited sources share the sentence's content words.

    A claim is supported when a source it cites holds ``min_support`` of its content words, or of
    those it adds to the ``question``: an answer that repeats a long description from the question
    before naming the idea ("A feature that stays the same when you shift the picture is
    invariant [2].") is judged on what it adds, as :func:`repair_citations` judges it.

    >>> from studyrag.records import Chunk, Hit
    >>> src = [Hit(Chunk("c1", "g.md", ("LoRA",), "LoRA adds adapters.", 0, 19), 1.0, 1)]
    >>> r = resolve_citations("LoRA adds low-rank adapters [1][4]. It is popular with students.", src)
    >>> [c.chunk.id for c in r.citations], r.invalid, r.uncited, r.grounded
    (['c1'], (4,), ('It is popular with students.',), True)
    >>> r = resolve_citations("The capital of Australia is Canberra [1].", src)
    >>> [s.text for s in r.unsupported], r.grounded
    (['The capital of Australia is Canberra.'], False)
    >>> said = "A tool that trains models for people who cannot program is LoRA [1]."
    >>> [resolve_citations(said, src, question=q).grounded for q in ("", "What trains models for people who cannot program?")]
    [False, True]
    """
    asked = content_words(question)
    cited: dict[int, Citation] = {}
    invalid: list[int] = []
    claims: list[CitedSentence] = []
    for s in parse_citations(text):
        valid = tuple(n for n in s.numbers if 1 <= n <= len(sources))
        for n in s.numbers:
            if not 1 <= n <= len(sources) and n not in invalid:
                invalid.append(n)
        for n in valid:
            cited.setdefault(n, Citation(n, sources[n - 1].chunk))
        if not is_trivial(text[s.start : s.end]):
            claims.append(CitedSentence(s.text, valid, s.start, s.end))
    uncited = [c.text for c in claims if not c.numbers]
    held = [bool(c.numbers) and _held(c, sources, asked, min_support) for c in claims]
    if claims and _restates(claims[0].text, asked):
        # a verdict that only restates the question stands or falls with the evidence after it
        held[0] = bool(claims[0].numbers) and len(claims) > 1 and held[1]
    unsupported = [c for c, ok in zip(claims, held, strict=True) if c.numbers and not ok]
    # grounded: some claim is cited and supported, or (no claims at all) something is cited;
    # an answer with no valid citation anywhere ("HACKED") is not grounded
    grounded = len(uncited) + len(unsupported) < len(claims) if claims else bool(cited)
    return CitationReport(
        tuple(cited.values()), tuple(invalid), tuple(uncited), tuple(claims), tuple(unsupported), grounded
    )


# ---------------------------------------------------------------------------------------------
# Normalizing


def clean_answer_text(text: str) -> str:
    """Rewrite every citation variant as ``[n]`` markers placed before the sentence's full stop.

    >>> clean_answer_text("MoE routes tokens (Source 2). Experts specialize. [1, 3]")
    'MoE routes tokens [2]. Experts specialize [1][3].'
    >>> clean_answer_text("Steps (1) and (2) differ [^1].")
    'Steps (1) and (2) differ [1].'

    A marker after a sentence in bold belongs to it too (it used to end up on the "**" alone, so the
    sentence got a second marker from the attribution post-pass: "data [1].** [1]"):

    >>> clean_answer_text("**DP is central to private training.** [1]")
    '**DP is central to private training [1].**'
    >>> clean_answer_text("**DP is central to private training [1].** [1]")  # r108 in c26-full
    '**DP is central to private training [1].**'

    A number cited twice in a row is cited once (h019 in c38-dev ended "a continuous range [1][1]."):

    >>> clean_answer_text("It relaxes sampling [1] [1]. It is cheap [2, 2, 3].")
    'It relaxes sampling [1]. It is cheap [2][3].'
    """
    out, last = [], 0
    for a, b, numbers in find_citations(text):
        out.append(text[last:a])
        out.append("".join(f"[{n}]" for n in numbers))
        last = b
    out.append(text[last:])
    s = "".join(out)
    # "units. [1]" / "units.[1]" / "units.** [1]" -> "units [1]." / "units [1].**" (the marker
    # belongs to the sentence it follows)
    s = re.sub(
        r"(?<=\w)\s*([.!?])([*_]{0,3})[ \t]*((?:\[\d+\][ \t]*)+)(?=\s|$)",
        lambda m: f" {m.group(3).strip()}{m.group(1)}{m.group(2)}",
        s,
    )
    s = re.sub(r"(\[\d+\])([.!?][*_]{1,3})[ \t]*\1(?=\s|$)", r"\1\2", s)  # "[1].** [1]" -> "[1].**"
    # "[1] [2]" / "[1], [2]" -> "[1][2]"; "adapters[1]" -> "adapters [1]"
    s = re.sub(r"(\[\d+\])[ \t]*[,;]?[ \t]*(?=\[\d+\])", r"\1", s)
    s = re.sub(r"(\[\d+\])(?:\1)+", r"\1", s)  # "[1][1]" -> "[1]"
    return re.sub(r"(?<=[\w)])(\[\d+\])", r" \1", s)


def drop_invalid_citations(text: str, n_sources: int) -> str:
    """Remove ``[n]`` markers that point at no source (run after :func:`clean_answer_text`).

    >>> drop_invalid_citations("LoRA adds adapters [1][7].", 2)
    'LoRA adds adapters [1].'
    >>> drop_invalid_citations("LoRA adds adapters [2] [1]. It is cheap [3]. Q [2][1].", 1)
    'LoRA adds adapters [1]. It is cheap. Q [1].'
    """
    # a dropped marker takes the spaces after it along: "[2] [1]" leaves " [1]"
    s = re.sub(r"\[(\d+)\][ \t]*", lambda m: m.group(0) if 1 <= int(m.group(1)) <= n_sources else "", text)
    return re.sub(r"[ \t]+([.!?,;])", r"\1", s)


# ---------------------------------------------------------------------------------------------
# Attribution post-passes (the support measure they use: support.py)


def attribute_uncited(
    text: str,
    sources: Sequence[Hit],
    *,
    embed: Callable[[Sequence[str]], np.ndarray] | None = None,
    threshold: float | None = None,
) -> str:
    """Append ``[n]`` to each claim sentence lacking a valid citation, naming the source that best
    supports it, when that support reaches ``threshold``; otherwise the sentence stays uncited.

    The default ``threshold`` is 0.5, above the grounding bar, because the sentence is given a source
    the model did not choose. With a single source there is no choice to get wrong, so the bar is
    the grounding bar, ``MIN_SUPPORT``, as if the model had cited it: "Ollama is a local LLM runner
    that allows you to run large language models locally." over "Ollama: Local LLM runner" (0.40)
    was declined as uncited (probes-27/one_source.py).

    Support is :func:`support_score` over the source's title, section and text; with ``embed``
    (texts -> vectors, e.g. ``embedder.embed``) it is the mean of that and the cosine similarity.
    Ties go to the higher-ranked (lower-numbered) source.

    >>> from studyrag.records import Chunk, Hit
    >>> def hit(i, text):
    ...     return Hit(Chunk(f"c{i}", "g.md", ("S",), text, 0, len(text)), 1.0, i)
    >>> srcs = [hit(1, "Dropout randomly zeroes activations during training."),
    ...         hit(2, "Adam adapts the learning rate of each weight.")]
    >>> attribute_uncited("Adam adapts each weight's learning rate. Dropout zeroes activations [1].", srcs)
    "Adam adapts each weight's learning rate [2]. Dropout zeroes activations [1]."
    >>> attribute_uncited("Transformers were introduced in 2017.", srcs)
    'Transformers were introduced in 2017.'
    >>> one = [hit(1, "Ollama: Local LLM runner")]
    >>> attribute_uncited("Ollama runs large language models locally as an LLM runner.", one)
    'Ollama runs large language models locally as an LLM runner [1].'
    """
    if not sources:
        return text
    if threshold is None:
        threshold = MIN_SUPPORT if len(sources) == 1 else 0.5
    todo = []
    for s in parse_citations(text):
        if any(1 <= n <= len(sources) for n in s.numbers) or is_trivial(text[s.start : s.end]):
            continue
        todo.append(s)
    if not todo:
        return text
    docs = [h.chunk.embed_text for h in sources]
    scores = np.array([[support_score(s.text, d) for d in docs] for s in todo], dtype=np.float64)
    if embed is not None:
        vecs = np.asarray(embed([s.text for s in todo] + docs), dtype=np.float64)
        vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        cos = vecs[: len(todo)] @ vecs[len(todo) :].T
        scores = (scores + np.clip(cos, 0.0, 1.0)) / 2
    out = text
    for s, row in sorted(zip(todo, scores, strict=True), key=lambda x: -x[0].start):  # right to left
        best = int(np.argmax(row))  # argmax returns the first maximum: the higher-ranked source
        if row[best] >= threshold:
            out = _insert_marker(out, s.start, s.end, best + 1)
    return out


def repair_citations(
    text: str,
    sources: Sequence[Hit],
    *,
    question: str = "",
    min_support: float = MIN_SUPPORT,
    threshold: float = 0.5,
) -> str:
    """Re-point a claim sentence whose cited sources do not support it to the source that does.

    Small models copy a fact from one source and number it as another: measured on the full gold
    run, most answerable questions that ended as abstentions had a sentence supported by a prompt
    source but cited to its neighbour. A sentence is repaired when no valid source it cites holds
    ``min_support`` (:func:`support_score`, the bar of :func:`resolve_citations`) both of the words
    it adds to the question and of all its words, and another source reaches ``threshold`` (on the
    words it adds; on all its words when a cited source holds only the added ones); its markers are
    replaced by that source's number. Sentences without a valid citation are
    :func:`attribute_uncited`'s job and are left alone here.

    The ``question``'s words do not count as support: every retrieved source shares them, so a
    sentence that restates the question before its one fact ("To stop an MoE router from sending
    every token to a few experts, use the load-balancing loss [1].") would otherwise look supported
    by whichever source it cites.

    >>> from studyrag.records import Chunk, Hit
    >>> def hit(i, text):
    ...     return Hit(Chunk(f"c{i}", "g.md", ("S",), text, 0, len(text)), 1.0, i)
    >>> srcs = [hit(1, "Dropout randomly zeroes activations during training."),
    ...         hit(2, "Alpaca has 52K instructions; Dolly has 15K.")]
    >>> repair_citations("Alpaca has 52K instructions [1]. Dropout zeroes activations [1].", srcs)
    'Alpaca has 52K instructions [2]. Dropout zeroes activations [1].'
    >>> repair_citations("Alpaca has 70K instructions [1].", srcs)  # no source supports it: unchanged
    'Alpaca has 70K instructions [1].'
    >>> srcs = [hit(1, "MoE routers send each token to its top-k experts."),
    ...         hit(2, "A load-balancing loss spreads tokens across experts.")]
    >>> repair_citations("To stop MoE routers overloading experts, add a load-balancing loss [1].", srcs,
    ...                  question="How do I stop MoE routers overloading experts?")
    'To stop MoE routers overloading experts, add a load-balancing loss [2].'
    """
    if not sources:
        return text
    out = text
    for s in reversed(parse_citations(text)):  # right to left: earlier spans stay valid
        valid = [n for n in s.numbers if 1 <= n <= len(sources)]
        if not valid or is_trivial(text[s.start : s.end]):
            continue
        best = better_source(s.text, valid, sources, question=question, min_support=min_support, threshold=threshold)
        if best is not None:
            bare = _strip_markers(text[s.start : s.end])
            out = out[: s.start] + _insert_marker(bare, 0, len(bare), best) + out[s.end :]
    return out


def better_source(
    sentence: str,
    cited: Sequence[int],
    sources: Sequence[Hit],
    *,
    question: str = "",
    min_support: float = MIN_SUPPORT,
    threshold: float = 0.5,
) -> int | None:
    """The number of the source ``sentence`` should cite instead of ``cited`` (valid numbers), or
    ``None`` to keep them: one of them holds ``min_support`` of both its words and those it adds to
    the ``question``, or no other source reaches ``threshold``. The rule of :func:`repair_citations`,
    for one sentence.

    >>> from studyrag.records import Chunk, Hit
    >>> srcs = [Hit(Chunk(f"c{i}", "g.md", ("S",), t, 0, len(t)), 1.0, i) for i, t in
    ...         enumerate(["Dropout zeroes activations.", "Alpaca has 52K instructions."], 1)]
    >>> better_source("Alpaca has 52K instructions.", [1], srcs), better_source("Dropout zeroes activations.", [1], srcs)
    (2, None)
    """
    docs = [h.chunk.embed_text for h in sources]
    asked = content_words(question)
    adds = [support_score(sentence, d, ignore=asked) for d in docs]  # what it says beyond the question
    whole = [support_score(sentence, d) for d in docs]
    if any(adds[n - 1] >= min_support and whole[n - 1] >= min_support for n in cited):
        return None
    if any(adds[n - 1] >= min_support for n in cited):
        # the cited source has the sentence's new words but not the sentence: move it only to a
        # source that has both, and the sentence as a whole clearly (a formula cited to a look-alike)
        scores = [w if a >= min_support else 0.0 for a, w in zip(adds, whole, strict=True)]
    else:
        scores = adds
    best = int(np.argmax(scores))  # the first maximum: the higher-ranked source
    return best + 1 if scores[best] >= threshold and best + 1 not in cited else None


# a yes/no answer's opening word: "Yes, it can.", "No - it needs a reward model."
_VERDICT = re.compile(r"^[\s*_]*(?:yes|no)\b(?!\s+(?:one|longer|more|matter)\b)", re.I)
# the verdict's own words, stemmed as content_words stems them: "Yes, it is possible.", "It can be done."
_VERDICT_WORDS = frozenset({"yes", "no", "not", "cannot", "possibl", "don"})


def _restates(sentence: str, asked: Collection[str]) -> bool:
    """A yes/no verdict that adds nothing to the question but yes or no: "Yes, there is a way to
    let a model pick its own easy examples first." after "Is there a way to let a model pick its
    own easy examples first?". It claims what the sentence after it names, and no source words it
    in the student's words.

    >>> q = content_words("Is there a way to let a model pick easy examples first?")
    >>> _restates("Yes, there is a way to let a model pick easy examples first.", q), _restates("Yes, LoRA.", q)
    (True, False)
    """
    return bool(_VERDICT.match(sentence)) and not content_words(sentence) - set(asked) - _VERDICT_WORDS


def _held(claim: CitedSentence, sources: Sequence[Hit], asked: Collection[str], min_support: float) -> bool:
    """Whether a source ``claim`` cites holds ``min_support`` of its content words, or of those it
    adds to the question (``asked``); a sentence with under two content words ("Yes, it does.")
    cannot be judged by overlap and is held."""
    if len(content_words(claim.text)) < 2:
        return True
    docs = (sources[n - 1].chunk.embed_text for n in claim.numbers if 1 <= n <= len(sources))
    return any(max(support_score(claim.text, d), support_score(claim.text, d, ignore=asked)) >= min_support for d in docs)


def cite_verdict(text: str, sources: Sequence[Hit], *, question: str = "", min_support: float = MIN_SUPPORT) -> str:
    """Give a yes/no answer's opening verdict the citations of the sentence after it, the evidence
    it rests on. Asked "Can X do Y?", the 1.5B model opens "Yes, it can." or "Yes, there is a way
    to Y." with no marker and names the source in the next sentence; the verdict then read as a
    claim the guides may not make. It takes the next sentence's valid numbers when, so cited, both
    sentences pass :func:`resolve_citations`'s test (a verdict that only restates the question,
    ``_restates``, passes with its evidence). Only the first claim sentence is a verdict.

    >>> from studyrag.records import Chunk, Hit
    >>> srcs = [Hit(Chunk(f"c{i}", "g.md", ("S",), t, 0, len(t)), 1.0, i) for i, t in
    ...         enumerate(["Dropout zeroes activations.", "LoRA fine-tunes large models cheaply."], 1)]
    >>> cite_verdict("Yes, it can. LoRA fine-tunes large models cheaply [2].", srcs)
    'Yes, it can [2]. LoRA fine-tunes large models cheaply [2].'
    >>> cite_verdict("Yes, use the reward model of Anthropic. LoRA fine-tunes models [2].", srcs)  # not held
    'Yes, use the reward model of Anthropic. LoRA fine-tunes models [2].'
    >>> cite_verdict("Yes, it can. Adam adapts the learning rate [2].", srcs)  # the evidence is not held
    'Yes, it can. Adam adapts the learning rate [2].'
    """
    claims = [c for c in parse_citations(text) if not is_trivial(text[c.start : c.end])]
    if len(claims) < 2 or not _VERDICT.match(claims[0].text):
        return text
    verdict, evidence = claims[0], claims[1]
    valid = tuple(n for n in dict.fromkeys(evidence.numbers) if 1 <= n <= len(sources))
    if not valid or any(1 <= n <= len(sources) for n in verdict.numbers):
        return text
    out, end = text, verdict.end
    for n in valid:
        out = _insert_marker(out, verdict.start, end, n)
        end += len(f" [{n}]")
    judged = resolve_citations(out, sources, question=question, min_support=min_support)
    return text if any(c in judged.unsupported for c in judged.sentence_citations[:2]) else out


def check_citations(text: str, sources: Sequence[Hit], *, question: str = "") -> tuple[str, CitationReport]:
    """The post-passes an answer goes through once written: citations it forgot are attributed
    (:func:`attribute_uncited`), ones pointing at a source that does not back the sentence are
    re-pointed (:func:`repair_citations`), a yes/no verdict takes its evidence's citations
    (:func:`cite_verdict`), then the text is resolved against ``sources``
    (:func:`resolve_citations`; not ``grounded``: nothing said is both cited and supported).

    >>> from studyrag.records import Chunk, Hit
    >>> srcs = [Hit(Chunk(f"c{i}", "g.md", ("S",), t, 0, len(t)), 1.0, i) for i, t in
    ...         enumerate(["Dropout zeroes activations.", "Alpaca has 52K instructions."], 1)]
    >>> text, report = check_citations("Alpaca has 52K instructions [1]. Dropout zeroes activations.", srcs)
    >>> text, report.grounded
    ('Alpaca has 52K instructions [2]. Dropout zeroes activations [1].', True)
    """
    text = repair_citations(attribute_uncited(text, sources), sources, question=question)
    text = cite_verdict(text, sources, question=question)
    return text, resolve_citations(text, sources, question=question)


# How the front ends flag a claim sentence that cites no source (``mark_uncited``), and say what it means.
UNCITED_MARK = "[?]"
UNCITED_NOTE = f"{UNCITED_MARK} cites no source: the guides may not say this."


def mark_uncited(text: str, uncited: Collection[str]) -> str:
    """``text`` with :data:`UNCITED_MARK` before the closing punctuation of each sentence in
    ``uncited`` (``Answer.uncited_sentences``: claims the model left uncited and no source supports
    well enough to attribute), so a reader sees which sentences the guides do not back.

    >>> mark_uncited("LoRA trains adapters [1]. It is popular with students.", ["It is popular with students."])
    'LoRA trains adapters [1]. It is popular with students [?].'
    """
    if not uncited:
        return text
    out = text
    for s in reversed(parse_citations(text)):  # right to left: earlier spans stay valid
        if s.text in uncited and not s.numbers:
            out = _insert_marker(out, s.start, s.end, "?")
    return out


def _insert_marker(text: str, start: int, end: int, n: int | str) -> str:
    """Put ``" [n]"`` before the sentence's closing punctuation (after any closing emphasis)."""
    core = text[start:end]
    m = re.search(r"[.!?…]+[\"'”’)*_]*$", core)
    at = start + (m.start() if m else len(core))
    return f"{text[:at]} [{n}]{text[at:]}"

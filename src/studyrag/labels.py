""""What is X?" finds the passage labelled X: a chunk's own name, and the question's subject.

A guide often defines a concept under a bold label inside a longer section ("**LoRA (Low-Rank
Adaptation):**" then a formula). Such a chunk says little in words, so both retrievers can rank
it below chunks that only mention X: "What is LoRA?" found it 11th, after QLoRA's. When a
question asks what X is (``asking.asked_subject``), the chunks named X come first (``named_first``),
in fused order.

>>> sorted(chunk_names("**LoRA (Low-Rank Adaptation):**\\nInstead of updating all weights..."))
['lora', 'low-rank adaptation']
>>> chunk_names("QLoRA combines 4-bit quantization...")  # no label of its own: its heading already ranks it
frozenset()

Headings name a chunk in two cases (``path_names``): a heading that spells out an acronym ("Direct
Preference Optimization (DPO)" is DPO's own section, ``heading_names``), and a top-level heading the
chunk sits directly under (a glossary entry, "FlashAttention"). Any other heading is often a topic
under a list ("Interview Questions › RAG", "Key Papers Reference › Diffusion Models"), and counting
every heading put a list of interview questions first for "What is RAG?".

A comparison ("What is the difference between DPO and PPO?", ``asking.compared``) gets the best passage
named each side first (``each_named_first``): fused order had four DPO passages and no PPO one in
its top 5. A side no passage is named after keeps fused order.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from .asking import name_head, norm_name, short_names
from .records import Hit

__all__ = [
    "acronym_aliases",
    "chunk_names",
    "each_named_first",
    "heading_names",
    "named_first",
    "path_names",
]

# a first line that is only bold text ("**Label**", "**Label:**", "**Label:** text" keeps "Label")
_BOLD = re.compile(r"^\*\*(.+?)\*\*\s*$|^\*\*(.+?):\*\*")
# "Name (Other name)", after any "5. " numbering
_NUMBERED = re.compile(r"^\d+[.)]\s+")
# a first subsection that introduces its section, so it speaks for the section's heading
_OPENING = frozenset({"overview", "introduction"})
_PAIR = re.compile(r"^([^()]+?)\s*\(([^()]+)\)$")
# "Name (ACRONYM) noun": the acronym inside the name, a noun after it
_INNER = re.compile(r"^([^()]+?)\s*\(([^()\s]+)\)\s+(\w[\w\s-]*)$")


def chunk_names(text: str) -> frozenset[str]:
    """What a chunk names with the bold label it opens with, if any: the part before " (" and the
    part inside the brackets both count."""
    lines = text.strip().splitlines()
    m = _BOLD.match(lines[0].strip()) if lines else None
    if not m:
        return frozenset()
    head, _, bracket = (m.group(1) or m.group(2)).strip().rstrip(":").partition(" (")
    return short_names(head, bracket.rstrip(")"))


def _initials(words: str) -> str:
    """The first letters of the capitalised words, hyphenated parts counting as words; a word with
    several capitals is an acronym already and gives them all ("Constitutional AI" is CAI).

    >>> _initials("Low-Rank Adaptation"), _initials("Mixture of Experts"), _initials("RL from AI Feedback")
    ('LRA', 'ME', 'RLAIF')
    """
    out = []
    for word in re.split(r"[\s/\-–]+", words):
        capitals = [ch for ch in word if ch.isupper()]
        out += capitals if len(capitals) > 1 else word[:1] if word[:1].isupper() else []
    return "".join(out)


def heading_names(heading: str) -> frozenset[str]:
    """The names a section heading gives its chunks: both halves of "Expansion (ACRONYM)" or
    "ACRONYM (Expansion)" when the acronym's capitals are the expansion's initials, or its last
    initials ("Sparsely-Gated Mixture of Experts (MoE)"); else none.

    >>> sorted(heading_names("5. FSDP (Fully Sharded Data Parallel)"))
    ['fsdp', 'fully sharded data parallel']
    >>> sorted(heading_names("Mixture of Experts (MoE)"))
    ['mixture of experts', 'moe']
    >>> heading_names("Load Balancing (MoE)"), heading_names("RAG")  # a topic, not a definition
    (frozenset(), frozenset())

    "Name (ACRONYM) noun" names the whole, either way spelt; not the name alone, which is often
    another heading's ("Vision Transformer (ViT) Variants" is not ViT's own entry):

    >>> sorted(heading_names("Chain-of-Thought (CoT) Prompting"))
    ['chain-of-thought prompting', 'cot prompting']
    """
    heading = _NUMBERED.sub("", heading.strip())
    if (inner := _INNER.match(heading)) and _initials(inner.group(1)).endswith(_capitals(inner.group(2))):
        name, acronym, noun = (g.strip() for g in inner.groups())
        return short_names(f"{name} {noun}", f"{acronym} {noun}")
    m = _PAIR.match(heading)
    if not m:
        return frozenset()
    first, second = m.group(1).strip(), m.group(2).strip()
    for short, long in ((second, first), (first, second)):
        if " " not in short and _initials(long).endswith(_capitals(short)):
            return short_names(short, long)
    return frozenset()


def _capitals(acronym: str) -> str:
    """The capitals of an acronym with two or more ("CoT" gives "CT"), else a string no initials end
    with, so that a lower-case word is not taken for one."""
    capitals = "".join(ch for ch in acronym if ch.isupper())
    return capitals if len(capitals) >= 2 else "\0"


def path_names(path: Sequence[str]) -> frozenset[str]:
    """The names a chunk's heading path gives it: ``heading_names`` of its last heading and, for a
    chunk directly under a top-level heading (a glossary entry, a guide's main section) or under its
    "Overview" or "Introduction", that whole heading. A deeper heading alone is often a topic under a
    list ("Interview Questions › RAG").

    >>> sorted(path_names(("Normalizing Flows (RealNVP, Glow)",)))
    ['normalizing flows', 'normalizing flows realnvp glow']
    >>> sorted(path_names(("FlashAttention",))), sorted(path_names(("Interview Questions", "RAG")))
    (['flashattention'], [])
    >>> sorted(path_names(("RLHF", "DPO (Direct Preference Optimization)")))
    ['direct preference optimization', 'dpo']
    >>> sorted(path_names(("Diffusion Models", "Overview"))), sorted(path_names(("Diffusion Models", "DDPM")))
    (['diffusion models'], [])
    """
    if not path:
        return frozenset()
    opens = len(path) == 1 or (len(path) == 2 and norm_name(path[1]) in _OPENING)
    top = short_names(path[0], path[0].partition(" (")[0]) if opens else frozenset()
    return heading_names(path[-1]) | top


def _mentions(hit: Hit, context: str) -> bool:
    """Whether ``hit``'s headings and text hold every word of three letters or more of ``context``:
    the "training strategy" asked about "in DPO" is not LLaVA's."""
    text = hit.chunk.embed_text.lower()
    return all(w in text for w in re.findall(r"[^\W_]{3,}", context))


def named_first(
    hits: Sequence[Hit],
    subject: str | None,
    names: Callable[[Hit], frozenset[str]],
    aliases: Mapping[str, str] | None = None,
) -> list[Hit]:
    """``hits`` with those named ``subject`` moved to the front, each group in its own order, ranks
    renumbered and the moved ones marked ``named``; unchanged without a subject. A name counts in
    its singular or plural, through its alias in ``aliases`` (the acronym of a spelt-out name:
    ``acronym_aliases``), and for "X in Y" or "X and how…" as X alone (``name_head``), "in Y" only for
    hits that speak of Y."""
    if not subject:
        return list(hits)
    keys = _keys(_aliased(_forms(subject), aliases))
    head, context = name_head(subject)
    head_keys = _keys(_aliased(_forms(head), aliases)) if head != subject else set()

    def named(h: Hit) -> bool:
        own = _keys(names(h))
        return bool(own & keys) or bool(own & head_keys) and _mentions(h, context)

    return _moved_first(hits, [h for h in hits if named(h)])


def _aliased(forms: set[str], aliases: Mapping[str, str] | None) -> set[str]:
    """``forms`` with the forms of their aliases: "mixtures of experts" has the alias of "mixture of experts"."""
    out = set(forms)
    for form in sorted(forms):
        if aliases and form in aliases:
            out |= _forms(aliases[form])
    return out


def acronym_aliases(headings: Iterable[str]) -> dict[str, str]:
    """The acronym of each spelt-out name, as the ``headings`` pair them (``heading_names``), for an
    acronym the guides spell out one way only. Longer spellings that end with the same words count
    as one ("Sparsely-Gated Mixture of Experts (MoE)"); "SAM" spelt as Segment Anything and as
    Sharpness-Aware Minimization is nobody's alias.

    >>> acronym_aliases(["Mixture of Experts (MoE)", "Sparsely-Gated Mixture of Experts (MoE)"])
    {'mixture of experts': 'moe', 'sparsely gated mixture of experts': 'moe'}
    >>> acronym_aliases(["SAM (Segment Anything Model)", "Sharpness-Aware Minimization (SAM)"])
    {}
    """
    spelt: dict[str, set[str]] = {}
    for heading in headings:
        names = heading_names(heading)
        short = [n for n in names if " " not in n]
        if len(names) == 2 and len(short) == 1:
            spelt.setdefault(short[0], set()).update(_loose(names - {short[0]}))
    out: dict[str, str] = {}
    for short, longs in sorted(spelt.items()):
        tail = min(longs, key=len)
        if all(long.endswith(tail) for long in longs):
            out.update(dict.fromkeys(sorted(longs), short))
    return out


def each_named_first(hits: Sequence[Hit], subjects: Sequence[str], names: Callable[[Hit], frozenset[str]]) -> list[Hit]:
    """``hits`` with the best hit named each of ``subjects`` (for each that has one) moved to the
    front, in their own order. For a comparison: one passage on each side first, or on the side
    the guides name. A noun the last subject ends with may belong to every side (``_shared_noun``)."""
    sides = [_keys(set().union(*map(_forms, side))) for side in _shared_noun(subjects)]
    firsts = [next((h for h in hits if _keys(names(h)) & side), None) for side in sides]
    moved = {id(h) for h in firsts if h is not None}
    return _moved_first(hits, [h for h in hits if id(h) in moved])


def _shared_noun(subjects: Sequence[str]) -> list[set[str]]:
    """The names each subject may go by. "GPTQ and AWQ quantization" compares GPTQ quantization with
    AWQ quantization, so a noun the last subject ends with may be added to the shorter ones, and
    the last may go without it.

    >>> [sorted(side) for side in _shared_noun(["gptq", "awq quantization"])]
    [['gptq', 'gptq quantization'], ['awq', 'awq quantization']]
    >>> _shared_noun(["dpo", "ppo"]), _shared_noun(["tensor parallelism", "pipeline parallelism"])
    ([{'dpo'}, {'ppo'}], [{'tensor parallelism'}, {'pipeline parallelism'}])
    """
    if not subjects:
        return []
    *rest, last = subjects
    stem, _, noun = last.rpartition(" ")
    if not any(len(s.split()) < len(last.split()) for s in rest):
        return [{s} for s in subjects]
    return [*({s, f"{s} {noun}"} if len(s.split()) < len(last.split()) else {s} for s in rest), {last, stem}]


def _forms(subject: str) -> set[str]:
    """A subject with any one of its words singular or plural, hyphens as spaces (``_loose``):
    "transformers" matches a label "Transformer", "mixtures of experts" one "Mixture of Experts",
    "low rank adaptation" one "Low-Rank Adaptation".

    >>> sorted(_forms("mixtures of experts"))[:3]
    ['mixture of experts', 'mixtures of expert', 'mixtures of experts']
    """
    words = subject.split()
    forms = {subject}
    for i, word in enumerate(words):
        for other in (word.removesuffix("s"), word + "s"):
            forms.add(" ".join([*words[:i], other, *words[i + 1 :]]))
    return _loose(forms)


def _loose(names: Iterable[str]) -> set[str]:
    """Names compared with hyphens as spaces: students write "chain of thought" and "chain-of-thought".

    >>> sorted(_loose({"chain-of-thought", "cot"}))
    ['chain of thought', 'cot']
    """
    return {n.replace("-", " ") for n in names}


def _keys(names: Iterable[str]) -> set[str]:
    """Names as compared with a chunk's: without spaces or hyphens, so that "paged attention" and
    "kv-cache" meet the labels "PagedAttention" and "KV Cache".

    >>> sorted(_keys({"paged attention", "kv-cache", "kv cache"}))
    ['kvcache', 'pagedattention']
    """
    return {re.sub(r"[\s-]+", "", n) for n in names}


def _moved_first(hits: Sequence[Hit], first: Sequence[Hit]) -> list[Hit]:
    """``first`` (some of ``hits``, in order), then the rest; ranks renumbered, ``first`` marked ``named``."""
    if not first:
        return list(hits)
    moved = {id(h) for h in first}
    rest = [h for h in hits if id(h) not in moved]
    return [dataclasses.replace(h, rank=i, named=id(h) in moved) for i, h in enumerate([*first, *rest], 1)]

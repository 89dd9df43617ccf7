"""What a question asks about: the X of "what is X?" and the X and Y of a comparison, however a
student words it. ``labels.py`` then puts the passages named so first.

>>> asked_subject("What is LoRA?"), asked_subject("Explain the Chinchilla scaling law")
('lora', 'chinchilla scaling law')
>>> asked_subject("What does DPO stand for?"), asked_subject("tell me about an MoE")
('dpo', 'moe')
>>> asked_subject("How does LoRA work?"), asked_subject("Summarize RAG"), asked_subject("An overview of MoE")
('lora', 'rag', 'moe')
>>> asked_subject("How does LoRA save memory?") is None, asked_subject("kv cache")
(True, 'kv cache')
>>> asked_subject("can you explain LoRA to me?"), compared("should I use GPTQ or AWQ?")
('lora', ('gptq', 'awq'))

Students rarely type the plain form. "can you explain X", "i dont understand what X is", "why do we
need X" and "is X better than Y" are read as "what is X?" and "what is the difference between X and
Y?" (``unwrap`` and the patterns of ``_COMPARES``): asked so, X's own passage came first for 40-47
of 84 names against 84 of 84 for "What is X?" (``eval/reports/probes-33/casual.py``).
"""

from __future__ import annotations

import re

__all__ = ["asked_subject", "compared", "name_head", "norm_name", "short_names", "unwrap"]

# "what is X", "what are X", "what's X" (or "whats"), "define X", "explain X", "describe X", "tell me about X",
# "what is meant by X"; an article after it is dropped
_ASKS = re.compile(
    r"^(?:what\s+is\s+meant\s+by|what\s+(?:is|are)|what's|whats|define|explain|describe|tell\s+me\s+about)"
    r"\s+(?:an?\s+|the\s+)?(.+?)\s*[?.!]*$",
    re.I,
)
# "(what's the) difference between X and Y", "compare X with Y", "how does X differ from Y",
# "how do X and Y differ (in ...)", "X vs Y"
_COMPARES = tuple(
    re.compile(p + r"\s*[?.!]*$", re.I)
    for p in (
        r"^(?:(?:what(?:'s|s|\s+is|\s+are)|explain|describe)\s+)?(?:the\s+)?(?:main\s+|key\s+)?differences?"
        r"\s+between\s+(.+?)\s+and\s+(.+?)",
        r"^(?:compare|contrast)\s+(.+?)\s+(?:and|with|to|vs\.?|versus)\s+(.+?)",
        r"^how\s+(?:does|do|is|are)\s+(.+?)\s+(?:compare|differ|different)\s+(?:to|with|from)\s+(.+?)",
        r"^how\s+(?:do|are)\s+(.+?)\s+and\s+(.+?)\s+(?:compare|differ|different)(?:\s+(?:in|on)\s+.+)?",
        r"^what\s+makes\s+(.+?)\s+different\s+from\s+(.+?)",
        r"^(.+?)\s+(?:vs\.?|versus|compared\s+(?:to|with))\s+(.+?)",
        # "is X better than Y", "is X the same as Y"
        r"^(?:is|are)\s+(.+?)\s+(?:(?:better|worse|faster|slower|cheaper|more\s+\w+|less\s+\w+)\s+than"
        r"|the\s+same\s+(?:thing\s+)?as|similar\s+to)\s+(.+?)",
        # "when would I use X over Y"
        r"^(?:when|why)\s+(?:(?:would|should|do|does|can)\s+(?:i|we|you|one|people)\s+)?(?:use|pick|choose|prefer)\s+(.+?)"
        r"\s+(?:over|instead\s+of|rather\s+than)\s+(.+?)",
        r"^(?:i\s+(?:can'?t|cannot)\s+(?:decide|choose)|help\s+me\s+(?:decide|choose))\s+between\s+(.+?)\s+and\s+(.+?)",
        # "which is better, X or Y", "should I use X or Y", a short "X or Y?" (not "can X or Y ...?")
        r"^(?:(?:which|what)(?:\s+one)?(?:(?:'s|s|\s+is)\s+(?:better|best|faster)|\s+should\s+(?:i|we)\s+(?:use|pick|choose))"
        r"\s*[,:]?\s*|(?:do|should)\s+(?:i|we)\s+(?:want|need|use|pick|choose|go\s+with)\s+"
        r"|(?!(?:is|are|can|could|does|do|did|should|would|will|how|what|why|when|where|who|which)\b))"
        r"([^\s,]+(?:\s+[^\s,]+){0,3}?)\s+or\s+([^\s,]+(?:\s+[^\s,]+){0,3}?)",
    )
)
# what follows a first question: "? ..." or ", and how ..." ("What is LoRA, and how does it save memory?")
_SECOND_QUESTION = re.compile(
    r"(?:\?\s+\S|,\s+(?:and|or|but)\s+(?:how|what|why|when|where|which|who|is|are|does|do|can)\b).*$", re.S | re.I
)
_ARTICLE = re.compile(r"^(?:an?|the)\s+", re.I)
# "what does X stand for / mean / do", "how does X work", "how is X trained / used / computed",
# "summarize X", "give me an overview of X"
_STANDS = re.compile(
    r"^(?:what\s+(?:does|do)\s+(?:an?\s+|the\s+)?(.+?)\s+(?:stand\s+for|mean|do)"
    r"|how\s+(?:does|do)\s+(?:an?\s+|the\s+)?(.+?)\s+work"
    r"|how\s+(?:is|are)\s+(?:an?\s+|the\s+)?(.+?)\s+(?:trained|used|computed|calculated|built|implemented)"
    r"|(?:summari[sz]e|(?:give\s+(?:me\s+)?)?an\s+overview\s+of)\s+(?:an?\s+|the\s+)?(.+?))\s*[?.!]*$",
    re.I,
)

_MAX_NAME_WORDS = 6  # longer than this is a sentence or a title, not a name someone asks about


def norm_name(text: str) -> str:
    """Lower case, punctuation but hyphens to spaces, spaces squeezed.

    >>> norm_name("  Low-Rank  Adaptation: ")
    'low-rank adaptation'
    """
    return " ".join(re.sub(r"[^\w\s-]", " ", text.lower()).split())


def short_names(*texts: str) -> frozenset[str]:
    """The ``texts`` normalised, keeping those short enough to be a name someone asks about.

    >>> sorted(short_names("LoRA", "Low-Rank Adaptation:", "a whole sentence about how low-rank adapters train"))
    ['lora', 'low-rank adaptation']
    """
    normalised = (norm_name(t) for t in texts)
    return frozenset(n for n in normalised if n and len(n.split()) <= _MAX_NAME_WORDS)


def asked_subject(question: str) -> str | None:
    """The X of "What is X?" (normalised), or of a bare name typed as the whole query ("lora",
    "kv cache": ``_bare``), or None for any other kind of question. Only the first sentence of
    "What is LoRA? Explain it simply." counts, and an X too long for a name counts only with a name
    at its head ("reward hacking and how the KL penalty helps": ``name_head``)."""
    q = _first_question(question)
    m = _STANDS.match(q) or _ASKS.match(q)
    if m:
        asked = norm_name(next(g for g in m.groups() if g))
        if len(asked.split()) > _MAX_NAME_WORDS and name_head(asked)[0] == asked:
            return None  # a sentence, not a name, and no name at its head ("LoRA and how ...")
        return asked or None
    return _bare(q)


def _first_question(question: str) -> str:
    """``question`` up to the end of its first question, with typographic apostrophes plain and
    a student's wrapping taken off (``unwrap``).

    >>> _first_question("What’s LoRA, and how does it save memory? Be brief.")
    "What's LoRA?"
    """
    return unwrap(_SECOND_QUESTION.sub("?", question.strip().replace("’", "'")))


# How students wrap "what is X?": "can you explain X", "tell me what X is", "ELI5 X", "what do the
# guides say about X". Asked so, the passage named X came first for 40-46 of 84 names, against 84 of
# 84 asked "What is X?" (eval/reports/probes-33/casual.py); ``unwrap`` gives _ASKS the plain form.
_FILLER = re.compile(
    r"^(?:(?:so|ok(?:ay)?|hey|hi|um+|quick\s+question|please|pls|plz|briefly|quickly|in\s+short|in\s+a\s+nutshell"
    r"|in\s+(?:simple|plain)\s+(?:terms|words|english)|simply\s+put"
    r"|(?:the\s+)?(?:pros\s+and\s+cons|advantages\s+and\s+disadvantages)\s+of)\b[\s,:!-]*)+",
    re.I,
)
# chat spellings of the words the patterns read: "can u explain lora", "wat is lora", "define: X"
_CHAT = (
    (re.compile(r"\bu\b(?!-)", re.I), "you"),
    (re.compile(r"^(?:wat|wut|wht)\b", re.I), "what"),
    (re.compile(r"([?!])[?!]+"), r"\1"),
    (re.compile(r"^(define|explain|describe)\s*:\s*", re.I), r"\1 "),
)
_POLITE = re.compile(
    r"^(?:can|could|would|will)\s+(?:you|someone|somebody|anyone)\s+(?:please\s+)?"
    r"(?=(?:explain|describe|define|summari[sz]e|tell|give|help|clarify|walk|break|compare|contrast)\b)",
    re.I,
)
_TAIL = re.compile(
    r"(?:[\s,]+(?:to\s+me|for\s+me|please|pls|plz|thanks|thank\s+you|thx|anyway|exactly|simply|briefly|in\s+short"
    r"|in\s+(?:simple|plain|layman'?s)\s+(?:terms|english|words)"
    r"|in\s+a\s+nutshell|for\s+(?:a\s+)?beginners?|like\s+i'?m\s+(?:five|5|a\s+(?:child|kid))"
    r"|(?:in|according\s+to)\s+(?:the\s+|my\s+)?(?:guides?|glossary|notes|sources))"
    r"|\s*[:,-]\s*(?:(?:the\s+)?pros\s+and\s+cons|which\s+(?:one\s+)?(?:is\s+better|should\s+i\s+(?:use|pick|choose))"
    r"|what(?:'s|s|\s+is)\s+the\s+difference))"
    r"(?=\s*[?.!]*$)",
    re.I,
)
_NOT_KNOWING = r"(?:i\s+(?:do\s*n'?t|do\s+not)\s+(?:really\s+)?(?:understand|get|know)|i'?m\s+(?:not\s+sure|unsure|confused\s+about))"
_REWRITES = tuple(
    (re.compile(pattern, re.I), plain)
    for pattern, plain in (
        # "tell me what X is", "i dont understand what X is", "i'm not sure what X means"
        (rf"^(?:(?:tell|explain\s+to)\s+me|explain|{_NOT_KNOWING}|help\s+me\s+understand|(?:do\s+)?you\s+know"
         r"|i\s+(?:want|would\s+like|need)\s+to\s+(?:know|understand))"
         r"\s+what\s+(.+?)\s+(?:is|are|means?|does)(\s*[?.!]*)$", r"what is \1\2"),
        # "help me understand X", "ELI5 X", "walk me through X"
        (rf"^(?:help\s+me\s+understand|{_NOT_KNOWING}|walk\s+me\s+through|break\s+down|clarify|eli5:?"
         r"|explain\s+like\s+i'?m\s+(?:five|5):?)\s+(.+)$", r"explain \1"),
        # "I keep hearing about X, what is it?", "I want to learn about X"
        (r"^(?:i\s+(?:keep\s+hearing|'?ve\s+heard|heard|read)\s+about|i\s+(?:want|would\s+like|'?d\s+like)\s+to\s+"
         r"(?:learn|know|hear)\s+(?:more\s+)?about|teach\s+me\s+about)\s+([^.?!;,]+?)(?:\s*[,.;]\s*(?:so\s+)?what\s+"
         r"(?:is|are)\s+(?:it|that|they|this)\b[^.]*?)?\s*[?.!]*$", r"explain \1"),
        (r"^give\s+me\s+(?:an?\s+)?(?:(?:quick|short|brief|simple)\s+)?(?:explanation|summary|definition|description)"
         r"\s+of\s+(.+)$", r"explain \1"),
        # "what do the guides / does the glossary say about X", "summarize what the guides say about X"
        (r"^(?:summari[sz]e\s+)?what\s+(?:(?:do|does)\s+)?(?:the\s+|my\s+|these\s+)?(?:guides?|glossary|cheat\s*sheet"
         r"|study\s+guides?|notes|sources|overview)\s+(?:say|tell\s+me|cover)\s+(?:about|on)\s+(.+)$", r"explain \1"),
        (r"^what\s+(?:exactly|actually|really)\s+(is|are)\s+(.+)$", r"what \1 \2"),
        # "LoRA - what is it?", "QLoRA definition", "meaning of QLoRA"
        (r"^(.+?)\s*[-:–—,]\s*what\s+(?:is|are)\s+(?:it|that|they|this)(\s*[?.!]*)$", r"what is \1\2"),
        (r"^(.+?)\s+(?:definition|meaning)(\s*[?.!]*)$", r"what is \1\2"),
        (r"^(?:the\s+)?(?:definition|meaning)\s+of\s+(.+)$", r"what is \1"),
        # "explain how X works", "how does X actually work?"
        (r"^(?:explain|describe|tell\s+me|walk\s+me\s+through)\s+how\s+(.+?)\s+works?(\s*[?.!]*)$", r"how does \1 work\2"),
        (r"^how\s+(does|do)\s+(.+?)\s+(?:actually|really|exactly)\s+work(\s*[?.!]*)$", r"how \1 \2 work\3"),
        # what X is for: "why do we need X", "when should I use X", "what's the point of X"
        (r"^(?!.*\b(?:over|instead\s+of|rather\s+than)\b)"  # "when would I use X over Y" compares
         r"(?:why\s+(?:do|would|should|does)\s+(?:we|i|you|one|anyone|people)\s+(?:need|use|want)"
         r"|when\s+(?:should|would|do|can)\s+(?:we|i|you|one)\s+use"
         r"|in\s+what\s+(?:situations?|cases?)\s+(?:should|would|do|can)\s+(?:we|i|you|one)\s+use"
         r"|why\s+should\s+(?:we|i|you|one)\s+care\s+about"
         r"|what(?:'s|s|\s+is|\s+are)\s+(?:the\s+)?(?:point|purpose|goal|benefits?|advantages?)\s+of)\s+(.+?)(\s*[?.!]*)$",
         r"what is \1\2"),
        # "what problem does X solve", "what does X help with", "why is X useful"
        (r"^what\s+(?:problems?\s+)?(?:does|do)\s+(.+?)\s+(?:solve|address|fix|help\s+with)(\s*[?.!]*)$", r"what is \1\2"),
        (r"^(?:why|how)\s+(?:is|are)\s+(.+?)\s+(?:useful|important|needed|helpful)(\s*[?.!]*)$", r"what is \1\2"),
        (r"^what(?:'s|s|\s+is|\s+are)\s+(.+?)\s+(?:used\s+|good\s+)?for(\s*[?.!]*)$", r"what is \1\2"),
    )
)


def unwrap(question: str) -> str:
    """``question`` without the words a student wraps around "what is X?" (fillers, "can you",
    "to me", "in simple terms"), and such a request rewritten to its plain form.

    >>> unwrap("so can you explain LoRA to me?"), unwrap("i dont understand what DPO is")
    ('explain LoRA?', 'what is DPO')
    >>> unwrap("what do the guides say about mixture of experts"), unwrap("What is HNSW used for?")
    ('explain mixture of experts', 'what is HNSW?')
    >>> unwrap("Can you save memory by dropping old tokens?")  # not a request for an explanation
    'Can you save memory by dropping old tokens?'
    """
    for pattern, plain in _CHAT:
        question = pattern.sub(plain, question)
    q = _TAIL.sub("", _POLITE.sub("", _FILLER.sub("", question)))
    for pattern, plain in _REWRITES:  # in order: "walk me through how X works" -> "explain how ..." -> "how does X work"
        q = pattern.sub(plain, q)
    return q


# a query that is only a name: one to four words of letters, digits, hyphens, dots or slashes
_BARE = re.compile(r"^[^\W_][\w.\-/]*(?:\s+[\w.\-/]+){0,3}\s*\??$")
_NOT_A_NAME = frozenset(
    """
    how why what when where which who whom whose can could does do did is are was were should would
    will explain describe define compare list give show tell
    """.split()  # noqa: SIM905
)


def _bare(query: str) -> str | None:
    """The name a query consists of, unless it starts like a question or a request.

    >>> _bare("LoRA"), _bare("kv cache?"), _bare("Direct Preference Optimization")
    ('lora', 'kv cache', 'direct preference optimization')
    >>> _bare("why is attention quadratic"), _bare("how do MoE routers balance load?")
    (None, None)
    """
    if not _BARE.match(query) or query.split()[0].lower() in _NOT_A_NAME:
        return None
    return next(iter(short_names(query.rstrip("?").strip())), None)


def compared(question: str) -> tuple[str, str] | None:
    """The X and Y a question compares (normalised), or None.

    >>> compared("What is the difference between DPO and PPO?"), compared("LoRA vs. QLoRA")
    (('dpo', 'ppo'), ('lora', 'qlora'))
    >>> compared("How does GQA compare to the multi-query attention?"), compared("What is DPO?")
    (('gqa', 'multi-query attention'), None)
    """
    q = _first_question(question)
    for pattern in _COMPARES:
        if m := pattern.match(q):
            x, y = (norm_name(_ARTICLE.sub("", g.strip())) for g in m.groups())
            if x and y and max(len(x.split()), len(y.split())) <= _MAX_NAME_WORDS:
                return x, y
            return None
    return None


# "chunked prefill in llm serving" asks about chunked prefill (in LLM serving), "lora and how it
# saves memory" about LoRA
_IN = re.compile(
    r"^(?P<head>.+?)\s+(?:in\s+(?P<context>.+)|and\s+(?:how|why|what|which|when|where|who|is|are|does|do|can)\b.*)$"
)


def name_head(subject: str) -> tuple[str, str]:
    """The name at the head of a longer subject, and the context an "in" gives it.

    >>> name_head("chunked prefill in llm serving"), name_head("reward hacking and how the kl penalty helps")
    (('chunked prefill', 'llm serving'), ('reward hacking', ''))
    >>> name_head("lora"), name_head("mixture of experts and transformers")
    (('lora', ''), ('mixture of experts and transformers', ''))
    """
    m = _IN.match(subject)
    if not m or len(m.group("head").split()) > _MAX_NAME_WORDS:
        return subject, ""
    return m.group("head"), m.group("context") or ""

"""The ``StudyRAG`` facade: the only place that wires the stages together.

    question ─▶ (rewrite follow-up) ─▶ retrieve ─▶ rerank ─▶ prompt ─▶ generate ─▶ citations ─▶ Answer

Front ends (CLI, Gradio app, evaluation runner) call only this module.

>>> from studyrag.fakes import FakeEmbedder, FakeGenerator  # doctest: +SKIP
>>> rag = StudyRAG.load(embedder=FakeEmbedder(), generator=FakeGenerator())  # doctest: +SKIP
>>> rag.ask("What is LoRA?").citations[0].n  # doctest: +SKIP
1
"""

from __future__ import annotations

import collections.abc
import contextlib
import logging
import threading
import time
import unicodedata
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Settings
from .errors import BadQuestionError, ConfigError, StudyRagError
from .records import Answer, Chunk, Hit, TokenEvent

if TYPE_CHECKING:
    from .conversation import Turn
    from .dense import Embedder
    from .generate import Generator
    from .prompt import Prompt
    from .rerank import Reranker
    from .store import BuildStats, Index

__all__ = ["StudyRAG", "pick_guides", "validate_question"]

log = logging.getLogger("studyrag")


def validate_question(question: object, max_chars: int) -> str:
    """Return the question stripped, or raise ``BadQuestionError`` saying what to change.

    >>> validate_question("  What is LoRA? ", 100)
    'What is LoRA?'
    >>> validate_question("   ", 100)
    Traceback (most recent call last):
    ...
    studyrag.errors.BadQuestionError: the question is empty: type a question about the guides
    >>> validate_question("???", 100)
    Traceback (most recent call last):
    ...
    studyrag.errors.BadQuestionError: the question has no words in it: type a question about the guides
    """
    if isinstance(question, bytes):
        try:
            question = question.decode("utf-8")
        except UnicodeDecodeError as e:
            raise BadQuestionError("the question is not UTF-8 text: type it as plain text") from e
    if not isinstance(question, str):
        raise BadQuestionError(f"the question must be text, not {type(question).__name__}")
    q = question.strip()
    if not q:
        raise BadQuestionError("the question is empty: type a question about the guides")
    if len(q) > max_chars:
        raise BadQuestionError(
            f"the question is {len(q):,} characters long; the limit is {max_chars:,}. Ask a shorter question "
            "(or raise STUDYRAG_MAX_QUESTION_CHARS)"
        )
    control = sum(1 for ch in q if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") and ch not in "\n\t\r")
    if "\x00" in q or control > max(2, len(q) // 20):
        raise BadQuestionError("the question looks like binary data, not text: type it as plain text")
    if not any(ch.isalnum() for ch in q):  # "???", "...", emoji: nothing to search for or answer
        raise BadQuestionError("the question has no words in it: type a question about the guides")
    return q


def _corpus_signature(settings: Settings) -> tuple[tuple[str, int, int], ...] | None:
    """(name, size, mtime) of each guide, or ``None`` when the corpus folder cannot be listed."""
    from .store import corpus_files

    try:
        return tuple((p.name, st.st_size, st.st_mtime_ns) for p in corpus_files(settings.corpus_dir) for st in [p.stat()])
    except (OSError, StudyRagError):
        return None


def pick_guides(names: Collection[str], sources: Sequence[str], *, partial: bool = True) -> frozenset[str]:
    """The guides among ``sources`` that ``names`` mean, in any case: each name is a guide's file
    name, its name without the extension (which may mean several files), or (``partial``) a part
    of one name. Raises ``ConfigError`` naming the guides there are when a name means none, or the
    ones it could mean when it is part of several names.

    >>> sorted(pick_guides(["RL.md", "notes", "gloss"], ["rl.md", "notes.pdf", "notes.md", "ai-glossary.txt"]))
    ['ai-glossary.txt', 'notes.md', 'notes.pdf', 'rl.md']
    """
    picked: set[str] = set()
    for name in names:
        key = name.strip().casefold()
        found = [g for g in sources if key in (g.casefold(), Path(g).stem.casefold())]
        found = found or [g for g in sources if partial and key and key in g.casefold()]
        if len(found) > 1 and not any(key == Path(g).stem.casefold() for g in found):
            raise ConfigError(f"{name!r} is part of several guide names ({', '.join(found)}): give more of the one you mean")
        if not found:
            shown = ", ".join(sources[:12]) + (f" and {len(sources) - 12} more" if len(sources) > 12 else "")
            raise ConfigError(f"no guide named {name!r}; the guides are {shown} (see `studyrag info`)")
        picked.update(found)
    return frozenset(picked)


def _pinned(generator: Generator) -> Generator:
    """``generator``, told to resume prefill right after the answer prompt's fixed opening when it
    can (``LlamaGenerator.pin_opening``), so an answer depends on its own prompt alone."""
    pin = getattr(generator, "pin_opening", None)
    if pin is not None:
        from .prompt import PREAMBLE

        pin(PREAMBLE)
    return generator


class StudyRAG:
    """Hybrid retrieval + reranking + grounded generation over a corpus of study guides."""

    def __init__(
        self,
        settings: Settings,
        index: Index,
        embedder: Embedder,
        *,
        generator: Generator | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        from .retrieve import HybridRetriever

        self.settings = settings
        self.index = index
        self.embedder = embedder
        self.retriever = HybridRetriever(index, embedder, settings)
        self.reranker = reranker
        self._generator = _pinned(generator) if generator is not None else None
        self._generator_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._corpus_seen = _corpus_signature(settings)

    # ------------------------------------------------------------------ construction
    @classmethod
    def load(
        cls,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        generator: Generator | None = None,
        reranker: Reranker | None = None,
        rebuild: bool = False,
        progress: bool = True,
    ) -> StudyRAG:
        """Open (building if missing or stale) the index; models load lazily on first use."""
        from .store import open_index

        settings = settings or Settings.from_env()
        if embedder is None:
            from .dense import SentenceTransformerEmbedder

            embedder = SentenceTransformerEmbedder.from_settings(settings)
        seen = _corpus_signature(settings)  # before the build: an edit made during it is caught later
        index = open_index(settings, embedder, rebuild=rebuild, progress=progress)
        if reranker is None and settings.rerank:
            reranker = _load_reranker(settings)
        rag = cls(settings, index, embedder, generator=generator, reranker=reranker)
        rag._corpus_seen = seen
        return rag

    def with_llm(self, llm: str) -> StudyRAG:
        """The same index, embedder, reranker and corpus check with another generator (``llm`` as in
        ``Settings.llm``), loaded on first use. The corpus check travels with the index: a guide
        edited before the switch is still seen by the next :meth:`refresh`."""
        rag = StudyRAG(self.settings.replace(llm=llm), self.index, self.embedder, reranker=self.reranker)
        rag._corpus_seen = self._corpus_seen
        return rag

    def refresh(self, *, progress: bool = False) -> BuildStats | None:
        """Bring the index up to date when a guide was added, edited or removed since it was
        opened, re-embedding only changed chunks; return the stats of the index now in use (built
        here, or by another process meanwhile), or ``None`` when nothing changed.

        For long sessions (``studyrag chat``, the study chat), which call it before each question;
        a one-shot command opens a fresh index anyway. Checking costs one ``stat`` per guide. When
        the rebuild fails (a guide half-written, the corpus folder gone), the warning says why and
        the loaded index keeps answering until the corpus changes again.
        """
        with self._refresh_lock:
            now = _corpus_signature(self.settings)
            if now == self._corpus_seen or now is None:
                return None
            self._corpus_seen = now
            from .retrieve import HybridRetriever
            from .store import open_index

            try:
                index = open_index(self.settings, self.embedder, progress=progress)
            except StudyRagError as e:
                log.warning("the guides changed but the index could not be refreshed (%s); answering from the one loaded before", e)
                return None
            if index.manifest == self.index.manifest:  # touched, not changed
                return None
            self.index, self.retriever = index, HybridRetriever(index, self.embedder, self.settings)
            return index.stats

    @property
    def generator(self) -> Generator:
        """The language model, loaded once on first use and reused."""
        with self._generator_lock:
            if self._generator is None:
                from .generate import make_generator

                self._generator = _pinned(make_generator(self.settings))
            return self._generator

    def warm_up(self) -> None:
        """Load the language model and compute the answer prompt's fixed opening (instructions and
        worked example, ~180 tokens), which llama.cpp then keeps cached, and read the English word
        list that respelling asks (0.1 s): the first question waits for none of them. ``studyrag
        chat`` and the study chat run it in the background at start."""
        from .generate import Message
        from .prompt import PREAMBLE
        from .spelling import is_english

        if self.settings.respell:
            is_english("warm")
        # followed by a user turn, as in an answer prompt, so the pinned opening is what gets cached
        self.generator.generate([*PREAMBLE, Message("user", "")], max_tokens=1, temperature=0.0)

    def warm_up_in_background(self) -> threading.Thread:
        """:meth:`warm_up` in a daemon thread. A failure (a missing model, say) is only logged: the
        first question meets it again and reports it the usual way."""

        def run() -> None:
            try:
                self.warm_up()
            except Exception as e:  # noqa: BLE001 - reported by the first question instead
                log.info("warm-up skipped: %s", e)

        thread = threading.Thread(target=run, name="studyrag-warm-up", daemon=True)
        thread.start()
        return thread

    @property
    def chunks(self) -> tuple[Chunk, ...]:
        return self.index.chunks

    # ------------------------------------------------------------------ retrieval
    def search(
        self,
        query: str,
        k: int | None = None,
        *,
        rerank: bool | None = None,
        hyde: bool = False,
        guides: Collection[str] | None = None,
    ) -> list[Hit]:
        """Top ``k`` hits for ``query``: fused BM25 + dense, reranked when a reranker is on. With
        ``hyde`` the model first writes a passage for the query, which joins the dense query
        (``hyde.py``; what answering does when ``Settings.hyde`` is on). ``guides`` keeps the search
        to those guides (names as in :meth:`guide_names`, see :func:`pick_guides`)."""
        from .hyde import hypothetical_passage

        query = validate_question(query, self.settings.max_question_chars)
        scope = self.scope(guides)
        passage = hypothetical_passage(self.generator, query, max_tokens=self.settings.hyde_tokens) if hyde else ""
        hits, _ = self._retrieve(query, k or self.settings.k, rerank=rerank, expansion=passage, guides=scope)
        return hits

    def guide_names(self) -> list[str]:
        """The source names of the guides in the index, sorted."""
        return sorted(self.retriever.by_source)

    def scope(self, guides: Collection[str] | None) -> frozenset[str] | None:
        """The guides a search is kept to (:func:`pick_guides` over this index), ``None`` for all."""
        return None if not guides else pick_guides(guides, self.guide_names())

    def answer_prompt(self, question: str, sources: Sequence[Hit], max_sources: int) -> Prompt:
        """The answer prompt for ``question`` over ``sources``, as the settings shape it (bold key
        sentences, excerpts) and fitted to the generator's context window. ``studyrag bench`` sends
        the same prompt to llama.cpp alone."""
        from .prompt import build_prompt

        s, gen = self.settings, self.generator
        return build_prompt(
            question,
            sources,
            gen.count_messages,
            n_ctx=gen.n_ctx,
            max_answer_tokens=s.max_tokens,
            max_sources=max_sources,
            marks=self.retriever.key_sentences(question, sources) if s.highlight or s.excerpts else None,
            bold=s.highlight,
            excerpts=s.excerpts,
        )

    def _retrieve(
        self,
        query: str,
        k: int,
        *,
        rerank: bool | None = None,
        expansion: str = "",
        guides: frozenset[str] | None = None,
    ) -> tuple[list[Hit], dict[str, float]]:
        use_rerank = (self.settings.rerank if rerank is None else rerank) and self.reranker is not None
        t0 = time.perf_counter()
        n_candidates = max(k, self.settings.rerank_candidates) if use_rerank else k
        hits = self.retriever.search(query, n_candidates, expansion=expansion, guides=guides)
        t1 = time.perf_counter()
        if use_rerank:
            from .rerank import rerank_hits

            hits = rerank_hits(self.reranker, query, hits, top_n=k)
        t2 = time.perf_counter()
        return hits[:k], {"retrieve_s": t1 - t0, "rerank_s": t2 - t1 if use_rerank else 0.0}

    # ------------------------------------------------------------------ answering
    def ask(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        rerank: bool | None = None,
        guides: Collection[str] | None = None,
    ) -> Answer:
        """Answer ``question`` from the guides (or only from ``guides``), citing sources as ``[n]``."""
        answer: Answer | None = None
        for event in self.ask_stream(question, history=history, rerank=rerank, guides=guides):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None  # ask_stream always ends with an Answer
        return answer

    def ask_stream(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        rerank: bool | None = None,
        sources: int | None = None,
        temperature: float | None = None,
        guides: Collection[str] | None = None,
    ) -> Iterator[TokenEvent | Answer]:
        """Yield ``TokenEvent``s as the model writes, then the final ``Answer``. ``guides`` keeps
        the answer to those guides (as in :meth:`search`); declining then means they lack it.

        The stages: rewrite a follow-up, retrieve and decide whether to answer at all (``_gate``),
        build the prompt, stream the model's words (``_stream``), then check the citations.
        The final answer's text may differ from the streamed text: citations the model forgot are
        attributed afterwards, and ones pointing at a source that does not support the sentence are
        re-pointed (``citations.attribute_uncited``, ``citations.repair_citations``).
        """
        from .abstain import is_abstention, without_asides
        from .citations import check_citations, clean_answer_text, drop_invalid_citations, resolve_citations
        from .conversation import rewrite_followup
        from .prompt import close_sources, drop_example_echoes

        s = self.settings
        t_start = time.perf_counter()
        question = validate_question(question, s.max_question_chars)
        scope = self.scope(guides)
        # an instruction typed around the question ("You are a pirate now.", "reply only with 'OK'")
        # steers neither retrieval nor the answer; a typing slip ("atention") is read as the guides'
        # word, which the front ends show as "understood as"
        standalone = self.retriever.respell(without_asides(question))
        timings: dict[str, float] = {}
        if history:
            t = time.perf_counter()
            standalone = rewrite_followup(history, standalone, self.generator)
            timings["rewrite_s"] = time.perf_counter() - t
        n_sources = sources or s.sources
        k = max(n_sources, 5)

        def finish(text: str, **fields) -> Answer:
            timings["total_s"] = time.perf_counter() - t_start
            return Answer(
                question=question,
                text=text,
                timings=dict(timings),
                model=fields.pop("model", ""),
                standalone_question=standalone,
                guides=tuple(sorted(scope or ())),
                **fields,
            )

        hits, asked, reason = self._gate(standalone, k, rerank, scope, timings)
        if reason:
            text, see_also = self._decline(asked, hits, scope, rerank)
            yield TokenEvent(text)
            yield finish(text, abstained=True, abstain_reason=reason, see_also=see_also)
            return
        if s.hyde:
            # only now, once the question is to be answered: a declined one costs no generation, and
            # abstention keeps the threshold it was calibrated with (the question alone)
            hits = self._hyde_hits(asked, hits, k, rerank, scope, timings)
        t = time.perf_counter()
        prompt = self.answer_prompt(standalone, close_sources(hits[:n_sources], s.source_min_ratio), n_sources)
        timings["prompt_s"] = time.perf_counter() - t
        timings["prompt_tokens"] = prompt.n_tokens
        raw = yield from self._stream(prompt, standalone, temperature, timings, t_start)

        gen = self.generator
        declined = dict(abstained=True, sources=prompt.sources, model=gen.name)
        if not raw or is_abstention(raw):
            text, see_also = self._decline(asked, hits, scope, rerank)
            yield finish(text, abstain_reason="model_declined", draft=raw, see_also=see_also, **declined)
            return
        # a number outside the prompt's sources is reported, then dropped so the post-passes can
        # attribute its sentence (given one source, the model wrote "[2] [1]" after the example's two)
        draft = clean_answer_text(raw)
        invalid = resolve_citations(draft, prompt.sources).invalid
        # a sentence copied from the prompt's worked example comes from no source (see r177)
        text = drop_example_echoes(drop_invalid_citations(draft, len(prompt.sources)), prompt.sources)
        text, report = check_citations(text, prompt.sources, question=standalone)
        if not report.grounded:
            # Nothing the model said is both cited and supported by its source: an answer from world
            # knowledge or one steered by text inside a source. Say so rather than pass it off as cited.
            reply, see_also = self._decline(asked, hits, scope, rerank)
            yield finish(reply, abstain_reason="unsupported", draft=text or draft, see_also=see_also, **declined)
            return
        yield finish(
            text,
            citations=report.citations,
            sources=prompt.sources,
            uncited_sentences=report.uncited,
            invalid_citations=invalid,
            model=gen.name,
        )

    def _gate(
        self, question: str, k: int, rerank: bool | None, scope: frozenset[str] | None, timings: dict[str, float]
    ) -> tuple[list[Hit], str, str | None]:
        """Retrieve for ``question`` and decide whether to answer: the hits, the query they were
        found for, and the reason to decline (``"no_close_passage"``, ``"unknown_name"``) or None."""
        from .abstain import names_a_passage, question_focus, unknown_names
        from .lexical import tokenize

        hits, t_ret = self._retrieve(question, k, rerank=rerank, guides=scope)
        timings.update(t_ret)
        low = self._weak(question, hits, scope)
        focus = question_focus(question) if low else None
        asked = question  # what the sources were retrieved for
        if focus:
            # instructions around the question ("You are a pirate now. ...?") can drown it: when
            # the question alone finds its sections, answer from those
            focus_hits, t_focus = self._retrieve(focus, k, rerank=rerank, guides=scope)
            timings.update({f"focus_{key}": v for key, v in t_focus.items()})
            if not self._weak(focus, focus_hits, scope):
                low, hits, asked = False, focus_hits, focus
        if low and names_a_passage(question, hits[:3], self.retriever.names):
            # the question names one of its first passages ("What do KTO's training labels look
            # like?" found KTO's entry first at 0.24): the guides cover what it asks about. After
            # the question alone, which finds better sources when instructions surround it
            low = False
        if low:
            return hits, asked, "no_close_passage"
        # a name the guides never use (AlphaFold, Kubernetes): nothing here can be about it
        if unknown_names(question, self.retriever.index.vocabulary, tokenize):
            return hits, asked, "unknown_name"
        return hits, asked, None

    def _weak(self, query: str, found: list[Hit], within: frozenset[str] | None) -> bool:
        """Nothing close enough to answer from, unless one hit holds every query term or is the
        passage labelled what the question asks about ("I keep hearing about HyDE, what is it?"
        found HyDE's entry but scored under the threshold: the words around the name pull the
        embedding away), or the question reads like one filed beside the guides
        (``HybridRetriever.asked_before``)."""
        from .abstain import matches_every_term, should_abstain_on_retrieval
        from .lexical import tokenize

        confidence = self.retriever.confidence(query, within) if found else None
        return (
            should_abstain_on_retrieval(found, self.settings.abstain_threshold, confidence=confidence)
            and not any(h.named for h in found)
            and not matches_every_term(query, found, tokenize)
            and self.retriever.asked_before(query, within) < self.settings.question_match
        )

    def _decline(
        self, query: str, found: list[Hit], scope: frozenset[str] | None, rerank: bool | None
    ) -> tuple[str, tuple[Hit, ...]]:
        """The reply and the "see also" sections of a declined answer. Kept to some guides, it
        also names the closest sections of the others when those are close enough to answer
        from: the student may have chosen the wrong guide."""
        from .abstain import abstention_text

        elsewhere: list[Hit] = []
        others = frozenset(self.guide_names()) - scope if scope else frozenset()
        if others:
            near, _ = self._retrieve(query, 3, rerank=rerank, guides=others)
            elsewhere = [] if self._weak(query, near, others) else near
        return abstention_text(found[:3], tuple(sorted(scope or ())), elsewhere), (*found[:3], *elsewhere)

    def _hyde_hits(
        self,
        query: str,
        hits: list[Hit],
        k: int,
        rerank: bool | None,
        scope: frozenset[str] | None,
        timings: dict[str, float],
    ) -> list[Hit]:
        """The hits again, with the model's hypothetical passage joining the dense query
        (``hyde.py``); ``hits`` unchanged when the model writes nothing."""
        from .hyde import hypothetical_passage

        t = time.perf_counter()
        passage = hypothetical_passage(self.generator, query, max_tokens=self.settings.hyde_tokens)
        timings["hyde_s"] = time.perf_counter() - t
        if not passage:
            return hits
        hits, t_hyde = self._retrieve(query, k, rerank=rerank, expansion=passage, guides=scope)
        for key, seconds in t_hyde.items():  # the second retrieval adds to the first
            timings[key] = timings.get(key, 0.0) + seconds
        return hits

    def _stream(
        self,
        prompt: Prompt,
        question: str,
        temperature: float | None,
        timings: dict[str, float],
        t_start: float,
    ) -> collections.abc.Generator[TokenEvent, None, str]:
        """Yield the model's words as the reader may see them (``stream_check.CitationStream``),
        record the generation timings, and return the raw answer, stripped."""
        from .prompt import ANSWER_STOP, cut_source_echo
        from .stream_check import CitationStream

        s, gen = self.settings, self.generator
        pieces: list[str] = []
        t_gen = time.perf_counter()
        t_first: float | None = None
        checked = CitationStream(prompt.sources, question=question)  # what the reader watches
        # closing: a reader who stops early (Ctrl-C in chat) releases the model at once, not when
        # the abandoned stream happens to be collected
        stream = contextlib.closing(
            gen.stream(
                list(prompt.messages),
                max_tokens=s.max_tokens,
                temperature=s.temperature if temperature is None else temperature,
                stop=ANSWER_STOP,
                seed=s.seed,
            )
        )
        with stream as model_pieces:
            for piece in model_pieces:
                if t_first is None:
                    t_first = time.perf_counter()
                    timings["first_token_s"] = t_first - t_gen
                    timings["time_to_first_token_s"] = t_first - t_start
                pieces.append(piece)
                if shown := checked.feed(piece):
                    yield TokenEvent(shown)
        if rest := checked.flush():
            yield TokenEvent(rest)
        t_end = time.perf_counter()
        raw = cut_source_echo("".join(pieces)).strip()
        n_out = gen.count_tokens(raw) if raw else 0
        timings["completion_tokens"] = n_out
        timings["generate_s"] = t_end - t_gen
        if t_first is not None:
            timings["decode_s"] = t_end - t_first
            timings["tokens_per_s"] = (n_out - 1) / (t_end - t_first) if n_out > 1 and t_end > t_first else 0.0
        return raw


def _load_reranker(settings: Settings) -> Reranker | None:
    """The configured reranker, or ``None`` (fused order) with a warning when it cannot be loaded."""
    try:
        from .rerank import load_reranker
    except ImportError:
        return None
    try:
        return load_reranker(settings)
    except Exception as e:  # a missing reranker degrades to fused order, never a crash
        log.warning("reranker unavailable (%s); using fused order. Set STUDYRAG_RERANK=false to silence.", e)
        return None

"""The Gradio study chat: ask the guides, check the cited sources, read the guides.

``build_app(rag, settings)`` lays the page out; ``StudyApp`` holds the handlers around one shared
``StudyRAG`` pipeline (the only thing the page calls); ``serving.launch`` serves it. The HTML
comes from the pure renderers in ``ui_html``. Safe by default: loopback, no share link, one
answer at a time through the Gradio queue (others see their queue position), refused questions
shown as messages, guide text always escaped.

>>> available_models(Settings(cache_dir=Path("/nonexistent")))
['default', 'small']
"""

from __future__ import annotations

import logging
import shutil
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from .config import Settings
from .errors import StudyRagError
from .loaders import SUFFIXES
from .records import Answer, Hit, TokenEvent
from .transcript import answer_markdown, notes_document
from .ui_html import (
    GUIDE_CSS,
    SOURCES_CSS,
    build_guide_index,
    hit_label,
    md_esc,
    render_added,
    render_answer_html,
    render_error,
    render_section_html,
    render_sources_html,
    render_sources_panel,
    render_status,
    render_streaming_text,
)

if TYPE_CHECKING:
    from .pipeline import StudyRAG

__all__ = [
    "EXAMPLES",
    "ChatState",
    "StudyApp",
    "available_models",
    "build_app",
    "render_answer_html",
    "render_sources_html",
    "render_status",
]

log = logging.getLogger("studyrag")

EXAMPLES = (
    "What is PagedAttention?",
    "How does LoRA reduce trainable parameters?",
    "What is the Chinchilla scaling law?",
    "How do I stop an MoE router from sending every token to a few experts?",
)


# -------------------------------------------------------------------------------- models


def available_models(settings: Settings) -> list[str]:
    """Generator choices: ``default``, ``small``, the configured one, and any ``*.gguf`` a user put
    in the StudyRAG cache directory (the assembled default GGUF is "default", not listed twice)."""
    from .models import DEFAULT_LLM_FILE

    names = ["default", "small"]
    cache = Path(settings.cache_dir)
    if cache.is_dir():
        names += [str(p) for p in sorted(cache.rglob("*.gguf")) if p.name != DEFAULT_LLM_FILE]
    if settings.llm not in names:
        names.insert(0, settings.llm)
    return names


def _model_label(name: str) -> str:
    return Path(name).name if ("/" in name or name.endswith(".gguf")) else name


# ============================================================================ the app


@dataclass(frozen=True)
class ChatState:
    """One browser session's conversation (Gradio keeps a copy per session)."""

    turns: tuple[tuple[str, str], ...] = ()  # (question, answer text): history for follow-ups
    asked: int = 0  # answers given so far; numbers the source anchors src-<turn>-<n>
    pending: str = ""  # the question waiting in the queue
    blocks: tuple[tuple[str, str], ...] = ()  # (question, sources html) per answer, oldest first
    readable: tuple[tuple[str, str], ...] = ()  # (source, section) of the newest answer's sources
    notes: tuple[str, ...] = ()  # each answer as Markdown with its sources (transcript.answer_markdown)


def _msg(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


NOTES_KEEP_S = 3600  # a saved-notes file is served for an hour: time enough to download it


def prune_older(folder: Path, seconds: float) -> int:
    """Remove the entries of ``folder`` last changed more than ``seconds`` ago; returns how many.

    >>> import tempfile; d = Path(tempfile.mkdtemp()); (d / "a").mkdir()
    >>> prune_older(d, 3600), prune_older(d, -1), list(d.iterdir())
    (0, 1, [])
    """
    cutoff = time.time() - seconds
    removed = 0
    for entry in folder.iterdir():
        try:
            if entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
                removed += 1
        except OSError:  # gone already (another page pruned it), or in use: the next call retries
            continue
    return removed


class StudyApp:
    """The handlers behind the page. One pipeline is shared by every session; the Gradio queue
    lets one request at a time use it (``concurrency_id="model"``)."""

    def __init__(self, rag: StudyRAG, settings: Settings, models: Sequence[str] | None = None) -> None:
        self.rag = rag
        self.settings = settings
        self.models = list(models) if models else available_models(settings)
        self.model = settings.llm if settings.llm in self.models else self.models[0]
        self.guides = build_guide_index(rag.chunks)
        self.loaded = ""  # the generator's own name once an answer has used it
        self._device: str | None = None
        self._notes_dir: Path | None = None

    # ---------------------------------------------------------------- status
    @property
    def device(self) -> str:
        if self._device is None:
            from .models import cuda_available

            self._device = "CUDA" if cuda_available() else "CPU"
        return self._device

    def status(self, answer: Answer | None = None) -> str:
        if answer is not None and answer.model:
            self.loaded = answer.model
        model = self.loaded or _model_label(self.model)
        return render_status(
            model=model,
            device=self.device,
            n_chunks=len(self.rag.chunks),
            n_guides=len(self.guides.guides),
            answer=answer,
        )

    def switch_model(self, choice: str) -> str:
        """A new pipeline on the same index with another generator, loaded in the background at once
        (``StudyRAG.warm_up``) so that the next question does not wait for it."""
        if choice and choice != self.model:
            self.rag = self.rag.with_llm(choice)
            self.model, self.loaded = choice, ""
            self.rag.warm_up_in_background()
        return self.status()

    # ---------------------------------------------------------------- chat
    def take_question(self, question: str, chat: list, state: ChatState) -> tuple[Any, list, ChatState, Any]:
        """Show the question at once, park it for ``answer`` and lock the input until it is answered.
        Outputs: question box, chat, state, ask button."""
        if not (question or "").strip():
            return gr.skip(), chat, state, gr.skip()
        chat = [*chat, _msg("user", md_esc(question))]
        locked = gr.Textbox(value="", interactive=False, placeholder="Answering…")
        return locked, chat, replace(state, pending=question), gr.Button(interactive=False)

    def answer(
        self,
        chat: list,
        state: ChatState,
        n_sources: float,
        rerank: bool,
        temperature: float,
        guides: Sequence[str] | None = None,
    ) -> Iterator[tuple[Any, ...]]:
        """Stream the pending question's answer into the chat, from every guide or only ``guides``;
        then fill the sources panel, the "read in full" choices and the status line. Outputs: chat,
        sources, read, status, state."""
        from .conversation import Turn

        question = state.pending
        if not question:
            yield chat, gr.skip(), gr.skip(), gr.skip(), state
            return
        state = replace(state, pending="")
        turn = state.asked + 1
        self._refresh()
        rag = self.rag
        chat = [*chat, _msg("assistant", render_streaming_text(""))]
        history = [Turn(question=q, answer=a) for q, a in state.turns]
        streamed: list[str] = []
        answer: Answer | None = None
        try:
            scope = rag.scope(guides)
            for event in rag.ask_stream(
                question,
                history=history,
                rerank=bool(rerank),
                sources=int(n_sources),
                temperature=float(temperature),
                guides=scope,
            ):
                if isinstance(event, TokenEvent):
                    streamed.append(event.text)
                    # a new list per yield: each yielded state stays as it was sent
                    chat = [*chat[:-1], _msg("assistant", render_streaming_text("".join(streamed)))]
                    yield chat, gr.skip(), gr.skip(), gr.skip(), state
                else:
                    answer = event
        except StudyRagError as e:  # refused question, missing model...: say so, keep the session
            chat = [*chat[:-1], _msg("assistant", render_error(str(e)))]
            yield chat, gr.skip(), gr.skip(), gr.skip(), state
            return
        except Exception as e:  # a bug must not kill the page: show it, log the traceback
            log.exception("answering failed")
            chat = [*chat[:-1], _msg("assistant", render_error(f"internal error ({type(e).__name__}: {e})"))]
            yield chat, gr.skip(), gr.skip(), gr.skip(), state
            return
        assert answer is not None  # ask_stream always ends with an Answer
        chat = [*chat[:-1], _msg("assistant", render_answer_html(answer, turn))]
        candidates = self._candidates(rag, answer, bool(rerank), scope)
        listed = answer.see_also if answer.abstained else answer.sources
        state = replace(
            state,
            # a rewritten follow-up is remembered by its standalone form (see conversation.Turn)
            turns=(*state.turns, (answer.standalone_question or question, answer.text)),
            asked=turn,
            blocks=(*state.blocks, (question, render_sources_html(answer, candidates, turn))),
            readable=tuple((h.chunk.source, h.chunk.section) for h in listed),
            notes=(*state.notes, answer_markdown(answer)),
        )
        read = gr.Dropdown(choices=self._read_choices(listed), value=None)
        yield chat, render_sources_panel(state.blocks), read, self.status(answer), state

    def _candidates(self, rag: StudyRAG, answer: Answer, rerank: bool, scope: frozenset[str] | None) -> list[Hit]:
        try:
            query = answer.standalone_question or answer.question
            return rag.search(query, k=self.settings.k, rerank=rerank, guides=scope)
        except StudyRagError as e:
            log.warning("could not list candidates: %s", e)
            return []

    @staticmethod
    def _read_choices(hits: Sequence[Hit]) -> list[tuple[str, int]]:
        return [(f"[{n}] {hit_label(h)}", n - 1) for n, h in enumerate(hits, 1)]

    def notes_file(self, state: ChatState) -> Any:
        """The "Save notes" button, holding this conversation's answers as a Markdown file, or
        disabled before any answer.

        Each file gets a folder of its own (pages saving at the same second never collide) in
        this app's notes folder, which Gradio serves from. Folders older than ``NOTES_KEEP_S`` are
        removed as new ones are made, and the whole notes folder when the app goes away.
        """
        if not state.notes:
            return gr.DownloadButton(value=None, interactive=False)
        import datetime as dt
        import tempfile

        if self._notes_dir is None:
            self._notes_dir = Path(tempfile.mkdtemp(prefix="studyrag-notes-"))
            weakref.finalize(self, shutil.rmtree, self._notes_dir, ignore_errors=True)
        prune_older(self._notes_dir, NOTES_KEEP_S)
        now = dt.datetime.now()
        path = Path(tempfile.mkdtemp(dir=self._notes_dir)) / f"studyrag-notes-{now:%Y%m%d-%H%M%S}.md"
        path.write_text(notes_document(state.notes, now), encoding="utf-8")
        return gr.DownloadButton(value=str(path), interactive=True)

    def clear(self) -> tuple[list, str, Any, str, ChatState]:
        return [], render_sources_panel(()), gr.Dropdown(choices=[], value=None), self.status(), ChatState()

    # ---------------------------------------------------------------- guide browser
    def guide_view(self, source: str | None, section: str | None = None) -> tuple[Any, Any, str]:
        """Dropdown updates and the text for a guide (first section unless one is given)."""
        sections = list(self.guides.sections.get(source or "", ()))
        if section not in sections:
            section = sections[0] if sections else None
        text = render_section_html(
            self.guides.title(source or ""), self.guides.full_section(source or "", section or "")
        )
        return (
            gr.Dropdown(choices=[(t, s) for t, s in self.guides.guides], value=source),
            gr.Dropdown(choices=[(s or "(introduction)", s) for s in sections], value=section),
            text,
        )

    def add_guides(self, files: Sequence[str] | None, current: str | None) -> tuple[Any, ...]:
        """Copy uploaded guides into the corpus once each reads (``loaders.add_guide``), index them
        and show the first new one. Outputs: guide, section, reader, notice, status, upload box, the
        choice of guides to answer from."""
        from .errors import CorpusError
        from .loaders import add_guide

        done: list[tuple[bool, str]] = []
        shown = current
        for file in files or ():
            try:  # Gradio keeps an upload under its own name, in a folder of its own
                added = add_guide(self.settings.corpus_dir, Path(file))
            except CorpusError as e:
                done.append((False, str(e)))
                continue
            done.append((True, added.describe(self.settings.corpus_dir)))
            shown = added.doc.source if added.status != "unchanged" else shown
        self._refresh()
        return (*self.guide_view(shown), render_added(done), self.status(), None, gr.Dropdown(choices=self.guides.guides))

    def remove_guide(self, source: str | None) -> tuple[Any, ...]:
        """Take the guide shown out of the corpus folder (kept in its ``.removed/``) and the index,
        then show the first guide left. The last guide stays: an index needs one. Outputs: guide,
        section, reader, notice, status, the choice of guides to answer from."""
        from .errors import CorpusError
        from .loaders import remove_guide

        def refused(why: str) -> tuple[Any, ...]:  # only the notice changes
            return (gr.skip(), gr.skip(), gr.skip(), render_added([(False, why)]), gr.skip(), gr.skip())

        if not source:  # nothing shown, or the removal was not confirmed
            return (gr.skip(),) * 6
        if len(self.guides.guides) <= 1:
            return refused(f"{source} is the only guide: add another before removing it")
        try:
            kept = remove_guide(self.settings.corpus_dir, source)
        except CorpusError as e:
            return refused(str(e))
        self._refresh()
        first = self.guides.guides[0][1] if self.guides.guides else None
        notice = render_added([(True, f"removed {source}; kept as {kept}")])
        return (*self.guide_view(first), notice, self.status(), gr.Dropdown(choices=self.guides.guides, value=[], multiselect=True))

    def _refresh(self) -> None:
        """Index guides added or edited while the page is open, and list them in the guide browser.
        A failed refresh warns and keeps the loaded index."""
        if self.rag.refresh() is not None:
            self.guides = build_guide_index(self.rag.chunks)

    def open_source(self, index: int | None, state: ChatState) -> tuple[Any, ...]:
        """Jump to the guide browser at the section of source ``index`` of the newest answer."""
        if index is None or not 0 <= int(index) < len(state.readable):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        source, section = state.readable[int(index)]
        return (gr.Tabs(selected="browse"), *self.guide_view(source, section))


def _unlock() -> tuple[Any, Any]:
    return gr.Textbox(interactive=True, placeholder=PLACEHOLDER), gr.Button(interactive=True)


PLACEHOLDER = "Ask about the guides… (Enter to send)"


def build_app(
    rag: StudyRAG, settings: Settings, *, models: Sequence[str] | None = None, uploads: bool = True
) -> gr.Blocks:
    """The page: a chat tab (conversation, settings, status, sources panel) and a guide browser.

    ``models`` are the generator choices (default: ``available_models(settings)``); ``uploads``
    lets the page add guides to the corpus folder. The returned Blocks has its queue set so the
    model answers one request at a time.
    """
    ui = StudyApp(rag, settings, models)
    has_reranker = rag.reranker is not None
    first_guide = ui.guides.guides[0][1] if ui.guides.guides else None
    text0 = ui.guide_view(first_guide)[2]
    model_lane = {"concurrency_id": "model", "concurrency_limit": 1}

    # Gradio's own copies of served and uploaded files go after an hour too (checked hourly)
    with gr.Blocks(title="StudyRAG — ask the study guides", delete_cache=(NOTES_KEEP_S, NOTES_KEEP_S)) as demo:
        gr.Markdown(
            "## StudyRAG — ask the study guides\nAnswers come from the guides only, with numbered "
            "citations: click **[n]** to see the passage it rests on."
        )
        state = gr.State(ChatState())
        with gr.Tabs(elem_id="tabs") as tabs:
            with gr.Tab("Ask", id="ask"), gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    chat = gr.Chatbot(
                        elem_id="chat",
                        height=520,
                        examples=[{"text": q} for q in EXAMPLES],
                        placeholder="Ask a question about the guides, or pick an example.",
                        feedback_options=None,
                        label="Conversation",
                        buttons=["copy", "copy_all"],
                    )
                    with gr.Row():
                        box = gr.Textbox(
                            elem_id="question",
                            show_label=False,
                            scale=6,
                            autofocus=True,
                            placeholder=PLACEHOLDER,
                        )
                        ask = gr.Button("Ask", variant="primary", scale=1, elem_id="ask", min_width=80)
                        clear = gr.Button("Clear", scale=1, elem_id="clear", min_width=80)
                        notes = gr.DownloadButton(
                            "Save notes", scale=1, elem_id="save-notes", min_width=80, interactive=False
                        )
                    with gr.Accordion("Settings", open=True):
                        with gr.Row():
                            n_sources = gr.Slider(
                                1,
                                8,
                                value=settings.sources,
                                step=1,
                                label="Sources",
                                info="passages given to the model, at most (weak ones are left out)",
                                elem_id="n-sources",
                            )
                            temperature = gr.Slider(
                                0.0,
                                1.5,
                                value=settings.temperature,
                                step=0.1,
                                label="Temperature",
                                info="0 = deterministic",
                                elem_id="temperature",
                            )
                        with gr.Row():
                            rerank = gr.Checkbox(
                                value=settings.rerank and has_reranker,
                                label="Rerank with the cross-encoder",
                                interactive=has_reranker,
                                elem_id="rerank",
                                info=None
                                if has_reranker
                                else "no reranker available: fused order is used (see `studyrag info`)",
                            )
                            model = gr.Dropdown(
                                [(_model_label(m), m) for m in ui.models],
                                value=ui.model,
                                label="Model",
                                elem_id="model",
                                info="switching loads the model on the next question",
                            )
                        scope = gr.Dropdown(
                            list(ui.guides.guides),
                            value=[],
                            multiselect=True,
                            label="Answer from",
                            info="only these guides (none chosen: every guide)",
                            elem_id="scope",
                        )
                    status = gr.HTML(ui.status(), elem_id="status", js_on_load=None)
                with gr.Column(scale=2):
                    sources = gr.HTML(
                        render_sources_panel(()),
                        elem_id="sources",
                        css_template=SOURCES_CSS,
                        js_on_load=None,
                        max_height=900,  # the panel scrolls to a cited card, not the page
                    )
                    read = gr.Dropdown(
                        choices=[],
                        value=None,
                        label="Read a source in full",
                        info="opens its section in the guide browser",
                        elem_id="read-source",
                    )
            with gr.Tab("Browse the guides", id="browse"):
                if uploads:
                    with gr.Row(equal_height=False):
                        upload = gr.File(
                            label=f"Add guides ({', '.join(SUFFIXES)}): copied into {settings.corpus_dir}",
                            file_count="multiple",
                            file_types=list(SUFFIXES),
                            height=110,
                            elem_id="upload",
                            scale=2,
                        )
                        added = gr.HTML("", elem_id="added", scale=3)
                sections0 = ui.guides.sections.get(first_guide or "", ())
                with gr.Row():
                    guide = gr.Dropdown(
                        list(ui.guides.guides), value=first_guide, label="Guide", elem_id="guide", scale=1
                    )
                    section = gr.Dropdown(
                        [(s or "(introduction)", s) for s in sections0],
                        value=sections0[0] if sections0 else None,
                        label="Section",
                        elem_id="section",
                        scale=2,
                    )
                    if uploads:
                        remove = gr.Button("Remove this guide", elem_id="remove-guide", size="sm", scale=0, min_width=150)
                reader = gr.HTML(text0, elem_id="reader", css_template=GUIDE_CSS, js_on_load=None)

        answer_io = dict(
            inputs=[chat, state, n_sources, rerank, temperature, scope], outputs=[chat, sources, read, status, state]
        )
        # take the question at once (outside the queue), answer it in the model's queue, and keep
        # the input locked meanwhile: a second question from the same page would race the first
        take_io = {"outputs": [box, chat, state, ask], "queue": False}
        unlock = {"fn": _unlock, "inputs": None, "outputs": [box, ask], "queue": False}
        save = {"fn": ui.notes_file, "inputs": [state], "outputs": [notes], "queue": False}
        for trigger in (box.submit, ask.click):
            trigger(ui.take_question, [box, chat, state], **take_io).then(
                ui.answer, **answer_io, **model_lane
            ).then(**unlock).then(**save)

        def pick_example(evt: gr.SelectData, chat: list, state: ChatState) -> tuple[Any, ...]:
            return ui.take_question(evt.value["text"], chat, state)

        chat.example_select(pick_example, [chat, state], **take_io).then(
            ui.answer, **answer_io, **model_lane
        ).then(**unlock).then(**save)
        for trigger in (clear.click, chat.clear):  # the button and the chatbot's own bin icon
            trigger(ui.clear, None, [chat, sources, read, status, state], queue=False).then(**save)
        model.input(ui.switch_model, [model], [status], **model_lane)
        guide.input(lambda g: ui.guide_view(g), [guide], [guide, section, reader], queue=False)
        section.input(lambda g, s: ui.guide_view(g, s)[2], [guide, section], [reader], queue=False)
        read.input(ui.open_source, [read, state], [tabs, guide, section, reader], queue=False)
        if uploads:  # indexing shares the model's lane: an answer never sees half an index
            outputs = [guide, section, reader, added, status, upload, scope]
            upload.upload(ui.add_guides, [upload, guide], outputs, **model_lane)
            # asked in the page first; a cancelled removal reaches remove_guide as None
            confirm = "(g) => (g && confirm(`Remove ${g} from the guides? The file is kept in .removed/.`)) ? g : null"
            outputs = [guide, section, reader, added, status, scope]
            remove.click(ui.remove_guide, [guide], outputs, js=confirm, **model_lane)

    demo.queue(default_concurrency_limit=1, max_size=64)
    return demo

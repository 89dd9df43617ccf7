"""The study chat without a browser: the pure HTML renderers, and the handlers driven directly
over a small pipeline (fake embedder, reranker and generator over a copy of the corpus)."""

from __future__ import annotations

import re
import shutil
import threading
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import gradio as gr
import pytest

from studyrag import serving
from studyrag.app import ChatState, StudyApp, available_models, build_app
from studyrag.config import Settings, project_root
from studyrag.errors import ConfigError
from studyrag.fakes import FakeEmbedder, FakeGenerator, FakeReranker
from studyrag.pipeline import StudyRAG
from studyrag.records import Answer, Chunk, Citation, Hit
from studyrag.serving import launch
from studyrag.ui_html import (
    build_guide_index,
    highlight_passage,
    merge_chunk_texts,
    render_answer_html,
    render_answer_text,
    render_section_html,
    render_sources_html,
    render_sources_panel,
    render_status,
)

EVIL = (
    '<script>window.__pwned=1</script> <img src=x onerror="window.__pwned=2"> '
    "[click me](javascript:window.__pwned=3) ![img](http://evil.example/x.png) "
    "Quokka routing balances experts."
)
# the tags our renderers emit; anything else in the output came from a guide
SAFE_TAGS = set(
    [
        "section",
        "article",
        "div",
        "p",
        "span",
        "a",
        "em",
        "strong",
        "b",
        "br",
        "mark",
        "h3",
        "h4",
        "details",
        "summary",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    ]
)


def chunk(cid: str, text: str, path=("Mixture of Experts", "Routing"), title="ML Guide", start=0) -> Chunk:
    return Chunk(cid, "ml-guide.md", tuple(path), text, start, start + len(text), title=title)


def hit(c: Chunk, rank: int, **scores) -> Hit:
    return Hit(c, scores.get("fused_score", 0.03), rank, **scores)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def no_markup(html_text: str, *, markdown: bool = False) -> bool:
    """Only our own tags, no event handlers, links only to source cards; in Markdown, no link syntax."""
    parser = _Tags()
    parser.feed(html_text)
    for tag, attrs in parser.tags:
        if tag not in SAFE_TAGS or any(name.startswith("on") for name, _ in attrs):
            return False
        if any(name in ("href", "src") and not (value or "").startswith("#src-") for name, value in attrs):
            return False
    return not (markdown and re.search(r"\]\s*\(", html_text))


# ---------------------------------------------------------------------------- answer text


def test_citations_become_links_to_their_source_cards():
    out = render_answer_text(
        "Experts are balanced [1]. Routers use top-k [2]. See [9].", turn=3, valid={1, 2}
    )
    assert re.findall(r'<a href="#(src-\d+-\d+)" class="cite"[^>]*>\[(\d)\]</a>', out) == [
        ("src-3-1", "1"),
        ("src-3-2", "2"),
    ]
    assert "&#91;9&#93;" in out  # a number with no source stays plain text


def test_answer_text_is_escaped_and_markdown_links_defused():
    out = render_answer_text(EVIL + " [1]", turn=1, valid={1})
    assert no_markup(out, markdown=True)
    assert "&lt;script&gt;" in out


def test_a_sentence_no_source_supports_is_flagged_not_linked():
    c = chunk("c1", "Load balancing losses keep experts busy.")
    a = Answer("Q?", "A loss keeps experts busy [1]. Experts are Greek.", sources=(hit(c, 1),),
               citations=(Citation(1, c),), uncited_sentences=("Experts are Greek.",))
    out = render_answer_html(a, turn=1)
    assert re.search(r'Experts are Greek <span class="uncited" title="No source supports[^"]*">\[\?\]</span>\.', out)
    assert out.count('class="cite"') == 1


def test_answer_html_shows_the_rewritten_question_only_when_it_differs():
    c = chunk("c1", "Load balancing losses keep experts busy.")
    base = Answer(
        "and how?", "A loss keeps experts busy [1].", sources=(hit(c, 1),), citations=(Citation(1, c),)
    )
    rewritten = render_answer_html(replace(base, standalone_question="How is MoE load balanced?"), turn=1)
    assert "understood as" in rewritten and "How is MoE load balanced?" in rewritten
    same = render_answer_html(replace(base, standalone_question="And how?"), turn=1)
    assert "understood as" not in same


def test_abstained_answer_says_so_and_links_the_see_also_sections():
    c1, c2 = chunk("a", "Routing text."), chunk("b", "Other text.", path=("Scaling laws",))
    a = Answer(
        "What is the capital of Peru?",
        "The guides do not cover this.",
        abstained=True,
        see_also=(hit(c1, 1), hit(c2, 2)),
    )
    out = render_answer_html(a, turn=2)
    assert "Not in the guides" in out
    assert 'href="#src-2-1"' in out and 'href="#src-2-2"' in out
    panel = render_sources_html(a, (), turn=2)
    assert 'id="src-2-1"' in panel and "See also" in panel and "Scaling laws" in panel


# ---------------------------------------------------------------------------- sources panel


def test_sources_panel_cards_marks_and_candidates():
    c1 = chunk(
        "c1", "Experts are chosen by a router. A load balancing loss keeps every expert busy.", start=0
    )
    c2 = chunk("c2", "Scaling laws relate compute to loss.", path=("Scaling",), start=200)
    c3 = chunk("c3", "An unrelated candidate about dropout.", path=("Regularization",), start=400)
    s1 = hit(
        c1,
        1,
        bm25_score=7.25,
        bm25_rank=1,
        dense_score=0.61,
        dense_rank=2,
        fused_score=0.032,
        rerank_score=0.9,
    )
    s2 = hit(c2, 2, dense_score=0.4, dense_rank=1, fused_score=0.016)
    a = Answer(
        "How are experts balanced?",
        "A load balancing loss keeps every expert busy [1].",
        sources=(s1, s2),
        citations=(Citation(1, c1),),
    )
    out = render_sources_html(a, [s1, s2, hit(c3, 3, bm25_score=1.0, bm25_rank=3, fused_score=0.01)], turn=4)
    assert 'id="src-4-1"' in out and 'id="src-4-2"' in out
    card1, card2 = out.split('id="src-4-2"')
    assert "cited" in card1 and "not cited" in card2
    assert '<mark class="passage">A load balancing loss keeps every expert busy.</mark>' in card1
    assert "Experts are chosen by a router." in card1 and '<mark class="passage">Experts' not in card1
    assert "BM25 7.25 (#1)" in card1 and "dense 0.610 (#2)" in card1 and "rerank 0.900" in card1
    assert "BM25 —" in card2  # BM25 did not return it
    details = out[out.index("<details") :]
    assert "Regularization" in details and "Scaling" not in details  # only the *other* candidates


def test_malicious_chunk_is_rendered_as_text():
    c = chunk("evil", EVIL, path=("<b>Evil</b> section",), title='Guide <img src=x onerror="alert(1)">')
    a = Answer(
        "What is quokka routing?",
        "Quokka routing balances experts [1].",
        sources=(hit(c, 1),),
        citations=(Citation(1, c),),
    )
    for out in (
        render_sources_html(a, [hit(c, 1)], turn=1),
        render_section_html(c.title, [(c.section, c.text)]),
        render_sources_panel([("<script>q</script>", render_sources_html(a, (), turn=1))]),
    ):
        assert no_markup(out), out
    assert no_markup(render_answer_html(a, turn=1), markdown=True)
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in render_sources_html(a, (), turn=1)


def test_guide_bold_and_subheadings_show_as_bold_not_markup():
    text = "### Benefits\n- **2-3x faster** training\n- **50% less memory** with 2**bits <i>x</i>"
    out = highlight_passage(text, ["Mixed precision gives 50% less memory."])
    assert "**" not in out.replace("2**bits", "") and "###" not in out
    assert "<strong>Benefits</strong>" in out and "<strong>2-3x faster</strong>" in out
    # the bold inside the marked sentence is closed inside the mark: tags stay nested
    assert '<mark class="passage">- <strong>50% less memory</strong> with 2**bits &lt;i&gt;x&lt;/i&gt;</mark>' in out
    assert no_markup(out)
    section = render_section_html("Guide", [("Training", text)])
    assert "<strong>2-3x faster</strong>" in section and "&lt;i&gt;" in section and no_markup(section)


def test_highlight_marks_nothing_without_real_overlap():
    assert highlight_passage("Dropout zeroes units. Adam adapts.", ["Scaling laws matter."]) == (
        "Dropout zeroes units. Adam adapts."
    )
    assert "<mark" not in highlight_passage("a < b", [])


def test_status_shows_model_device_index_and_last_timings():
    c = chunk("c", "text")
    timings = {
        "retrieve_s": 0.012,
        "rerank_s": 0.2,
        "time_to_first_token_s": 1.5,
        "tokens_per_s": 17.25,
        "prompt_tokens": 450,
        "total_s": 4.0,
    }
    reranked = Answer(
        "q", "t [1]", sources=(hit(c, 1, rerank_score=0.5),), timings=timings, model="qwen.gguf"
    )
    s = render_status(model="qwen.gguf", device="CUDA", n_chunks=1234, n_guides=5, answer=reranked)
    for part in (
        "qwen.gguf",
        "CUDA",
        "1,234 chunks from 5 guides",
        "retrieval 12 ms",
        "rerank on (200 ms)",
        "first token 1.50 s",
        "17.2 tokens/s",
        "450 prompt tokens",
    ):
        assert part in s, part
    plain = replace(reranked, sources=(hit(c, 1),))
    assert "rerank off" in render_status(model="m", device="CPU", n_chunks=1, n_guides=1, answer=plain)
    assert "Last answer" not in render_status(model="m", device="CPU", n_chunks=1, n_guides=1)
    assert no_markup(render_status(model='<img src=x onerror="1">', device="CPU", n_chunks=1, n_guides=1))


# ---------------------------------------------------------------------------- guide browser


def test_merge_chunk_texts_drops_overlaps_and_keeps_gaps():
    doc = "Alpha beta gamma. Delta epsilon zeta. Eta theta."
    a = Chunk("a", "g.md", ("S",), doc[0:30], 0, 30)
    b = Chunk("b", "g.md", ("S",), doc[18:48], 18, 48)
    assert merge_chunk_texts([b, a]) == doc[:48]
    far = Chunk("c", "g.md", ("S",), "Later part.", 100, 111)
    assert merge_chunk_texts([a, far]) == doc[0:30] + "\n\nLater part."


def test_guide_index_orders_sections_and_reads_subsections_in_full():
    chunks = [
        chunk("2", "Routing body.", path=("MoE", "Routing"), start=50),
        chunk("1", "MoE intro.", path=("MoE",), start=0),
        chunk("3", "Scaling body.", path=("Scaling",), start=100),
        Chunk("4", "b.md", ("Intro",), "Other guide.", 0, 12, title="Another"),
    ]
    ix = build_guide_index(chunks)
    assert ix.guides == (("Another", "b.md"), ("ML Guide", "ml-guide.md"))
    assert ix.sections["ml-guide.md"] == ("MoE", "MoE › Routing", "Scaling")
    assert ix.full_section("ml-guide.md", "MoE") == [
        ("MoE", "MoE intro."),
        ("MoE › Routing", "Routing body."),
    ]


def test_available_models_lists_ggufs_in_the_cache(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf").write_bytes(b"GGUF")
    (tmp_path / "mine.gguf").write_bytes(b"GGUF")
    names = available_models(Settings(cache_dir=tmp_path))
    assert names == ["default", "small", str(tmp_path / "mine.gguf")]
    assert available_models(Settings(cache_dir=tmp_path, llm="/x/other.gguf"))[0] == "/x/other.gguf"


# ---------------------------------------------------------------------------- handlers


@pytest.fixture(scope="module")
def rag(tmp_path_factory) -> StudyRAG:
    root = tmp_path_factory.mktemp("app")
    shutil.copytree(project_root() / "corpus", root / "corpus")
    s = Settings.from_env(
        corpus_dir=root / "corpus", index_dir=root / "idx", rerank=False, cache_dir=root / "c"
    )
    return StudyRAG.load(
        s, embedder=FakeEmbedder(), generator=FakeGenerator(), reranker=FakeReranker(), progress=False
    )


@pytest.fixture()
def ui(rag) -> StudyApp:
    return StudyApp(rag, rag.settings, models=["fake"])


def ask(ui: StudyApp, question: str, state: ChatState, chat=(), *, rerank=False, sources=4, guides=()):
    """Run the two steps of a question (take it, then stream the answer); return every yield."""
    _, chat, state, _ = ui.take_question(question, list(chat), state)
    return list(ui.answer(chat, state, sources, rerank, 0.0, list(guides)))


def test_answer_streams_then_links_citations_and_fills_the_panel(ui):
    outs = ask(ui, "What is PagedAttention?", ChatState())
    streamed = [o[0][-1]["content"] for o in outs[:-1]]
    assert len(streamed) > 3 and len(set(map(len, streamed))) > 3  # the text grew piece by piece
    chat, panel, read, status, state = outs[-1]
    assert chat[0] == {"role": "user", "content": "What is PagedAttention?"}
    assert 'class="cite"' in chat[-1]["content"] and "PagedAttention" in chat[-1]["content"]
    assert 'id="src-1-1"' in panel and "PagedAttention" in panel.split('id="src-1-2"')[0]
    assert state.asked == 1 and state.turns[0][0] == "What is PagedAttention?"
    assert "Last answer" in status and "fake-generator" in status
    assert read.choices and read.choices[0][0].startswith("[1] ")


def test_an_answer_kept_to_chosen_guides_cites_and_lists_only_them(ui):
    titles = {s: t for t, s in ui.guides.guides}
    others = [t for s, t in titles.items() if s != "advanced-ai-glossary-248-topics.txt"]
    _, panel, *_ = ask(ui, "What is PagedAttention?", ChatState())[-1]
    assert any(t in panel for t in others)  # unscoped, other guides are among the candidates
    chat, panel, read, *_ = ask(ui, "What is PagedAttention?", ChatState(), guides=["advanced-ai-glossary-248-topics.txt"])[-1]
    assert 'class="cite"' in chat[-1]["content"]
    glossary = titles["advanced-ai-glossary-248-topics.txt"]
    assert glossary in panel and not [t for t in others if t in panel]  # cited sources and candidates alike
    assert read.choices and all(label.split("] ", 1)[1].startswith(glossary) for label, _ in read.choices)
    chat, *_ = ask(ui, "What does AlphaFold predict?", ChatState(), guides=["advanced-ai-glossary-248-topics.txt"])[-1]
    assert "<strong>Not in the guides you chose</strong>: the question names something the guides you chose never" in chat[-1]["content"]
    chat, *_ = ask(ui, "What is PagedAttention?", ChatState(), guides=["no-such-guide.md"])[-1]
    assert "no guide named &#x27;no-such-guide.md&#x27;" in chat[-1]["content"]


def test_save_notes_holds_every_answer_with_its_sources_once_there_is_one(ui):
    assert ui.notes_file(ChatState()).interactive is False
    first = ask(ui, "What is PagedAttention?", ChatState())[-1]
    _, _, _, _, state = ask(ui, "What does AlphaFold predict?", first[4], first[0])[-1]
    button = ui.notes_file(state)
    assert button.interactive is not False and button.value
    text = _download_path(button).read_text(encoding="utf-8")
    assert text.startswith("# StudyRAG notes, ") and text.count("\n## ") == 2
    assert "## What is PagedAttention?" in text and "[1]" in text and "Sources:\n1. " in text
    assert "## What does AlphaFold predict?" in text and "The guides do not cover this." in text


def test_saved_notes_files_are_pruned_after_an_hour_and_never_collide(ui, monkeypatch):
    from studyrag import app as app_mod

    state = ask(ui, "What is PagedAttention?", ChatState())[-1][4]
    ui.notes_file(state), ui.notes_file(state)  # the same second: a file each, in folders of their own
    folders = sorted(ui._notes_dir.iterdir())
    assert len(folders) == 2 and all(len(list(f.glob("studyrag-notes-*.md"))) == 1 for f in folders)
    monkeypatch.setattr(app_mod, "NOTES_KEEP_S", -1)  # everything saved so far is now "old"
    text = _download_path(ui.notes_file(state)).read_text(encoding="utf-8")
    (newest,) = ui._notes_dir.iterdir()
    assert newest not in folders and not any(f.exists() for f in folders)
    assert next(newest.iterdir()).read_text(encoding="utf-8") == text


def _download_path(button) -> Path:
    return Path(button.value["path"] if isinstance(button.value, dict) else button.value)


def test_a_typing_slip_is_answered_and_says_how_it_was_read(ui):
    chat, *_ = ask(ui, "What is PagedAtention?", ChatState())[-1]
    assert "understood as" in chat[-1]["content"] and "PagedAttention" in chat[-1]["content"]


def test_follow_up_is_rewritten_and_numbered_separately(ui):
    first = ask(ui, "What is LoRA?", ChatState())[-1]
    chat, panel, _, _, state = ask(ui, "How does it reduce memory?", first[4], first[0])[-1]
    assert "understood as" in chat[-1]["content"] and "LoRA" in chat[-1]["content"]
    assert 'id="src-2-1"' in panel and "Earlier: What is LoRA?" in panel
    assert len(state.turns) == 2


def test_too_long_question_is_refused_in_the_chat(ui):
    outs = ask(ui, "why " * 1000, ChatState())
    chat, _, _, _, state = outs[-1]
    assert "characters long" in chat[-1]["content"] and 'class="error"' in chat[-1]["content"]
    assert state.turns == () and state.asked == 0


def test_empty_question_is_ignored(ui):
    box, chat, state, button = ui.take_question("   ", [], ChatState())
    assert chat == [] and state.pending == ""


def test_question_locks_the_input_until_answered(ui):
    box, chat, state, button = ui.take_question("What is LoRA?", [], ChatState())
    assert box.interactive is False and button.interactive is False and state.pending == "What is LoRA?"


def test_rerank_checkbox_reaches_the_pipeline(ui):
    on = ask(ui, "What is PagedAttention?", ChatState(), rerank=True)[-1]
    off = ask(ui, "What is PagedAttention?", ChatState(), rerank=False)[-1]
    assert "rerank on" in on[3] and "rerank off" in off[3]
    assert "rerank —" not in on[1].split("<details")[0] and "rerank —" in off[1]


def test_sources_setting_reaches_the_pipeline(ui):
    panel = ask(ui, "What is PagedAttention?", ChatState(), sources=2)[-1][1]
    assert 'id="src-1-2"' in panel and 'id="src-1-3"' not in panel


def test_open_source_jumps_to_the_guide_browser(ui):
    state = ask(ui, "What is PagedAttention?", ChatState())[-1][4]
    tabs, guide, section, text = ui.open_source(0, state)
    source, name = state.readable[0]
    assert tabs.selected == "browse" and guide.value == source and section.value == name
    assert "PagedAttention" in text


def test_switch_model_rebuilds_the_generator_on_the_same_index(rag):
    ui = StudyApp(rag, rag.settings, models=["default", "small"])
    status = ui.switch_model("small")
    assert ui.rag is not rag and ui.rag.settings.llm == "small" and ui.rag.index is rag.index
    assert "Model: <b>small</b>" in status
    threads = [t for t in threading.enumerate() if t.name == "studyrag-warm-up"]
    assert threads  # the new model loads now, not on the next question
    for t in threads:
        t.join(120)


def test_clear_forgets_the_conversation(ui):
    chat, panel, read, status, state = ui.clear()
    assert chat == [] and state == ChatState() and "Ask a question" in panel


def test_build_app_queues_model_work_one_at_a_time(rag):
    demo = build_app(rag, rag.settings, models=["fake"])
    assert isinstance(demo, gr.Blocks)
    model_fns = [f for f in demo.fns.values() if f.concurrency_id == "model"]
    names = {f.name for f in model_fns}
    assert {"answer", "switch_model"} <= names
    assert all(f.concurrency_limit == 1 for f in model_fns)
    assert demo._queue.default_concurrency_limit == 1


def test_launch_binds_loopback_without_share_by_default(rag, monkeypatch):
    seen = {}
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kw: seen.update(kw) or (None, "http://x", None))
    launch(rag.settings, rag=rag)
    assert seen["server_name"] == "127.0.0.1" and seen["share"] is False and seen["server_port"] is None
    assert seen["css"] == serving.APP_CSS
    assert seen["max_file_size"] == "200mb"  # an uploaded guide is indexed while questions wait


def test_a_busy_port_is_a_clear_error_before_the_model_loads(rag, monkeypatch):
    """The port is bound first: llama.cpp silences stdout/stderr while the model loads, so an error
    raised during a warm-up vanished and `studyrag serve` exited 1 without a word."""
    import socket

    warmed: list[bool] = []
    monkeypatch.setattr(type(rag), "warm_up_in_background", lambda self: warmed.append(True))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match=f"127.0.0.1:{port}.*--port"):
            launch(rag.settings, rag=rag, port=port)
    assert warmed == []


def test_a_host_that_is_not_this_machine_is_named_as_the_problem(rag, monkeypatch):
    """Gradio says "Cannot find empty port" for an address it cannot bind; the fix is --host."""
    monkeypatch.setattr(type(rag), "warm_up_in_background", lambda self: pytest.fail("model loaded"))
    for host in ("192.0.2.1", "no-such-host.invalid"):  # TEST-NET-1 (RFC 5737): never this machine's
        with pytest.raises(ConfigError, match=f"cannot serve on {host}: it is not an address.*--host 127.0.0.1"):
            launch(rag.settings, rag=rag, host=host, port=7999)


def test_root_app_py_parses_port_host_share(monkeypatch):
    import runpy

    calls = []
    monkeypatch.setattr(serving, "launch", lambda settings, **kw: calls.append(kw))
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    module = runpy.run_path(str(Path(__file__).parents[1] / "app.py"))
    module["main"]([])
    module["main"](["--port", "8123", "--host", "0.0.0.0", "--share"])
    assert calls == [
        {"host": "127.0.0.1", "port": 7999, "share": False},
        {"host": "0.0.0.0", "port": 8123, "share": True},
    ]


@pytest.mark.parametrize(
    ("reason", "label", "why"),
    [
        ("no_close_passage", "Not in the guides", "no passage of the guides is close enough"),
        ("unsupported", "No supported answer", "not supported by the sections it cited"),
        ("", "Not in the guides", "no passage answers this"),  # an answer cached before reasons existed
    ],
)
def test_an_abstained_answer_says_why(reason: str, label: str, why: str) -> None:
    a = Answer("Q?", "The guides do not cover this.", abstained=True, abstain_reason=reason)
    out = render_answer_html(a, turn=1)
    assert f"<strong>{label}</strong>" in out and why in out


def _one_guide_app(tmp_path: Path) -> tuple[StudyApp, Path]:
    """A page over a corpus of one shipped guide (fake models), and that corpus folder."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(project_root() / "corpus" / "advanced-ai-knowledge-cheatsheet.md", corpus)
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "idx", rerank=False, cache_dir=tmp_path / "c")
    rag = StudyRAG.load(s, embedder=FakeEmbedder(), generator=FakeGenerator(), progress=False)
    return StudyApp(rag, s, models=["fake"]), corpus


def test_a_guide_added_while_the_page_is_open_is_searched_and_listed(tmp_path):
    ui, corpus = _one_guide_app(tmp_path)
    assert len(ui.guides.guides) == 1
    (corpus / "rlhf.md").write_text("# RLHF notes\n\n## DPO\n\nDPO skips the reward model and trains on preference pairs.\n")
    chat, panel, *_ = ask(ui, "What does DPO skip and what does it train on?", ChatState())[-1]
    assert "RLHF notes" in panel and "DPO" in panel
    assert len(ui.guides.guides) == 2 and ("RLHF notes", "rlhf.md") in ui.guides.guides


def test_uploaded_guides_are_copied_indexed_and_shown_and_a_bad_one_is_named(tmp_path):
    ui, corpus = _one_guide_app(tmp_path)
    uploads = tmp_path / "gradio-upload"  # where Gradio keeps an upload: its own name, a folder of its own
    uploads.mkdir()
    (uploads / "rlhf.md").write_text("# RLHF notes\n\n## DPO\n\nDPO skips the reward model and trains on preference pairs.\n")
    (uploads / "scan.pdf").write_bytes(b"%PDF-1.4 not really")
    guide, section, reader, notice, status, box, scope = ui.add_guides(
        [str(uploads / "rlhf.md"), str(uploads / "scan.pdf")], None
    )
    assert (corpus / "rlhf.md").read_text().startswith("# RLHF notes") and not (corpus / "scan.pdf").exists()
    assert "added rlhf.md: RLHF notes (1 section)" in notice and "scan.pdf is not a readable PDF" in notice
    assert guide.value == "rlhf.md" and "preference pairs" in reader and box is None
    assert ("RLHF notes", "rlhf.md") in ui.guides.guides and "2 guides" in status
    assert ("RLHF notes", "rlhf.md") in scope.choices  # it can be chosen to answer from at once
    assert ui.rag.search("DPO preference pairs", k=1)[0].chunk.source == "rlhf.md"
    _, _, _, notice, _, _, _ = ui.add_guides([str(uploads / "rlhf.md")], "rlhf.md")
    assert "unchanged rlhf.md" in notice
    (uploads / "rlhf.md").write_text("# RLHF notes\n\n## PPO\n\nPPO clips the policy ratio.\n")
    _, _, _, notice, _, _, _ = ui.add_guides([str(uploads / "rlhf.md")], "rlhf.md")
    (kept,) = (corpus / ".replaced").iterdir()
    assert "replaced rlhf.md" in notice and f"the previous version is kept as {kept}" in notice
    assert "DPO skips the reward model" in kept.read_text() and "PPO clips" in (corpus / "rlhf.md").read_text()


def test_the_guide_shown_can_be_removed_but_not_the_last_one(tmp_path):
    ui, corpus = _one_guide_app(tmp_path)
    _, _, _, notice, *_ = ui.remove_guide("advanced-ai-knowledge-cheatsheet.md")
    assert "is the only guide" in notice and (corpus / "advanced-ai-knowledge-cheatsheet.md").exists()
    (corpus / "rlhf.md").write_text("# RLHF notes\n\n## DPO\n\nDPO skips the reward model and trains on preference pairs.\n")
    ui._refresh()
    guide, _, reader, notice, status, scope = ui.remove_guide("rlhf.md")
    (kept,) = (corpus / ".removed").iterdir()
    assert f"removed rlhf.md; kept as {kept}" in notice and "DPO skips" in kept.read_text()
    assert not (corpus / "rlhf.md").exists() and "1 guide" in status
    assert guide.value == "advanced-ai-knowledge-cheatsheet.md" and [s for _, s in scope.choices] == [guide.value]
    assert all(h.chunk.source != "rlhf.md" for h in ui.rag.search("DPO preference pairs reward model"))
    assert ui.remove_guide(None) == (gr.skip(),) * 6  # cancelled in the page


def test_uploads_are_offered_only_on_a_page_this_machine_alone_can_open(rag, monkeypatch):
    seen: list[bool] = []
    monkeypatch.setattr(serving, "build_app", lambda rag, settings, uploads: seen.append(uploads) or gr.Blocks())
    monkeypatch.setattr(serving, "serve", lambda *a, **kw: "http://x")
    monkeypatch.setattr(gr.Blocks, "block_thread", lambda self: None)
    monkeypatch.setattr(type(rag), "warm_up_in_background", lambda self: None)
    for host, share in (("127.0.0.1", False), ("0.0.0.0", False), ("127.0.0.1", True)):
        launch(rag.settings, rag=rag, host=host, share=share)
    assert seen == [True, False, False]


def test_a_guide_added_before_a_model_switch_is_still_indexed(tmp_path, monkeypatch):
    # the new pipeline shares the loaded index, so it must also share what that index was built from
    ui, corpus = _one_guide_app(tmp_path)
    monkeypatch.setattr(StudyRAG, "warm_up_in_background", lambda self: None)
    (corpus / "rlhf.md").write_text("# RLHF notes\n\n## DPO\n\nDPO skips the reward model and trains on preference pairs.\n")
    ui.switch_model("small")
    stats = ui.rag.refresh()
    assert stats is not None and "rlhf.md" in stats.reason
    assert ui.rag.search("DPO preference pairs", k=1)[0].chunk.source == "rlhf.md"

"""The study chat in a real browser: Playwright driving Debian's Chromium against the app served
on a free loopback port (fake embedder/reranker/generator; the generator sleeps between pieces so
streaming can be watched).

Needs ``apt-get install -y chromium`` (``playwright install`` cannot download browsers here).
``STUDYRAG_SCREENSHOTS=1`` also saves the main states under docs/screenshots/ (``=real``: with the
real MiniLM embedder and the small GGUF model instead of the fakes).
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from studyrag.app import build_app
from studyrag.config import Settings, project_root
from studyrag.fakes import FakeEmbedder, FakeGenerator, FakeReranker
from studyrag.pipeline import StudyRAG
from studyrag.serving import serve

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "no /usr/bin/chromium: `apt-get install -y chromium` to run browser tests", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
TIMEOUT_MS = 30_000

# A guide that tries to inject markup: it must show up as text, and run nothing.
EVIL_GUIDE = """# Evil <img src=x onerror="window.__pwned=1"> Guide

## Quokka routing <script>window.__pwned=2</script>

Quokka routing sends every token to marsupial experts. <img src=x onerror="window.__pwned=3">
<script>window.__pwned=4</script> [click me](javascript:window.__pwned=5) {{7*7}} ${7*7}

Quokka routing balances marsupial experts with a wombat loss that keeps each expert busy.
"""

# The server's generator: a test may set its ``reply`` for one question (and must reset it).
GENERATOR = FakeGenerator(delay=0.05)
BOTS = "document.querySelectorAll('#chat [data-testid=bot]')"  # the answers in the chat
LAST_BOT = f"() => {{ const m = {BOTS}; return m.length ? m[m.length - 1].innerText : ''; }}"


def _done_after(n: int) -> str:
    """JS: true once there are more than ``n`` answers and the newest has stopped streaming."""
    return f"() => {{ const m = {BOTS}; return m.length > {n} && !m[m.length - 1].innerText.includes('▌'); }}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _corpus(root: Path) -> Path:
    corpus = root / "corpus"
    shutil.copytree(project_root() / "corpus", corpus)
    (corpus / "zz-evil-guide.md").write_text(EVIL_GUIDE, encoding="utf-8")
    return corpus


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("browser")
    # These tests are about the page, not retrieval quality: chunk vectors only, because the fake
    # embedder's hashed words make short sentence vectors collide (the eval measures the real ones).
    settings = Settings.from_env(
        corpus_dir=_corpus(root),
        index_dir=root / "idx",
        rerank=False,
        cache_dir=root / "c",
        sentence_vectors=False,
    )
    GENERATOR.reply = None
    rag = StudyRAG.load(
        settings,
        embedder=FakeEmbedder(),
        generator=GENERATOR,
        reranker=FakeReranker(),
        progress=False,
    )
    demo = build_app(rag, settings, models=["fake"])
    url = serve(demo, host="127.0.0.1", port=_free_port(), block=False)
    try:
        yield url
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def _open(browser, url: str, height: int = 1000):
    context = browser.new_context(viewport={"width": 1400, "height": height})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.wait_for_function(
        "() => (document.querySelector('#status') || {innerText: ''}).innerText.includes('chunks')"
    )
    page.wait_for_selector("#sources h3")
    return context, page


@pytest.fixture()
def page(browser, server):
    context, page = _open(browser, server)
    try:
        yield page
    finally:
        context.close()


def ask(page, question: str) -> int:
    """Send a question; returns how many answers the page showed before it."""
    before = page.evaluate(f"() => {BOTS}.length")
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    return before


def wait_answer(page, before: int, timeout_ms: int = TIMEOUT_MS) -> str:
    """The text of the answer after the ``before`` earlier ones, once it has finished streaming
    and the question box is unlocked again."""
    page.wait_for_function(_done_after(before), timeout=timeout_ms)
    page.wait_for_selector("#question textarea:not([disabled])", timeout=timeout_ms)
    return page.evaluate(LAST_BOT)


def sources_text(page) -> str:
    return page.locator("#sources").inner_text()


# ---------------------------------------------------------------------------------------------


def test_first_load_shows_examples_and_status(page):
    for q in ("What is PagedAttention?", "How does LoRA reduce trainable parameters?"):
        assert page.locator("#chat").get_by_text(q).is_visible()
    status = page.locator("#status").inner_text()
    assert "chunks from 6 guides" in status and "fake" in status


def test_a_sentence_no_source_supports_is_flagged_in_the_chat(page):
    GENERATOR.reply = "PagedAttention stores the KV cache in fixed-size blocks [1]. It was invented on the Moon in 1850."
    try:
        before = ask(page, "What is PagedAttention?")
        answer = wait_answer(page, before)
    finally:
        GENERATOR.reply = None
    assert "fixed-size blocks [1]" in answer and "in 1850 [?]." in answer
    flag = page.locator("#chat span.uncited").last
    assert flag.is_visible() and "No source supports" in (flag.get_attribute("title") or "")


def test_answer_streams_and_its_citation_opens_the_source(page):
    before = ask(page, "What is PagedAttention?")
    page.wait_for_function(f"() => {BOTS}.length > {before}")
    lengths: list[int] = []
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        text = page.evaluate(LAST_BOT)
        if "▌" not in text:
            break
        lengths.append(len(text))
        time.sleep(0.05)
    grew = [b > a for a, b in zip(lengths, lengths[1:], strict=False) if b != a]
    assert len(grew) >= 3 and all(grew), lengths  # seen growing, never shrinking, before the end

    answer = wait_answer(page, before)
    assert "PagedAttention" in answer
    cite = page.locator("#chat a.cite").first
    assert cite.is_visible() and cite.get_attribute("href") == "#src-1-1"
    assert "PagedAttention" in page.locator("#src-1-1").inner_text()

    cite.click()
    page.wait_for_function("() => location.hash === '#src-1-1'")
    target = page.evaluate(
        "() => { const e = document.getElementById('src-1-1');"
        " return [e.matches(':target'), getComputedStyle(e).backgroundColor]; }"
    )
    assert target == [True, "rgb(255, 243, 176)"]
    assert page.locator("#src-1-1 mark.passage").count() >= 1  # the cited sentence is highlighted


def test_next_answer_does_not_inherit_the_highlight(page):
    wait_answer(page, ask(page, "What is PagedAttention?"))
    page.locator("#chat a.cite").first.click()
    page.wait_for_function("() => location.hash === '#src-1-1'")
    wait_answer(page, ask(page, "How does LoRA reduce trainable parameters?"))
    page.wait_for_selector("#src-2-1")
    targeted = page.evaluate(
        "() => [...document.querySelectorAll('#sources .src')].filter(e => e.matches(':target')).map(e => e.id)"
    )
    assert targeted in ([], ["src-1-1"])  # never a card of the new answer
    page.locator("#chat a.cite").last.click()
    page.wait_for_function("() => document.querySelector(location.hash).matches(':target')")
    assert page.evaluate("() => location.hash").startswith("#src-2-")


def test_example_click_asks_it(page):
    page.locator("#chat").get_by_text("What is the Chinchilla scaling law?").click()
    answer = wait_answer(page, 0)
    assert (
        page.locator("#chat [data-testid='user']").last.inner_text().strip()
        == "What is the Chinchilla scaling law?"
    )
    assert "[1]" in answer


def test_rerank_toggle_reaches_the_pipeline(page):
    box = page.locator("#rerank input[type=checkbox]")
    assert not box.is_checked()
    wait_answer(page, ask(page, "What is PagedAttention?"))
    page.wait_for_function("() => document.querySelector('#status').innerText.includes('Last answer')")
    assert "rerank off" in page.locator("#status").inner_text()
    assert "rerank —" in page.locator("#src-1-1").inner_text()

    box.check()
    ask(page, "What is PagedAttention?")
    page.wait_for_function("() => document.querySelector('#status').innerText.includes('rerank on')")
    assert "rerank —" not in page.locator("#src-2-1").inner_text()  # scored by the reranker


def test_two_pages_are_answered_in_turn_without_mixing(browser, server):
    ctx_a, a = _open(browser, server)
    ctx_b, b = _open(browser, server)
    try:
        ask(a, "What is PagedAttention?")
        a.wait_for_function(f"() => {BOTS}.length > 0")
        ask(b, "How does LoRA reduce trainable parameters?")
        # while A's answer streams, B waits in the queue and is shown its place
        b.wait_for_function(
            "() => /queue/i.test(document.querySelector('#chat').innerText)", timeout=TIMEOUT_MS
        )
        answer_a, answer_b = wait_answer(a, 0), wait_answer(b, 0)
        assert "PagedAttention" in answer_a and "LoRA" not in answer_a
        assert "LoRA" in answer_b and "PagedAttention" not in answer_b
        assert "PagedAttention" in sources_text(a).split("[2]")[0]
        assert "LoRA" in sources_text(b)
    finally:
        ctx_a.close()
        ctx_b.close()


def test_too_long_question_is_refused_with_a_message(page):
    ask(page, "why " * 600)
    page.wait_for_selector("#chat .error")
    assert "characters long" in page.locator("#chat .error").inner_text()
    before = ask(page, "What is PagedAttention?")  # the session still works
    assert "PagedAttention" in wait_answer(page, before)


def test_unanswerable_question_abstains_with_see_also(page):
    answer = wait_answer(page, ask(page, "Who painted the Mona Lisa?"))
    assert "Not in the guides" in answer
    assert page.locator("#chat a.see-also").count() >= 1
    assert "See also" in sources_text(page)


def test_follow_up_shows_how_it_was_understood(page):
    wait_answer(page, ask(page, "What is LoRA?"))
    ask(page, "How does it reduce memory?")
    page.wait_for_selector("#chat .understood")
    assert "LoRA" in page.locator("#chat .understood").last.inner_text()


def test_malicious_guide_renders_as_text(page):
    wait_answer(page, ask(page, "What is quokka routing with marsupial experts?"))
    text = sources_text(page)
    assert "<script>window.__pwned=4</script>" in text and 'onerror="window.__pwned=3"' in text
    assert "{{7*7}} ${7*7}" in text
    assert page.locator("#sources script, #sources img, #chat img").count() == 0
    assert page.evaluate("() => window.__pwned") is None


def test_answers_keep_to_the_guides_chosen_to_answer_from(page):
    question = "How does quokka routing balance the marsupial experts?"  # only the evil guide says
    wait_answer(page, ask(page, question))
    assert "Evil" in page.locator("#src-1-1").inner_text()
    page.locator("#scope input").click()
    page.locator("ul[role=listbox] li", has_text="advanced-ai-glossary-248-topics").click()
    page.keyboard.press("Escape")
    wait_answer(page, ask(page, question))
    page.wait_for_function("() => document.querySelector('#status').innerText.includes('Last answer')")
    page.wait_for_selector("#src-2-1")
    cards = page.locator("[id^=src-2-]")
    assert cards.count() >= 1
    for i in range(cards.count()):
        text = cards.nth(i).inner_text()
        assert "advanced-ai-glossary-248-topics" in text and "Evil" not in text, text


def test_save_notes_downloads_the_conversation_with_its_sources(page, tmp_path):
    assert page.locator("#save-notes").is_disabled()  # nothing to save yet
    wait_answer(page, ask(page, "What is PagedAttention?"))
    page.wait_for_selector("#save-notes:not([disabled])")
    with page.expect_download() as download:
        page.locator("#save-notes").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert saved.name.startswith("studyrag-notes-") and saved.suffix == ".md"
    assert "## What is PagedAttention?" in text and "Sources:\n1. " in text


def test_cited_source_opens_in_the_guide_browser(page):
    wait_answer(page, ask(page, "What is PagedAttention?"))
    page.locator("#read-source input").click()
    page.locator("ul[role=listbox] li").first.click()
    reader = page.locator("#reader")
    reader.wait_for(state="visible")
    assert "PagedAttention" in reader.inner_text()
    assert page.locator("#section input").input_value().startswith("PagedAttention")


def test_guide_browser_reads_any_section(page):
    page.get_by_role("tab", name="Browse the guides").click()
    page.locator("#guide input").click()
    page.locator("ul[role=listbox] li", has_text="Evil Guide").click()
    page.wait_for_function("() => document.querySelector('#reader').innerText.includes('marsupial')")
    assert "<script>window.__pwned=4</script>" in page.locator("#reader").inner_text()
    assert page.locator("#reader img, #reader script").count() == 0


def test_an_uploaded_guide_is_added_shown_and_answered_from(page, tmp_path):
    # last of the page tests: it adds a guide to the shared server's corpus
    notes = tmp_path / "axolotl-notes.md"
    notes.write_text("# Axolotl Notes\n\n## Regrowth\n\nAxolotl regrowth rebuilds a lost limb from blastema cells.\n")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 cut short")
    page.get_by_role("tab", name="Browse the guides").click()
    page.locator("#upload input[type=file]").set_input_files([str(notes), str(tmp_path / "broken.pdf")])
    page.wait_for_function("() => document.querySelector('#added').innerText.includes('added')")
    added = page.locator("#added").inner_text()
    assert "added axolotl-notes.md: Axolotl Notes (1 section)" in added
    assert "broken.pdf is not a readable PDF" in added
    page.wait_for_function("() => document.querySelector('#reader').innerText.includes('blastema')")
    assert page.locator("#guide input").input_value() == "Axolotl Notes"
    assert "chunks from 7 guides" in page.locator("#status").inner_text()
    page.get_by_role("tab", name="Ask").click()
    page.locator("#scope input").click()  # and it can be chosen to answer from
    page.locator("ul[role=listbox] li", has_text="Axolotl Notes").wait_for()
    page.keyboard.press("Escape")
    wait_answer(page, ask(page, "How does axolotl regrowth rebuild a lost limb?"))
    assert "axolotl-notes.md" in sources_text(page)

    # and removed again, after the page asks first
    page.get_by_role("tab", name="Browse the guides").click()
    page.locator("#guide input").click()
    page.locator("ul[role=listbox] li", has_text="Axolotl Notes").click()
    page.wait_for_function("() => document.querySelector('#reader').innerText.includes('blastema')")
    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.locator("#remove-guide").click()
    page.wait_for_timeout(500)
    assert asked and "axolotl-notes.md" in asked[0] and "chunks from 7 guides" in page.locator("#status").inner_text()
    page.once("dialog", lambda d: d.accept())
    page.locator("#remove-guide").click()
    page.wait_for_function("() => document.querySelector('#added').innerText.includes('removed axolotl-notes.md')")
    assert "chunks from 6 guides" in page.locator("#status").inner_text()
    assert page.locator("#guide input").input_value() != "Axolotl Notes"


# --------------------------------------------------------------------------------------------- docs


@pytest.mark.skipif(
    not os.environ.get("STUDYRAG_SCREENSHOTS"),
    reason="set STUDYRAG_SCREENSHOTS=1 (fake models) or =real (real models) to refresh docs/screenshots",
)
def test_screenshots(browser, tmp_path):
    """Save the main states of the app under docs/screenshots/."""
    real = os.environ["STUDYRAG_SCREENSHOTS"] == "real"
    if real:  # the models named by STUDYRAG_* settings (e.g. STUDYRAG_LLM=small), the project's index
        settings = Settings.from_env()
        rag, models = StudyRAG.load(settings, progress=False), None
    else:
        settings = Settings.from_env(
            corpus_dir=shutil.copytree(project_root() / "corpus", tmp_path / "corpus"),
            index_dir=tmp_path / "idx",
            rerank=False,
        )
        rag = StudyRAG.load(
            settings,
            embedder=FakeEmbedder(),
            generator=FakeGenerator(delay=0.02),
            reranker=FakeReranker(),
            progress=False,
        )
        models = ["fake"]
    demo = build_app(rag, settings, models=models)
    url = serve(demo, host="127.0.0.1", port=_free_port(), block=False)
    wait_ms = 600_000 if real else TIMEOUT_MS
    SHOTS.mkdir(parents=True, exist_ok=True)
    context, page = _open(browser, url, height=1200)
    try:
        page.screenshot(path=SHOTS / "01-first-load.png")

        before = ask(page, "What is PagedAttention?")
        wait_answer(page, before, wait_ms)
        if page.locator("#chat a.cite").count():
            page.locator("#chat a.cite").first.click()
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=SHOTS / "02-cited-answer.png")

        before = ask(page, "What is the capital of Peru?" if real else "Who painted the Mona Lisa?")
        wait_answer(page, before, wait_ms)
        page.locator("#chat [data-testid=bot]").last.scroll_into_view_if_needed()
        page.screenshot(path=SHOTS / "03-abstained.png")

        page.locator("#clear").click()
        page.wait_for_function(f"() => {BOTS}.length === 0")
        before = ask(page, "How does LoRA reduce trainable parameters?")
        wait_answer(page, before, wait_ms)
        page.locator("#read-source input").click()
        page.locator("ul[role=listbox] li").first.click()
        page.locator("#reader").wait_for(state="visible")
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=SHOTS / "04-guide-browser.png")
    finally:
        context.close()
        demo.close()

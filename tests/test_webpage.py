"""Saved web pages: headings, paragraphs, lists, code and tables, without the page's furniture."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from studyrag.errors import CorpusError
from studyrag.loaders import load_document

DATA = Path(__file__).parent / "data"

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>RL, week 4</title>
<style>p { color: red }</style><script>track("visit")</script></head><body>
<header>Site name | Login</header><nav><a href="/">Home</a> <a href="/rl">RL</a></nav>
<main>
  <h1>Value Methods</h1>
  <p>Q-learning learns the value of each <b>action</b> in each state,<br>then acts greedily.</p>
  <ul><li>Epsilon-greedy: a random action with probability epsilon.
        <ul><li>Decay epsilon over time.</li></ul></li>
      <li>Boltzmann: actions sampled by their <code>softmax</code> values.</li></ul>
  <h1>Policy Methods</h1>
  <div>REINFORCE follows the gradient of the return. <em>No value table.</em></div>
  <pre>for episode in range(1000):
    update(```policy```)</pre>
  <table><tr><th>Method</th><th>Learns</th></tr><tr><td>REINFORCE</td><td>a policy</td></tr></table>
</main>
<footer>© 2026, all rights reserved</footer>
</body></html>
"""


def test_a_saved_page_reads_as_the_pdf_printed_from_it() -> None:
    # the same notes as a web page and as Chromium's print of it (tests/test_pdf.py)
    printed = re.sub(r" \(p\. \d+\)$", "", load_document(DATA / "gnn-notes.pdf").text, flags=re.MULTILINE)
    assert load_document(DATA / "gnn-notes.html").text == printed  # page numbers aside


def test_a_page_keeps_its_text_and_structure_and_drops_its_furniture(tmp_path: Path) -> None:
    (tmp_path / "rl.html").write_text(PAGE, encoding="utf-8")
    doc = load_document(tmp_path / "rl.html")
    assert doc.title == "RL, week 4"  # two top headings: chapters under the page's <title>
    assert [s.path for s in doc.sections if s.text] == [("Value Methods",), ("Policy Methods",)]
    for furniture in ("Site name", "Home", "track(", "color: red", "rights reserved"):
        assert furniture not in doc.text, furniture
    assert "each action in each state, then acts greedily." in doc.text  # inline marks and <br> read as text
    assert "\n- Epsilon-greedy: a random action with probability epsilon.\n\n- Decay epsilon over time.\n" in doc.text
    assert "- Boltzmann: actions sampled by their softmax values." in doc.text
    assert "REINFORCE follows the gradient of the return. No value table." in doc.text
    assert "````\nfor episode in range(1000):\n    update(```policy```)\n````" in doc.text  # a longer fence
    assert "| Method | Learns |\n| --- | --- |\n| REINFORCE | a policy |" in doc.text
    assert doc.repairs == ("read from a web page: 2 headings",)


def test_a_page_of_several_articles_reads_them_all_and_nothing_around_them(tmp_path: Path) -> None:
    page = """<html><head><title>Blog</title></head><body><nav>Home</nav><aside>Popular posts</aside>
    <article><h1>Dropout</h1><p>Dropout zeroes random units.</p>
      <article><p>A reader's comment on dropout.</p></article></article>
    <div class="ad">Buy now</div>
    <article><h1>Weight decay</h1><p>Weight decay shrinks the weights.</p></article>
    <footer>Blog footer</footer></body></html>"""
    (tmp_path / "blog.html").write_text(page, encoding="utf-8")
    doc = load_document(tmp_path / "blog.html")
    assert [s.path for s in doc.sections if s.text] == [("Dropout",), ("Weight decay",)]
    assert "Weight decay shrinks the weights." in doc.text and "A reader's comment" in doc.text
    for furniture in ("Home", "Popular posts", "Buy now", "Blog footer"):
        assert furniture not in doc.text, furniture


def test_bad_pages_are_refused_with_a_reason(tmp_path: Path) -> None:
    for name, raw, says in (
        ("empty.html", b"<html><body><script>x()</script><nav>Home</nav></body></html>", "has no text to read"),
        ("blob.htm", b"\x89PNG\x00\x00IHDR", "looks binary"),
        ("blank.html", b"   ", "is empty"),
    ):
        (tmp_path / name).write_bytes(raw)
        with pytest.raises(CorpusError, match=f"{name} {says}"):
            load_document(tmp_path / name)

"""Word guides: headings from paragraph styles, lists, tables; bad files refused with a reason.
The documents are written by python-docx, the library that reads them, as Word would store them."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest

from studyrag.config import Settings
from studyrag.errors import CorpusError
from studyrag.loaders import load_corpus, load_document
from studyrag.pipeline import StudyRAG


def _notes(path: Path, *, title: str = "", chapters: bool = False) -> Path:
    d = docx.Document()
    if title:
        d.core_properties.title = title
    if not chapters:
        d.add_heading("Reinforcement Learning Notes", 0)  # style "Title"
    d.add_heading("Value Methods", 1)
    d.add_paragraph("Q-learning learns the value of each action in each state   and acts greedily on it.")
    d.add_heading("Exploration", 2)
    d.add_paragraph("Epsilon-greedy: a random action with probability epsilon.", style="List Bullet")
    d.add_paragraph("Boltzmann: actions sampled by their softmax values.", style="List Bullet")
    d.add_heading("Policy Methods", 1)
    d.add_paragraph("# of rollouts per update: 16 in the lab setup.")
    table = d.add_table(rows=2, cols=2)
    for (r, c), text in {(0, 0): "Method", (0, 1): "Learns", (1, 0): "REINFORCE", (1, 1): "a policy | directly"}.items():
        table.cell(r, c).text = text
    d.save(path)
    return path


def test_a_word_file_reads_with_its_headings_lists_and_tables(tmp_path: Path) -> None:
    doc = load_document(_notes(tmp_path / "rl.docx", title="ignored: the Title paragraph wins"))
    assert doc.title == "Reinforcement Learning Notes"
    assert [s.path for s in doc.sections if s.text] == [
        ("Value Methods",),
        ("Value Methods", "Exploration"),
        ("Policy Methods",),
    ]
    assert "acts greedily" in doc.text and "state and acts" in doc.text  # spacing collapsed
    assert "\n- Epsilon-greedy: a random action with probability epsilon.\n\n- Boltzmann:" in doc.text
    assert "\\# of rollouts per update" in doc.text  # text, not a heading
    assert "| Method | Learns |\n| --- | --- |\n| REINFORCE | a policy \\| directly |" in doc.text
    assert doc.repairs == ("read from Word: 4 headings, 1 table",)


def test_several_top_headings_are_chapters_under_the_files_title(tmp_path: Path) -> None:
    doc = load_document(_notes(tmp_path / "rl.docx", title="RL, week 4", chapters=True))
    assert doc.title == "RL, week 4"
    assert ("Policy Methods",) in [s.path for s in doc.sections]
    assert load_document(_notes(tmp_path / "week4.docx", chapters=True)).title == "week4"


def test_bad_word_files_are_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "zip.docx").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(CorpusError, match="zip.docx is not a readable Word document.*re-save it"):
        load_document(tmp_path / "zip.docx")
    (tmp_path / "locked.docx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    with pytest.raises(CorpusError, match="locked.docx is password-protected or an old-style Word file"):
        load_document(tmp_path / "locked.docx")
    empty = docx.Document()
    empty.add_paragraph("   ")
    empty.save(tmp_path / "blank.docx")
    with pytest.raises(CorpusError, match="blank.docx has no text to read"):
        load_document(tmp_path / "blank.docx")
    _notes(tmp_path / "good.docx")
    docs = load_corpus(tmp_path)
    assert [d.source for d in docs] == ["good.docx"]


def test_a_word_guide_is_searchable_with_the_real_embedder(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _notes(corpus / "rl.docx")
    (corpus / "optim.md").write_text("# Optimisers\n\n## Adam\n\nAdam keeps running averages of the gradient.\n")
    rag = StudyRAG.load(Settings(corpus_dir=corpus, index_dir=tmp_path / "ix", rerank=False), progress=False)
    hit = rag.search("How can an agent try actions at random while it learns?", k=1)[0]
    assert hit.chunk.source == "rl.docx" and "Epsilon-greedy" in hit.chunk.text

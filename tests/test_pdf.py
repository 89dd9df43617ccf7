"""PDF guides: read through their outline, without running headers, as paragraphs; bad PDFs are
refused with a reason. The fixture ``data/gnn-notes.pdf`` is Chromium's print of
``data/gnn-notes.html`` (headers and footers on, document outline on), as a browser, Word or
LaTeX would make it:

    chromium --headless --no-sandbox --generate-pdf-document-outline \\
        --print-to-pdf=tests/data/gnn-notes.pdf tests/data/gnn-notes.html

``gnn-notes-2col.pdf`` is the same page set in two columns: the same command on a copy of the HTML
whose style rule ``h2{break-before:page}`` is replaced by ``body{columns:2;column-gap:1cm;font-size:17pt}``.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pypdf
import pytest

from studyrag import loaders
from studyrag.chunking import chunk_document
from studyrag.config import Settings
from studyrag.errors import CorpusError
from studyrag.loaders import load_corpus, load_document
from studyrag.pdf import OutlineEntry, pages_markdown, pdf_markdown
from studyrag.pipeline import StudyRAG
from studyrag.records import Converted

FIXTURE = Path(__file__).parent / "data" / "gnn-notes.pdf"
TWO_COLUMNS = FIXTURE.with_name("gnn-notes-2col.pdf")  # the same notes set in two columns, on two pages


def _without_pages(text: str) -> str:
    """A PDF's Markdown without the page numbers its headings carry ("Scaling Laws (p. 3)")."""
    return re.sub(r" \(p\. \d+\)$", "", text, flags=re.MULTILINE)


def _rewrite(
    tmp_path: Path,
    name: str,
    *,
    outline: bool = False,
    title: str = "",
    password: str | None = None,
    aes: bool = False,
) -> Path:
    """The fixture's pages in a new PDF (pypdf copies no outline unless asked), maybe encrypted."""
    writer = pypdf.PdfWriter(clone_from=FIXTURE) if outline else pypdf.PdfWriter()
    if not outline:
        for page in pypdf.PdfReader(FIXTURE).pages:
            writer.add_page(page)
    if title:
        writer.add_metadata({"/Title": title})
    if password is not None:
        writer.encrypt(
            user_password=password, owner_password="owner", algorithm="AES-256" if aes else "RC4-128"
        )
    path = tmp_path / name
    with path.open("wb") as f:
        writer.write(f)
    return path


def test_a_printed_pdf_reads_as_the_guide_it_was_printed_from() -> None:
    doc = load_document(FIXTURE)
    assert doc.title == "Graph Neural Networks"  # its one top heading, not the metadata title
    paths = [s.path for s in doc.sections if s.text]
    assert paths == [  # each section with the page it starts on, to check a citation against
        ("Graph Neural Networks",),
        ("Message Passing (p. 2)",),
        ("Message Passing (p. 2)", "Over-smoothing (p. 2)"),
        ("Scaling to Large Graphs (p. 3)",),
    ]
    # no running header (date, title), footer (file URL, "2/3") or page number is left in the text
    for junk in ("AM", "file://", "gnn-notes.html", "1/3", "2/3", "Lecture Notes"):
        assert junk not in doc.text, junk
    # lines wrapped by the layout are one paragraph again; a hyphen at a line's end is kept when
    # the document never spells the word without it
    assert "combines them with a permutation-invariant function such as a sum" in doc.text
    assert "This is why deep graph networks often perform worse than shallow ones." in doc.text
    # list items stay items, one each, and a line that looks like Markdown syntax is text
    assert (
        "\n- Graph attention networks (GAT) learn how much each neighbour matters with an attention score computed"
        in doc.text
    )
    assert "\n- GraphSAGE samples a fixed number of neighbours per node.\n" in doc.text
    assert "\\# of layers: two or three" in doc.text and doc.metadata["format"] == "markdown"
    assert doc.repairs == ("read from PDF: 3 pages, 4 headings from its outline",)


def test_a_two_column_pdf_reads_column_by_column() -> None:
    # pypdf's layout text runs the two columns side by side on each line; read as lines, every
    # paragraph would interleave with its neighbour across the gutter
    assert _without_pages(load_document(TWO_COLUMNS).text) == _without_pages(load_document(FIXTURE).text)


def test_a_pdf_without_an_outline_has_one_section_per_page(tmp_path: Path) -> None:
    doc = load_document(_rewrite(tmp_path, "notes.pdf", title="GNN Lecture Notes"))
    assert doc.title == "GNN Lecture Notes"  # no heading to take it from: the metadata's
    assert [s.path for s in doc.sections if s.text] == [("Page 1",), ("Page 2",), ("Page 3",)]
    assert "one section per page" in doc.repairs[0]
    untitled = load_document(_rewrite(tmp_path, "week-3.pdf", title="Microsoft Word - week3.docx"))
    assert untitled.title == "week-3"  # a file name is no title: the file's stem is used


def test_a_pdf_chunks_by_its_headings() -> None:
    chunks = chunk_document(
        load_document(FIXTURE), lambda s: len(s.split()) + 2, max_tokens=60, min_tokens=10
    )
    assert {c.source for c in chunks} == {"gnn-notes.pdf"}
    assert any(c.path[-1] == "Over-smoothing (p. 2)" and "PairNorm" in c.text for c in chunks)


def test_bad_pdfs_are_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="locked.pdf is password-protected: save a copy without a password"):
        load_document(_rewrite(tmp_path, "locked.pdf", password="secret"))
    blank = pypdf.PdfWriter()
    blank.add_blank_page(612, 792)
    buf = io.BytesIO()
    blank.write(buf)
    (tmp_path / "scan.pdf").write_bytes(buf.getvalue())
    with pytest.raises(CorpusError, match=r"scan.pdf has no text to read, only images \(a scan\?\): run OCR"):
        load_document(tmp_path / "scan.pdf")
    (tmp_path / "cut.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<<")
    with pytest.raises(CorpusError, match="cut.pdf is not a readable PDF"):
        load_document(tmp_path / "cut.pdf")
    (tmp_path / "empty.pdf").write_bytes(b"")
    with pytest.raises(CorpusError, match="empty.pdf is empty"):
        load_document(tmp_path / "empty.pdf")


@pytest.mark.parametrize("aes", [False, True])
def test_a_pdf_with_an_empty_user_password_opens(tmp_path: Path, aes: bool) -> None:
    # "protected" against editing only: readers open it without asking, and so do we (AES needs
    # the cryptography package, installed with pypdf[crypto])
    doc = load_document(_rewrite(tmp_path, "open.pdf", password="", aes=aes))
    assert "Cluster-GCN partitions the graph" in doc.text


def test_a_bad_pdf_is_skipped_and_the_other_guides_still_load(tmp_path: Path) -> None:
    shutil.copy(FIXTURE, tmp_path / "gnn.pdf")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF")
    skipped: dict[str, str] = {}
    docs = load_corpus(tmp_path, on_skip=lambda p, why: skipped.update({p.name: why}))
    assert [d.source for d in docs] == ["gnn.pdf"] and list(skipped) == ["broken.pdf"]


# ------------------------------------------------------------------------------- pure layout
def test_running_headers_footers_and_page_numbers_go_but_body_text_stays() -> None:
    pages = [
        ["Deep Learning Notes", "Chapter text about dropout.", "", "- 1 -"],
        ["Deep Learning Notes", "More about dropout and weight decay.", "Page 2 of 3"],
        ["Deep Learning Notes", "Deep Learning Notes are mentioned here too, in the body?", "3"],
    ]
    text = pages_markdown(pages, [OutlineEntry("Regularisation", 0, 0)])
    assert text == (
        "# Regularisation\n\nChapter text about dropout.\n\nMore about dropout and weight decay.\n\n"
        "Deep Learning Notes are mentioned here too, in the body?\n\n"
    )


def test_headings_land_on_the_line_that_spells_them_even_when_it_wrapped() -> None:
    pages = [
        [
            "Intro text.",
            "Mixture of Experts: Routing and",
            "Load Balancing",
            "Each token goes to two experts.",
        ],
        ["Second page text."],
    ]
    outline = [
        OutlineEntry("Mixture of Experts: Routing and Load Balancing", 1, 0),
        OutlineEntry("Not on its page", 1, 1),
    ]
    text = pages_markdown(pages, outline)
    # two top entries: they are chapters (##), the document's title comes from elsewhere
    assert text == (
        "Intro text.\n\n## Mixture of Experts: Routing and Load Balancing (p. 1)\n\n"
        "Each token goes to two experts.\n\n## Not on its page (p. 2)\n\nSecond page text.\n\n"
    )


def test_a_deeper_indent_is_a_list_item_and_a_bullet_becomes_a_dash() -> None:
    width = "x" * 60
    pages = [
        [width, "", "Optimisers:", "    Adam keeps running averages of the gradient", "• SGD with momentum"]
    ]
    assert pages_markdown(pages, [OutlineEntry("T", 0, 0)]).split("\n\n")[2:5] == [
        "Optimisers:",
        "- Adam keeps running averages of the gradient",
        "- SGD with momentum",
    ]


def test_pdf_markdown_refuses_what_is_not_a_pdf() -> None:
    with pytest.raises(CorpusError, match="x.pdf is not a readable PDF"):
        pdf_markdown(b"<html>a web page saved as .pdf</html>", "x.pdf")


# ------------------------------------------------------------------------------- real model
def test_a_pdf_guide_is_searchable_with_the_real_embedder(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(FIXTURE, corpus / "gnn-notes.pdf")
    (corpus / "optim.md").write_text(
        "# Optimisers\n\n## Adam\n\nAdam keeps running averages of the gradient.\n"
    )
    rag = StudyRAG.load(Settings(corpus_dir=corpus, index_dir=tmp_path / "ix", rerank=False), progress=False)
    hits = rag.search("Why do deep GNNs do worse than shallow ones?", k=2)
    assert hits[0].chunk.source == "gnn-notes.pdf"
    assert "over-smoothing" in (hits[0].chunk.section + hits[0].chunk.text).lower()


def test_an_unchanged_pdf_is_read_once_per_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a chat session refreshes its index when any guide changes: a big PDF that did not change is
    # not read again (about 30 ms a page)
    calls: list[str] = []

    def counting(raw: bytes, name: str) -> Converted:
        calls.append(name)
        return pdf_markdown(raw, name)

    monkeypatch.setitem(loaders._CONVERTERS, ".pdf", counting)
    monkeypatch.setattr(loaders, "_CONVERTED", {})
    path = tmp_path / "gnn.pdf"
    shutil.copy(FIXTURE, path)
    first = load_document(path)
    assert load_document(path) == first and calls == ["gnn.pdf"]
    shutil.copy(TWO_COLUMNS, path)  # new content: read again
    assert load_document(path).sha256 != first.sha256 and calls == ["gnn.pdf", "gnn.pdf"]


def test_a_converter_that_fails_unforeseen_skips_its_file_not_the_corpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(raw: bytes, name: str) -> Converted:
        raise IndexError("list index out of range")

    monkeypatch.setitem(loaders._CONVERTERS, ".pdf", broken)
    monkeypatch.setattr(loaders, "_CONVERTED", {})
    shutil.copy(FIXTURE, tmp_path / "odd.pdf")
    (tmp_path / "notes.md").write_text("# Notes\n\nDropout zeroes random activations.\n")
    skipped: dict[str, str] = {}
    docs = load_corpus(tmp_path, on_skip=lambda p, why: skipped.update({p.name: why}))
    assert [d.source for d in docs] == ["notes.md"]
    assert skipped["odd.pdf"].startswith(
        "odd.pdf could not be converted (IndexError: list index out of range)"
    )

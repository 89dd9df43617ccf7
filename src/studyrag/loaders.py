"""Files → ``Document``: decoding, encoding repair, front matter, Markdown or glossary structure.

>>> doc = parse_document("---\\ntitle: My Notes\\n---\\n# Week 1\\n\\n## LoRA\\n\\nLow-rank adapters.\\n", "n.md")
>>> doc.title, [(s.path, s.text) for s in doc.sections if s.text]
('My Notes', [(('Week 1', 'LoRA'), 'Low-rank adapters.')])
>>> doc.text.startswith("# Week 1")  # front matter is metadata, not text
True
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import logging
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import CorpusError
from .glossary import looks_like_glossary, parse_glossary
from .pdf import pdf_markdown
from .questions import SUFFIX as QUESTIONS_SUFFIX
from .records import Converted, Document, Section
from .repair import repair_text
from .structure import clean_title, first_heading, markdown_sections, parser
from .webpage import html_markdown
from .word import docx_markdown

__all__ = ["SUFFIXES", "AddedGuide", "add_guide", "describe_guide", "guide_files", "load_corpus", "load_document", "parse_document", "remove_guide", "repair_text", "section_count", "split_front_matter"]

log = logging.getLogger("studyrag")

SUFFIXES = (".md", ".markdown", ".txt", ".pdf", ".docx", ".html", ".htm")
# Files that are not text: each is turned into Markdown first (Converted: markdown, notes, title).
_CONVERTERS: dict[str, Callable[[bytes, str], Converted]] = {
    ".pdf": pdf_markdown,
    ".docx": docx_markdown,
    ".html": html_markdown,
    ".htm": html_markdown,
}
_SHOWN_UNSPLIT = 3  # glossary items whose title could not be found, named one by one

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
# Characters that never occur in text files; a few of them mean "not text" (NUL is checked apart).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def load_corpus(corpus_dir: Path, on_skip: Callable[[Path, str], None] | None = None) -> list[Document]:
    """Load every guide (a file of a ``SUFFIXES`` type) in ``corpus_dir``, in name order.

    A file that cannot be read (binary, empty, not text) is skipped with a warning on the
    ``studyrag`` logger and a call ``on_skip(path, reason)``; the others still load.
    Raises ``CorpusError`` when the directory is missing or no file loads.
    """
    corpus_dir = Path(corpus_dir)
    fix = f"add .md/.txt/.pdf/.docx/.html guides to {corpus_dir} or set STUDYRAG_CORPUS_DIR to a directory that has them"
    paths, others = guide_files(corpus_dir)
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        log.warning(
            "not reading %s in %s: only %s files directly in the corpus folder are guides (convert "
            "other documents to Markdown, text, PDF, Word or HTML, and move guides out of subfolders)",
            shown,
            corpus_dir,
            "/".join(SUFFIXES),
        )
    docs: list[Document] = []
    skipped: list[str] = []
    for path in paths:
        try:
            docs.append(load_document(path))
        except (CorpusError, OSError) as exc:
            reason = str(exc)
            skipped.append(path.name)
            log.warning("skipping %s: %s", path, reason)
            if on_skip is not None:
                on_skip(path, reason)
    if not docs:
        found = (
            f"{len(paths)} candidate file(s), all skipped ({', '.join(skipped)})"
            if paths
            else f"it has no {'/'.join(SUFFIXES)} file"
        )
        raise CorpusError(f"no readable guide in {corpus_dir} ({found}): {fix}")
    return docs


def guide_files(corpus_dir: Path) -> tuple[list[Path], list[str]]:
    """The guides in ``corpus_dir`` (its non-hidden files of a ``SUFFIXES`` type, by name), and the names
    of the other entries there (a folder's name ends in "/"), which are not read. Hidden ones and
    the guides' question files (``questions.SUFFIX``) are left out of both.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> for name in ("b.md", "a.TXT", "c.pdf", "slides.pptx", ".DS_Store", "b.md.questions.jsonl"):
    ...     _ = (d / name).write_text("x")
    >>> (d / "more").mkdir()
    >>> paths, others = guide_files(d)
    >>> [p.name for p in paths], others
    (['a.TXT', 'b.md', 'c.pdf'], ['more/', 'slides.pptx'])

    Raises ``CorpusError`` when ``corpus_dir`` is missing or is a file.
    """
    corpus_dir = Path(corpus_dir)
    if corpus_dir.is_file():
        raise CorpusError(
            f"the corpus {corpus_dir} is a file, not a folder of guides: pass the folder that holds it "
            f"(--corpus {corpus_dir.parent}) or set STUDYRAG_CORPUS_DIR"
        )
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus directory {corpus_dir} does not exist: set STUDYRAG_CORPUS_DIR or pass --corpus")
    paths: list[Path] = []
    others: list[str] = []
    for p in sorted(corpus_dir.iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_file() and p.suffix.lower() in SUFFIXES:
            paths.append(p)
        elif p.is_file() and p.name.endswith(QUESTIONS_SUFFIX):
            continue  # a guide's questions (questions.py): read with the guide, not a guide itself
        else:
            others.append(p.name + "/" if p.is_dir() else p.name)
    return paths, others


@dataclass(frozen=True)
class AddedGuide:
    """What ``add_guide`` did with one file: ``status`` is "added", "replaced" (a different guide of
    that name was there; it was copied to ``kept`` first) or "unchanged" (the same file was there)."""

    doc: Document
    status: str
    kept: Path | None = None

    def describe(self, corpus_dir: Path) -> str:
        """One line for the user.

        >>> doc = parse_document("# RL\\n\\nQ-learning.\\n", "rl.md")
        >>> AddedGuide(doc, "replaced", Path("c/.replaced/rl.1.md")).describe(Path("c"))
        'replaced rl.md: RL (1 section) in c; the previous version is kept as c/.replaced/rl.1.md'
        """
        kept = f"; the previous version is kept as {self.kept}" if self.kept else ""
        return f"{self.status} {describe_guide(self.doc)} in {corpus_dir}{kept}"


# in the corpus folder, hidden, so never read as guides: replaced and removed guides, kept
REPLACED = ".replaced"
REMOVED = ".removed"


def add_guide(corpus_dir: Path, path: Path) -> AddedGuide:
    """Copy the guide at ``path`` into ``corpus_dir`` once it has loaded. A file that does not load
    raises its ``CorpusError`` and nothing is copied; the copy is written beside its target and
    renamed into place, so the index never sees half a file. A different guide of the same name is
    not lost: it is first copied to ``corpus_dir/.replaced/`` under a timestamped name. The guide's
    questions file (``questions.py``), when there is one beside it, is copied too.

    >>> import tempfile
    >>> d, src = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp()) / "rl.md"
    >>> _ = src.write_text("# RL\\n\\nQ-learning.\\n")
    >>> [add_guide(d, src).status for _ in range(2)], sorted(p.name for p in d.iterdir())
    (['added', 'unchanged'], ['rl.md'])
    >>> _ = src.write_text("# RL\\n\\nSARSA.\\n")
    >>> added = add_guide(d, src)
    >>> added.status, added.kept.read_text(), (d / "rl.md").read_text()
    ('replaced', '# RL\\n\\nQ-learning.\\n', '# RL\\n\\nSARSA.\\n')
    """
    corpus_dir, path = Path(corpus_dir), Path(path)
    if path.suffix.lower() not in SUFFIXES or path.name.startswith("."):
        raise CorpusError(
            f"{path.name} is not a guide StudyRAG reads: add {'/'.join(SUFFIXES)} files (convert other "
            "documents first)"
        )
    if not path.is_file():
        raise CorpusError(f"{path} is not a file: give the path of a guide")
    guide_files(corpus_dir)  # the corpus folder must exist (and be a folder)
    raw = path.read_bytes()
    doc = _document(raw, path.name)
    questions = path.with_name(path.name + QUESTIONS_SUFFIX)
    if questions.is_file():  # the questions filed beside it (questions.py) come along
        _place(corpus_dir / questions.name, questions.read_bytes())
    return AddedGuide(doc, *_place(corpus_dir / path.name, raw))


def _place(target: Path, raw: bytes) -> tuple[str, Path | None]:
    """Write ``raw`` to ``target``, beside it first and then renamed into place, so the index never
    sees half a file; a different file there is first kept in ``.replaced/``. Returns "unchanged"
    (the same bytes were there), "added" or "replaced", with the kept copy's path."""
    if target.is_file() and target.read_bytes() == raw:
        return "unchanged", None
    part = target.with_name(f".{target.name}.part")  # hidden: guide_files skips it
    try:
        kept = _keep_old(target) if target.exists() else None
        part.write_bytes(raw)
        os.replace(part, target)
    except OSError as e:
        part.unlink(missing_ok=True)
        raise CorpusError(
            f"could not copy {target.name} into {target.parent} ({e.strerror or e}): check that it is writable"
        ) from e
    return ("replaced" if kept else "added"), kept


def remove_guide(corpus_dir: Path, name: str) -> Path:
    """Take the guide file ``name`` out of ``corpus_dir``, keeping it in ``corpus_dir/.removed/``
    under a timestamped name (returned), so a removal can be undone by moving it back.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "rl.md").write_text("# RL")
    >>> kept = remove_guide(d, "rl.md")
    >>> kept.parent.name, kept.read_text(), (d / "rl.md").exists()
    ('.removed', '# RL', False)
    """
    corpus_dir = Path(corpus_dir)
    paths, _ = guide_files(corpus_dir)
    target = next((p for p in paths if p.name == name), None)
    if target is None:
        raise CorpusError(f"{name} is not a guide in {corpus_dir}: give a name `studyrag info` lists")
    try:
        return _keep_old(target, REMOVED, move=True)
    except OSError as e:
        raise CorpusError(f"could not move {name} out of {corpus_dir} ({e.strerror or e}): check that it is writable") from e


def _keep_old(target: Path, folder_name: str = REPLACED, *, move: bool = False) -> Path:
    """Copy (or ``move``) ``target`` to ``FOLDER/STEM.YYYYmmdd-HHMMSS[-N]SUFFIX`` beside it; return the new path."""
    folder = target.parent / folder_name
    folder.mkdir(exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    n = 0
    while (kept := folder / f"{target.stem}.{stamp}{f'-{n}' if n else ''}{target.suffix}").exists():
        n += 1
    if move:
        os.replace(target, kept)
    else:
        shutil.copy2(target, kept)
    return kept


def section_count(doc: Document) -> int:
    """Sections of ``doc`` that have text.

    >>> section_count(parse_document("# RL\\n\\n## DQN\\n\\nReplay.\\n\\n## PPO\\n", "rl.md"))
    1
    """
    return sum(1 for sec in doc.sections if sec.text.strip())


def describe_guide(doc: Document) -> str:
    """A guide in a few words, for messages about it.

    >>> describe_guide(parse_document("# RL\\n\\n## DQN\\n\\nReplay.\\n", "rl.md"))
    'rl.md: RL (1 section)'
    """
    n = section_count(doc)
    return f"{doc.source}: {doc.title} ({n} section{'' if n == 1 else 's'})"


def load_document(path: Path) -> Document:
    """Read one guide. Raises ``CorpusError`` (naming the file and why) for binary, empty or
    undecodable files, and for PDF, Word or HTML files it cannot read."""
    path = Path(path)
    return _document(path.read_bytes(), path.name)


def _document(raw: bytes, name: str) -> Document:
    """The guide named ``name`` whose file holds ``raw`` (see :func:`load_document`)."""
    sha256 = hashlib.sha256(raw).hexdigest()
    convert = _CONVERTERS.get(Path(name).suffix.lower())
    if convert is None:
        text, notes = decode_bytes(raw, name)
        return parse_document(text, name, sha256=sha256, notes=notes)
    if not raw.strip():
        raise CorpusError(f"{name} is empty: write some text in it or remove it from the corpus")
    converted = _converted(sha256, name, raw, convert)
    return parse_document(converted.markdown, name, sha256=sha256, notes=converted.notes, fallback_title=converted.title)


# Reading a PDF takes ~30 ms a page, and every rebuild reloads the whole corpus: a chat session or
# the study chat that refreshes its index would read an unchanged 300-page PDF again each time.
_CONVERTED: dict[tuple[str, str], Converted] = {}
_CONVERTED_MAX = 64


def _converted(sha256: str, name: str, raw: bytes, convert: Callable[[bytes, str], Converted]) -> Converted:
    """``convert(raw, name)``, remembered by content and name (the name is in its messages)."""
    key = (sha256, name)
    if key not in _CONVERTED:
        if len(_CONVERTED) >= _CONVERTED_MAX:
            _CONVERTED.pop(next(iter(_CONVERTED)))
        try:
            _CONVERTED[key] = convert(raw, name)
        except CorpusError:
            raise
        except Exception as e:  # a file no converter foresaw: skip it, not the whole corpus
            log.debug("converting %s failed", name, exc_info=True)
            raise CorpusError(
                f"{name} could not be converted ({type(e).__name__}: {e}): export it as text or Markdown, "
                "and please report the file"
            ) from e
    return _CONVERTED[key]


def decode_bytes(raw: bytes, name: str) -> tuple[str, list[str]]:
    """Bytes → text: UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252 when
    that gives clean text (older editors); anything else is no text file.

    >>> decode_bytes("caf\\u00e9".encode("cp1252"), "x.txt")
    ('café', ['decoded as cp1252 (not UTF-8)'])
    """
    if not raw.strip():
        raise CorpusError(f"{name} is empty: write some text in it or remove it from the corpus")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise CorpusError(f"{name} is not valid UTF-16 ({exc.reason}): save it as UTF-8") from None
        # binary data can start with these two bytes too; it then decodes to control characters
        if not _CONTROL.search(text):
            return text, ["decoded as UTF-16"]
    if b"\x00" in raw:
        raise CorpusError(
            f"{name} looks binary (it contains NUL bytes): keep only .md/.txt text guides (or .pdf/.docx/.html) in the corpus"
        )
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        utf8_error = f"byte 0x{raw[exc.start]:02x} at offset {exc.start} is not UTF-8"
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        text = None
    if text is None or _CONTROL.search(text):
        raise CorpusError(f"{name} cannot be decoded as text ({utf8_error}): save it as UTF-8")
    return text, ["decoded as cp1252 (not UTF-8)"]


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """YAML front matter (``---`` ... ``---`` at the very top) → (metadata, rest of the text).

    Text whose top block is not a YAML mapping is returned whole with empty metadata.

    >>> split_front_matter("---\\ntitle: \\"A / B\\"\\nlevels: [mid]\\n---\\n# Body\\n")
    ({'title': 'A / B', 'levels': ['mid']}, '# Body\\n')
    >>> split_front_matter("# No front matter\\n")
    ({}, '# No front matter\\n')
    """
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    try:
        meta = yaml.safe_load(m.group(1) or "")
    except yaml.YAMLError:
        return {}, text
    if not isinstance(meta, dict):
        return {}, text
    return _plain(meta), text[m.end() :].lstrip("\n")


def _plain(value: Any) -> Any:
    """YAML values → JSON-friendly ones (dates become ISO strings), so manifests can store them."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    return value


def parse_document(
    text: str,
    source: str,
    *,
    sha256: str = "",
    notes: list[str] | tuple[str, ...] = (),
    fallback_title: str = "",
) -> Document:
    """Decoded text of one file → ``Document`` (pure: no file access).

    Repairs mojibake, lifts the front matter into ``metadata``, picks the title (front matter
    ``title``, else the first ``#`` heading, else ``fallback_title``, a title the file's own
    metadata gave, else the file stem) and splits the body into
    sections: glossary topics when the text is a glossary (detected by content), else Markdown
    sections.
    """
    repaired, repair_notes = repair_text(text)
    meta, body = split_front_matter(repaired)
    if not body.strip():
        raise CorpusError(
            f"{source} has no text besides its front matter: add the guide's text or remove the file"
        )
    stem = Path(source).stem
    sections: tuple[Section, ...]
    if looks_like_glossary(body):
        glossary = parse_glossary(body)
        head = body[: glossary.topics[0].start] if glossary.topics else body
        title = _title(meta.get("title")) or first_heading(head) or fallback_title or stem
        sections = tuple(
            Section(path=(t.title,), text=body[t.start : t.end], start=t.start, end=t.end, kind="topic")
            for t in glossary.topics
        )
        meta = {**glossary.metadata, **meta, "format": "glossary"}
        declared = glossary.metadata.get("topics_declared")
        if declared is not None and declared != len(sections):
            log.warning("%s declares %d topics but %d were found", source, declared, len(sections))
        for line in glossary.unsplit[:_SHOWN_UNSPLIT]:
            log.warning("%s: could not tell title from definition in %r; indexed under its first words", source, line[:80])
        if len(glossary.unsplit) > _SHOWN_UNSPLIT:  # one line for the rest, not a screenful
            log.warning("%s: %d more items indexed under their first words", source, len(glossary.unsplit) - _SHOWN_UNSPLIT)
    else:
        tokens = parser().parse(body)
        title = _title(meta.get("title")) or first_heading(body, tokens=tokens) or fallback_title or stem
        sections = markdown_sections(body, title, tokens=tokens)
        meta = {**meta, "format": "markdown"}
    return Document(
        source=source,
        title=title,
        text=body,
        sections=sections,
        sha256=sha256,
        metadata=meta,
        repairs=(*notes, *repair_notes),
    )


def _title(value: Any) -> str:
    return clean_title(str(value)) if value is not None else ""

"""The shipped guides as PDFs (and as web pages), to measure retrieval over such guides against the
same gold set.

    python scripts/pdf_corpus.py /tmp/pdfc
    studyrag --corpus /tmp/pdfc/corpus --index-dir /tmp/pdfc/indexes \\
        eval --suite retrieval --eval-dir /tmp/pdfc/eval --out eval/reports/pdf-retrieval
    studyrag --corpus /tmp/pdfc/corpus-html --index-dir /tmp/pdfc/indexes-html \\
        eval --suite retrieval --eval-dir /tmp/pdfc/eval-html --out eval/reports/html-retrieval
    studyrag eval --suite answers --eval-dir /tmp/pdfc/eval-md --out eval/reports/md-answers-slice
    studyrag --corpus /tmp/pdfc/corpus --index-dir /tmp/pdfc/indexes \\
        eval --suite answers --eval-dir /tmp/pdfc/eval --out eval/reports/pdf-answers-slice

Each Markdown guide is rendered to HTML (the loader's repaired text, the project's Markdown parser)
and printed by headless Chromium, as a student would "print to PDF" from a browser: running header
(date, title) and footer (address, page "n/m") on, the document outline on. The glossary is a text
file and stays one. ``eval/retrieval.jsonl`` is copied with each ``.md`` source renamed ``.pdf``;
its snippets are matched as usual (case, spacing and ``*`` marks aside). The HTML pages themselves,
with the glossary, make ``corpus-html/`` and its gold set ``eval-html/`` (sources renamed ``.html``).
For the answers suite, ``eval/questions.jsonl`` gives a slice of 36 answerable questions whose
evidence is all in the Markdown guides (``SLICE``), written as ``.pdf`` and, to compare, ``.md``.

Needs Chromium (``apt-get install chromium``); ``--chromium`` names another binary.
"""

from __future__ import annotations

import argparse
import html
import json
import shutil
import subprocess
import sys
from pathlib import Path

from studyrag.config import project_root
from studyrag.loaders import load_document
from studyrag.structure import parser

# answerable questions per kind, taken in file order among those whose evidence is all in .md guides
SLICE = {"factual": 16, "paraphrase": 14, "multi_section": 3, "adversarial": 3}


def answer_slice(questions: list[dict]) -> list[dict]:
    """The answers-suite slice: per kind, the first ``SLICE[kind]`` answerable questions whose every
    evidence item is in a Markdown guide (so every one of them reads a converted guide)."""
    on_md = [
        q for q in questions
        if q.get("answerable") and q.get("evidence") and all(e["source"].endswith(".md") for e in q["evidence"])
    ]  # fmt: skip
    return [q for kind, n in SLICE.items() for q in [q for q in on_md if q["kind"] == kind][:n]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="folder to write corpus/ and eval/ into")
    ap.add_argument("--chromium", default="chromium", help="the Chromium binary (default: chromium)")
    args = ap.parse_args(argv)
    if shutil.which(args.chromium) is None:
        print(
            f"error: {args.chromium} not found: apt-get install chromium, or pass --chromium", file=sys.stderr
        )
        return 2
    root = project_root()
    corpus, evaldir, pages = args.out / "corpus", args.out / "eval", args.out / "corpus-html"
    for d in (corpus, evaldir, pages, args.out / "eval-html", args.out / "eval-md"):
        d.mkdir(parents=True, exist_ok=True)
    for guide in sorted((root / "corpus").iterdir()):
        if guide.suffix != ".md":
            shutil.copy(guide, corpus / guide.name)
            shutil.copy(guide, pages / guide.name)
            continue
        doc = load_document(guide)
        page = pages / f"{guide.stem}.html"
        page.write_text(
            f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(doc.title)}</title>"
            f"</head><body>{parser().render(doc.text)}</body></html>",
            encoding="utf-8",
        )
        pdf = corpus / f"{guide.stem}.pdf"
        subprocess.run(
            [
                args.chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--generate-pdf-document-outline",
                f"--print-to-pdf={pdf}",
                page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
        print(f"{pdf} ({pdf.stat().st_size:,} bytes)")
    gold = (root / "eval" / "retrieval.jsonl").read_text(encoding="utf-8")
    for folder, suffix in ((evaldir, ".pdf"), (args.out / "eval-html", ".html")):
        (folder / "retrieval.jsonl").write_text(gold.replace('.md"', f'{suffix}"'), encoding="utf-8")
        print(f"{folder / 'retrieval.jsonl'}: the gold set, sources renamed {suffix}")
    # answers: a slice whose evidence is all in the Markdown guides, as .pdf and as the .md baseline
    picked = answer_slice([json.loads(line) for line in (root / "eval" / "questions.jsonl").open(encoding="utf-8")])
    for folder, suffix in ((evaldir, ".pdf"), (args.out / "eval-md", ".md")):
        lines = [json.dumps(q, ensure_ascii=False).replace('.md"', f'{suffix}"') for q in picked]
        (folder / "questions.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        print(f"{folder / 'questions.jsonl'}: {len(picked)} answerable questions, sources {suffix}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

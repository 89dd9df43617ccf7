"""Loading guides: encoding repair, front matter, Markdown structure, glossary topics, bad files.

Unit tests on small hand-written strings first, then checks over the real corpus files.
"""

from __future__ import annotations

import doctest
import hashlib
import logging
import re
import unicodedata
from pathlib import Path

import pytest

from studyrag import glossary, loaders, pdf, repair, structure
from studyrag.errors import CorpusError
from studyrag.glossary import looks_like_glossary, split_topic
from studyrag.loaders import load_corpus, load_document, parse_document, repair_text, split_front_matter
from studyrag.repair import find_mojibake
from studyrag.structure import clean_title

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
TECHNIQUES = "modern-ml-ai-techniques-2024-2025.md"
OVERVIEW = "ai-ml-deep-learning-genai-overview.md"
GLOSSARY = "advanced-ai-glossary-248-topics.txt"
CLEAN = ("advanced-ai-knowledge-cheatsheet.md", "comprehensive-llm-study-guide.md", GLOSSARY)

# Sequences that only mojibake produces here: UTF-8 lead bytes read as cp1252 (â€ Ã ð Ÿ Â) or
# Mac Roman (‚Ä ‚Ü ‚â Ô¨ ¬ Œ √ó), U+F8FF (Mac Roman's 0xF0), lost bytes (U+FFFD, "ï¸").
# "√" alone is not among them: the repaired guide uses it for square roots.
MOJIBAKE_MARKERS = (
    "â€",
    "Ã",
    "ð",
    "Ÿ",
    "Â",
    "‚Ä",
    "‚Ü",
    "‚â",
    "Ô¨",
    "¬",
    "Œ",
    "√ó",
    "√©",
    "\uf8ff",
    "\ufffd",
    "ï¸",
)


def _pictographs(text: str) -> list[str]:
    return [ch for ch in text if unicodedata.category(ch) == "So" and ord(ch) >= 0x2190]


@pytest.fixture(scope="session")
def docs():
    return {d.source: d for d in load_corpus(CORPUS)}


@pytest.mark.parametrize("module", [loaders, repair, structure, glossary, pdf])
def test_docstring_examples_hold(module):
    assert doctest.testmod(module).failed == 0


# ------------------------------------------------------------------------- encoding repair
def test_mac_roman_mojibake_is_repaired():
    text, notes = repair_text("Optimal tokens ‚âà 20 √ó parameters\n70B ‚Üí ~1.4T\n# \uf8ffüöÄ Guide")
    assert text == "Optimal tokens ≈ 20 × parameters\n70B → ~1.4T\n# 🚀 Guide"
    assert notes == ["mac_roman mojibake repaired: 4 character(s) on 3 line(s)"]


def test_an_emoji_that_lost_its_lead_byte_is_restored():
    # Mac Roman shows F0 as U+F8FF (a private-use Apple logo) that copy/paste tends to drop.
    assert repair_text("# üöÄ Modern ML")[0] == "# 🚀 Modern ML"
    assert repair_text("Müller über Öl: Äpfel")[0] == "Müller über Öl: Äpfel"


def test_cp1252_mojibake_is_repaired_even_with_a_lost_byte():
    # 🛠️ is F0 9F 9B A0 EF B8 8F; cp1252 has no character for 8F, so that byte was dropped.
    text, notes = repair_text("## ðŸ’¡ Core Ideas\n## ðŸ›\xa0ï¸ Practice")
    assert text == "## 💡 Core Ideas\n## 🛠\ufe0f Practice"
    assert notes and notes[0].startswith("cp1252 mojibake repaired")


def test_clean_text_is_left_alone():
    clean = "Entropy H(X) = -Σ p log p — “quoted”, café, naïve, √(1-β), 3×3, I(X;Z) ≤ I(X;Y) 💡\n"
    assert repair_text(clean) == (clean, [])
    assert find_mojibake(clean) == {}


def test_line_endings_become_newlines():
    assert repair_text("a\r\nb\rc")[0] == "a\nb\nc"


# ----------------------------------------------------------------------- front matter, titles
def test_front_matter_is_metadata_not_text():
    doc = parse_document('---\ntitle: "A / B"\ndate: 2024-05-01\n---\n# Heading\n\nBody.\n', "x.md")
    assert doc.title == "A / B"
    assert doc.metadata["date"] == "2024-05-01"  # YAML dates become strings
    assert "title:" not in doc.text and doc.text.startswith("# Heading")


def test_a_top_block_that_is_not_yaml_mapping_stays_text():
    text = "---\njust a line\n---\n"
    assert split_front_matter(text) == ({}, text)


def test_title_falls_back_to_first_h1_then_file_stem():
    assert parse_document("```\n# not a title\n```\n\n# Real Title\n\nx\n", "a.md").title == "Real Title"
    assert parse_document("## Only h2\n\nx\n", "my-notes.md").title == "my-notes"


def test_display_titles_have_no_markdown_or_emoji():
    assert clean_title("**GPT-4 and GPT-4 Turbo** (OpenAI)") == "GPT-4 and GPT-4 Turbo (OpenAI)"
    assert clean_title("🚀  Next   Steps") == "Next Steps"
    assert clean_title("👁️ Vision [`ViT`](https://x.y) __paper__") == "Vision ViT paper"
    assert clean_title("👨‍💻 Code ≈ fast →") == "Code ≈ fast →"  # ZWJ sequence gone, math kept


# --------------------------------------------------------------------------- Markdown structure
SAMPLE = """# Guide

Intro text.

## Setup

```bash
# install the package
pip install studyrag
```

## Use

### Search

Type a query.

### Empty one

## Last
Text under a heading with no blank line.
"""


def test_sections_follow_headings_not_comments_in_code():
    doc = parse_document(SAMPLE, "g.md")
    paths = [s.path for s in doc.sections]
    assert paths == [("Guide",), ("Setup",), ("Use",), ("Use", "Search"), ("Use", "Empty one"), ("Last",)]
    setup = doc.sections[1]
    assert setup.text.startswith("```bash\n# install the package")
    assert [s.text for s in doc.sections if s.path == ("Use", "Empty one")] == [""]


def test_section_spans_point_into_the_document_text():
    doc = parse_document("---\ntitle: T\n---\n" + SAMPLE, "g.md")
    for s in doc.sections:
        assert doc.text[s.start : s.end] == s.text


def test_h1_is_kept_in_paths_when_it_is_not_the_title():
    doc = parse_document("---\ntitle: Course\n---\n# Week 1\n\n## LoRA\n\nAdapters.\n", "c.md")
    assert ("Week 1", "LoRA") in [s.path for s in doc.sections]


# ---------------------------------------------------------------------------------- glossary
@pytest.mark.parametrize(
    ("line", "title", "starts"),
    [
        ("- Particle FilterA particle filter approximates the posterior.", "Particle Filter", "A particle"),
        (
            "- Constitutional Classifiers++Constitutional Classifiers++ is a defense.",
            "Constitutional Classifiers++",
            "Constitutional Classifiers++ is",
        ),
        ("- minLSTMminLSTM is a simplified LSTM.", "minLSTM", "minLSTM is"),
        (
            "- IPO (Identity Preference Optimization)Replaces DPO's sigmoid objective.",
            "IPO (Identity Preference Optimization)",
            "Replaces",
        ),
        ("- SigLIPA contrastive image–text method.", "SigLIP", "A contrastive"),
        (
            "- GAN Family: WGAN, StyleGAN, BigGANThree milestones.",
            "GAN Family: WGAN, StyleGAN, BigGAN",
            "Three",
        ),
        ("- What is a jailbreak?In the context of LLMs, x.", "What is a jailbreak?", "In the context"),
        (
            "- Implicit Regularisation of SGDOver-parameterised networks generalise.",
            "Implicit Regularisation of SGD",
            "Over-",
        ),
    ],
)
def test_glossary_line_splits_title_from_definition(line, title, starts):
    got_title, definition = split_topic(line)
    assert got_title == title
    assert definition.startswith(starts)
    assert line == f"- {got_title}{definition}"


def test_glossary_is_detected_by_content_not_file_name(tmp_path):
    lines = [
        "- Logit LensLogit Lens maps hidden states to vocabulary.",
        "- GroundingGrounding ties answers to evidence.",
        "- Double DescentDouble descent is a test-error curve.",
        "- Top-k RoutingTop-k routing sends tokens to k experts.",
        "- Muon OptimizerMuon is an optimizer for matrices.",
    ]
    path = tmp_path / "my-terms.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    doc = load_document(path)
    assert [s.path for s in doc.sections] == [
        ("Logit Lens",),
        ("Grounding",),
        ("Double Descent",),
        ("Top-k Routing",),
        ("Muon Optimizer",),
    ]
    assert {s.kind for s in doc.sections} == {"topic"}
    assert doc.sections[0].text == "Logit Lens maps hidden states to vocabulary."


def test_glossary_text_outside_a_clean_item_line_is_kept(tmp_path, caplog):
    """A wrapped definition or an added note stays with its topic; an item without a findable title
    is indexed under its first words (with a warning), so nothing a user wrote is dropped."""
    lines = [
        "248 topic(s)",
        "- Logit LensLogit Lens maps hidden states to vocabulary.",
        "- GroundingGrounding ties answers to evidence.",
        "My own note: grounding matters for RAG.",
        "- Double DescentDouble descent is a test-error curve.",
        "- Top-k RoutingTop-k routing sends tokens to k experts.",
        "- just some words that name no topic",
    ]
    path = tmp_path / "terms.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with caplog.at_level("WARNING", logger="studyrag"):
        doc = load_document(path)
    grounding = next(s for s in doc.sections if s.path == ("Grounding",))
    assert grounding.text == "Grounding ties answers to evidence.\nMy own note: grounding matters for RAG."
    assert doc.sections[-1].path == ("just some words that name…",)
    assert doc.sections[-1].text == "just some words that name no topic"
    assert "just some words" in caplog.text
    indexed = "\n".join(s.text for s in doc.sections)
    assert all(line[-20:] in indexed for line in lines[1:])  # every line's words reach the index


def test_many_items_without_a_findable_title_warn_in_a_few_lines(tmp_path, caplog):
    lines = ["12 topic(s)"] + [f"- plain words number {i} with no title" for i in range(12)]
    (tmp_path / "terms.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with caplog.at_level("WARNING", logger="studyrag"):
        doc = load_document(tmp_path / "terms.txt")
    assert len(doc.sections) == 12  # every item indexed
    assert len(caplog.records) == 4 and "9 more items indexed under their first words" in caplog.text


def test_a_markdown_guide_pasted_below_a_glossary_header_is_read_as_markdown():
    glossary = "3 topic(s)\n- Logit LensLogit Lens maps states.\n- GroundingGrounding ties answers.\n"
    guide = "# Guide\n\n## Attention\n\nAttention mixes tokens.\nIt is quadratic.\n\n## MoE\n\nRouters pick experts.\n"
    assert looks_like_glossary(glossary)
    assert not looks_like_glossary(glossary + guide * 3)  # its headings and prose are not topics


def test_an_ordinary_markdown_list_is_not_a_glossary():
    assert not looks_like_glossary("# Notes\n\n- one\n- two\n- three\n- four\n- five\n- six\n")
    assert not looks_like_glossary(
        "- Entropy: H(X)\n- KL Divergence: KL(p||q)\n- Mutual Information: I(X;Y)\n- a\n- b\n"
    )


# ---------------------------------------------------------------------------------- bad files
def test_bad_files_are_skipped_with_a_warning_naming_them(tmp_path, caplog):
    (tmp_path / "good.md").write_text("# Good\n\nUseful text.\n", encoding="utf-8")
    (tmp_path / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.md").write_text("  \n\n", encoding="utf-8")
    (tmp_path / "garbled.txt").write_bytes(b"\x81\x8d\x8f\x90 not text")
    (tmp_path / "slides.pptx").write_bytes(b"PK\x03\x04")  # not a guide suffix: not read, and said so
    (tmp_path / "broken.pdf").write_bytes(b"%PDF")  # a guide suffix, but no PDF inside
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04")  # nor a Word document
    (tmp_path / "week2").mkdir()  # guides in subfolders are not read either
    (tmp_path / ".hidden.md").write_text("# Hidden\n\nNot a guide.\n", encoding="utf-8")
    skipped: dict[str, str] = {}
    with caplog.at_level(logging.WARNING, logger="studyrag"):
        docs = load_corpus(tmp_path, on_skip=lambda p, why: skipped.update({p.name: why}))
    assert [d.source for d in docs] == ["good.md"]
    assert set(skipped) == {"binary.md", "empty.txt", "blank.md", "garbled.txt", "broken.pdf", "broken.docx"}
    assert "not a readable PDF" in skipped["broken.pdf"]
    assert "not a readable Word document" in skipped["broken.docx"]
    assert "binary" in skipped["binary.md"] and "empty" in skipped["empty.txt"]
    assert "UTF-8" in skipped["garbled.txt"]
    for name in skipped:
        assert name in caplog.text
    assert "not reading slides.pptx, week2/ in" in caplog.text and "hidden" not in caplog.text


def test_utf16_text_loads_but_binary_data_behind_the_same_two_bytes_does_not(tmp_path):
    (tmp_path / "notes.md").write_bytes("# Notes\n\nLoRA trains adapters.\n".encode("utf-16"))  # with its BOM
    doc = load_document(tmp_path / "notes.md")
    assert doc.title == "Notes" and "LoRA trains adapters." in doc.text
    assert doc.repairs == ("decoded as UTF-16",)
    (tmp_path / "blob.md").write_bytes(b"\xff\xfe\x00\x00garbage\x00\x01\x02")
    with pytest.raises(CorpusError, match="blob.md looks binary"):
        load_document(tmp_path / "blob.md")


def test_a_windows_1252_file_still_loads(tmp_path):
    (tmp_path / "old.txt").write_bytes(
        "# Caf\xe9 notes\n\nNa\xefve Bayes \x96 a classifier.\n".encode("latin-1")
    )
    doc = load_document(tmp_path / "old.txt")
    assert doc.title == "Café notes" and "Naïve Bayes – a classifier." in doc.text
    assert doc.repairs == ("decoded as cp1252 (not UTF-8)",)


def test_missing_or_unusable_corpus_says_how_to_fix_it(tmp_path):
    with pytest.raises(CorpusError, match="STUDYRAG_CORPUS_DIR"):
        load_corpus(tmp_path / "nope")
    (tmp_path / "slides.pptx").write_bytes(b"PK")  # a folder with no guide in it says what it lacks
    with pytest.raises(CorpusError, match=r"no readable guide.*it has no \.md/\.markdown/\.txt/\.pdf/\.docx/\.html/\.htm file"):
        load_corpus(tmp_path)
    (tmp_path / "bad.md").write_bytes(b"\x00\x01")
    with pytest.raises(CorpusError, match=r"no readable guide.*bad\.md.*STUDYRAG_CORPUS_DIR"):
        load_corpus(tmp_path)


# ------------------------------------------------------------------------------- real corpus
def test_the_five_guides_load_with_their_titles(docs):
    assert {s: d.title for s, d in docs.items()} == {
        GLOSSARY: "advanced-ai-glossary-248-topics",
        "advanced-ai-knowledge-cheatsheet.md": "Advanced AI Knowledge - 4_26",
        OVERVIEW: "AI / ML / Deep Learning / GenAI",
        "comprehensive-llm-study-guide.md": "Comprehensive LLM Study Guide",
        TECHNIQUES: "Modern ML/AI Techniques (2024-2025)",
    }
    for d in docs.values():
        assert d.sha256 == hashlib.sha256((CORPUS / d.source).read_bytes()).hexdigest()


def test_the_mac_roman_guide_is_repaired_exactly(docs):
    raw = (CORPUS / TECHNIQUES).read_text(encoding="utf-8")
    doc = docs[TECHNIQUES]
    # The whole file round-trips through Mac Roman: that is the ground truth for every line.
    assert doc.text == raw.encode("mac_roman").decode("utf-8")
    assert "Optimal tokens ≈ 20 × parameters" in doc.text
    assert "70B parameter model → ~1.4T training tokens" in doc.text
    assert "I(X;Z)" not in doc.text and "≤" in doc.text and "√(1-βₜ)" in doc.text
    assert doc.text.startswith("# 🚀 Modern ML/AI Techniques")
    assert doc.repairs and "mac_roman" in doc.repairs[0]


def test_the_cp1252_guide_is_repaired(docs):
    doc = docs[OVERVIEW]
    for heading in (
        "## 💡 Core Ideas",
        "## 📚 Resources",
        "## 🛠\ufe0f Practice",
        "## 🗣\ufe0f Interview Questions",
    ):
        assert heading in doc.text
    assert doc.repairs and "cp1252" in doc.repairs[0]


def test_no_guide_keeps_any_mojibake(docs):
    for d in docs.values():
        assert find_mojibake(d.text) == {}, d.source
        found = [m for m in MOJIBAKE_MARKERS if m in d.text]
        assert found == [], (d.source, found)


def test_clean_guides_come_through_unchanged(docs):
    for name in CLEAN:
        assert docs[name].text == (CORPUS / name).read_text(encoding="utf-8")
        assert docs[name].repairs == ()


def test_front_matter_of_the_overview_is_metadata(docs):
    doc = docs[OVERVIEW]
    assert doc.metadata["category"] == "must"
    assert doc.metadata["levels"] == ["mid", "senior", "principal"]
    assert doc.text.startswith("# AI / ML / Deep Learning / GenAI") and "category: must" not in doc.text


def _atx_headings_outside_fences(text: str) -> list[str]:
    """An independent count: ATX heading lines, skipping fenced code."""
    out, fence = [], None
    for line in text.split("\n"):
        m = re.match(r" {0,3}(`{3,}|~{3,})", line)
        if m and (fence is None or m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence)):
            fence = None if fence else m.group(1)
            continue
        if fence is None and re.match(r" {0,3}#{1,6} ", line):
            out.append(line)
    return out


def test_comment_lines_in_code_are_not_headings(docs):
    doc = docs[TECHNIQUES]
    in_code = [ln for ln in doc.text.split("\n") if ln.startswith("# ")]
    assert len(in_code) > 30  # dozens of "# comment" lines (and the one real title)
    assert len(doc.sections) == len(_atx_headings_outside_fences(doc.text))
    titles = {t for s in doc.sections for t in s.path}
    for comment in ("Example instruction format", "Zero-shot CoT", "PyTorch 2.0+", "DeepSpeed config"):
        assert comment not in titles


def test_heading_paths_are_clean_and_nested(docs):
    paths = {s.path for s in docs[TECHNIQUES].sections}
    assert ("Mixture of Experts (MoE)", "Training Challenges") in paths
    assert (
        "Large Language Models (LLMs)",
        "Key Models (2024-2025)",
        "GPT-4 and GPT-4 Turbo (OpenAI)",
    ) in paths
    for d in docs.values():
        for s in d.sections:
            assert d.text[s.start : s.end] == s.text
            for part in s.path:
                assert part and part == " ".join(part.split())
                assert not re.search(r"\*\*|__|`|\]\(", part), part
                assert not _pictographs(part) and "\ufe0f" not in part and "\u200d" not in part, part
            if s.path != (d.title,):  # the guide title is carried by Chunk.title, not repeated
                assert s.path[0] != d.title


def test_glossary_yields_all_248_topics(docs):
    doc = docs[GLOSSARY]
    assert doc.metadata["topics_declared"] == 248 and doc.metadata["tag"] == "advanced"
    topics = [s for s in doc.sections if s.kind == "topic"]
    assert len(topics) == len(doc.sections) == 248
    titles = [s.title for s in topics]
    for expected in (
        "Particle Filter",
        "IPO (Identity Preference Optimization)",
        "minLSTM",
        "Constitutional Classifiers++",
        "Continuous Thought Machines (CTM)",
        "Multimodal Secure Alignment",
        "ZeRO (Zero Redundancy Optimizer)",
        "GAN Family: WGAN, StyleGAN, BigGAN",
        "What is a jailbreak in the context of LLMs?",
    ):
        assert expected in titles
    assert len(set(titles)) == 248


def test_no_glossary_topic_looks_wrongly_split(docs):
    doc = docs[GLOSSARY]
    lines = [ln for ln in doc.text.split("\n") if ln.startswith("- ")]
    for line, s in zip(lines, doc.sections, strict=True):
        title, definition = s.title, s.text
        assert line == f"- {title}{definition}"  # nothing lost or reordered
        assert 2 <= len(title) < 80 and title.count("(") == title.count(")"), title
        assert definition[0].isupper() or definition.startswith(title.split()[0]), (title, definition[:40])
        assert len(definition) > 60 and definition.endswith("."), title


def test_glossary_spans_exclude_the_header(docs):
    doc = docs[GLOSSARY]
    first = doc.sections[0]
    assert doc.text[: first.start].endswith("- Multimodal Secure Alignment")
    assert "248 topic(s)" not in "".join(s.text for s in doc.sections)

"""Questions beside a guide: read, attached to the chunk holding their anchor, read by BM25 only."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from studyrag.config import Settings, project_root
from studyrag.fakes import FakeEmbedder
from studyrag.loaders import guide_files
from studyrag.questions import GuideQuestion, attach, questions_file, read_questions
from studyrag.records import Chunk
from studyrag.retrieve import HybridRetriever
from studyrag.store import index_status, open_index

GUIDE = """# Privacy

## Federated Learning
Federated learning trains a shared model across many devices or institutions while the raw data
stays where it was collected; only model updates are sent to a central server, which averages
them into the next version of the model and sends it back. Each round repeats this exchange, so
the participants improve one model without ever showing each other their examples, at the cost of
more communication and of updates that differ from one participant to the next.

## Differential Privacy
Differential privacy adds calibrated noise so that no single record changes the output much. The
noise is scaled to how much one record could move the result, and a privacy budget, epsilon, says
how much each release may reveal; repeated releases spend the budget, so analysts plan queries
ahead and accept answers that are slightly less exact in exchange for a guarantee about everyone.

## Homomorphic Encryption
Homomorphic encryption lets a server compute on encrypted numbers and return an encrypted result
that only the key holder can read. Schemes that support both addition and multiplication are
called fully homomorphic; they are far slower than plain arithmetic, so practical systems use them
for small parts of a computation, such as summing model updates or scoring a query.
"""
ASKED = "How can several hospitals train one model together without pooling their private records?"


def _write(path: Path, rows: list[object]) -> None:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "privacy.md").write_text(GUIDE, encoding="utf-8")
    _write(questions_file(corpus / "privacy.md"), [{"question": ASKED, "anchor": "raw data stays where it was collected"}])
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "indexes", index_name="q")


def test_read_questions_skips_broken_lines_naming_them(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "g.md.questions.jsonl"
    _write(path, [{"question": "What is FL?", "anchor": "trains a shared"}, "not json", {"question": "no anchor"},
                  {"question": " ", "anchor": "x"}, "", {"question": "Why?", "anchor": "noise"}])
    with caplog.at_level(logging.WARNING, logger="studyrag"):
        got = read_questions(path)
    assert got == [GuideQuestion("What is FL?", "trains a shared"), GuideQuestion("Why?", "noise")]
    assert [r.getMessage().split(" ")[0] for r in caplog.records] == [f"{path}:{n}" for n in (2, 3, 4)]
    assert read_questions(tmp_path / "missing.jsonl") == []


def test_attach_finds_the_anchor_whatever_case_spaces_and_bold() -> None:
    a = Chunk("a", "g.md", ("FL",), "Federated learning trains a **shared**\n  model.", 0, 40)
    b = Chunk("b", "g.md", ("DP",), "Differential privacy adds noise.", 40, 72)
    other = Chunk("c", "h.md", ("FL",), "Federated learning trains a shared model.", 0, 40)
    qs = {"g.md": [GuideQuestion("Q1", "TRAINS A SHARED MODEL"), GuideQuestion("Q2", "adds noise"),
                   GuideQuestion("Q3", "a sentence since edited away")]}
    assert attach([a, b, other], qs) == ({"a": ("Q1",), "b": ("Q2",)}, 1)


def test_guide_questions_let_bm25_find_a_passage_in_the_students_words(settings: Settings) -> None:
    index = open_index(settings, FakeEmbedder(), progress=False)
    assert (index.stats.questions, index.stats.questions_lost) == (1, 0)
    fl = next(i for i, c in enumerate(index.chunks) if c.path[-1] == "Federated Learning")
    assert [h.index for h in index.bm25.search("hospitals pooling", 3)] == [fl]
    # only BM25 reads them: the chunk's text, shown to students and to the model, is the guide's
    assert "hospitals" not in index.chunks[fl].text
    # and their words are not the guides' own: a name only a question used stays unknown
    assert "hospit" in index.bm25.vocab and "hospit" not in index.vocabulary
    assert "feder" in index.vocabulary
    hits = HybridRetriever(index, FakeEmbedder(), settings).search(ASKED, k=1)
    assert hits[0].chunk.path[-1] == "Federated Learning" and hits[0].bm25_rank == 1
    again = open_index(settings, FakeEmbedder(), progress=False)  # loaded: it still says what it holds
    assert not again.stats.built and (again.stats.questions, again.stats.sentences) == (1, index.stats.sentences)
    assert "hospit" not in again.vocabulary
    # the question is embedded too, pointing at its chunk, so the gate can tell it was asked before
    assert again.filed_questions.chunks.tolist() == [fl] and index.stats.questions_embedded == 1
    retriever = HybridRetriever(again, FakeEmbedder(), settings)
    assert retriever.asked_before(ASKED) == pytest.approx(1.0)
    assert retriever.asked_before(ASKED, guides=["other.md"]) == 0.0  # kept to guides without questions
    assert retriever.asked_before("Which river flows through Paris?") < 0.3


def test_without_guide_questions_bm25_reads_the_guide_alone(settings: Settings) -> None:
    plain = Settings(**{**settings.as_dict(), "guide_questions": False})
    index = open_index(plain, FakeEmbedder(), progress=False)
    assert index.stats.questions == 0 and index.bm25.search("hospitals pooling", 3) == []
    assert not len(index.filed_questions.chunks) and HybridRetriever(index, FakeEmbedder(), plain).asked_before(ASKED) == 0
    assert index.manifest["fingerprint"]["lexical"]["text"] == "section+text"
    assert "feder" in index.vocabulary and "hospit" not in index.vocabulary


def test_editing_a_questions_file_rebuilds_bm25_without_re_embedding(settings: Settings) -> None:
    open_index(settings, FakeEmbedder(), progress=False)
    sidecar = questions_file(settings.corpus_dir / "privacy.md")
    assert index_status(settings, FakeEmbedder().id).state == "fresh"
    _write(sidecar, [{"question": "How can a released statistic hide each person?", "anchor": "calibrated noise"}])
    status = index_status(settings, FakeEmbedder().id)
    assert status.state == "stale" and status.reasons == ("corpus file changed: privacy.md.questions.jsonl",)
    index = open_index(settings, FakeEmbedder(), progress=False)
    assert index.stats.built and index.stats.embedded == 0 and index.stats.questions == 1
    assert index.stats.questions_embedded == 1  # the new question; the chunks' vectors are reused
    dp = next(i for i, c in enumerate(index.chunks) if c.path[-1] == "Differential Privacy")
    assert index.bm25.search("released statistic person", 1)[0].index == dp
    assert index.filed_questions.chunks.tolist() == [dp]
    again = open_index(settings, FakeEmbedder(), rebuild=True, progress=False)
    assert again.stats.questions_embedded == 0 and again.filed_questions.chunks.tolist() == [dp]


def test_a_filed_questions_vector_lifts_its_chunk_in_dense_retrieval(settings: Settings) -> None:
    from studyrag.store import chunk_sentences

    emb = FakeEmbedder()
    asked = emb.embed([ASKED])[0]
    settings = Settings(**{**settings.as_dict(), "question_vectors": True})
    index = open_index(settings, emb, progress=False)
    fl = next(i for i, c in enumerate(index.chunks) if c.path[-1] == "Federated Learning")
    n_sentences = index.stats.sentences
    assert index.dense.n_vectors == len(index.chunks) + n_sentences + 1
    top = index.dense.search(asked, 1)[0]
    assert top.index == fl and top.score == pytest.approx(1.0 - settings.sentence_margin, abs=1e-5)
    # the chunk's extra rows are its sentences, then its question: the bold sentence is still a sentence
    assert len(index.dense.extra_vectors(fl)) == len(chunk_sentences(index.chunks[fl])) + 1
    hits = HybridRetriever(index, emb, settings).search(ASKED, k=1)
    key = HybridRetriever(index, emb, settings).closest_sentences(ASKED, hits)
    assert key[hits[0].chunk.id] in chunk_sentences(index.chunks[fl])

    without = open_index(Settings(**{**settings.as_dict(), "question_vectors": False}), emb, progress=False)
    # rebuilt (the setting is in the fingerprint), every vector reused
    assert without.stats.built and without.stats.embedded == 0
    assert without.dense.n_vectors == len(without.chunks) + n_sentences
    assert without.dense.search(asked, 1)[0].score < 0.5
    assert len(without.filed_questions.chunks) == 1  # the gate still reads the questions


def test_a_question_like_a_filed_one_passes_the_gate_however_far_its_words_sit(settings: Settings) -> None:
    from studyrag.fakes import FakeGenerator
    from studyrag.pipeline import StudyRAG

    strict = Settings(**{**settings.as_dict(), "abstain_threshold": 0.99})  # every passage too far
    rag = StudyRAG.load(strict, embedder=FakeEmbedder(), generator=FakeGenerator(), progress=False)
    answer = rag.ask(ASKED)
    assert answer.abstain_reason != "no_close_passage" and answer.sources
    assert answer.sources[0].chunk.path[-1] == "Federated Learning"
    off = StudyRAG(Settings(**{**strict.as_dict(), "question_match": 2.0}), rag.index, rag.retriever.embedder,
                   generator=FakeGenerator())
    assert off.ask(ASKED).abstain_reason == "no_close_passage"
    # a question about nothing filed is still declined
    assert rag.ask("Which river flows through Paris?").abstain_reason == "no_close_passage"


def test_a_question_whose_anchor_is_gone_is_left_out_with_a_warning(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    guide = settings.corpus_dir / "privacy.md"
    guide.write_text(GUIDE.replace("stays where it was collected", "never leaves its owner"), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="studyrag"):
        index = open_index(settings, FakeEmbedder(), progress=False)
    assert (index.stats.questions, index.stats.questions_lost) == (0, 1)
    assert any("1 guide question(s) no longer match" in r.getMessage() for r in caplog.records)


def test_questions_files_are_not_reported_as_unread_guides(settings: Settings) -> None:
    assert guide_files(settings.corpus_dir) == ([settings.corpus_dir / "privacy.md"], [])


def test_shipped_questions_all_find_their_passage_and_no_gold_question() -> None:
    from studyrag import rerank_train

    corpus = project_root() / "corpus"
    guides, _ = guide_files(corpus)
    asked = {p.name: read_questions(questions_file(p)) for p in guides}
    assert sum(map(len, asked.values())) > 800
    every = rerank_train.gold_questions(project_root() / "eval")
    assert [q.question for qs in asked.values() for q in qs if rerank_train.is_near_duplicate(q.question, every)] == []
    index = project_root() / "indexes" / "default" / "manifest.json"
    if index.exists():  # built by `make ask` or any earlier test run
        stats = json.loads(index.read_text(encoding="utf-8"))["stats"]
        assert stats.get("questions_lost", 0) == 0


def test_adding_a_guide_brings_its_questions_and_keeps_the_ones_it_replaces(tmp_path: Path) -> None:
    from studyrag.loaders import add_guide

    src, corpus = tmp_path / "src", tmp_path / "corpus"
    src.mkdir(), corpus.mkdir()
    (src / "privacy.md").write_text(GUIDE, encoding="utf-8")
    _write(questions_file(src / "privacy.md"), [{"question": ASKED, "anchor": "raw data"}])
    _write(questions_file(corpus / "privacy.md"), [{"question": "Older?", "anchor": "raw data"}])
    assert add_guide(corpus, src / "privacy.md").status == "added"
    assert read_questions(questions_file(corpus / "privacy.md")) == [GuideQuestion(ASKED, "raw data")]
    kept = list((corpus / ".replaced").iterdir())
    assert [read_questions(p) for p in kept] == [[GuideQuestion("Older?", "raw data")]]
    assert add_guide(corpus, src / "privacy.md").status == "unchanged"

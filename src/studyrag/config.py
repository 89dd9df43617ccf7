"""The one ``Settings`` object. Only the edges (CLI, app, eval runner) build it.

Every field can be set from the environment as ``STUDYRAG_<FIELD>`` (``STUDYRAG_RERANK=false``)
or from a TOML file (``STUDYRAG_CONFIG=path.toml``, or ``studyrag.toml`` in the working directory),
with the environment winning. Relative folders in the TOML file are relative to the file. Settings are
recorded in every index manifest and evaluation report.

>>> Settings.from_env({"STUDYRAG_RERANK": "false", "STUDYRAG_SOURCES": "3"}).sources
3
>>> Settings.from_env({"STUDYRAG_RERANK": "no"}).rerank
False
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .fusion import FUSIONS

__all__ = ["Settings", "project_root"]


def project_root() -> Path:
    """The directory holding ``corpus/``: the checkout this package lives in, else the cwd."""
    here = Path(__file__).resolve().parents[2]
    return here if (here / "corpus").is_dir() else Path.cwd()


def _cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "studyrag"


@dataclass(frozen=True)
class Settings:
    # --- where things live
    corpus_dir: Path = dataclasses.field(default_factory=lambda: project_root() / "corpus")
    index_dir: Path = dataclasses.field(default_factory=lambda: project_root() / "indexes")
    index_name: str = "default"
    cache_dir: Path = dataclasses.field(default_factory=_cache_home)
    # --- models ("default" = the packaged offline model; else a local path or a hub id)
    embedder: str = "default"
    llm: str = "default"  # "default" (Qwen2.5-Coder-1.5B Q4_K_M), "small" (SmolLM2-135M), a path
    reranker: str = "default"
    # where the embedder runs: "cpu", "cuda", or "auto" (cuda when torch sees a GPU). "cpu" by
    # default: one query embeds in ~10 ms there, and only big index builds gain from a GPU
    embed_device: str = "cpu"
    # --- chunking (counted in embedder word pieces, heading path included)
    # 256, MiniLM's whole window: only sections longer than 200 split differently (404 chunks, not
    # 422). Pooled over the six gold sets fused R@5 / MRR@10 0.886 / 0.825 -> 0.892 / 0.831, with no
    # set lower; 128-224 scored lower (docs/results.md, "Chunk size")
    chunk_tokens: int = 256
    chunk_overlap: int = 32
    min_chunk_tokens: int = 48
    # --- retrieval
    faiss_index: str = "Flat"  # any faiss.index_factory string: "Flat", "HNSW32", "IVF256,Flat"
    # each sentence of a chunk gets a vector too, and a chunk scores its best vector: a question
    # about one sentence is not drowned by the rest of its chunk (eval/reports/sentences-retrieval)
    sentence_vectors: bool = True
    # a sentence must beat its chunk's own vector by this much to lift the chunk: short texts match
    # more tightly. 0.06 on eval/retrieval.jsonl: fused MRR@10 0.823 (0 gives 0.833, chunks alone 0.808)
    # and the MoE load-balancing answer keeps its source in the prompt (at 0 it drops to rank 6)
    sentence_margin: float = 0.06
    # "zscore" (each retriever's scores standardised over the index, then a weighted sum) or "rrf"
    # (reciprocal rank). eval/reports/zscore-retrieval: z-score MRR@10 0.838, R@5 0.873; RRF 0.823, 0.864
    fusion: str = "zscore"
    # BM25's weight against dense's 1.0 is bm25_weight x coverage when bm25_gate is on: coverage is
    # the share of the question's idf mass that BM25's best match (of its top 5) contains, so a
    # question that names its topic keeps BM25's vote and one that describes it in other words
    # leans on dense. Since the embedder adapter also learnt from questions that describe each
    # passage in other words (thirteenth session), dense needs less help: pooled over eval/, dev,
    # held-out and unseen (298 answerable questions), gated 1.2 gives R@5 / MRR@10 0.894 / 0.830
    # against 0.872 / 0.818 at the old 1.8. 0.6-1.0 score a little higher (0.899 / 0.837) but push
    # the MoE question's load-balancing chunks to rank 4; at 1.2 the first is at rank 3.
    # STUDYRAG_BM25_GATE=false STUDYRAG_BM25_WEIGHT=1.2 gives ungated fusion; for RRF, an ungated
    # 1.5 measured best (MRR@10 0.823, with the first adapter)
    bm25_weight: float = 1.2
    # BM25 also reads the questions a guide's ``<guide>.questions.jsonl`` asks about each passage
    # (questions.py): a student's own words find the passage that names the idea otherwise. With
    # the shipped guides' 829 agent-written questions, fused R@5 / MRR@10 on eval/ 0.901 / 0.874 ->
    # 0.928 / 0.896 (paraphrases 0.848 / 0.771 -> 0.893 / 0.856), and higher on all six other sets
    # (docs/results.md, "Questions beside the guides"; eval/reports/probes-37/bm25_doc2query.py)
    guide_questions: bool = True
    # true: their vectors also lift the chunk they ask about in dense retrieval, as its sentences' do
    # (each counts sentence_margin less than the chunk's own vector). Retrieval gains (pooled fused
    # R@5 / MRR@10 0.928 / 0.886 -> 0.936 / 0.901; eval/ 0.928 / 0.896 -> 0.917 / 0.897) but answers
    # do not: 4 more key facts of 454, and 3 unanswerable questions of 73 get invented answers over
    # the new sources (c38v-* against c38-*; docs/results.md, "Thirty-eighth session"), so it is off
    question_vectors: bool = False
    bm25_gate: bool = True
    dense_weight: float = 1.0
    rrf_k: int = 10  # RRF only: 10 measured best on MRR@10
    # "What is X?" (or "How does X work?") puts the chunks named X first (labels.py): a bold label
    # opening the chunk, a heading that spells an acronym out, or the top-level heading it sits
    # directly under (or under its Overview); a spelt-out name also finds its acronym's passages
    # ("mixture of experts": MoE). "What is LoRA?" found LoRA's definition 11th, under
    # chunks that only mention it. A comparison ("X vs Y") puts the best passage named each side
    # first. Only five gold top 10s move, all comparisons (eval/reports/probes-23/label_match.py;
    # probes-23/label_questions.py, probes-24/acronyms.py, probes-25/how_work.py and
    # probes-26/aliases.py ask about every label and heading)
    label_first: bool = True
    # a question word of five letters or more that the guides never use is read as their British or
    # American spelling, or, when it is no English word and BM25 does not know its search term, as
    # the guides' word one typing slip away ("atention") (spelling.py; probes-28/label_slips.py)
    respell: bool = True
    k: int = 10
    # before answering, the model writes a short textbook paragraph for the question, and the dense
    # query is the mean of the question's vector and the paragraph's (hyde.py); retrieval for
    # abstention and `studyrag search` use the question alone
    hyde: bool = False
    hyde_tokens: int = 60
    # --- reranking
    rerank: bool = False  # off until the reranker ablation shows a win (docs/reranker.md)
    rerank_candidates: int = 30
    # --- answering
    sources: int = 4  # sources put in the prompt, at most
    # ...and only those whose fused score is at least this share of the best one's (0 keeps all):
    # a distant fourth source costs prefill and lures the 1.5B model away from the right one.
    # eval/reports/ground-*: key facts unchanged on the 42 slice and dev, 0.667 -> 0.714 held-out,
    # median time to first token 1.5 s lower; 0.6 lost correctness (ratio6-42), and 5 sources at 0.5
    # lost citation precision (five-*)
    source_min_ratio: float = 0.5
    # each source's sentence closest to the question is set in **bold** in the prompt, so the 1.5B
    # model reads the answer from that line, not from a look-alike line of another source
    highlight: bool = True
    # true: every source after the first is cut to that sentence and one either side, the best one
    # read whole. The prompt is ~70 tokens (~1.4 s of prefill) shorter with the same share of answers
    # stating a key fact, but slightly lower correctness and fewer cited sentences over the full gold
    # set (eval/reports/excerpt-full against bold-full), so it is a setting for slow machines
    excerpts: bool = False
    # top dense cosine (adapted MiniLM); on eval/retrieval.jsonl 4/164 answerable and 13/24 unanswerable
    # questions fall below it (plain MiniLM at 0.3: 1/164 and 8/24)
    abstain_threshold: float = 0.27
    # ...unless the question's cosine with a question filed beside the guides (questions.py) is at
    # least this: it reads like one the guides' authors asked about a passage. Midway between the
    # weak unanswerable questions of eval/ and dev (at most 0.402) and six of their seven weak
    # answerable ones (0.506 and up); the other five sets then answer 5 of their 10 weak answerable
    # questions and none of their 24 weak unanswerable ones (eval/reports/probes-38/asked_before.py).
    # Only the guides' own question files count, so a user's guides without them are gated as before.
    # Above 1: off
    question_match: float = 0.45
    max_question_chars: int = 2000
    # --- generation
    backend: str = "llama"  # "llama" (llama-cpp-python) or "openai" (an OpenAI-compatible server)
    openai_base_url: str = ""
    openai_model: str = ""
    n_ctx: int = 4096
    n_threads: int = 0  # 0 = all cores
    n_gpu_layers: str = "auto"  # "auto" offloads everything when a GPU build is present, or an int
    temperature: float = 0.0
    max_tokens: int = 256
    seed: int = 0

    # ----------------------------------------------------------------------------------------
    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then the TOML file, then ``STUDYRAG_*`` variables, then ``overrides``."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        # where each value came from, so that a bad one is reported with the place to fix it
        fix: dict[str, str] = {}
        toml_path = env.get("STUDYRAG_CONFIG") or ("studyrag.toml" if Path("studyrag.toml").is_file() else "")
        if toml_path:
            try:
                values.update(tomllib.loads(Path(toml_path).read_text(encoding="utf-8")))
            except (OSError, tomllib.TOMLDecodeError) as e:
                raise ConfigError(f"cannot read settings file {toml_path}: {e}. Fix or remove it.") from e
            fix.update({k: f"fix {k} in {toml_path}" for k in values})
            # a folder written in the file is relative to the file, as in pyproject.toml, so that
            # STUDYRAG_CONFIG=~/notes/studyrag.toml works from any working directory
            for k in ("corpus_dir", "index_dir", "cache_dir"):
                if isinstance(values.get(k), str) and not Path(values[k]).expanduser().is_absolute():
                    values[k] = str(Path(toml_path).parent / values[k])
        names = {f.name for f in fields(cls)}
        for key, val in env.items():
            if key.startswith("STUDYRAG_") and key[9:].lower() in names:
                values[key[9:].lower()] = val
                fix[key[9:].lower()] = f"set {key} to a valid value"
        for k, v in overrides.items():
            if v is not None:
                values[k] = v
                fix[k] = f"pass a valid {k}"
        unknown = set(values) - names
        if unknown:
            where = f" (in {toml_path})" if toml_path and unknown & set(fix) == unknown else ""
            raise ConfigError(f"unknown setting(s) {sorted(unknown)}{where}; known: {sorted(names)}")
        return cls(**{k: _coerce(cls, k, v, fix[k]) for k, v in values.items()})

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(
            self, **{k: _coerce(type(self), k, v, f"pass a valid {k} to Settings.replace") for k, v in changes.items()}
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view, recorded in manifests and reports."""
        return {f.name: (str(v) if isinstance(v, Path) else v) for f in fields(self) for v in [getattr(self, f.name)]}


# settings that take one of a few words
_CHOICES = {"fusion": FUSIONS, "embed_device": ("cpu", "cuda", "auto")}
# numeric settings outside these bounds are mistakes (a negative weight, zero sources), refused
# with the variable to fix rather than turned into odd rankings; None leaves that side open
_RANGES: dict[str, tuple[float | None, float | None]] = {
    "chunk_tokens": (1, None),
    "chunk_overlap": (0, None),
    "min_chunk_tokens": (0, None),
    "bm25_weight": (0, None),
    "dense_weight": (0, None),
    "rrf_k": (0, None),
    "k": (1, None),
    "hyde_tokens": (1, None),
    "rerank_candidates": (1, None),
    "sources": (1, None),
    "source_min_ratio": (0, 1),
    "abstain_threshold": (-1, 1),
    "question_match": (-1, None),
    "max_question_chars": (1, None),
    "n_ctx": (1, None),
    "n_threads": (0, None),
    "temperature": (0, None),
    "max_tokens": (1, None),
}


def _check_range(name: str, value: float) -> None:
    """Raise ``ValueError`` when ``value`` is outside the setting's ``_RANGES`` bounds.

    >>> _check_range("sources", 0)
    Traceback (most recent call last):
    ...
    ValueError: must be at least 1
    """
    lo, hi = _RANGES.get(name, (None, None))
    if lo is not None and value < lo:
        raise ValueError(f"must be at least {lo}")
    if hi is not None and value > hi:
        raise ValueError(f"must be at most {hi}")


def _coerce(cls: type, name: str, value: Any, fix: str = "") -> Any:
    """``value`` as the type of the setting's default; ``fix`` says where to correct a bad one.

    >>> _coerce(Settings, "fusion", "RRF")
    'rrf'
    >>> _coerce(Settings, "k", "7.5", "set STUDYRAG_K to a valid value")
    Traceback (most recent call last):
    ...
    studyrag.errors.ConfigError: setting k='7.5' is invalid (not a whole number); set STUDYRAG_K to a valid value
    """
    fix = fix or f"set STUDYRAG_{name.upper()} to a valid value"
    default = getattr(cls(), name) if name not in ("corpus_dir", "index_dir", "cache_dir") else Path()
    try:
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            s = str(value).strip().lower()
            if s in ("1", "true", "yes", "on"):
                return True
            if s in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"expected true/false, got {value!r}")
        if isinstance(default, Path):
            if not str(value).strip():  # Path("") is the working directory: never what was meant
                raise ValueError("empty: give a folder")
            return Path(value).expanduser()
        if isinstance(default, (int, float)):  # bool was handled above
            return _number(name, value, type(default))
        if name == "index_name":
            return _folder_name(str(value))
        if name in ("embedder", "llm", "reranker") and not str(value).strip():
            raise ValueError("empty: use 'default', or a model's path")
        if name in _CHOICES:
            word = str(value).strip().lower()
            if word not in _CHOICES[name]:
                raise ValueError(f"choose one of {', '.join(_CHOICES[name])}")
            return word
        return str(value)
    except ValueError as e:
        raise ConfigError(f"setting {name}={value!r} is invalid ({e}); {fix}") from e


def _number(name: str, value: Any, kind: type) -> int | float:
    """A numeric setting from text or TOML: finite, whole where the setting is an int, in range.

    >>> _number("bm25_weight", "0.5", float), _number("k", 5.0, int)
    (0.5, 5)
    >>> _number("bm25_weight", "inf", float)
    Traceback (most recent call last):
    ...
    ValueError: not a finite number
    """
    if isinstance(value, bool):  # TOML `k = true` is a mistake, not 1
        raise ValueError("expected a number, not true/false")
    if isinstance(value, int) or (kind is int and isinstance(value, str) and value.strip().lstrip("+-").isdigit()):
        number: int | float = kind(int(value))  # exact, however many digits (a seed)
    else:
        try:
            real = float(value)
        except (TypeError, ValueError):
            raise ValueError("not a number") from None
        if not math.isfinite(real):
            raise ValueError("not a finite number")
        if kind is int and not real.is_integer():
            raise ValueError("not a whole number")
        number = kind(real)
    _check_range(name, number)
    return number


def _folder_name(name: str) -> str:
    """``index_name`` is one folder inside ``index_dir``: no path, and no leading dot, which the
    store keeps for its temporary build folders and locks.

    >>> _folder_name("physics")
    'physics'
    >>> _folder_name("../etc")
    Traceback (most recent call last):
    ...
    ValueError: must be a plain folder name (letters, digits, '-', '_'), not a path
    """
    if not name or name.startswith(".") or "/" in name or "\\" in name or "\0" in name:
        raise ValueError("must be a plain folder name (letters, digits, '-', '_'), not a path")
    return name

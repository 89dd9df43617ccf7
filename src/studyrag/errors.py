"""One exception tree. Every message says what went wrong *and* how to fix it.

The library raises these; only the CLI and the app turn them into user-facing messages
and exit codes (see ``cli.py``).

>>> try:
...     raise ModelNotFoundError("no GGUF at /x.gguf: set STUDYRAG_LLM to a file that exists")
... except StudyRagError as e:
...     print(e.exit_code)
3
"""

from __future__ import annotations

__all__ = [
    "StudyRagError",
    "ConfigError",
    "CorpusError",
    "IndexError_",
    "StaleIndexError",
    "ModelNotFoundError",
    "ModelCorruptError",
    "BadQuestionError",
    "GenerationError",
]


class StudyRagError(Exception):
    """Base of every StudyRAG error. ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class ConfigError(StudyRagError):
    """A setting is malformed (bad value in the environment or the TOML file)."""

    exit_code = 2


class BadQuestionError(StudyRagError):
    """The question is empty, too long, or not text."""

    exit_code = 2


class CorpusError(StudyRagError):
    """The corpus directory is missing, empty, or holds no readable guide."""

    exit_code = 4


class ModelNotFoundError(StudyRagError):
    """A model (embedder, generator, reranker) cannot be found where the settings point."""

    exit_code = 3


class ModelCorruptError(StudyRagError):
    """A model file exists but is damaged (wrong size or checksum, unreadable)."""

    exit_code = 3


class IndexError_(StudyRagError):  # noqa: N801, N818 - avoid shadowing the builtin IndexError
    """An index directory is missing, half-written or unreadable."""

    exit_code = 5


class StaleIndexError(IndexError_):
    """The index was built from another corpus, chunker setting or embedder."""


class GenerationError(StudyRagError):
    """The language model failed while answering (backend down, context overflow...)."""

    exit_code = 6

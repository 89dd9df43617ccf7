"""StudyRAG: a local, offline question-answering assistant over study guides."""

from __future__ import annotations

from .config import Settings
from .errors import (
    BadQuestionError,
    ConfigError,
    CorpusError,
    GenerationError,
    IndexError_,
    ModelCorruptError,
    ModelNotFoundError,
    StaleIndexError,
    StudyRagError,
)
from .records import Answer, Chunk, Citation, Document, Hit, Section, TokenEvent

__version__ = "0.1.0"

__all__ = [
    "StudyRAG",
    "Settings",
    "Answer",
    "Chunk",
    "Citation",
    "Document",
    "Hit",
    "Section",
    "TokenEvent",
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


def __getattr__(name: str):  # lazy: importing studyrag must not load torch or llama.cpp
    if name == "StudyRAG":
        from .pipeline import StudyRAG

        return StudyRAG
    raise AttributeError(name)

"""A tiny real BERT for tests that train or load models: 2 layers, 32 wide, with the packaged MiniLM
tokenizer, so the real tokenization, loading, training and scoring code runs in seconds."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def save_tiny_bert(folder: Path, model_class: Any, **config: Any) -> Path:
    """Save a seeded ``model_class`` (e.g. ``BertModel``) of the tiny config, and its tokenizer, to ``folder``."""
    import torch
    from transformers import AutoTokenizer, BertConfig

    from studyrag.models import resolve_embedder

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(resolve_embedder("minilm"))
    bert = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        **config,
    )
    model_class(bert).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder

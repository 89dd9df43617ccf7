"""Adapt the embedder to the guides: low-rank (LoRA) weight deltas trained on synthetic questions.

all-MiniLM-L6-v2 learnt its notion of similarity from web pairs; on the study guides it ranks a
chunk low when a question describes the idea in everyday words. Fine-tuning it on questions that
the local LLM and templates wrote for every chunk of the guides (``eval/rerank_train.jsonl``; no
evaluation question is in it) teaches it the corpus's vocabulary, InPars/GPL style.

A full fine-tune rewrites 90 MB of weights. Here every linear layer of the encoder gets a trainable
rank-``r`` delta ``W + (alpha / r) · B @ A`` instead, so the result is ~1.3 MB: small enough to
ship inside the package (``studyrag/data/minilm-lora.safetensors``). On first use
``models.resolve_embedder("default")`` adds the deltas to the packaged base model once and keeps the
merged model in the cache, so searching costs exactly what the base model costs.

Train (about 12 minutes on a 2-core CPU)::

    python -m studyrag.embed_tune            # → src/studyrag/data/minilm-lora.safetensors
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .locking import exclusive, staged_dir
from .rerank_train import TrainingQuery, load_training_set, sha256_file

if TYPE_CHECKING:
    import torch

__all__ = [
    "ADAPTER_FILE",
    "AdapterRecipe",
    "adapter_info",
    "batches",
    "merge_adapter",
    "save_adapter",
    "train_adapter",
]

log = logging.getLogger(__name__)

ADAPTER_FILE = Path(__file__).parent / "data" / "minilm-lora.safetensors"
# the linear layers of a BERT block that get a delta (names inside ``encoder.layer.N``)
TARGETS = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)


@dataclass(frozen=True)
class AdapterRecipe:
    """Everything that decides the trained deltas (stored in the adapter file's metadata)."""

    rank: int = 8
    alpha: float = 16.0
    epochs: int = 1
    batch: int = 32  # queries per step; every other query's passages are its in-batch negatives
    lr: float = 1e-3  # LoRA deltas start at zero and need a higher rate than full fine-tuning
    warmup: float = 0.1
    scale: float = 20.0  # cosine → logit (sentence-transformers' MultipleNegativesRankingLoss default)
    max_length: int = 256  # what all-MiniLM-L6-v2 reads
    seed: int = 0
    origins: str = ""  # only these query origins, comma-separated; "" = all


def batches(queries: Sequence[TrainingQuery], recipe: AdapterRecipe) -> Iterator[list[tuple[str, str, str]]]:
    """Seeded (query, positive, hard negative) batches in which no positive passage repeats.

    A repeated positive would be a false in-batch negative for the other query that shares it.

    >>> q = [TrainingQuery(f"q{i}", "t", f"p{i % 2}", ("n",)) for i in range(3)]
    >>> [[t[:2] for t in b] for b in batches(q, AdapterRecipe(batch=3))]
    [[('q0', 'p0'), ('q1', 'p1')], [('q2', 'p0')]]
    """
    rng = random.Random(recipe.seed)
    for _ in range(recipe.epochs):
        order = list(range(len(queries)))
        rng.shuffle(order)
        pending = [queries[i] for i in order]
        while pending:
            batch: list[tuple[str, str, str]] = []
            seen: set[str] = set()
            later: list[TrainingQuery] = []
            for q in pending:
                if len(batch) < recipe.batch and q.positive not in seen:
                    seen.add(q.positive)
                    batch.append((q.query, q.positive, rng.choice(q.negatives)))
                else:
                    later.append(q)
            pending = later
            yield batch


# ---------------------------------------------------------------------------------- LoRA layers
def _lora_layers(model: Any) -> dict[str, Any]:
    """``{name: nn.Linear}`` for every targeted linear layer of a sentence-transformers BERT."""
    encoder = model[0].auto_model.encoder
    return {
        f"encoder.layer.{i}.{t}": layer.get_submodule(t)
        for i, layer in enumerate(encoder.layer)
        for t in TARGETS
    }


def _attach(model: Any, recipe: AdapterRecipe) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Freeze ``model`` and give each target layer a trainable delta; returns ``{name: (A, B)}``."""
    import torch

    for p in model.parameters():
        p.requires_grad_(False)
    deltas = {}
    gen = torch.Generator().manual_seed(recipe.seed)
    scaling = recipe.alpha / recipe.rank
    for name, linear in _lora_layers(model).items():
        a = torch.empty(recipe.rank, linear.in_features)
        torch.nn.init.kaiming_uniform_(a, a=math.sqrt(5), generator=gen)
        b = torch.zeros(linear.out_features, recipe.rank)  # zero: training starts from the base model
        a.requires_grad_(True)
        b.requires_grad_(True)
        deltas[name] = (a, b)

        def hook(module: Any, args: tuple, output: torch.Tensor, a: Any = a, b: Any = b) -> torch.Tensor:
            return output + (args[0] @ a.T @ b.T) * scaling

        linear.register_forward_hook(hook)
    return deltas


def train_adapter(
    data: Path, out_file: Path, recipe: AdapterRecipe = AdapterRecipe(), *, base: str, progress: bool = True
) -> Path:
    """Train deltas for the sentence-transformers model at ``base`` on ``data``; save to ``out_file``."""
    import torch
    from sentence_transformers import SentenceTransformer
    from tqdm import tqdm

    from .dense import embedder_id

    queries = load_training_set(data)
    if recipe.origins:
        wanted = {o.strip() for o in recipe.origins.split(",") if o.strip()}
        queries = [q for q in queries if q.origin in wanted]
    if not queries:
        raise ValueError(f"no training query in {data} for origins {recipe.origins!r}")
    torch.manual_seed(recipe.seed)
    model = SentenceTransformer(base, device="cpu")
    model.max_seq_length = recipe.max_length
    deltas = _attach(model, recipe)
    params = [t for pair in deltas.values() for t in pair]
    plan = list(batches(queries, recipe))
    opt = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=0.0)
    warm = max(1, int(recipe.warmup * len(plan)))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (len(plan) - s) / max(1, len(plan) - warm)))
    )

    tokenize = getattr(model, "preprocess", None) or model.tokenize  # renamed in sentence-transformers 6

    def embed(texts: list[str]) -> torch.Tensor:
        out = model(tokenize(texts))["sentence_embedding"]
        return torch.nn.functional.normalize(out, dim=-1)

    model.train()
    t0 = time.perf_counter()
    losses: list[float] = []
    bar = tqdm(plan, desc="tuning embedder", unit="step", disable=not progress)
    for batch in bar:
        q = embed([b[0] for b in batch])
        # passages: the positives, then one hard negative per query; row i's answer is column i
        p = embed([b[1] for b in batch] + [b[2] for b in batch])
        loss = torch.nn.functional.cross_entropy(q @ p.T * recipe.scale, torch.arange(len(batch)))
        loss.backward()
        opt.step()
        sched.step()
        opt.zero_grad()
        losses.append(float(loss.detach()))
        bar.set_postfix(loss=f"{sum(losses[-10:]) / len(losses[-10:]):.3f}")
    meta = {
        "base": embedder_id(base),
        "recipe": asdict(recipe),
        "data": Path(data).name,
        "data_sha256": sha256_file(data),
        "queries": len(queries),
        "steps": len(plan),
        "final_loss": round(sum(losses[-10:]) / max(1, len(losses[-10:])), 4),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return save_adapter(deltas, meta, out_file)


def save_adapter(
    deltas: dict[str, tuple[torch.Tensor, torch.Tensor]], meta: dict[str, Any], out_file: Path
) -> Path:
    """Write ``{layer name: (A, B)}`` and ``meta`` (must hold ``recipe``) as one safetensors file."""
    from safetensors.torch import save_file

    tensors = {}
    for name, (a, b) in deltas.items():
        tensors[f"{name}.lora_A"] = a.detach().contiguous()
        tensors[f"{name}.lora_B"] = b.detach().contiguous()
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out_file), metadata={"studyrag": json.dumps(meta)})
    return out_file


# ---------------------------------------------------------------------------------- merging
def adapter_info(adapter: Path) -> dict[str, Any]:
    """The metadata stored with an adapter: base embedder id, recipe, training-data hash, loss."""
    from safetensors import safe_open

    with safe_open(str(adapter), framework="pt") as f:
        return json.loads((f.metadata() or {}).get("studyrag", "{}"))


def merge_adapter(base: str, adapter: Path, out_dir: Path) -> Path:
    """Write ``base`` with the adapter's deltas added to its weights to ``out_dir`` (atomically).

    The merged model is an ordinary sentence-transformers folder: it loads and runs exactly like
    the base model, at the same speed.
    """
    import torch
    from safetensors.torch import load_file
    from sentence_transformers import SentenceTransformer

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(out_dir.parent / f".{out_dir.name}.lock"):
        if out_dir.is_dir():  # another process merged it while we waited for the lock
            return out_dir
        info = adapter_info(adapter)
        recipe = info.get("recipe", {})
        scaling = float(recipe.get("alpha", 16.0)) / float(recipe.get("rank", 8))
        tensors = load_file(str(adapter))
        model = SentenceTransformer(base, device="cpu")
        layers = _lora_layers(model)
        names = {k.rsplit(".", 1)[0] for k in tensors}
        if names != set(layers):
            raise ValueError(
                f"{adapter} does not fit {base}: it adapts {len(names)} layers, the model has {len(layers)}"
            )
        with torch.no_grad():
            for name, linear in layers.items():
                linear.weight += (tensors[f"{name}.lora_B"] @ tensors[f"{name}.lora_A"]) * scaling
        with staged_dir(out_dir) as tmp:
            model.save(str(tmp))
            (tmp / "studyrag-adapter.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return out_dir


def main(argv: Sequence[str] | None = None) -> int:
    from .config import project_root
    from .models import resolve_embedder

    p = argparse.ArgumentParser(prog="python -m studyrag.embed_tune", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=project_root() / "eval" / "rerank_train.jsonl")
    p.add_argument("--out", type=Path, default=ADAPTER_FILE, help=f"adapter file (default: {ADAPTER_FILE})")
    p.add_argument("--base", default="minilm", help="embedder to adapt (default: the packaged MiniLM)")
    for f in ("rank", "epochs", "batch", "seed"):
        p.add_argument(f"--{f}", type=int, default=getattr(AdapterRecipe(), f))
    p.add_argument("--lr", type=float, default=AdapterRecipe().lr)
    p.add_argument("--alpha", type=float, default=AdapterRecipe().alpha)
    p.add_argument("--origins", default="", help="only these query origins (llm-direct, template, ...)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    recipe = AdapterRecipe(
        rank=args.rank,
        alpha=args.alpha,
        epochs=args.epochs,
        batch=args.batch,
        lr=args.lr,
        seed=args.seed,
        origins=args.origins,
    )
    path = train_adapter(args.data, args.out, recipe, base=resolve_embedder(args.base))
    print(path, json.dumps(adapter_info(path)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

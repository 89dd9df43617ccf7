"""Train StudyRAG's default reranker: the packaged MiniLM encoder turned into a cross-encoder and
adapted to the guides on the committed synthetic training set ``eval/rerank_train.jsonl``.

No package ships cross-encoder weights, so the default is made here, reproducibly, in one command::

    python -m studyrag.rerank_train          # → <cache_dir>/models/studyrag-reranker-minilm/

Recipe (see docs/reranker.md for how it was chosen): the all-MiniLM-L6-v2 weights with a new
one-logit head, one epoch over the training queries; every step shows the model a query with its
positive chunk and a few hard negatives (mined by the hybrid retriever) and minimises the softmax
cross-entropy of the positive among them (localized contrastive estimation). A stamp file records
the training-data hash, seed and recipe; a model whose stamp does not match is retrained.

Training questions never come from the evaluation sets: ``scripts/make_rerank_data.py`` drops any
near-duplicate of an evaluation question (``is_near_duplicate``), and a test checks the committed set.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import random
import re
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ModelNotFoundError
from .locking import exclusive, staged_dir

if TYPE_CHECKING:
    from .config import Settings

__all__ = [
    "DEFAULT_TRAIN_FILE",
    "MODEL_NAME",
    "Recipe",
    "TrainingQuery",
    "default_model_dir",
    "ensure_default_reranker",
    "eval_questions",
    "gold_questions",
    "is_near_duplicate",
    "load_training_set",
    "normalize_question",
    "train",
]

log = logging.getLogger(__name__)

DEFAULT_TRAIN_FILE = "eval/rerank_train.jsonl"
MODEL_NAME = "studyrag-reranker-minilm"
STAMP = "studyrag-reranker.json"
EVAL_FILES = ("retrieval.jsonl", "questions.jsonl")
NEAR_DUPLICATE_JACCARD = 0.6
_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the trained weights (recorded in the stamp)."""

    seed: int = 0
    epochs: int = 1
    negatives: int = 3  # hard negatives per query and step (group = 1 positive + these)
    queries_per_step: int = 4  # 4 queries × 4 passages = batches of 16 pairs
    max_length: int = 192
    lr: float = 2e-4  # high for BERT fine-tuning, on purpose: see ``train``
    head_lr: float = 2e-3
    dropout: float = 0.0  # dropout noise drowns the small early score differences: off
    warmup: float = 0.1
    layers: int = 6  # encoder layers kept from MiniLM-L6 (fewer = faster, see docs/reranker.md)
    headings: bool = True  # score heading path + text (``Chunk.embed_text``), as the pipeline does
    origins: str = ""  # train only on these query origins, comma-separated ("llm-direct,..."); "" = all
    version: int = 1  # bump when the training code changes what it produces


# ---------------------------------------------------------------------------------- questions
def normalize_question(text: str) -> str:
    """Lower-case word tokens joined by one space.

    >>> normalize_question("  What is **LoRA**?? ")
    'what is lora'
    """
    return " ".join(_TOKEN.findall(text.lower()))


def is_near_duplicate(
    question: str, others: Iterable[str], threshold: float = NEAR_DUPLICATE_JACCARD
) -> bool:
    """True when ``question`` equals one of ``others`` after normalizing, or shares at least
    ``threshold`` of their joint word set (Jaccard).

    >>> is_near_duplicate("What is LoRA?", ["what is LoRA used for"])
    True
    >>> is_near_duplicate("How does LoRA freeze weights?", ["What is PagedAttention?"])
    False
    """
    a = set(normalize_question(question).split())
    for other in others:
        b = set(normalize_question(other).split())
        if a == b or (a | b and len(a & b) / len(a | b) >= threshold):
            return True
    return False


def eval_questions(eval_dir: Path) -> list[str]:
    """Every evaluation question (and every turn and standalone rewrite) in ``eval_dir``."""
    out: list[str] = []
    for name in EVAL_FILES:
        path = Path(eval_dir) / name
        if not path.exists():
            continue
        for line in path.open(encoding="utf-8"):
            if not line.strip():
                continue
            row = json.loads(line)
            out.append(row["question"])
            out += [t["question"] for t in row.get("turns", []) if isinstance(t, dict) and t.get("question")]
            if row.get("standalone"):
                out.append(row["standalone"])
    return out


def gold_questions(eval_root: Path) -> list[str]:
    """:func:`eval_questions` of ``eval_root`` and of every folder under it holding a gold set
    (``eval/dev``, ``eval/heldout``, ...): what synthetic training questions must not repeat."""
    dirs = [eval_root, *sorted(d for d in Path(eval_root).iterdir() if (d / "questions.jsonl").exists())]
    return [q for d in dirs for q in eval_questions(d)]


# ---------------------------------------------------------------------------------- data
@dataclass(frozen=True)
class TrainingQuery:
    """A synthetic query with the text of its positive chunk and of its mined hard negatives."""

    query: str
    origin: str  # "llm-direct", "llm-paraphrase", "template", "keywords"
    positive: str
    negatives: tuple[str, ...]


def _passage_text(rec: dict, headings: bool) -> str:
    # the same string Chunk.embed_text makes: "<title> › <path...>\n<text>"
    head = " › ".join(p for p in (rec.get("title", ""), *rec.get("path", [])) if p)
    return f"{head}\n{rec['text']}" if headings and head else rec["text"]


def load_training_set(path: Path, *, headings: bool = True) -> list[TrainingQuery]:
    """Read ``rerank_train.jsonl``: passage records, then query records naming passages by ``pid``."""
    passages: dict[str, str] = {}
    out: list[TrainingQuery] = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec["type"] == "passage":
                passages[rec["pid"]] = _passage_text(rec, headings)
            elif rec["type"] == "query":
                try:
                    pos = passages[rec["pos"]]
                    negs = tuple(passages[p] for p in rec["negs"])
                except KeyError as e:
                    raise ValueError(f"{path}:{n}: query names unknown passage {e}") from e
                if negs:
                    out.append(TrainingQuery(rec["query"], rec.get("origin", ""), pos, negs))
    if not out:
        raise ValueError(f"{path} holds no training query: rebuild it with scripts/make_rerank_data.py build")
    return out


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def steps(queries: Sequence[TrainingQuery], recipe: Recipe) -> Iterator[list[tuple[str, list[str]]]]:
    """Training steps in a seeded order: ``queries_per_step`` (query, [positive, negatives...]) groups.

    >>> q = [TrainingQuery(f"q{i}", "t", f"p{i}", ("n1", "n2", "n3", "n4")) for i in range(3)]
    >>> [[(g[0], len(g[1])) for g in s] for s in steps(q, Recipe(queries_per_step=2, negatives=2))]
    [[('q0', 3), ('q2', 3)], [('q1', 3)]]
    """
    rng = random.Random(recipe.seed)
    for _ in range(recipe.epochs):
        order = list(range(len(queries)))
        rng.shuffle(order)
        for i in range(0, len(order), recipe.queries_per_step):
            batch = []
            for j in order[i : i + recipe.queries_per_step]:
                q = queries[j]
                negs = rng.sample(q.negatives, min(recipe.negatives, len(q.negatives)))
                batch.append((q.query, [q.positive, *negs]))
            yield batch


# ---------------------------------------------------------------------------------- training
def train(
    data: Path, out_dir: Path, recipe: Recipe = Recipe(), *, base: str | None = None, progress: bool = True
) -> Path:
    """Train a cross-encoder on ``data`` and save it (HF folder + stamp) to ``out_dir``; return it."""
    import torch
    from tqdm import tqdm
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        get_linear_schedule_with_warmup,
    )
    from transformers.utils import logging as hf_logging

    from .models import resolve_embedder

    base = base or resolve_embedder("minilm")  # the reranker starts from the plain encoder
    queries = load_training_set(data, headings=recipe.headings)
    if recipe.origins:
        wanted = {o.strip() for o in recipe.origins.split(",") if o.strip()}
        queries = [q for q in queries if q.origin in wanted]
        if not queries:
            raise ValueError(f"no training query has an origin in {sorted(wanted)}")
    torch.manual_seed(recipe.seed)
    tokenizer = AutoTokenizer.from_pretrained(base)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialised head" is expected here, not a problem
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            base,
            num_labels=1,
            hidden_dropout_prob=recipe.dropout,
            attention_probs_dropout_prob=recipe.dropout,
        )
    finally:
        hf_logging.set_verbosity(verbosity)
    if recipe.layers < model.config.num_hidden_layers:  # keep the first layers: a faster, smaller model
        model.bert.encoder.layer = model.bert.encoder.layer[: recipe.layers]
        model.config.num_hidden_layers = recipe.layers
    n_steps = sum(1 for _ in steps(queries, recipe))
    # The new one-logit head starts near zero and MiniLM's [CLS] state barely differs between passages
    # (all-MiniLM-L6-v2 was trained with mean pooling), so every passage of a group first gets the
    # same score and the loss sits at ln(group size). With the usual 2e-5 it stays there for hundreds
    # of steps; a 10x higher encoder rate and a 10x faster head leave that plateau in ~30 steps.
    head = [p for n, p in model.named_parameters() if n.startswith("classifier")]
    body = [p for n, p in model.named_parameters() if not n.startswith("classifier")]
    opt = torch.optim.AdamW(
        [{"params": body, "lr": recipe.lr}, {"params": head, "lr": recipe.head_lr}], weight_decay=0.01
    )
    sched = get_linear_schedule_with_warmup(opt, int(recipe.warmup * n_steps), n_steps)
    model.train()
    t0 = time.perf_counter()
    losses: list[float] = []
    bar = tqdm(
        steps(queries, recipe), total=n_steps, desc="training reranker", unit="step", disable=not progress
    )
    for batch in bar:
        pairs = [(q, p) for q, group in batch for p in group]
        enc = tokenizer(
            [q for q, _ in pairs],
            [p for _, p in pairs],
            truncation="only_second",
            max_length=recipe.max_length,
            padding=True,
            return_tensors="pt",
        )
        logits = model(**enc).logits.view(-1)
        # each group: the positive first; softmax cross-entropy of the positive among its group
        loss = torch.zeros(())
        start = 0
        for _, group in batch:
            loss = loss + torch.nn.functional.cross_entropy(
                logits[start : start + len(group)].unsqueeze(0), torch.zeros(1, dtype=torch.long)
            )
            start += len(group)
        loss = loss / len(batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        losses.append(float(loss.detach()))
        bar.set_postfix(loss=f"{sum(losses[-20:]) / len(losses[-20:]):.3f}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    stamp = {
        "data": str(data),
        "data_sha256": sha256_file(data),
        "recipe": asdict(recipe),
        "base": Path(base).name if Path(base).exists() else base,
        "queries": len(queries),
        "steps": n_steps,
        "final_loss": sum(losses[-50:]) / max(len(losses[-50:]), 1),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    (out_dir / STAMP).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
    return out_dir


# ---------------------------------------------------------------------------------- the default
def default_model_dir(settings: Settings) -> Path:
    return Path(settings.cache_dir) / "models" / MODEL_NAME


def default_data_path() -> Path:
    from .config import project_root

    return project_root() / DEFAULT_TRAIN_FILE


def _stamp_matches(model_dir: Path, data: Path, recipe: Recipe) -> bool:
    try:
        stamp = json.loads((model_dir / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return stamp.get("data_sha256") == sha256_file(data) and stamp.get("recipe") == asdict(recipe)


def ensure_default_reranker(
    settings: Settings,
    *,
    data: Path | None = None,
    recipe: Recipe = Recipe(),
    base: str | None = None,
    progress: bool = True,
    force: bool = False,
) -> Path:
    """The default reranker's folder, trained first when missing or made from other data/recipe."""
    data = Path(data) if data else default_data_path()
    target = default_model_dir(settings)
    if not data.is_file():
        if (target / STAMP).is_file() and not force:
            return target  # trained earlier; the training set is not shipped with this install
        raise ModelNotFoundError(
            f"the default reranker is not trained yet and its training set {data} is missing: run it from "
            f"a StudyRAG checkout (`python -m studyrag.rerank_train`), set STUDYRAG_RERANKER to a "
            f"CrossEncoder folder or hub id, or STUDYRAG_RERANK=false"
        )
    if not force and _stamp_matches(target, data, recipe):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(target.parent / f".{MODEL_NAME}.lock"):
        if not force and _stamp_matches(target, data, recipe):  # another process trained it meanwhile
            return target
        log.warning(
            "training the default reranker into %s (first use; a few minutes on a CPU, done once)", target
        )
        with staged_dir(target) as tmp:
            train(data, tmp, recipe, base=base, progress=progress)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    from .config import Settings

    p = argparse.ArgumentParser(prog="python -m studyrag.rerank_train", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, help=f"training set (default: {DEFAULT_TRAIN_FILE})")
    p.add_argument("--out", type=Path, help="write the model here instead of the default location")
    p.add_argument("--force", action="store_true", help="retrain even when the stamp matches")
    for f in ("seed", "epochs", "negatives", "max_length", "layers"):
        p.add_argument(f"--{f.replace('_', '-')}", type=int, default=getattr(Recipe(), f))
    p.add_argument("--lr", type=float, default=Recipe().lr)
    p.add_argument("--no-headings", action="store_true", help="train on the bare chunk text")
    p.add_argument(
        "--origins", default="", help="only these query origins, comma-separated (llm-direct, template, ...)"
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    recipe = Recipe(
        seed=args.seed,
        epochs=args.epochs,
        negatives=args.negatives,
        max_length=args.max_length,
        layers=args.layers,
        lr=args.lr,
        headings=not args.no_headings,
        origins=args.origins,
    )
    settings = Settings.from_env()
    if args.out:
        path = train(args.data or default_data_path(), args.out, recipe)
    else:
        path = ensure_default_reranker(settings, data=args.data, recipe=recipe, force=args.force)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

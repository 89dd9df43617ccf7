"""The ``studyrag`` command line. Every read command takes ``--json``.

Library exceptions become one-line messages and exit codes here, and only here.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import re
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import Any

import click

from .bench import BENCH_QUESTIONS
from .cli_output import answer_json, console, hit_json, print_hits, print_sources, stream_answer
from .config import Settings
from .errors import StudyRagError
from .records import Answer

__all__ = ["main", "cli"]


def _err(message: str) -> None:
    click.secho(f"error: {message}", fg="red", err=True)


def handle_errors(fn: Callable) -> Callable:
    """Turn library errors into a message on stderr and a non-zero exit code."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except StudyRagError as e:
            _err(str(e))
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            _err("interrupted")
            sys.exit(130)
        except OSError as e:
            if e.errno not in _WRITE_ERRNOS:
                raise
            where = f" {e.filename}" if e.filename else ""
            _err(f"cannot write{where} ({e.strerror}): free some space, or write somewhere else (--out)")
            sys.exit(1)

    return wrapper


# a full or read-only disk: the user's to fix, so a message, not a traceback. (A permission error
# stays a traceback: it can come from reading too, where "cannot write" would mislead.)
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    base: dict[str, Any] = dict(ctx.obj or {})
    base.update({k: v for k, v in overrides.items() if v is not None})
    return Settings.from_env(**base)


def _load(settings: Settings, *, quiet: bool = False):
    from .pipeline import StudyRAG
    from .store import WAITED

    rag = StudyRAG.load(settings, progress=not quiet)
    # a search or question that had to (re)build the index, or wait for a build, says so on stderr
    if rag.index.stats.built or rag.index.stats.reason == WAITED:
        _say_index(rag)
    return rag


def _refresh(rag) -> None:
    """In a long session, a guide edited or added since the start is indexed before the next
    question, and stderr says so."""
    if rag.refresh(progress=True) is not None:
        _say_index(rag)


def _say_index(rag) -> None:
    click.echo(f"index {rag.index.path}: {rag.index.stats.describe()}", err=True)


def _check_question(question: str, s: Settings) -> str:
    """Refuse an empty, huge or binary question before spending seconds loading models; "-" reads
    it from standard input (``cat question.txt | studyrag ask -``)."""
    from .pipeline import validate_question

    if question != "-":
        validate_question(question, s.max_question_chars)
        return question
    # at most 4 UTF-8 bytes a character: more bytes than that is over the limit whatever they hold,
    # and a 2 GB file piped in by mistake is not read whole
    cap = 4 * s.max_question_chars
    data = sys.stdin.buffer.read(cap + 1)  # bytes: a binary paste is reported, not decoded wrongly
    if len(data) > cap:
        from .errors import BadQuestionError

        raise BadQuestionError(
            f"the question on standard input is over {s.max_question_chars:,} characters long: ask a shorter "
            "question (or raise STUDYRAG_MAX_QUESTION_CHARS)"
        )
    return validate_question(data, s.max_question_chars)


# ---------------------------------------------------------------------------------------------
@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--corpus", "corpus_dir", type=click.Path(), help="Directory of guides (.md, .txt, .pdf, .docx or .html files).")
@click.option("--index-dir", type=click.Path(), help="Where indexes are stored.")
@click.option("--llm", help='Generator: "default" (Qwen2.5-Coder-1.5B), "small" (SmolLM2-135M) or a GGUF path.')
@click.option("--rerank/--no-rerank", default=None, help="Rerank fused candidates with the cross-encoder.")
@click.option("-v", "--verbose", is_flag=True, help="Show debug logging.")
@click.version_option(package_name="studyrag")
@click.pass_context
def cli(ctx: click.Context, corpus_dir: Path | None, index_dir: Path | None, llm: str | None, rerank: bool | None, verbose: bool) -> None:
    """StudyRAG: ask questions about your study guides, get answers that cite their sections.

    Everything runs locally. Settings come from STUDYRAG_* environment variables (for example
    STUDYRAG_RERANK=false), an optional studyrag.toml, and these options.
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    # guides hold "›", "é", "≈"...: a terminal that cannot show a character gets "?" for it, not a
    # UnicodeEncodeError after the work is done (PYTHONIOENCODING=ascii, some Windows consoles); a
    # character it cannot read from the keyboard becomes "\ufffd" instead of a UnicodeDecodeError
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        if callable(getattr(stream, "reconfigure", None)):
            stream.reconfigure(errors="replace")
    ctx.obj = {k: v for k, v in {"corpus_dir": corpus_dir, "index_dir": index_dir, "llm": llm, "rerank": rerank}.items() if v is not None}


@cli.command()
@click.option("--rebuild", is_flag=True, help="Rebuild from scratch even if the index is fresh.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest summary as JSON.")
@click.pass_context
@handle_errors
def index(ctx: click.Context, rebuild: bool, as_json: bool) -> None:
    """Build (or refresh) the search index over the corpus."""
    from .dense import SentenceTransformerEmbedder
    from .store import open_index

    s = _settings(ctx)
    embedder = SentenceTransformerEmbedder.from_settings(s)
    idx = open_index(s, embedder, rebuild=rebuild, progress=not as_json)
    stats = getattr(idx, "stats", None)
    summary = {
        "index": str(Path(s.index_dir) / s.index_name),
        "chunks": len(idx.chunks),
        "sources": sorted({c.source for c in idx.chunks}),
        "stats": stats.__dict__ if hasattr(stats, "__dict__") else stats,
    }
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
    else:
        click.echo(f"index {summary['index']}: {summary['chunks']} chunks from {len(summary['sources'])} guides")
        if stats is not None:
            click.echo(f"  {stats.describe()}")


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print what happened to each file as JSON.")
@click.pass_context
@handle_errors
def add(ctx: click.Context, files: tuple[Path, ...], as_json: bool) -> None:
    """Copy guide FILES (.md, .txt, .pdf, .docx, .html; a folder: the guides in it) into the corpus
    folder and index them. Each file is read first: one that cannot be (a scanned PDF, a broken
    file) is named with the reason and not copied, and the exit code is 4. A different guide of the
    same name is replaced, and its old version kept in the corpus folder's .replaced/ folder. A
    guide's questions file beside it (NAME.questions.jsonl: questions its passages answer, which
    search also matches; see the README) is copied along."""
    from .errors import CorpusError
    from .loaders import add_guide, guide_files, section_count

    s = _settings(ctx)
    done: list[dict[str, Any]] = []
    paths: list[Path] = []
    for path in files:
        if not path.is_dir():
            paths.append(path)
            continue
        found, others = guide_files(path)  # a folder: its guides, not its subfolders
        paths += found
        done += [{"file": str(path / o), "status": "skipped", "reason": "not a guide file"} for o in others]
        if others and not as_json:
            click.secho(f"skipped in {path} (not guide files): {', '.join(others)}", dim=True, err=True)
    for path in paths:
        try:
            added = add_guide(s.corpus_dir, path)
        except CorpusError as e:
            done.append({"file": str(path), "status": "refused", "reason": str(e)})
            _err(str(e))
            continue
        doc = added.doc
        row = {"file": str(path), "status": added.status, "guide": doc.source, "title": doc.title, "sections": section_count(doc)}
        done.append(row | ({"kept": str(added.kept)} if added.kept else {}))
        if not as_json:
            click.echo(added.describe(s.corpus_dir))
    if any(d["status"] in ("added", "replaced") for d in done):
        _load(s, quiet=as_json)  # builds the index now, re-embedding only the new text
    if as_json:
        click.echo(json.dumps(done, indent=2, ensure_ascii=False))
    if any(d["status"] == "refused" for d in done):
        sys.exit(CorpusError.exit_code)


@cli.command()
@click.argument("names", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
@click.pass_context
@handle_errors
def remove(ctx: click.Context, names: tuple[str, ...], as_json: bool) -> None:
    """Take the guides NAMES (file names, with or without the extension) out of the corpus folder and
    the index. Each file is kept in the corpus folder's .removed/ folder: move it back to undo."""
    from .loaders import guide_files, remove_guide
    from .pipeline import pick_guides

    s = _settings(ctx)
    paths, _ = guide_files(s.corpus_dir)
    picked = sorted(pick_guides(names, [p.name for p in paths], partial=False))
    done = [{"guide": name, "kept": str(remove_guide(s.corpus_dir, name))} for name in picked]
    if not as_json:
        for d in done:
            click.echo(f"removed {d['guide']}; kept as {d['kept']}")
    _load(s, quiet=as_json)  # the index forgets them now
    if as_json:
        click.echo(json.dumps(done, indent=2, ensure_ascii=False))


def guide_option(f):
    """``-g/--guide NAME``, repeatable: keep searching or answering to those guides."""
    return click.option(
        "-g",
        "--guide",
        "guides",
        multiple=True,
        metavar="NAME",
        help="Only this guide: its file name, with or without the extension, or a part only it has (see `studyrag info`). Repeat for several.",
    )(f)


@cli.command()
@click.argument("query")
@click.option("-k", "--k", "k", type=click.IntRange(min=1), default=None, help="How many results (default 10).")
@click.option(
    "--hyde", is_flag=True, help="Let the language model write a passage for QUERY first and search with it too."
)
@guide_option
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.pass_context
@handle_errors
def search(ctx: click.Context, query: str, k: int | None, hyde: bool, guides: tuple[str, ...], as_json: bool) -> None:
    """Find the passages most relevant to QUERY (no language model involved unless --hyde). QUERY "-"
    reads it from standard input."""
    s = _settings(ctx)
    query = _check_question(query, s)
    rag = _load(s, quiet=as_json)
    scope = rag.scope(guides)
    hits = rag.search(query, k=k or s.k, hyde=hyde, guides=scope)
    read = rag.retriever.respell(query)  # what was searched for: typing slips read as the guides' words
    lines = rag.retriever.key_sentences(read, hits)  # each hit's sentence closest to the query
    if as_json:
        out = (
            {"query": query}
            | ({"understood_as": read} if read != query else {})
            | ({"guides": sorted(scope)} if scope else {})
            | {"results": [hit_json(h) | {"line": lines.get(h.chunk.id)} for h in hits]}
        )
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    if read != query:
        click.secho(f"(understood as: {read})", dim=True)
    if not hits:
        _err(f"nothing in {', '.join(sorted(scope or ()))} matches the query" if scope else "nothing matches the query")
    print_hits(hits, lines)


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the answer, citations and timings as JSON.")
@click.option("--sources", type=click.IntRange(min=1), default=None, help="At most this many sources in the prompt (ones scoring under half the best are left out).")
@guide_option
@click.pass_context
@handle_errors
def ask(ctx: click.Context, question: str, as_json: bool, sources: int | None, guides: tuple[str, ...]) -> None:
    """Answer QUESTION from the guides (or only from --guide ones), streaming, with numbered
    citations. QUESTION "-" reads it from standard input."""
    s = _settings(ctx, sources=sources)
    question = _check_question(question, s)
    rag = _load(s, quiet=as_json)
    scope = rag.scope(guides)
    answer = stream_answer(rag.ask_stream(question, guides=scope), as_json)
    if as_json:
        click.echo(json.dumps(answer_json(answer), indent=2, ensure_ascii=False))
        return
    print_sources(answer)


CHAT_HELP = (
    "Ask about the guides. Empty line, /quit or Ctrl-D to quit; /clear forgets the conversation; "
    "/guide NAME... answers from those guides only (/guide alone: from every guide again); "
    "/save [FILE] writes the answers so far, with their sources, as Markdown notes."
)


@cli.command()
@guide_option
@click.pass_context
@handle_errors
def chat(ctx: click.Context, guides: tuple[str, ...]) -> None:
    """An interactive session: follow-up questions use the conversation so far. Ctrl-D quits."""
    from .conversation import Turn

    s = _settings(ctx)
    rag = _load(s)
    scope = rag.scope(guides)
    click.echo(CHAT_HELP)
    if scope:
        _say_scope(scope)
    # the model loads before the first prompt: llama.cpp silences stdout while it loads, which
    # swallowed a "you>" shown meanwhile. Its fixed prompt opening is computed while the question is typed
    rag.generator  # noqa: B018 - loads the model
    warm_up = rag.warm_up_in_background()
    history: list[Turn] = []
    answers: list[Answer] = []
    while True:
        try:
            question = click.prompt("you", prompt_suffix="> ", default="", show_default=False)
        except (EOFError, click.Abort):
            click.echo()
            return
        command = question.strip().lower()
        if command in ("", "/quit", "/exit", "/q"):
            return
        if command in ("/help", "/?"):
            click.echo(CHAT_HELP)
            continue
        if command == "/clear":
            history.clear()
            click.echo("(conversation cleared)")
            continue
        if command.split()[0] == "/save":
            _save_notes(question.strip()[len("/save") :].strip(), answers)
            continue
        if command.split()[0] == "/guide":
            try:
                scope = rag.scope(question.split()[1:])
            except StudyRagError as e:
                _err(str(e))
                continue
            _say_scope(scope)
            continue
        if re.fullmatch(r"/\w+", command):  # a mistyped command is not a question for the guides
            _err(f"unknown command {command}: type /help")
            continue
        _refresh(rag)
        warm_up.join()  # the model answers one request at a time; the warm-up's comes first
        events = rag.ask_stream(question, history=history, guides=scope)
        try:
            answer = stream_answer(events, False)
        except KeyboardInterrupt:  # Ctrl-C stops this answer, not the session
            events.close()  # and with it the model's stream, so the next question can use it
            click.echo()
            click.secho("(stopped; the conversation is kept. /quit or Ctrl-D ends the chat)", dim=True)
            continue
        except StudyRagError as e:
            _err(str(e))
            continue
        print_sources(answer)
        answers.append(answer)
        history.append(Turn(question=answer.standalone_question or question, answer=answer.text))


def _save_notes(name: str, answers: Sequence[Answer]) -> None:
    """``/save``: the chat's answers as Markdown (``transcript.py``) in a new file ``name`` (default:
    studyrag-notes-<time>.md here). An existing file is never overwritten."""
    import datetime as dt

    from .transcript import transcript_markdown

    if not answers:
        _err("nothing to save yet: ask a question first")
        return
    target = Path(name).expanduser() if name else Path(f"studyrag-notes-{dt.datetime.now():%Y%m%d-%H%M%S}.md")
    try:
        with open(target, "x", encoding="utf-8") as f:  # "x": fails if it exists
            f.write(transcript_markdown(answers))
    except FileExistsError:
        _err(f"{target} already exists: give another file name, /save NAME.md")
        return
    except OSError as e:
        _err(f"could not write {target} ({e.strerror or e}): give a file in a folder you can write to")
        return
    click.secho(f"(saved {len(answers)} answer{'s' * (len(answers) > 1)} to {target})", dim=True)


def _say_scope(scope: frozenset[str] | None) -> None:
    click.secho(f"(answering from {', '.join(sorted(scope))} only)" if scope else "(answering from every guide)", dim=True)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
@handle_errors
def info(ctx: click.Context, as_json: bool) -> None:
    """Show the models (location, size), CPU/CUDA, the index status and the guides it holds."""
    from .loaders import REMOVED, REPLACED
    from .models import amx_bypassed, cuda_available, describe_models, llama_cpp_build
    from .store import index_status

    s = _settings(ctx)
    models = describe_models(s)
    status = index_status(s)
    data = {
        "settings": s.as_dict(),
        "models": [m.__dict__ if not hasattr(m, "_asdict") else m._asdict() for m in models],
        "cuda": cuda_available(),
        "amx_bypassed": amx_bypassed(),
        "llama_cpp": llama_cpp_build(),  # version and CPU features: what a bug report needs
        "index": dataclasses.asdict(status),
        # guide files replaced by `add` or taken out by `remove`, kept in the corpus folder
        "kept": {what: sorted(str(p) for p in (s.corpus_dir / folder).glob("*") if p.is_file()) for folder, what in ((REPLACED, "replaced"), (REMOVED, "removed"))},
    }
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    con = console()
    con.print("[bold]Models[/bold]", markup=True)
    for m in models:
        d = data["models"][models.index(m)]
        size = d.get("size_bytes") or 0
        con.print(
            f"  {d.get('role', '?'):<10} {d.get('spec', '')}  →  {d.get('location', '')}  "
            f"({size / 1e6:,.1f} MB){'' if d.get('present', True) else '  MISSING'}  {d.get('note', '')}",
            markup=False,
        )
    device = "CUDA (GPU offload available)" if data["cuda"] else "CPU"
    if data["amx_bypassed"]:
        device += " (this llama.cpp build's Intel AMX kernels are left unused: they crash on some CPUs)"
    con.print(f"[bold]Device[/bold]  model: {device} · embedder: {s.embed_device}", markup=True)
    con.print(f"[bold]Index[/bold]   {status}", markup=True)
    con.print(f"[bold]Corpus[/bold]  {s.corpus_dir}", markup=True)
    if status.guides:
        con.print(f"[bold]Guides[/bold]  {len(status.guides)} in the index", markup=True)
        width = max(len(g.source) for g in status.guides)
        for g in status.guides:
            con.print(f"  {g.source:<{width}}  {g.chunks:>4} chunks  {g.title}", markup=False)
    for what, kept in data["kept"].items():
        if kept:
            where = Path(kept[0]).parent
            con.print(f"[bold]Kept[/bold]    {len(kept)} {what} guide file{'s' * (len(kept) > 1)} in {where}", markup=True)


@cli.command(name="eval")
@click.argument("suite", required=False)
@click.option("--suite", "suite_opt", type=click.Choice(["retrieval", "answers", "all"]), default=None)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N questions of each set.")
@click.option("--stratify", is_flag=True, help="With --limit: take the N questions spread over every kind.")
@click.option("--kind", "kinds", multiple=True, help="Only questions of this kind (repeatable), e.g. unanswerable.")
@click.option("--judge", type=click.Choice(["lexical", "llm"]), default=None, help="Support judge for citations.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Report directory.")
@click.option("--eval-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder with retrieval.jsonl and questions.jsonl (default: eval/; eval/dev/ and eval/heldout/ are the extra sets).")
@click.option("--compare", nargs=2, type=click.Path(path_type=Path), default=None, help="Compare two report dirs.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
@handle_errors
def eval_(ctx: click.Context, suite: str | None, suite_opt: str | None, limit: int | None, stratify: bool,
          kinds: tuple[str, ...], judge: str | None, out: Path | None, eval_dir: Path | None,
          compare: tuple[Path, Path] | None, as_json: bool) -> None:
    """Run the evaluation suite (retrieval, answers or all) and write a report directory."""
    from .evaluation import runner

    s = _settings(ctx)
    if compare:
        click.echo(runner.compare_reports(*compare, as_json=as_json))
        return
    summary = runner.run(s, suite=suite_opt or suite or "all", limit=limit, judge=judge, out=out, quiet=as_json,
                         stratify=stratify, kinds=kinds, eval_dir=eval_dir)
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))


@cli.command()
@click.option(
    "--questions", type=click.IntRange(min=1, max=len(BENCH_QUESTIONS)), default=len(BENCH_QUESTIONS),
    help="How many of the fixed benchmark questions.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Also write the figures to this JSON file.")
@click.option("--json", "as_json", is_flag=True, help="Print figures as JSON.")
@click.pass_context
@handle_errors
def bench(ctx: click.Context, questions: int, out: Path | None, as_json: bool) -> None:
    """Per-stage latency of answering (retrieval, rerank, first token, tokens/s) vs llama.cpp alone,
    and each answer again with the prompt's opening cached, as in a chat (same words both times?)."""
    from .bench import run_bench

    s = _settings(ctx)
    result = run_bench(s, n_questions=questions, quiet=as_json, out=out)
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind (loopback by default).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default: $GRADIO_SERVER_PORT or 7860).")
@click.option("--share", is_flag=True, help="Create a public Gradio share link (off by default).")
@click.pass_context
@handle_errors
def serve(ctx: click.Context, host: str, port: int | None, share: bool) -> None:
    """Start the Gradio study chat in the browser. Its guide browser takes new guides (uploads) only
    when the page is served to this machine alone: loopback, no share link."""
    from .serving import launch

    launch(_settings(ctx), host=host, port=port, share=share)


def main() -> None:
    cli(prog_name="studyrag")


if __name__ == "__main__":
    main()

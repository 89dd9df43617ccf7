"""One process at a time: an exclusive advisory file lock for work that must not run twice at once
(assembling a model, training the reranker, building an index), and a staging directory that
replaces its target only when the work in it finished.

>>> import tempfile, pathlib
>>> with exclusive(pathlib.Path(tempfile.mkdtemp()) / ".demo.lock"):
...     print("only one process gets here at a time")
only one process gets here at a time
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_write_text", "exclusive", "staged_dir"]


@contextlib.contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """Hold a POSIX ``flock`` on ``lock_path`` (created if missing) for the ``with`` block.

    Where ``fcntl`` is missing (Windows) this is a no-op: callers write to unique temporary names and
    rename atomically, so a second concurrent writer wastes work but never leaves a broken result.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(lock_path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def staged_dir(target: Path) -> Iterator[Path]:
    """A fresh directory next to ``target`` to write into; when the block ends without an error it
    replaces ``target`` (renamed into place), and on any error it is deleted, ``target`` untouched.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "model"
    >>> with staged_dir(out) as tmp:
    ...     _ = (tmp / "weights").write_text("w")
    >>> sorted(p.name for p in out.iterdir())
    ['weights']
    >>> try:
    ...     with staged_dir(out) as tmp:
    ...         _ = (tmp / "half").write_text("h")
    ...         raise RuntimeError("killed mid-write")
    ... except RuntimeError:
    ...     pass
    >>> sorted(p.name for p in out.iterdir()), [p.name for p in out.parent.iterdir()]
    (['weights'], ['model'])
    """
    target = Path(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a hidden temporary file beside it, renamed into
    place: a reader sees the old file or the new one, never half of one. On failure the temporary
    file is removed and the ``OSError`` names ``path`` (a failed write() names no file).

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "report.json"
    >>> atomic_write_text(out, "{}")
    >>> out.read_text(), [p.name for p in out.parent.iterdir()]
    ('{}', ['report.json'])
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        raise OSError(e.errno, e.strerror, str(path)) from e
    finally:
        tmp.unlink(missing_ok=True)


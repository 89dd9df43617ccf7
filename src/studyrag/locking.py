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

__all__ = ["exclusive", "staged_dir"]


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

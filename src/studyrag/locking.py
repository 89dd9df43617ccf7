"""One process at a time: an exclusive advisory file lock for work that must not run twice at once
(assembling a model, training the reranker, building an index).

>>> import tempfile, pathlib
>>> with exclusive(pathlib.Path(tempfile.mkdtemp()) / ".demo.lock"):
...     print("only one process gets here at a time")
only one process gets here at a time
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

__all__ = ["exclusive"]


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

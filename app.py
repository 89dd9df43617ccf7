"""Start the StudyRAG study chat in the browser.

    python app.py                     # http://127.0.0.1:7860 (or $GRADIO_SERVER_PORT)
    python app.py --port 8080 --host 0.0.0.0 --share

Loopback only and no public share link unless asked. Settings come from STUDYRAG_* variables
(``STUDYRAG_LLM=small python app.py`` for the quick model). Same as ``studyrag serve``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

try:
    import studyrag  # noqa: F401
except ImportError:  # a plain checkout: run from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))


def _env_port() -> int | None:
    value = os.environ.get("GRADIO_SERVER_PORT", "").strip()
    return int(value) if value.isdigit() else None


def main(argv: list[str] | None = None) -> None:
    from studyrag import serving
    from studyrag.config import Settings
    from studyrag.errors import StudyRagError

    parser = argparse.ArgumentParser(description="StudyRAG: ask the study guides in your browser.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=None, help="port (default: $GRADIO_SERVER_PORT or 7860)")
    parser.add_argument("--share", action="store_true", help="create a public Gradio share link")
    args = parser.parse_args(argv)
    try:
        serving.launch(Settings.from_env(), host=args.host, port=args.port or _env_port(), share=args.share)
    except StudyRagError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)


if __name__ == "__main__":
    main()

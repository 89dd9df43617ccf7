"""Serving the study chat: bind the address (this machine only, unless asked), then load the model.

``launch(settings)`` loads the pipeline, lays the page out (``app.build_app``) and serves it until
Ctrl-C; ``serve(demo)`` binds it and returns its address. A host that is no address of this machine,
or a port in use, is a ``ConfigError`` that says what to pass instead.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING

import gradio as gr

from .app import build_app
from .config import Settings
from .errors import ConfigError
from .ui_html import APP_CSS

if TYPE_CHECKING:
    from .pipeline import StudyRAG

__all__ = ["MAX_UPLOAD", "launch", "serve"]


# An added guide is converted and indexed while questions wait: a few hundred pages at most.
MAX_UPLOAD = "200mb"


def _loopback(host: str) -> bool:
    """Whether a server bound to ``host`` is reachable from this machine only.

    >>> _loopback("127.0.0.1"), _loopback("localhost"), _loopback("0.0.0.0"), _loopback("192.168.1.5")
    (True, True, False, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_host(host: str) -> None:
    """Raise ``ConfigError`` when ``host`` is no address of this machine. Gradio would report it as
    "Cannot find empty port", and the fix is the host, not the port.

    >>> _check_host("127.0.0.1")
    >>> _check_host("no-such-host.invalid")
    Traceback (most recent call last):
    ...
    studyrag.errors.ConfigError: cannot serve on no-such-host.invalid: ...
    """
    try:
        infos = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.bind(address)  # port 0: any free port, released at once
    except OSError as e:  # socket.gaierror is an OSError too
        raise ConfigError(
            f"cannot serve on {host}: it is not an address of this machine ({e.strerror or e}): pass --host "
            "127.0.0.1 (this machine only) or 0.0.0.0 (every network interface)"
        ) from e


def serve(
    demo: gr.Blocks,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    share: bool = False,
    block: bool = True,
    quiet: bool | None = None,
) -> str:
    """Start the server (loopback, no share link, unless asked); returns the local URL.

    ``block=False`` returns at once with the server running in a background thread (tests, and
    ``launch``, which warms the model up only once the port is bound). ``quiet`` (default: not
    ``block``) leaves out Gradio's "Running on ..." lines. A port that is taken raises
    ``ConfigError`` saying how to pick another.
    """
    _check_host(host)
    try:
        _, url, _ = demo.launch(
            server_name=host,
            server_port=port,
            share=share,
            prevent_thread_lock=not block,
            css=APP_CSS,
            theme=gr.themes.Soft(),
            max_file_size=MAX_UPLOAD,
            quiet=not block if quiet is None else quiet,
        )
    except OSError as e:
        raise ConfigError(
            f"cannot serve on {host}:{port or 'the default port'} ({e}): pass --port with a free port "
            "(or set GRADIO_SERVER_PORT), or stop what is using it"
        ) from e
    return url


def launch(
    settings: Settings | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
    share: bool = False,
    rag: StudyRAG | None = None,
) -> None:
    """Load the pipeline (building the index if needed) and serve the study chat until Ctrl-C.

    ``port=None`` uses ``$GRADIO_SERVER_PORT``, else the first free port from 7860.
    """
    from .pipeline import StudyRAG

    settings = settings or Settings.from_env()
    if rag is None:
        rag = StudyRAG.load(settings)
    # adding guides writes to this machine's disk: only for a page that only this machine can open
    demo = build_app(rag, settings, uploads=_loopback(host) and not share)
    # bind the port before the model loads: llama.cpp silences the process's stdout and stderr while
    # it loads, so an error raised then (a busy port) would vanish without a word
    serve(demo, host=host, port=port, share=share, block=False, quiet=False)
    rag.warm_up_in_background()  # the model loads while the page opens and the first question is typed
    demo.block_thread()

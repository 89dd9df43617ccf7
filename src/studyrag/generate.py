"""The LLM backends behind one small ``Generator`` protocol.

- ``LlamaGenerator``: a GGUF file run in-process by llama-cpp-python, with the model's own chat
  template; one loaded model shared by every request, a lock serialising them.
- ``OpenAIGenerator`` (in ``openai_backend``): any OpenAI-compatible HTTP server (llama.cpp's
  ``llama-server``, vLLM...), for ``STUDYRAG_BACKEND=openai``.

>>> Message("user", "What is LoRA?").as_dict()
{'role': 'user', 'content': 'What is LoRA?'}
>>> _gpu_layers("auto", gpu=False), _gpu_layers("auto", gpu=True), _gpu_layers("20", gpu=True)
(0, -1, 20)
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .errors import ConfigError, GenerationError, ModelCorruptError, ModelNotFoundError
from .models import has_gguf_magic, resolve_llm

if TYPE_CHECKING:
    from .config import Settings

__all__ = [
    "Generator",
    "LlamaGenerator",
    "Message",
    "aside",
    "amx_build",
    "import_llama_cpp",
    "make_generator",
    "shared_prefix",
    "system_info",
    "without_extra_buffers",
]

log = logging.getLogger(__name__)

ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Message:
    """One chat turn."""

    role: str  # "system" | "user" | "assistant"
    content: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"message role must be one of {ROLES}, got {self.role!r}")

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@runtime_checkable
class Generator(Protocol):
    """What the pipeline needs from a language model."""

    name: str
    n_ctx: int

    def count_tokens(self, text: str) -> int: ...

    def count_messages(self, messages: Sequence[Message]) -> int: ...

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] = (),
        seed: int | None = None,
    ) -> Iterator[str]: ...

    def generate(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        json_schema: dict | None = None,
        grammar: str | None = None,
    ) -> str: ...


@contextmanager
def aside(generator: Generator) -> Iterator[None]:
    """Run a side generation (a follow-up rewrite, a HyDE passage) without evicting the cached prompt.

    llama.cpp keeps the KV cache of the last prompt and re-uses its longest common prefix: the answer
    prompt's system text and worked example (~170 tokens, 3.5 s of prefill on 2 cores) cost nothing
    from the second question on. A side prompt in between would overwrite them. Generators with a
    ``keep_cache`` method (``LlamaGenerator``) put the cache back afterwards; the others (fakes,
    HTTP servers, which cache for themselves) need nothing.

    >>> from studyrag.fakes import FakeGenerator
    >>> with aside(FakeGenerator(reply="x")):
    ...     pass
    """
    keep = getattr(generator, "keep_cache", None)
    if keep is None:
        yield
    else:
        with keep():
            yield


def shared_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading items ``a`` and ``b`` share.

    >>> shared_prefix([1, 2, 3, 4], [1, 2, 5]), shared_prefix([1, 2], [1, 2, 3]), shared_prefix([], [1])
    (2, 2, 0)
    """
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def _overflow(prompt_tokens: int, n_ctx: int) -> GenerationError:
    return GenerationError(
        f"the prompt is {prompt_tokens} tokens but the model's context window is {n_ctx}: "
        f"put fewer sources in the prompt (STUDYRAG_SOURCES), shorten the question, or raise "
        f"STUDYRAG_N_CTX"
    )


def _gpu_layers(setting: str | int, *, gpu: bool) -> int:
    """``"auto"`` → all layers (-1) on a GPU build, else 0; anything else must be an int."""
    if str(setting).strip().lower() == "auto":
        return -1 if gpu else 0
    try:
        return int(setting)
    except ValueError:
        raise ConfigError(
            f"n_gpu_layers={setting!r} is invalid: set STUDYRAG_N_GPU_LAYERS to 'auto', -1 (all), 0 (CPU) "
            f"or a number of layers"
        ) from None


def import_llama_cpp() -> Any:
    """Import llama-cpp-python with OpenMP threads that sleep, not spin, while they wait.

    This build of llama.cpp uses OpenMP, whose default busy-waiting threads fight every other
    process for the cores: on a shared 2-core machine the first answer took 7 s instead of
    0.1 s. OpenMP reads the setting once, when the library loads, hence here; a value the
    user exported wins.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import llama_cpp

    return llama_cpp


_PATCH_LOCK = threading.Lock()


def system_info(llama_cpp: Any) -> str:
    """llama.cpp's build summary ("CPU : SSE3 = 1 | ... | AMX_INT8 = 1 | ..."); "" where the
    binding has none."""
    try:
        info = llama_cpp.llama_print_system_info()
    except AttributeError:
        return ""
    return (info.decode(errors="replace") if isinstance(info, bytes) else str(info)).strip()


def amx_build(llama_cpp: Any) -> bool:
    """Whether this llama.cpp build runs matrix products on Intel AMX tiles.

    Its AMX kernels crash the first decode on some Sapphire Rapids machines (SIGSEGV in
    ``ggml_backend_amx_mul_mat``; seen here with llama-cpp-python 0.3.36 and the default Q4_K_M
    model, and upstream as llama.cpp issue 20824), so such a build loads without them.
    """
    return "AMX_INT8 = 1" in system_info(llama_cpp)


@contextmanager
def without_extra_buffers(llama_cpp: Any) -> Iterator[bool]:
    """Models loaded inside keep their weights in plain CPU buffers: no AMX or repacked copies.

    ``llama_cpp.Llama`` has no argument for llama.cpp's ``use_extra_bufts``; it takes its model
    parameters from ``llama_model_default_params``, so that function is swapped for one that
    turns the flag off while the block runs (under a lock: the swap is process-wide). Yields
    False, changing nothing, where this llama-cpp-python has no such flag.
    """
    api = llama_cpp.llama_cpp  # the C API module ``Llama.__init__`` reads its defaults from
    default = getattr(api, "llama_model_default_params", None)
    if default is None or not hasattr(default(), "use_extra_bufts"):
        yield False
        return

    def params() -> Any:
        p = default()
        p.use_extra_bufts = False
        return p

    with _PATCH_LOCK:
        api.llama_model_default_params = params
        try:
            yield True
        finally:
            api.llama_model_default_params = default


def _cpu_count() -> int:
    # the CPUs this process may run on (a container's quota), not the host's total
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# ============================================================================================
# llama-cpp-python


class LlamaGenerator:
    """A GGUF model run by llama-cpp-python, loaded once and shared; requests wait their turn.

    The chat template is the one stored in the GGUF (``tokenizer.chat_template``), used both to
    build the prompt and to count its tokens, so ``count_messages`` equals what the model sees.
    """

    def __init__(
        self,
        model_path: str | Path,
        *,
        n_ctx: int = 4096,
        n_threads: int = 0,
        n_gpu_layers: str | int = "auto",
        seed: int = 0,
        verbose: bool = False,
    ) -> None:
        try:
            llama_cpp = import_llama_cpp()
            from llama_cpp import llama_chat_format
        except ImportError as e:
            raise ModelNotFoundError(
                f"llama-cpp-python is not installed ({e}): `pip install llama-cpp-python`, or set "
                f"STUDYRAG_BACKEND=openai to use an OpenAI-compatible server"
            ) from e
        path = Path(model_path)
        if not path.is_file():
            raise ModelNotFoundError(f"no GGUF file at {path}: set STUDYRAG_LLM to an existing .gguf file")
        if not has_gguf_magic(path):
            raise ModelCorruptError(f"{path} is not a GGUF file: point STUDYRAG_LLM at a .gguf model")
        threads = n_threads if n_threads > 0 else _cpu_count()
        gpu_layers = _gpu_layers(n_gpu_layers, gpu=bool(llama_cpp.llama_supports_gpu_offload()))
        avoid_amx = amx_build(llama_cpp)
        try:
            with without_extra_buffers(llama_cpp) if avoid_amx else nullcontext(False) as plain:
                self._llm = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_threads=threads,
                    n_threads_batch=threads,
                    n_gpu_layers=gpu_layers,
                    seed=seed,
                    verbose=verbose,
                )
        except (ValueError, RuntimeError, OSError) as e:
            if "context" in str(e).lower():  # the weights loaded; the KV cache did not fit
                raise GenerationError(
                    f"llama.cpp loaded {path.name} but could not create a {n_ctx}-token context ({e}): "
                    f"lower STUDYRAG_N_CTX or free some memory"
                ) from e
            raise ModelCorruptError(
                f"llama.cpp could not load {path} ({e}): the file may be truncated or damaged "
                f"(delete it; the default model is re-assembled on next start), too large for memory "
                f"(lower STUDYRAG_N_CTX), or of an architecture this llama-cpp-python does not know "
                f"(`pip install -U llama-cpp-python`)"
            ) from e
        self.model_path = path
        self.name = path.name
        self.n_ctx = self._llm.n_ctx()
        self.n_threads = threads
        self.n_gpu_layers = gpu_layers
        self.seed = seed
        # True when this build's AMX kernels were kept out of the way (see ``amx_build``)
        self.amx_avoided = bool(plain)
        if avoid_amx and not plain:
            log.warning(
                "this llama-cpp-python runs on Intel AMX, which crashes on some CPUs, and is too old "
                "to turn it off: `pip install -U llama-cpp-python`, or rebuild it without AMX: "
                'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install --force-reinstall --no-cache-dir llama-cpp-python'
            )
        self._formatter = self._chat_formatter(llama_chat_format)
        # generation goes through the very same formatter, so counting and generating agree
        self._llm.chat_handler = self._formatter.to_chat_handler()
        self._lock = threading.Lock()
        self._grammars: dict[str, Any] = {}
        self._pin: list[int] = []  # see ``pin_opening``
        self._pin_cached = False  # the KV cache starts with ``_pin``, computed alone as one batch

    def _chat_formatter(self, llama_chat_format: Any) -> Any:
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            # rare: a GGUF without a template; ChatML is what most instruct models use
            return _FunctionFormatter(llama_chat_format.format_chatml, llama_chat_format)
        model = self._llm._model  # same token texts llama-cpp-python itself uses
        eos, bos = self._llm.token_eos(), self._llm.token_bos()
        return llama_chat_format.Jinja2ChatFormatter(
            template=template,
            eos_token=model.token_get_text(eos) if eos != -1 else "",
            bos_token=model.token_get_text(bos) if bos != -1 else "",
            stop_token_ids=[eos],
        )

    @property
    def llama(self) -> Any:
        """The underlying ``llama_cpp.Llama`` (hold ``lock`` while using it from several threads)."""
        return self._llm

    @property
    def lock(self) -> threading.Lock:
        return self._lock

    # -- counting: tokenizing only reads the vocabulary, so it needs no lock
    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def prompt_text(self, messages: Sequence[Message]) -> str:
        """The exact prompt string the chat template makes of ``messages``."""
        return self._formatter(messages=[m.as_dict() for m in messages]).prompt

    def prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        """The token ids llama.cpp is given for ``messages``: the chat template's prompt,
        tokenized as llama-cpp-python's chat handler tokenizes it."""
        result = self._formatter(messages=[m.as_dict() for m in messages])
        return self._llm.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)

    def count_messages(self, messages: Sequence[Message]) -> int:
        return len(self.prompt_tokens(messages))

    def _check_fits(self, messages: Sequence[Message]) -> list[int]:
        tokens = self.prompt_tokens(messages)
        if len(tokens) >= self.n_ctx:
            raise _overflow(len(tokens), self.n_ctx)
        return tokens

    # -- where prefill resumes
    def pin_opening(self, opening: Sequence[Message]) -> None:
        """Make every prompt that continues ``opening`` re-use the KV cache for that opening only.

        llama.cpp re-uses the longest prefix the next prompt shares with the cached one. For answer
        prompts that is the fixed opening plus however much of "[1] <guide> › ..." the previous
        question shared, so the batches prefill was split into, and at times the answer's words,
        depended on the question asked before. Pinned, such a prompt resumes right after the opening,
        which is computed alone as one batch: the answer depends on its prompt alone. The opening's
        extent is what it shares with itself followed by a user turn (its last template tokens may
        differ)."""
        alone = self.prompt_tokens(opening)
        followed = self.prompt_tokens([*opening, Message("user", "?")])
        with self._lock:
            self._pin = alone[: shared_prefix(alone, followed)]
            self._pin_cached = False

    def _resume_after_pin(self, tokens: list[int]) -> None:
        """Before evaluating ``tokens`` (holding the lock): leave the cache holding exactly the pinned
        opening when ``tokens`` continue it, so llama.cpp resumes prefill right after it."""
        pin, llm = self._pin, self._llm
        n = len(pin)
        if not n or len(tokens) <= n or tokens[:n] != pin:
            self._pin_cached = False  # prefilled the usual way: it may overwrite the opening's cells
            return
        if not (self._pin_cached and llm.n_tokens >= n and list(llm.input_ids[:n]) == pin):
            llm.reset()
            llm.eval(pin)
            self._pin_cached = True
        llm.n_tokens = n  # llama-cpp-python re-uses the cached tokens up to here and evaluates the rest

    # -- generation
    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] = (),
        seed: int | None = None,
    ) -> Iterator[str]:
        """Yield the answer text piece by piece as it is decoded.

        The lock is held from the first piece until the iterator ends or is closed, so close
        (or exhaust) it promptly; ``with contextlib.closing(gen.stream(...))`` does that.
        """
        tokens = self._check_fits(messages)
        with self._lock:
            try:
                self._resume_after_pin(tokens)
                chunks = self._llm.create_chat_completion(
                    messages=[m.as_dict() for m in messages],
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stop=list(stop),
                    seed=self.seed if seed is None else seed,
                    stream=True,
                )
                for chunk in chunks:
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            except ValueError as e:
                raise self._as_generation_error(e) from e

    def generate(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        json_schema: dict | None = None,
        grammar: str | None = None,
    ) -> str:
        """The whole answer at once; ``json_schema`` or a GBNF ``grammar`` constrains its form."""
        tokens = self._check_fits(messages)
        constraint = self._grammar(json_schema, grammar)
        with self._lock:
            try:
                self._resume_after_pin(tokens)
                out = self._llm.create_chat_completion(
                    messages=[m.as_dict() for m in messages],
                    max_tokens=max_tokens,
                    temperature=temperature,
                    seed=self.seed,
                    grammar=constraint,
                )
            except ValueError as e:
                raise self._as_generation_error(e) from e
        return out["choices"][0]["message"]["content"] or ""

    def _grammar(self, json_schema: dict | None, grammar: str | None) -> Any:
        if json_schema is not None and grammar is not None:
            raise ValueError("pass json_schema or grammar, not both")
        if json_schema is None and grammar is None:
            return None
        from llama_cpp import llama_cpp as capi
        from llama_cpp.llama_grammar import LlamaGrammar

        key = json.dumps(json_schema, sort_keys=True) if json_schema is not None else f"gbnf:{grammar}"
        if key not in self._grammars:
            try:
                compiled = (
                    LlamaGrammar.from_json_schema(json.dumps(json_schema), verbose=False)
                    if json_schema is not None
                    else LlamaGrammar.from_string(grammar or "", verbose=False)
                )
            except Exception as e:  # the schema converter raises plain Exceptions
                raise GenerationError(
                    f"cannot turn the JSON schema into a grammar ({e}): simplify the schema"
                ) from e
            # llama.cpp adds an unparsable grammar to its sampler as NULL and then crashes: try it first
            vocab = self._llm._model.vocab
            sampler = capi.llama_sampler_init_grammar(
                vocab, compiled._grammar.encode(), compiled._root.encode()
            )
            if not sampler:
                raise GenerationError(
                    "the grammar does not parse as GBNF: fix its syntax (see llama.cpp's grammars/README)"
                )
            capi.llama_sampler_free(sampler)
            self._grammars[key] = compiled
        return self._grammars[key]

    def _as_generation_error(self, e: ValueError) -> GenerationError:
        if "exceed context window" in str(e):
            return GenerationError(
                f"{e}: put fewer sources in the prompt (STUDYRAG_SOURCES) or raise STUDYRAG_N_CTX"
            )
        return GenerationError(
            f"llama.cpp failed while answering ({e}); try again, or report it with the question"
        )

    def close(self) -> None:
        """Free the model now instead of at garbage collection."""
        with self._lock:
            self._llm.close()

    # -- keeping the cached prompt across a side generation (see ``aside``)
    @contextmanager
    def keep_cache(self) -> Iterator[None]:
        """Whatever runs inside leaves the KV cache as it found it (about 15 MB copied, 40 ms)."""
        with self._lock:
            saved = self._save_cache()
        try:
            yield
        finally:
            if saved is not None:
                with self._lock:
                    self._restore_cache(saved)

    def _save_cache(self) -> tuple[Any, int, Any, int, bool] | None:
        # llama-cpp-python's own save_state also copies a 300 MB logits buffer that nothing here
        # reads; the sequence's KV cells and the token ids are all the prefix match needs
        llm = self._llm
        n = llm.n_tokens
        if n == 0:
            return None
        try:
            import llama_cpp

            size = llama_cpp.llama_state_seq_get_size(llm.ctx, 0)
            buf = (ctypes.c_uint8 * size)()
            got = llama_cpp.llama_state_seq_get_data(llm.ctx, buf, size, 0)
            return buf, got, llm.input_ids[:n].copy(), n, self._pin_cached
        except (AttributeError, OSError, ValueError) as e:  # another llama-cpp-python: no keeping
            log.debug("could not save the KV cache (%s); the next prompt is evaluated in full", e)
            return None

    def _restore_cache(self, saved: tuple[Any, int, Any, int, bool]) -> None:
        import llama_cpp

        llm = self._llm
        buf, size, ids, n, pin_cached = saved
        try:
            llm._ctx.kv_cache_seq_rm(-1, 0, -1)
            if llama_cpp.llama_state_seq_set_data(llm.ctx, buf, size, 0) != size:
                raise ValueError("llama_state_seq_set_data read a different size")
            llm.input_ids[:n] = ids
            llm.n_tokens = n
            llm._requires_eval = True  # the logits are the side generation's: decode before sampling
            self._pin_cached = pin_cached
        except (AttributeError, OSError, ValueError) as e:
            log.debug("could not restore the KV cache (%s); starting from an empty one", e)
            llm.reset()  # an empty cache is always consistent: the next prompt is evaluated in full


class _FunctionFormatter:
    """Adapts one of llama-cpp-python's ``format_*`` functions to the formatter interface."""

    def __init__(self, fn: Any, llama_chat_format: Any) -> None:
        self._fn = fn
        self._lcf = llama_chat_format

    def __call__(self, *, messages: list[dict], **kwargs: Any) -> Any:
        return self._fn(messages=messages, **kwargs)

    def to_chat_handler(self) -> Any:
        return self._lcf.chat_formatter_to_chat_completion_handler(self._fn)


def make_generator(settings: Settings) -> Generator:
    """The generator the settings ask for (``backend`` = ``"llama"`` or ``"openai"``)."""
    backend = settings.backend.strip().lower()
    if backend == "llama":
        return LlamaGenerator(
            resolve_llm(settings.llm, settings.cache_dir),
            n_ctx=settings.n_ctx,
            n_threads=settings.n_threads,
            n_gpu_layers=settings.n_gpu_layers,
            seed=settings.seed,
        )
    if backend == "openai":
        if not settings.openai_base_url:
            raise ConfigError(
                "STUDYRAG_BACKEND=openai needs STUDYRAG_OPENAI_BASE_URL (e.g. http://127.0.0.1:8080/v1 for "
                "llama-server) and usually STUDYRAG_OPENAI_MODEL"
            )
        # the key is read from the environment, never from Settings: settings are written into reports
        api_key = os.environ.get("STUDYRAG_OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY")
        from .openai_backend import OpenAIGenerator

        return OpenAIGenerator(
            settings.openai_base_url, settings.openai_model, api_key=api_key, n_ctx=settings.n_ctx
        )
    raise ConfigError(f"backend={settings.backend!r} is unknown: set STUDYRAG_BACKEND to 'llama' or 'openai'")

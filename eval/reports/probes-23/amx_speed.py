"""Prefill and decode speed of the default GGUF with the installed llama-cpp-python build.

    python eval/reports/probes-23/amx_speed.py            # llama.cpp's own defaults (extra buffers on)
    python eval/reports/probes-23/amx_speed.py noextra    # as StudyRAG loads an AMX build

600 tokens of a shipped guide are read, then 40 are generated greedily, three times. An AMX build
crashes here without `noextra` on this machine (SIGSEGV); for the non-AMX row, build a wheel with
CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON
-DGGML_AVX512_BF16=ON -DGGML_AVX_VNNI=ON" and install it over the native one.
"""

import sys
import time
from pathlib import Path

from studyrag.generate import import_llama_cpp, without_extra_buffers
from studyrag.models import resolve_llm

llama_cpp = import_llama_cpp()
print(llama_cpp.llama_print_system_info().decode())
path = resolve_llm("default")
guide = sorted(Path("corpus").glob("*.md"))[0]
if "noextra" in sys.argv:
    with without_extra_buffers(llama_cpp):
        m = llama_cpp.Llama(str(path), n_ctx=2048, n_threads=2, verbose=False, seed=1)
else:
    m = llama_cpp.Llama(str(path), n_ctx=2048, n_threads=2, verbose=False, seed=1)
print("extra buffers:", m.model_params.use_extra_bufts)
toks = m.tokenize(guide.read_text().encode())[:600]
for _ in range(3):
    m.reset()  # no prompt-prefix reuse between runs
    t = time.time()
    n = 0
    for _tok in m.generate(toks, temp=0, reset=True):
        if n == 0:
            prefill = time.time() - t
            t = time.time()
        n += 1
        if n == 41:
            break
    decode = time.time() - t
    print(f"prefill {len(toks) / prefill:.1f} tok/s  decode {(n - 1) / decode:.1f} tok/s", flush=True)

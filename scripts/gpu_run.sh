#!/usr/bin/env bash
# There, on the lent GPU machine, once every piece is appended to /root/model.gguf and the CUDA
# wheel is built (scripts/gpu_pack.sh says how): installs, then measures StudyRAG on CUDA.
# Figures land in $OUT: info.json, ask.txt, byzantine.json, pytest-gpu.txt, bench-gpu.json,
# bench_scale_gpu.json (STEPS=scale: the embedder on the GPU, 100k chunks embedded for real) and,
# when STEPS includes answers (sets), the answer evaluation of eval/ as gpu-full.tar (of the
# six other gold sets as gpu-sets.tar).
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
STEPS=${STEPS:-"info ask tests bench"}
if [ ! -d /root/cache/models ]; then
  mkdir -p /root/cache && tar xf /root/model.gguf -C /root/cache || exit 1
  python3 -m pip install -q --no-index --no-deps /root/cache/wheels/*.whl $(ls /root/wheels/*.whl 2>/dev/null) || exit 1
fi
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 TQDM_DISABLE=1 STUDYRAG_CACHE_DIR=/root/cache
STUDYRAG_EMBEDDER=$(ls -d /root/cache/models/studyrag-minilm-lora-*); export STUDYRAG_EMBEDDER
# with that image's torch in the process, the freshly compiled llama.cpp crashes while the model loads
# (SIGSEGV in print_info, CPU or GPU layers alike); with the system's libstdc++ loaded first, it runs
export LD_PRELOAD=/lib/x86_64-linux-gnu/libstdc++.so.6
sr() { python3 -m studyrag.cli "$@"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
for step in $STEPS; do
  echo "== $step"
  case $step in
    info) sr info --json > "$OUT/info.json"; sr index ;;
    ask) sr ask "What is PagedAttention?" 2>&1 | tee "$OUT/ask.txt"
         sr ask "What year did the Byzantine Empire fall?" --json > "$OUT/byzantine.json" ;;
    tests) python3 -m pytest -p no:cacheprovider -m gpu tests/test_gpu.py -v 2>&1 | tee "$OUT/pytest-gpu.txt" ;;
    bench) sr bench --out "$OUT/bench-gpu.json" ;;
    answers) sr eval --suite answers --out /tmp/gpu-full && tar cf "$OUT/gpu-full.tar" -C /tmp gpu-full ;;
    scale) python3 scripts/bench_scale.py --device cuda --real-vectors --batch-size 256 --ef-search 64,128,256 \
             --json "$OUT/bench_scale_gpu.json" ;;
    sets) for set in dev heldout unseen unseen2 unseen3 student; do
            sr eval --suite answers --eval-dir "eval/$set" --out "/tmp/gpu-$set" | tail -12
            tar cf "$OUT/gpu-sets.tar" -C /tmp $(cd /tmp && ls -d gpu-* | grep -v gpu-full)
          done ;;
  esac
done
tail -5 "$OUT"/pytest-gpu.txt 2>/dev/null

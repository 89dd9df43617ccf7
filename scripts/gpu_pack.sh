#!/usr/bin/env bash
# Here, before a run on a lent GPU machine (see ../shared/gpu/README.md): packs what StudyRAG needs
# there and is not on it (the default GGUF, the adapted MiniLM, the wheels of the packages it lacks)
# into one tar, and has ../shared/gpu/prepare.sh cut it into pieces that each travel with one call.
# The GPU machine rebuilds the tar from the pieces; scripts/gpu_run.sh unpacks it and measures.
#
# The repo travels with every call and must stay under 64 MiB with its piece, so move eval/reports
# (70 MB of stored reports, not needed there) out of the working tree for the GPU calls, and back
# afterwards: mv eval/reports /tmp/reports-aside ... mv /tmp/reports-aside eval/reports
set -euo pipefail
cache=${STUDYRAG_CACHE_DIR:-$HOME/.cache/studyrag}
work=$(mktemp -d)
py=${PYTHON:-python3}
$py -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d "$work/wheels" faiss-cpu==1.15.1 rank-bm25==0.2.2 snowballstemmer ftfy wcwidth pysbd \
  pyspellchecker==0.9.1 pypdf python-docx
embedder=$(cd "$cache" && ls -d models/studyrag-minilm-lora-* | head -1)
gguf=models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
# --embedder-only: no GGUF (for `STEPS=scale`, which needs no language model)
if [ "${1:-}" = "--embedder-only" ]; then models=("$embedder"); else models=("$gguf" "$gguf.sha256-ok" "$embedder"); fi
tar cf "$work/payload.tar" -C "$cache" "${models[@]}" -C "$work" wheels
bash ../shared/gpu/prepare.sh  # the CUDA build's sources in .gpu/src
# pieces sized so that the files present plus one piece stay under 60 MB (prepare.sh counts every
# tracked file, moved-out ones too)
tree_kb=$(git ls-files -z | xargs -0 du -ck 2>/dev/null | tail -1 | cut -f1 || true)
piece_mb=$(( (60 * 1024 - tree_kb) / 1024 - 2 ))
[ "$piece_mb" -ge 4 ] || { echo "the working tree is too large: move eval/reports out first" >&2; exit 1; }
rm -f .gpu/pieces/* .gpu/m/*
split -b "${piece_mb}M" -d -a 3 "$work/payload.tar" .gpu/pieces/part.
sha256sum "$work/payload.tar" | cut -d' ' -f1 > .gpu/model.sha256
echo "payload ($(du -h "$work/payload.tar" | cut -f1)) cut into $(ls .gpu/pieces | wc -l) pieces of ${piece_mb} MB"
rm -rf "$work"

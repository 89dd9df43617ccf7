#!/bin/bash
# usage: BM25_K1=.. BM25_B=.. bash eval/reports/probes-24/run6.sh NAME  (reports in /tmp/p24/NAME-*)
set -u
P=/tmp/p24/$1
mkdir -p /tmp/p24
.venv/bin/python eval/reports/probes-24/bm25kb.py eval --suite retrieval --out "$P-main" >"$P.log" 2>&1 || echo fail main
for s in dev heldout unseen unseen2 unseen3; do
  .venv/bin/python eval/reports/probes-24/bm25kb.py eval --suite retrieval --eval-dir "eval/$s" --out "$P-$s" >>"$P.log" 2>&1 || echo fail "$s"
done
.venv/bin/python eval/reports/probes-18/pool.py "$P"

#!/bin/bash
# usage: DEC_W=.. run6.sh PREFIX
cd /work/main
P=$1
.venv/bin/python /tmp/probe/dec/decomp.py eval --suite retrieval --out /tmp/probe/dec/$P-main >/tmp/probe/dec/$P.log 2>&1 || echo fail main
for s in dev heldout unseen unseen2 unseen3; do
  .venv/bin/python /tmp/probe/dec/decomp.py eval --suite retrieval --eval-dir eval/$s --out /tmp/probe/dec/$P-$s >>/tmp/probe/dec/$P.log 2>&1 || echo fail $s
done

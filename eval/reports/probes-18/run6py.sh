#!/bin/bash
# usage: run6py.sh PREFIX  (runs prf.py instead of studyrag)
cd /work/main
P=$1
.venv/bin/python /tmp/probe/prf.py eval --suite retrieval --out /tmp/probe/$P-main >/tmp/probe/$P.log 2>&1 || echo fail main
for s in dev heldout unseen unseen2 unseen3; do
  .venv/bin/python /tmp/probe/prf.py eval --suite retrieval --eval-dir eval/$s --out /tmp/probe/$P-$s >>/tmp/probe/$P.log 2>&1 || echo fail $s
done
.venv/bin/python /tmp/probe/pool.py /tmp/probe/$P

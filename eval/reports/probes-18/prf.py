"""usage: PRF_BETA=0.3 PRF_M=3 python prf.py eval-args...  (Rocchio dense PRF on fused top-m)"""
import os, sys
import numpy as np
from studyrag import retrieve
from studyrag.dense import normalize
H = retrieve.HybridRetriever
beta = float(os.environ.get('PRF_BETA', '0.3')); m = int(os.environ.get('PRF_M', '3'))
mode = os.environ.get('PRF_MODE', 'mean')
orig_search, orig_qv = H.search, H.query_vector
_cache = {}
def chunk_vecs(self):
    if id(self) not in _cache:
        _cache[id(self)] = self.embedder.embed([c.embed_text for c in self.chunks])
    return _cache[id(self)]
def qv(self, query, expansion=''):
    v = getattr(self, '_prf_vec', None)
    return v if v is not None else orig_qv(self, query, expansion)
def search(self, query, k=10, *, candidates=None, expansion=''):
    hits = orig_search(self, query, max(k, m), candidates=candidates, expansion=expansion)
    if beta <= 0: return hits[:k]
    V = chunk_vecs(self); pos = self._positions
    top = np.stack([V[pos[h.chunk.id]] for h in hits[:m]])
    if mode == 'weighted':
        w = np.array([1.0/(i+1) for i in range(m)]); fb = (w[:,None]*top).sum(0)/w.sum()
    else:
        fb = top.mean(0)
    v = orig_qv(self, query, expansion)
    self._prf_vec = normalize((v + beta*fb)[None])[0]
    try:
        return orig_search(self, query, k, candidates=candidates, expansion=expansion)
    finally:
        self._prf_vec = None
H.search, H.query_vector = search, qv
from studyrag.cli import main
sys.argv = ['studyrag'] + sys.argv[1:]
main()

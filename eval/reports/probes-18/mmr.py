"""usage: MMR_L=0.8 python mmr.py <studyrag args>  -- MMR diversification of fused hits"""
import os, sys, dataclasses
import numpy as np
from studyrag import retrieve
H = retrieve.HybridRetriever
lam = float(os.environ.get('MMR_L', '0.8')); pool = int(os.environ.get('MMR_POOL', '20'))
mode = os.environ.get('MMR_MODE', 'mmr')
orig = H.search
_cache = {}
def vecs(self):
    if id(self) not in _cache:
        _cache[id(self)] = self.embedder.embed([c.embed_text for c in self.chunks])
    return _cache[id(self)]
def search(self, query, k=10, *, candidates=None, expansion=''):
    hits = orig(self, query, max(k, pool), candidates=candidates, expansion=expansion)
    if lam >= 1: return hits[:k]
    V = vecs(self); P = self._positions
    X = np.stack([V[P[h.chunk.id]] for h in hits]); S = X @ X.T
    rel = np.array([h.score for h in hits]); rel = rel / max(rel[0], 1e-9)
    chosen = [0]; left = list(range(1, len(hits)))
    while left and len(chosen) < k:
        if mode == 'section':
            sec = lambda i: (hits[i].chunk.source, hits[i].chunk.path)
            best = max(left, key=lambda i: rel[i] - (1-lam) * any(sec(i) == sec(j) for j in chosen))
        else:
            best = max(left, key=lambda i: lam * rel[i] - (1 - lam) * max(S[i, j] for j in chosen))
        chosen.append(best); left.remove(best)
    return [dataclasses.replace(hits[i], rank=r + 1) for r, i in enumerate(chosen)]
H.search = search
from studyrag.cli import main
sys.argv = ['studyrag'] + sys.argv[1:]
main()

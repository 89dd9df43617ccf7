"""usage: DEC_W=1.0 python decomp.py <studyrag args> -- a two-part question also retrieves for each part"""
import os, re, sys, dataclasses
from studyrag import retrieve
H = retrieve.HybridRetriever
W = float(os.environ.get("DEC_W", "1.0"))   # weight of each part's list against the whole question's
RRF = float(os.environ.get("DEC_K", "10"))
orig = H.search
SPLIT = re.compile(r"(?:,\s*|\s+)and\s+(?=(?:how|what|which|why|when|where|who|does|do|did|is|are|can|could|should|according)\b)", re.I)
def parts(q):
    ps = [p.strip(" ,?") for p in SPLIT.split(q)]
    return ps if len(ps) > 1 and all(len(p.split()) >= 3 for p in ps) else []
def search(self, query, k=10, *, candidates=None, expansion=""):
    ps = parts(query) if W > 0 else []
    if not ps:
        return orig(self, query, k, candidates=candidates, expansion=expansion)
    n = max(k, 20)
    lists = [(1.0, orig(self, query, n, candidates=candidates, expansion=expansion))]
    lists += [(W, orig(self, p + "?", n, candidates=candidates)) for p in ps]
    score, first = {}, {}
    for w, hits in lists:
        for h in hits:
            score[h.chunk.id] = score.get(h.chunk.id, 0.0) + w / (RRF + h.rank)
            first.setdefault(h.chunk.id, h)
    best = sorted(score, key=lambda c: -score[c])[:k]
    return [dataclasses.replace(first[c], rank=r + 1, score=score[c]) for r, c in enumerate(best)]
H.search = search
from studyrag.cli import main
sys.argv = ["studyrag"] + sys.argv[1:]
main()

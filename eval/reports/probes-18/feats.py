import json, sys
from pathlib import Path
import numpy as np
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG
from studyrag.evaluation.datasets import load_retrieval
from studyrag.abstain import matches_every_term
from studyrag.retrieve import GATE_DOCS
from studyrag.lexical import top_k
rag = StudyRAG.load(Settings.from_env(), progress=False)
R = rag.retriever
tok = R.index.bm25.tokenize if hasattr(R.index.bm25,'tokenize') else None
out=[]
for d in ['eval','eval/dev','eval/heldout','eval/unseen','eval/unseen2','eval/unseen3']:
    for q in load_retrieval(Path(d)/'retrieval.jsonl'):
        qq=q.question
        conf=R.confidence(qq)
        vec=R.query_vector(qq)
        mean,std=R.index.dense.moments(vec)
        scores=R.index.bm25.scores(qq)
        bm=top_k(scores,50)
        cov=R.index.bm25.coverage(qq,[h.index for h in bm[:GATE_DOCS]])
        bmean,bstd=float(np.mean(scores)),float(np.std(scores))
        hits=R.search(qq,10)
        dn=R.index.dense.search(vec,2,own=True)
        out.append(dict(set=d,id=q.id,ans=bool(q.evidence),conf=conf,dz=(conf-mean)/std,dmean=mean,dstd=std,
            gap=dn[0].score-dn[1].score, cov=cov, bz=(bm[0].score-bmean)/(bstd or 1) if bm else 0.0,
            top=hits[0].score, second=hits[1].score, sent=max((h.dense_score or 0) for h in hits)))
json.dump(out,open('/tmp/probe/gate/feats.json','w'))
print(len(out))

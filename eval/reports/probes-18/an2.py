import json, numpy as np
from pathlib import Path
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG
from studyrag.abstain import matches_every_term
D=json.load(open('/tmp/probe/gate/feats.json'))
rag = StudyRAG.load(Settings.from_env(), progress=False)
R=rag.retriever
from studyrag.evaluation.datasets import load_retrieval
qs={}
for d in ['eval','eval/dev','eval/heldout','eval/unseen','eval/unseen2','eval/unseen3']:
    for q in load_retrieval(Path(d)/'retrieval.jsonl'): qs[(d,q.id)]=q.question
from studyrag.lexical import tokenize as tok
for d in D:
    q=qs[(d['set'],d['id'])]
    d['every']=matches_every_term(q, R.search(q,5), tok)
json.dump(D,open('/tmp/probe/gate/feats.json','w'))
y=np.array([d['ans'] for d in D]); ev=np.array([d['every'] for d in D])
conf=np.array([d['conf'] for d in D]); cov=np.array([d['cov'] for d in D])
print('every: ans',ev[y].sum(),'unans',ev[~y].sum())
for t in (0.26,0.27,0.28):
    w=(conf<t)&~ev
    print('current t',t,'ans weak',w[y].sum(),'unans weak',w[~y].sum())
for a in (0.0,0.05,0.1,0.15,0.2):
  for t in np.arange(0.25,0.40,0.01):
    w=(conf+a*cov<t)&~ev
    print(f'a={a} t={t:.2f} ans {w[y].sum()} unans {w[~y].sum()}')

import json, sys
from pathlib import Path
for prefix in sys.argv[1:]:
    allq = []
    for s in ['main','dev','heldout','unseen','unseen2','unseen3']:
        allq += [q for q in json.loads((Path(f'{prefix}-{s}')/'report.json').read_text())['retrieval']['questions'] if q.get('relevant')]
    def agg(ret, kind=None, main_only=False, m=('recall@3','recall@5','recall@10','mrr@10')):
        qs = [q for q in allq if (kind is None or q['kind']==kind)]
        return ' '.join(f"{x}={sum(q['runs'][ret]['scores'][x] for q in qs)/len(qs):.3f}" for x in m) + f" n={len(qs)}"
    print(prefix)
    for kind in [None,'factual','paraphrase','multi_section']:
        print('  ', kind, '| fused', agg('fused',kind), '| dense', agg('dense',kind))

import json, sys
from pathlib import Path
def load(d):
    r=json.loads((Path(d)/'report.json').read_text())['retrieval']
    return [q for q in r['questions'] if q.get('relevant')]
for prefix in sys.argv[1:]:
    rows={}
    allq=[]
    for s in ['main','dev','heldout','unseen','unseen2','unseen3']:
        qs=load(prefix.format(s=s) if '{s}' in prefix else f'{prefix}-{s}'); allq+=qs
        for ret in ['bm25','dense','fused']:
            pass
        f=[q['runs']['fused']['scores'] for q in qs]
        rows[s]=(sum(x['recall@5'] for x in f)/len(f), sum(x['mrr@10'] for x in f)/len(f))
    out=[]
    for ret in ['bm25','dense','fused']:
        f=[q['runs'][ret]['scores'] for q in allq]
        p=[q['runs'][ret]['scores'] for q in allq if q['kind']=='paraphrase']
        out.append(f"{ret} pooled {sum(x['recall@5'] for x in f)/len(f):.3f}/{sum(x['mrr@10'] for x in f)/len(f):.3f} para {sum(x['recall@5'] for x in p)/len(p):.3f}/{sum(x['mrr@10'] for x in p)/len(p):.3f} n={len(f)}")
    print(prefix, ' '.join(f"{s} {a:.3f}/{b:.3f}" for s,(a,b) in rows.items()))
    print('   ', ' | '.join(out))

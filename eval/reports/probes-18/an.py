import json, numpy as np
D=json.load(open('/tmp/probe/gate/feats.json'))
y=np.array([d['ans'] for d in D])
def auc(x):
    x=np.array(x); p=x[y]; n=x[~y]
    return (np.sum(p[:,None]>n[None,:])+0.5*np.sum(p[:,None]==n[None,:]))/(len(p)*len(n))
for f in ['conf','dz','dmean','dstd','gap','cov','bz','top','second','sent']:
    print(f, round(auc([d[f] for d in D]),3))
# at matching unanswerable-declined count (38/65 now), how many answerable below?
import itertools
def at(x, nU):
    x=np.array(x); thr=np.sort(x[~y])[nU-1]  # nU unanswerable at or below thr
    return int(np.sum(x[y]<=thr))
for f in ['conf','dz','top','sent']:
    print(f, [ (k,at([d[f] for d in D],k)) for k in (30,35,38,40,45)])
from sklearn.linear_model import LogisticRegression
sets=np.array([d['set'] for d in D])
def X(fs): return np.array([[d[f] for f in fs] for d in D])
for fs in (['conf'],['conf','sent'],['conf','cov'],['conf','gap'],['conf','dstd'],['conf','dz'],['conf','sent','cov','gap','bz','dstd']):
    x=X(fs); s=np.zeros(len(D))
    for st in set(sets):
        tr=sets!=st
        m=LogisticRegression(C=10,max_iter=1000).fit((x[tr]-x[tr].mean(0))/x[tr].std(0),y[tr])
        s[~tr]=m.decision_function((x[~tr]-x[tr].mean(0))/x[tr].std(0))
    print(fs, 'loso auc', round(auc(s),3), [(k,at(s,k)) for k in (35,38,40,45)])

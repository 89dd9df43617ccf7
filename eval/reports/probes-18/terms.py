import json, sys, time
from studyrag.config import Settings

from studyrag.generate import Message
SYS = ("You are a machine-learning glossary. Give the standard technical name(s) of the technique or concept "
       "the student's question describes, comma-separated, nothing else.")
qs = [l.strip() for l in open(sys.argv[1])]
gen = None
from studyrag.pipeline import StudyRAG
rag = StudyRAG.load(Settings.from_env(), progress=False)
gen = rag.generator
for q in qs:
    t=time.perf_counter()
    out = gen.generate([Message("system", SYS), Message("user", q)], max_tokens=16, temperature=0.0)
    print(round(time.perf_counter()-t,1), '|', q[:70], '=>', ' '.join(out.split()))

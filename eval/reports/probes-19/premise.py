"""Probe: a hint after why-questions to check the question's claim against the sources first."""
import json, os, re, sys
import studyrag.prompt as pr
from studyrag.pipeline import StudyRAG
from studyrag.config import Settings
from studyrag.evaluation.metrics import fact_present

HINT = os.environ.get("HINT", "")
WHY = re.compile(r"^(why\b|since\b|explain why|given that)", re.I)
orig = pr.render_sources
def render(question, blocks):
    text = orig(question, blocks)
    if HINT and WHY.search(question.strip()):
        text += "\n" + HINT
    return text
pr.render_sources = render
rag = StudyRAG.load(Settings.from_env(), progress=False)
for path in sys.argv[1:]:
    for line in open(path):
        q = json.loads(line)
        if not WHY.search(q["question"].strip()):
            continue
        a = rag.ask(q["question"])
        ok = (not a.abstained) and any(fact_present(a.text, f) for f in q.get("key_facts") or [])
        print(json.dumps(dict(id=q["id"], expected=q["expected"], ok=ok, abstained=a.abstained, reason=a.abstain_reason, text=a.text[:300])), flush=True)

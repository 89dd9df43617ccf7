"""Probe: when the grounding check rejects a draft, ask once more instead of declining."""
import json, sys
from studyrag.pipeline import StudyRAG
from studyrag.config import Settings
from studyrag.generate import Message
from studyrag.abstain import is_abstention, without_asides
from studyrag.citations import attribute_uncited, clean_answer_text, drop_invalid_citations, repair_citations, resolve_citations
from studyrag.evaluation.metrics import fact_present

RETRY = ("That answer is not what the sources say. Read the sources again and answer the question from "
         "them only, naming what they call it, with [n] after every sentence. If the sources do not "
         "contain the answer, reply exactly: The guides do not cover this.")
rag = StudyRAG.load(Settings.from_env(), progress=False)
out = []
for line in open(sys.argv[1]):
    want = json.loads(line)
    a = rag.ask(want["question"])
    rec = dict(id=want["id"], expected=want["expected"], first=a.abstain_reason, draft=a.draft)
    if a.abstain_reason == "unsupported":
        p = rag.answer_prompt(a.standalone_question, a.sources, len(a.sources))
        msgs = list(p.messages) + [Message("assistant", a.draft), Message("user", RETRY)]
        raw = rag.generator.generate(msgs, max_tokens=256, temperature=0.0).strip()
        rec["retry_raw"] = raw
        if not raw or is_abstention(raw):
            rec["retry"] = "declined"
        else:
            text = clean_answer_text(raw)
            text = drop_invalid_citations(text, len(p.sources))
            text = repair_citations(attribute_uncited(text, p.sources), p.sources, question=a.standalone_question)
            rep = resolve_citations(text, p.sources, question=a.standalone_question)
            rec["retry"] = "answered" if rep.grounded else "unsupported"
            rec["retry_text"] = text
            rec["fact"] = any(fact_present(text, f) for f in want.get("key_facts") or [])
    print(json.dumps(rec), flush=True)

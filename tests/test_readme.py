"""The README's Python example runs as written (over the fakes, so it takes a second): the documented
API cannot drift from the code without a failing test."""

from __future__ import annotations

import re
from pathlib import Path

from studyrag.fakes import FakeEmbedder, FakeGenerator
from studyrag.pipeline import StudyRAG

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_python_example_in_the_readme_runs(tmp_path, monkeypatch, capsys) -> None:
    (block,) = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    real_load = StudyRAG.load.__func__

    def load(cls, settings=None, **kwargs):
        settings = settings.replace(index_dir=tmp_path / "ix", cache_dir=tmp_path / "cache")
        return real_load(cls, settings, embedder=FakeEmbedder(), generator=FakeGenerator(), progress=False)

    monkeypatch.setattr(StudyRAG, "load", classmethod(load))
    exec(compile(block, str(README), "exec"), {})  # noqa: S102 - our own README
    out = capsys.readouterr().out
    assert re.search(r"^1 \S+\.(md|txt) .*\{'bm25'", out, re.M)  # a search hit with its component scores
    assert re.search(r"^\[1\] \S+ › ", out, re.M)  # a citation's guide and section

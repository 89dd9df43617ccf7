"""Settings from the environment: types coerced, unknown names and out-of-range values refused with
the variable to fix (``ConfigError``), which the CLI turns into one line and a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from studyrag.cli import cli
from studyrag.config import Settings
from studyrag.errors import ConfigError


def test_environment_values_take_the_type_of_the_default() -> None:
    s = Settings.from_env({"STUDYRAG_SOURCES": "3", "STUDYRAG_BM25_WEIGHT": "0.9", "STUDYRAG_HYDE": "yes"})
    assert (s.sources, s.bm25_weight, s.hyde) == (3, 0.9, True)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("SOURCES", "0", "must be at least 1"),
        ("K", "-3", "must be at least 1"),
        ("BM25_WEIGHT", "-1", "must be at least 0"),
        ("SOURCE_MIN_RATIO", "2", "must be at most 1"),
        ("TEMPERATURE", "-0.5", "must be at least 0"),
        ("SOURCES", "abc", "not a number"),
        ("SOURCES", "2.5", "not a whole number"),
        ("BM25_WEIGHT", "inf", "not a finite number"),
        ("ABSTAIN_THRESHOLD", "nan", "not a finite number"),
        ("INDEX_NAME", "../elsewhere", "plain folder name"),
        ("INDEX_NAME", "", "plain folder name"),
        ("CORPUS_DIR", "", "empty: give a folder"),
        ("INDEX_DIR", " ", "empty: give a folder"),
        ("CACHE_DIR", "", "empty: give a folder"),
        ("EMBEDDER", "", "empty: use 'default'"),
        ("LLM", " ", "empty: use 'default'"),
        ("RERANKER", "", "empty: use 'default'"),
        ("EMBED_DEVICE", "gpu", "choose one of cpu, cuda, auto"),
    ],
)
def test_a_value_out_of_range_names_the_variable_to_fix(name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=f"{says}.*STUDYRAG_{name}"):
        Settings.from_env({f"STUDYRAG_{name}": value})


def test_values_at_the_edges_are_accepted() -> None:
    s = Settings.from_env({"STUDYRAG_SOURCE_MIN_RATIO": "0", "STUDYRAG_N_THREADS": "0", "STUDYRAG_SOURCES": "1"})
    assert (s.source_min_ratio, s.n_threads, s.sources) == (0.0, 0, 1)


def test_replace_checks_ranges_too() -> None:
    with pytest.raises(ConfigError, match="at least 1.*pass a valid sources to Settings.replace"):
        Settings().replace(sources=0)


def test_a_bad_value_in_the_settings_file_names_the_file_not_a_variable(tmp_path) -> None:
    toml = tmp_path / "my.toml"
    toml.write_text('sources = 2.5\nk = true\n')
    with pytest.raises(ConfigError, match=f"sources=2.5 is invalid .not a whole number.; fix sources in {toml}"):
        Settings.from_env({"STUDYRAG_CONFIG": str(toml)})
    with pytest.raises(ConfigError, match="k=True is invalid .expected a number"):
        Settings.from_env({"STUDYRAG_CONFIG": str(toml), "STUDYRAG_SOURCES": "3"})
    # the environment wins over the file, and its name is the one to fix
    with pytest.raises(ConfigError, match="STUDYRAG_SOURCES to a valid value"):
        Settings.from_env({"STUDYRAG_CONFIG": str(toml), "STUDYRAG_SOURCES": "x"})
    toml.write_text("sources = 3\nk = 7\nseed = 12345678901234567\n")
    s = Settings.from_env({"STUDYRAG_CONFIG": str(toml)})
    assert (s.sources, s.k, s.seed) == (3, 7, 12345678901234567)


def test_the_cli_refuses_bad_settings_and_counts_before_loading_anything(monkeypatch) -> None:
    monkeypatch.setenv("STUDYRAG_DENSE_WEIGHT", "-2")
    res = CliRunner().invoke(cli, ["search", "moe"])
    assert res.exit_code == ConfigError.exit_code != 0
    assert res.output.startswith("error: ") and "STUDYRAG_DENSE_WEIGHT" in res.output
    monkeypatch.delenv("STUDYRAG_DENSE_WEIGHT")
    for args in (["search", "moe", "--k", "0"], ["ask", "What is LoRA?", "--sources", "0"]):
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 2 and "is not in the range" in res.output, args


def test_folders_in_the_settings_file_are_relative_to_the_file(tmp_path, monkeypatch) -> None:
    (tmp_path / "notes").mkdir()
    toml = tmp_path / "notes" / "studyrag.toml"
    toml.write_text('corpus_dir = "guides"\nindex_dir = "/abs/indexes"\n')
    monkeypatch.chdir(tmp_path)  # run from elsewhere
    s = Settings.from_env({"STUDYRAG_CONFIG": str(toml)})
    assert s.corpus_dir == tmp_path / "notes" / "guides" and s.index_dir == Path("/abs/indexes")
    # a folder from the environment stays relative to the working directory
    assert Settings.from_env({"STUDYRAG_CONFIG": str(toml), "STUDYRAG_CORPUS_DIR": "here"}).corpus_dir == Path("here")

"""The CUDA path: a CUDA build of llama-cpp-python, a GPU, and the real default models.

Skipped on CPU-only machines (CI); run on a GPU machine with ``pytest -m gpu``. The CPU twins of
these checks are in ``test_pipeline_real.py`` and ``test_generate.py``."""

from __future__ import annotations

import pytest

from studyrag.config import Settings, project_root
from studyrag.errors import ModelNotFoundError
from studyrag.pipeline import StudyRAG

pytestmark = [pytest.mark.gpu, pytest.mark.slow]


@pytest.fixture(scope="module")
def rag(tmp_path_factory) -> StudyRAG:
    from studyrag.models import cuda_available

    pytest.importorskip("llama_cpp")
    if not cuda_available():
        pytest.skip("this llama-cpp-python cannot offload to a GPU (a CPU build, or no GPU)")
    settings = Settings.from_env(
        corpus_dir=project_root() / "corpus", index_dir=tmp_path_factory.mktemp("indexes"),
        rerank=False, n_gpu_layers="auto",
    )
    try:
        return StudyRAG.load(settings, progress=False)
    except ModelNotFoundError as e:
        pytest.skip(f"default models unavailable: {e}")


def test_auto_offloads_every_layer_when_a_gpu_is_there(rag: StudyRAG) -> None:
    assert rag.generator.n_gpu_layers == -1


def test_the_weights_really_move_into_gpu_memory(rag: StudyRAG) -> None:
    """llama.cpp's own view, read from the card: a second copy of the model takes about its file size
    of GPU memory (a CPU fallback would take none)."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch cannot see the GPU here, so its free memory cannot be read")
    from studyrag.generate import LlamaGenerator

    free_before, _ = torch.cuda.mem_get_info()
    second = LlamaGenerator(rag.generator.model_path, n_ctx=512, n_gpu_layers="auto")
    free_after, _ = torch.cuda.mem_get_info()
    size = rag.generator.model_path.stat().st_size
    assert free_before - free_after > 0.8 * size, (free_before, free_after, size)
    del second


def test_paged_attention_answer_on_the_gpu_cites_the_paged_attention_material(rag: StudyRAG) -> None:
    answer = rag.ask("What is PagedAttention?")
    assert not answer.abstained, answer.text
    cited = [c.chunk for c in answer.citations]
    assert any("PagedAttention" in c.section or "PagedAttention" in c.text for c in cited), answer.text


def test_a_question_the_guides_never_mention_still_abstains_on_the_gpu(rag: StudyRAG) -> None:
    answer = rag.ask("What year did the Byzantine Empire fall?")
    assert answer.abstained and not answer.citations, answer.text

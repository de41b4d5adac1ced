"""VLLMBackend: needs vllm and a CUDA GPU; skipped (with the reason) without them."""

from __future__ import annotations

import importlib.util

import pytest

from fbenv.backends.vllm_backend import VLLMBackend


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def test_without_vllm_or_gpu_the_error_says_so() -> None:
    if importlib.util.find_spec("vllm") is not None and _has_cuda():
        pytest.skip("vllm and a GPU are both present; the error path does not apply")
    with pytest.raises(RuntimeError, match="vllm.*GPU|GPU.*vllm|CUDA GPU"):
        VLLMBackend("/nonexistent/model")


@pytest.mark.gpu
@pytest.mark.slow
def test_generates_on_a_gpu(tmp_path: object) -> None:
    if importlib.util.find_spec("vllm") is None:
        pytest.skip("vllm is not installed (pip install vllm); the vllm backend is tested only where it is")
    if not _has_cuda():
        pytest.skip("no CUDA GPU visible; the vllm backend needs one")
    from tiny_llm import tiny_model_dir

    from fbenv.backends import GenerationRequest

    backend = VLLMBackend(tiny_model_dir(), gpu_memory_utilization=0.2, enforce_eager=True)
    requests = [GenerationRequest(({"role": "user", "content": f"Problem: what is {i} + 1?"},), max_tokens=8)
                for i in range(4)]
    out = backend.generate(requests)
    assert len(out) == 4
    assert all(g.completion_tokens >= 1 and g.prompt_tokens >= 1 for g in out)

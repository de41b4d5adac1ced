"""The GPU path: vLLM generation with weights synced from the trainer. Skipped without vllm and a CUDA GPU."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch
from tiny_llm import tiny_model_dir
from toy_tasks import SHORT_REPLY

from fbenv.agents.grpo import GRPOArgs, make_sampler, train

needs_gpu = pytest.mark.skipif(not torch.cuda.is_available() or importlib.util.find_spec("vllm") is None,
                               reason="needs vllm and a CUDA GPU")


def test_asking_for_vllm_without_a_gpu_says_what_to_use_instead() -> None:
    if torch.cuda.is_available() and importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm and a GPU are present; the error path does not apply")
    with pytest.raises(RuntimeError, match="generator='hf'"):
        make_sampler(GRPOArgs(model="m", generator="vllm"), None, None, "/nonexistent")


@pytest.mark.gpu
@pytest.mark.slow
@needs_gpu
def test_vllm_samples_from_the_trainers_weights_after_a_sync() -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from fbenv.agents.generation import HFSampler, VLLMSampler

    path = tiny_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path).cuda()
    with torch.no_grad():  # a policy that is not the checkpoint any more
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    vllm = VLLMSampler(path, gpu_memory_utilization=0.2, max_model_len=1024, dtype="float32")
    prompt = [tokenizer("<|user|>what is 2 + 3?<|end|><|assistant|>", add_special_tokens=False)["input_ids"]]
    before = vllm.generate(prompt, 12, 0.0, seed=0)
    vllm.sync_weights(model)
    assert vllm.generate(prompt, 12, 0.0, seed=0) == HFSampler(model, tokenizer).generate(prompt, 12, 0.0, seed=0)
    assert before != vllm.generate(prompt, 12, 0.0, seed=0)


@pytest.mark.gpu
@pytest.mark.slow
@needs_gpu
def test_two_iterations_train_through_vllm(tmp_path: Path) -> None:
    args = GRPOArgs(model=tiny_model_dir(), out=str(tmp_path), iterations=2, prompts_per_iteration=4, group_size=4,
                    turns=2, max_new_tokens=8, eval_every=0, tensorboard=False, plot=False, quiet=True,
                    env_kwargs=SHORT_REPLY, generator="vllm", vllm_gpu_memory_utilization=0.2,
                    vllm_max_model_len=1024, learning_rate=1e-3)
    assert (train(args) / "model.safetensors").is_file()

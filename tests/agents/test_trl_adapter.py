"""The TRL adapter: fbenv rewards and environments inside trl's GRPOTrainer, two optimisation steps on CPU."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("trl")
pytest.importorskip("datasets")

import torch
from tiny_llm import tiny_model_dir
from toy_tasks import SHORT_REPLY

from fbenv.agents.trl_adapter import FeedbackEnvironment, FeedbackReward, environment_factory, make_dataset

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
TOOL_REPLY = {**SHORT_REPLY, "max_chars": 20}  # replies run to max_completion_length under an unfamiliar template


def test_the_reward_is_the_envs_for_the_rows_problem() -> None:
    dataset = make_dataset("fbenv/Math-v0", 3, seed=5, difficulty=1, feedback="binary")
    assert dataset["seed"] == [5, 6, 7] and dataset[0]["prompt"][0]["role"] == "user"
    reward = FeedbackReward("fbenv/Math-v0", difficulty=1, feedback="binary")
    env = FeedbackEnvironment("fbenv/Math-v0", difficulty=1, feedback="binary")
    env.reset(seed=6)
    right = env.env.unwrapped.instance.oracle_action
    completions = ["Answer: -12345", [{"role": "assistant", "content": right}], right]
    assert reward(dataset["prompt"], completions, seed=[5, 6, 7]) == [0.0, 1.0, 0.0]


def test_the_answer_tool_plays_a_multi_turn_episode_and_the_reward_is_its_return() -> None:
    env = environment_factory("fbenv/Math-v0", difficulty=1, feedback="unary", max_turns=3, turn_discount=0.5)()
    assert env.reset(seed=2, prompt=[{"role": "user", "content": "..."}]) is None
    right = env.env.unwrapped.instance.oracle_action
    assert env.answer("Answer: -12345") == "Let's try again."
    assert "accepted" in env.answer(right)
    assert "over" in env.answer(right) and env.attempts == 2
    assert FeedbackReward("fbenv/Math-v0")([None], [""], environments=[env]) == [0.5]  # 1 x 0.5^(2-1)
    silent = environment_factory("fbenv/Math-v0", difficulty=1, feedback="unary")()
    silent.reset(seed=2)
    assert FeedbackReward("fbenv/Math-v0")([None], [right], environments=[silent]) == [1.0]  # final text judged


def grpo_config(tmp_path: Path, **overrides: object):
    from trl import GRPOConfig

    settings: dict[str, object] = dict(
        output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=4, num_generations=4,
        max_completion_length=8, learning_rate=1e-3, logging_steps=1, save_strategy="no", report_to=[],
        use_cpu=True, bf16=False, seed=0, dataloader_num_workers=0)
    settings.update(overrides)
    return GRPOConfig(**settings)


def changed(model, start: dict[str, torch.Tensor]) -> bool:
    return any(not torch.equal(p.detach(), start[n]) for n, p in model.named_parameters())


@pytest.mark.slow
def test_grpo_trainer_takes_two_steps_on_the_tiny_model_with_the_fbenv_reward(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOTrainer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir())
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir(), padding_side="left")
    start = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer = GRPOTrainer(model=model, reward_funcs=FeedbackReward("fbenv/Math-v0", **SHORT_REPLY),
                          args=grpo_config(tmp_path), processing_class=tokenizer,
                          train_dataset=make_dataset("fbenv/Math-v0", 8, **SHORT_REPLY))
    trainer.train()
    assert trainer.state.global_step == 2
    logged = [entry for entry in trainer.state.log_history if "reward" in entry]
    assert len(logged) == 2 and any(entry["reward_std"] > 0 for entry in logged)
    assert changed(model, start)


@pytest.mark.slow
def test_grpo_trainer_runs_fbenv_as_an_environment_factory_under_a_tool_calling_template(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOTrainer
    from trl.chat_template_utils import qwen2_5_chat_template

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir(), padding_side="left")
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>", "<tool_call>",
                                                                "</tool_call>"]})
    tokenizer.eos_token = "<|im_end|>"
    tokenizer.chat_template = qwen2_5_chat_template  # a template TRL can parse tool calls from
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir())
    model.resize_token_embeddings(len(tokenizer))
    start = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer = GRPOTrainer(model=model, reward_funcs=FeedbackReward("fbenv/Math-v0", **TOOL_REPLY),
                          args=grpo_config(tmp_path, max_tool_calling_iterations=2), processing_class=tokenizer,
                          train_dataset=make_dataset("fbenv/Math-v0", 8, **TOOL_REPLY),
                          environment_factory=environment_factory("fbenv/Math-v0", max_turns=2, **TOOL_REPLY))
    assert "answer" in [tool.__name__ for tool in trainer.tools]
    trainer.train()
    assert trainer.state.global_step == 2
    assert all(isinstance(env, FeedbackEnvironment) and env.attempts >= 1 for env in trainer.environments)
    assert changed(model, start)

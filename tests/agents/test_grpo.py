"""The GRPO trainer: advantages, rewards from the env, the agent-only loss, refinements, checkpoints and resume."""

from __future__ import annotations

import csv
import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch
from tiny_llm import tiny_model_dir
from toy_tasks import EPISODE, SHORT_REPLY

from fbenv.agents.base import Turn
from fbenv.agents.episode_tokens import encode_episode
from fbenv.agents.grpo import (
    GRPOArgs,
    Sample,
    accumulate_gradients,
    group_advantages,
    latest_checkpoint,
    main,
    refinement_samples,
    token_logprobs,
    train,
    training_episodes,
)
from fbenv.eval.rollout import rollout


def small_args(out: Path, **overrides: object) -> GRPOArgs:
    settings: dict[str, object] = {
        "model": tiny_model_dir(), "out": str(out), "iterations": 2, "prompts_per_iteration": 2, "group_size": 2,
        "turns": 2, "max_new_tokens": 8, "eval_every": 0, "tensorboard": False, "plot": False, "quiet": True,
        "learning_rate": 1e-3, "env_kwargs": SHORT_REPLY, "device": "cpu"}
    settings.update(overrides)
    return GRPOArgs(**settings)  # type: ignore[arg-type]


# --- advantages -----------------------------------------------------------------------------------------------
def test_advantages_are_relative_to_the_group_and_scaled_by_its_std() -> None:
    returns = np.array([1.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.5])
    scaled = group_advantages(returns, 4)
    assert scaled[:4] == pytest.approx([3 / np.sqrt(3), -1 / np.sqrt(3), -1 / np.sqrt(3), -1 / np.sqrt(3)])
    assert scaled[:4].sum() == pytest.approx(0.0)
    assert list(scaled[4:]) == [0.0, 0.0, 0.0, 0.0]  # one return for the whole group: no signal
    assert group_advantages(returns, 4, scale=False)[:4] == pytest.approx([0.75, -0.25, -0.25, -0.25])
    with pytest.raises(ValueError, match="groups of 3"):
        group_advantages(returns, 3)


def test_a_group_shares_its_reset_seed_and_groups_differ() -> None:
    specs = training_episodes(GRPOArgs(model="m", prompts_per_iteration=3, group_size=4), iteration=1)
    seeds = [spec.seed for spec in specs]
    assert len(specs) == 12 and len({s.key for s in specs}) == 12
    assert all(len(set(seeds[i:i + 4])) == 1 for i in range(0, 12, 4)) and len(set(seeds)) == 3
    assert [s.seed for s in training_episodes(GRPOArgs(model="m", prompts_per_iteration=3, group_size=4), 2)] != seeds


# --- rewards: UFO's turn discount and repetition penalty come from the env --------------------------------------
class Scripted:
    """Replies from a script, per episode: the same list for every episode."""

    name = "scripted"

    def __init__(self, replies: Sequence[str]) -> None:
        self.replies = replies

    def act(self, turns: Sequence[Turn]) -> list[str]:
        return [self.replies[(len(t.messages) - 1) // 2] for t in turns]


def test_turn_discount_and_repeat_penalty_flow_into_the_episode_return() -> None:
    args = GRPOArgs(model="m", turns=3, turn_discount=0.5, repeat_penalty=0.25, prompts_per_iteration=1, group_size=2,
                    env_kwargs={"difficulty": 1})
    spec = training_episodes(args, 1)[0]
    reference = next(rollout(Scripted(["Answer: 0"] * 3), [spec]))["steps"][0]["verdict"]["reference"]
    assert reference != "-1"
    [record] = rollout(Scripted(["Answer: -1", "Answer: -1", f"Answer: {reference}"]), [spec])
    assert [step["reward"] for step in record["steps"]] == [0.0, -0.25, 0.25]  # 0, repeat, 1 x 0.5^2
    assert record["return"] == pytest.approx(0.0)
    assert spec.kwargs["turn_discount"] == 0.5 and spec.kwargs["repeat_penalty"] == 0.25


# --- the loss: only agent tokens, the policy-gradient sign --------------------------------------------------------
@pytest.fixture(scope="module")
def model_and_tokenizer():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = tiny_model_dir()
    return AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)




def grads(model, samples: list[Sample], **overrides: object) -> tuple[dict[str, float], list[torch.Tensor]]:
    model.zero_grad(set_to_none=True)
    args = GRPOArgs(model="m", temperature=1.0, **overrides)  # type: ignore[arg-type]
    stats = accumulate_gradients(model, None, samples, args, torch.device("cpu"))
    return stats, [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in model.parameters()]


def test_the_loss_is_minus_advantage_times_the_agent_tokens_log_probs(model_and_tokenizer) -> None:
    model, tokenizer = model_and_tokenizer
    encoded = encode_episode(tokenizer, EPISODE)
    stats, _ = grads(model, [Sample(encoded, 0.5)])
    ids = torch.tensor([encoded.input_ids])
    with torch.no_grad():
        logps = token_logprobs(model, ids, torch.ones_like(ids), 1.0)[0]
    expected = -0.5 * sum(float(logps[i - 1]) for i, m in enumerate(encoded.agent_mask) if m) / encoded.agent_tokens
    assert stats["loss"] == pytest.approx(expected, rel=1e-5)


def test_feedback_after_the_last_reply_and_samples_without_agent_tokens_carry_no_gradient(model_and_tokenizer) -> None:
    model, tokenizer = model_and_tokenizer
    short = encode_episode(tokenizer, EPISODE[:4])
    long = encode_episode(tokenizer, [*EPISODE[:4], {"role": "user", "content": "Some very long feedback " * 5}])
    _, g_short = grads(model, [Sample(short, 1.0)])
    _, g_long = grads(model, [Sample(long, 1.0)])
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(g_short, g_long, strict=True))
    prompt_only = encode_episode(tokenizer, EPISODE[:1])
    _, g_none = grads(model, [Sample(prompt_only, 1.0), Sample(short, 0.0)])
    assert all(float(g.abs().max()) == 0.0 for g in g_none)


def test_a_step_with_positive_advantage_raises_the_replys_log_prob_and_negative_lowers_it(model_and_tokenizer) -> None:
    import copy

    original, tokenizer = model_and_tokenizer
    encoded = encode_episode(tokenizer, EPISODE)
    for advantage in (1.0, -1.0):
        model = copy.deepcopy(original)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
        before, _ = grads(model, [Sample(encoded, advantage)])
        optimizer.step()
        after, _ = grads(model, [Sample(encoded, advantage)])
        assert after["loss"] < before["loss"]
        assert (after["mean_logprob"] > before["mean_logprob"]) == (advantage > 0)


def test_kl_to_an_identical_reference_is_zero_and_grows_once_the_policy_moves(model_and_tokenizer) -> None:
    import copy

    model, tokenizer = model_and_tokenizer
    reference = copy.deepcopy(model).requires_grad_(False)
    sample = Sample(encode_episode(tokenizer, EPISODE), 1.0)
    args = GRPOArgs(model="m", kl_coef=0.1)
    moved, cpu = copy.deepcopy(model), torch.device("cpu")
    assert accumulate_gradients(moved, reference, [sample], args, cpu)["kl"] == pytest.approx(0, abs=1e-7)
    torch.optim.SGD(moved.parameters(), lr=1.0).step()
    assert accumulate_gradients(moved, reference, [sample], args, cpu)["kl"] > 1e-4


# --- the feedback-conditioned variant ----------------------------------------------------------------------
def test_a_right_attempt_after_a_critique_becomes_a_refinement_sample(model_and_tokenizer) -> None:
    _, tokenizer = model_and_tokenizer

    class Recorded:  # what PolicyAgent.episode returns: the messages and the sampled ids per reply
        def episode(self, key, messages):
            return [dict(m) for m in messages], {1: [5, 6, tokenizer.eos_token_id], 3: [7, 8, tokenizer.eos_token_id]}

    def record(kind: str) -> dict:
        verdicts = [{"correct": False}, {"correct": True}]
        return {"key": "k", "messages": EPISODE, "steps": [
            {"verdict": verdicts[0], "feedback": {"kind": kind}}, {"verdict": verdicts[1], "feedback": {"kind": kind}}]}

    prompt_args = GRPOArgs(model="m", refine_weight=0.3)
    [sample] = refinement_samples([record("text")], Recorded(), tokenizer, prompt_args)  # type: ignore[arg-type]
    assert sample.advantage == 0.3 and sample.kind == "refinement"
    assert [t for t, m in zip(sample.tokens.input_ids, sample.tokens.agent_mask, strict=True) if m] == [7, 8, 1]
    assert "not correct" not in tokenizer.decode(sample.tokens.input_ids)  # Critique-GRPO: the bare problem
    feedback_args = GRPOArgs(model="m", refine_weight=0.3, refine_context="feedback")
    [sample] = refinement_samples([record("text")], Recorded(), tokenizer, feedback_args)  # type: ignore[arg-type]
    assert "not correct" in tokenizer.decode(sample.tokens.input_ids)  # LeTI: conditioned on the critique
    assert sum(sample.tokens.agent_mask) == 6  # both replies are the agent's; the advantage is the refinement's
    assert refinement_samples([record("binary")], Recorded(), tokenizer, prompt_args) == []  # type: ignore[arg-type]


# --- end to end: runs, logs, checkpoints, resume ---------------------------------------------------------------
@pytest.mark.slow
def test_two_iterations_run_end_to_end_and_log_everything(tmp_path: Path) -> None:
    tensorboard = importlib.util.find_spec("tensorboard") is not None
    args = small_args(tmp_path, eval_every=1, eval_episodes=2, tensorboard=tensorboard, plot=True, feedback="text",
                      refine_weight=0.5, kl_coef=0.05)
    final = train(args)
    assert final == tmp_path / "checkpoint-2" and (final / "model.safetensors").is_file()
    with (tmp_path / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["iteration"] for row in rows] == ["0", "1", "2"]
    for name in ("return", "loss", "kl", "grad_norm", "episodes_per_s", "tokens_per_s", "eval_first_try",
                 "eval_success@2", "refinements", "zero_signal_groups"):
        assert rows[2][name] != "", name
    assert (tmp_path / "learning_curve.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "args.json").read_text())["feedback"] == "text"
    if tensorboard:
        assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))


@pytest.mark.slow
def test_resuming_after_two_iterations_equals_training_four_straight(tmp_path: Path) -> None:
    straight = train(small_args(tmp_path / "straight", iterations=4, save_every=0))
    train(small_args(tmp_path / "split", iterations=2))
    assert latest_checkpoint(tmp_path / "split") == tmp_path / "split" / "checkpoint-2"
    resumed = train(small_args(tmp_path / "split", iterations=4, resume=True))
    from safetensors.torch import load_file

    a, b = load_file(straight / "model.safetensors"), load_file(resumed / "model.safetensors")
    start = load_file(Path(tiny_model_dir()) / "model.safetensors")
    assert any(not torch.equal(a[k], start[k]) for k in a)  # training moved the weights
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-6)
    with (tmp_path / "split" / "metrics.csv").open() as handle:
        assert [row["iteration"] for row in csv.DictReader(handle)] == ["1", "2", "3", "4"]


def test_resuming_with_other_training_settings_is_refused(tmp_path: Path) -> None:
    (tmp_path / "checkpoint-1").mkdir()
    torch.save({"args": {**small_args(tmp_path, model="m").__dict__, "learning_rate": 0.5}, "iteration": 1},
               tmp_path / "checkpoint-1" / "trainer_state.pt")
    with pytest.raises(ValueError, match="learning_rate"):
        train(small_args(tmp_path, model="m", resume=True, iterations=3))


def test_the_command_line_maps_every_field_and_reports_bad_input(tmp_path: Path, capsys) -> None:
    assert main(["--model", str(tmp_path / "missing"), "--out", str(tmp_path / "o"), "--no-tensorboard"]) == 2
    assert "not a directory" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--model", "m", "--env-kwargs", "[1]"])
    with pytest.raises(ValueError, match="group_size"):
        GRPOArgs(model="m", group_size=1)

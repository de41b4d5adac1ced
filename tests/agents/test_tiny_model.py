"""The tiny math model: its demonstrations, tokenizer, checkpoint, atomic caching and (slow) its accuracy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest
from conftest import QUICK

from fbenv.agents import tiny_model
from fbenv.agents.tiny_data import (
    ENV_ID,
    TRAIN_TASK_SEED,
    demonstrations,
    held_out_prompts,
    own_retries,
    wrong_attempt,
)
from fbenv.agents.tiny_eval import measure
from fbenv.agents.tiny_model import (
    CHAT_TEMPLATE,
    RECIPE_FILE,
    RECIPE_VERSION,
    Recipe,
    ensure_tiny_model,
    read_recipe,
    train_tiny_model,
)
from fbenv.backends import GenerationRequest, make_backend
from fbenv.backends.transformers_backend import TransformersBackend
from fbenv.tasks.answers import apply_op, parse_step

UNICODE = "héllo ∑ Ωμέγα 中文 😀 \x00\t\r\n ‮ \ufeff x² ½ −5 ٣"


# --- demonstrations -----------------------------------------------------------------------------
def test_demonstrations_are_determined_by_the_seed() -> None:
    assert demonstrations(60, seed=3) == demonstrations(60, seed=3)
    assert demonstrations(60, seed=3) != demonstrations(60, seed=4)


def test_demonstrations_replay_in_the_real_env() -> None:
    """Every demo is the env's own conversation: replaying its assistant turns gives its user turns."""
    demos = demonstrations(120, seed=1, retry_fraction=0.7)
    assert {"text", "binary", "unary", None} <= {d.feedback for d in demos}
    assert any(len(d.messages) == 6 for d in demos)  # two wrong attempts before the right one
    for demo in demos:
        env = gym.make(ENV_ID, difficulty=demo.difficulty, feedback=demo.feedback or "none",
                       hint_level=demo.hint_level, seed=TRAIN_TASK_SEED + 1)
        prompt, _ = env.reset(options={"task_index": demo.index})
        assert demo.messages[0] == {"role": "user", "content": prompt}
        replies = [m["content"] for m in demo.messages if m["role"] == "assistant"]
        for wrong, said in zip(replies[:-1], [m["content"] for m in demo.messages[2::2]], strict=True):
            observation, _, terminated, _, info = env.step(wrong)
            assert not info["verdict"].correct and not terminated
            assert observation == said
        assert replies[-1] == env.unwrapped.instance.oracle_action
        assert env.step(replies[-1])[4]["verdict"].correct


def test_wrong_attempts_are_plausible_slips() -> None:
    """At most one step has wrong arithmetic, the format is the env's, and the answer is wrong."""
    import random

    env = gym.make(ENV_ID, difficulty=2)
    rng = random.Random(0)
    for seed in range(200):
        env.reset(seed=seed)
        instance = env.unwrapped.instance
        reply = wrong_attempt(instance, rng, avoid={instance.oracle_action})
        verdict = env.unwrapped.task.check(instance, reply)
        assert not verdict.correct and verdict.form_error is None
        lines = reply.split("\n")
        assert len(lines) == len(instance.data["lines"]) + 1 and lines[-1].startswith("Answer: ")
        steps = [parse_step(line) for line in lines[:-1]]
        assert all(step is not None for step in steps)
        assert sum(apply_op(a, op, b) != c for a, op, b, c in steps) <= 1


def test_own_retries_replay_the_models_mistakes_and_end_with_the_solution() -> None:
    """A scripted "model": right on even problems, wrong on odd ones, then right or wrong again."""
    problems = demonstrations(8, seed=2, retry_fraction=0.0)
    solutions = {p.prompt: p.messages[-1]["content"] for p in problems}
    calls = []

    def respond(chats: list[list[dict[str, str]]]) -> list[str]:
        calls.append(chats)
        replies = []
        for chat in chats:
            index = list(solutions).index(chat[0]["content"])
            right = index % 2 == 0 if len(chat) == 1 else index % 4 == 1
            replies.append(solutions[chat[0]["content"]] if right else "Answer: 100000")
        return replies

    demos = own_retries(problems, respond, seed=2)
    assert [d.index for d in demos] == [p.index for p in problems[1::2]]
    silent = [d for d in demos if d.feedback == "none"]
    assert silent and len(silent) < len(demos)
    assert len(calls) == 2 and len(calls[1]) == 4 - len(silent)  # the misses that got feedback are answered
    for demo, problem in zip(demos, problems[1::2], strict=True):
        assert demo.messages[1]["content"] == "Answer: 100000"
        env = gym.make(ENV_ID, feedback=demo.feedback, hint_level=demo.hint_level, seed=TRAIN_TASK_SEED + 2)
        env.reset(options={"task_index": demo.index})
        assert env.step(demo.messages[1]["content"])[0] == demo.messages[2]["content"]
        if demo.feedback == "none":  # silence: the model restates its answer, once or twice
            assert [m["content"] for m in demo.messages[2::2]] in ([""], ["", ""])
            assert all(m == demo.messages[1] for m in demo.messages[1::2])
            continue
        assert demo.messages[-1] == problem.messages[-1]
        # Fixed on the second try (problems 1 and 5): one exchange kept; else both wrong answers.
        assert len(demo.messages) == (4 if problems.index(problem) % 4 == 1 else 6)


def test_held_out_prompts_never_reach_training() -> None:
    held = held_out_prompts([1], episodes=300)
    assert len(held) > 100
    demos = demonstrations(3_000, seed=0, difficulties={1: 1.0}, exclude=held)
    assert not {d.prompt for d in demos} & held
    assert len(demos) == 3_000


# --- tokenizer and chat template ----------------------------------------------------------------
def test_tokenizer_round_trips_env_text_and_any_unicode(quick_model: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(quick_model), local_files_only=True)
    env = gym.make(ENV_ID, feedback="text", hint_level=4)
    prompt, _ = env.reset(seed=5)
    feedback, *_ = env.step("1 + 1 = 3\nAnswer: 3")
    for text in (prompt, feedback, UNICODE, "x" * 3 + "\x7f\x01", ""):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.unk_token_id is None or tokenizer.unk_token_id not in ids
        assert tokenizer.decode(ids) == text
    # Digits are one token each; the env's long format instructions (~250 characters) take a handful.
    assert tokenizer.tokenize("12345") == list("12345")
    instructions = prompt.split("\n\n", 1)[1]
    assert len(tokenizer(instructions, add_special_tokens=False)["input_ids"]) <= 10


def test_chat_template_renders_every_turn_and_the_generation_prompt(quick_model: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(quick_model), local_files_only=True)
    assert tokenizer.chat_template == CHAT_TEMPLATE
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "q"},
                {"role": "assistant", "content": "a"}, {"role": "user", "content": ""}]
    assert tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) == (
        "<|system|>s<|end|><|user|>q<|end|><|assistant|>a<|end|><|user|><|end|><|assistant|>")
    ids = tokenizer.apply_chat_template(messages[:2], add_generation_prompt=True, tokenize=True)
    ids = ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids
    assert ids[-1] == tokenizer.convert_tokens_to_ids("<|assistant|>")
    assert tokenizer.eos_token == "<|end|>" and tokenizer.pad_token == "<|pad|>"


# --- checkpoint ---------------------------------------------------------------------------------
def test_checkpoint_loads_through_the_hf_backend_and_generates(quick_model: Path) -> None:
    backend = make_backend(f"hf:{quick_model}")
    assert isinstance(backend, TransformersBackend)
    assert backend.model.config.hidden_size == QUICK.hidden_size
    requests = [GenerationRequest(({"role": "user", "content": text},), max_tokens=8)
                for text in ("Compute the value of 2 + 3.", UNICODE)]
    out = backend.generate(requests)
    assert len(out) == 2
    assert all(isinstance(g.text, str) and 1 <= g.completion_tokens <= 8 for g in out)
    record = read_recipe(quick_model)
    assert record is not None and record["version"] == RECIPE_VERSION
    assert record["recipe"]["steps"] == QUICK.steps and record["data"]["demonstrations"] == QUICK.demos


def test_training_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    paths = [train_tiny_model(tmp_path / name, recipe) for name, recipe in
             (("a", QUICK), ("b", QUICK), ("c", Recipe(**{**_fields(QUICK), "seed": 1})))]
    weights = [load_file(str(path / "model.safetensors")) for path in paths]
    assert weights[0].keys() == weights[1].keys()
    assert all((weights[0][name] == weights[1][name]).all() for name in weights[0])
    assert any(weights[0][name].shape != weights[2][name].shape or not (weights[0][name] == weights[2][name]).all()
               for name in weights[0])


def _fields(recipe: Recipe) -> dict:
    import dataclasses

    return {field.name: getattr(recipe, field.name) for field in dataclasses.fields(recipe)}


# --- ensure_tiny_model --------------------------------------------------------------------------
def test_ensure_loads_a_complete_checkpoint_without_training(quick_model: Path, monkeypatch) -> None:
    monkeypatch.setattr(tiny_model, "train_tiny_model", _no_training)
    assert ensure_tiny_model(quick_model) == quick_model


def _no_training(*args, **kwargs):
    raise AssertionError("ensure_tiny_model trained although a complete checkpoint was there")


def test_ensure_trains_into_the_default_path_atomically(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FBENV_HOME", str(tmp_path / "home"))
    path = ensure_tiny_model(recipe=QUICK)
    assert path == tmp_path / "home" / f"tiny-math-v{RECIPE_VERSION}"
    assert read_recipe(path) is not None
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left beside it


def test_a_killed_training_leaves_no_checkpoint(tmp_path: Path, monkeypatch) -> None:
    """A failure after files were written leaves neither the target nor a temporary directory."""
    real = tiny_model._train_into

    def dies_after_saving(directory: Path, recipe: Recipe, log) -> dict:
        real(directory, recipe, log)
        assert (directory / "model.safetensors").is_file()
        raise KeyboardInterrupt

    monkeypatch.setattr(tiny_model, "_train_into", dies_after_saving)
    with pytest.raises(KeyboardInterrupt):
        ensure_tiny_model(tmp_path / "model", recipe=QUICK)
    assert list(tmp_path.iterdir()) == []


def test_a_temporary_left_by_a_dead_process_is_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".model.tmp-{dead.pid}-abc123"
    stale.mkdir()
    (stale / "config.json").write_text("{}")
    ensure_tiny_model(tmp_path / "model", recipe=QUICK)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_retrain_replaces_and_a_foreign_directory_is_refused(tmp_path: Path) -> None:
    path = ensure_tiny_model(tmp_path / "model", recipe=QUICK)
    first = json.loads((path / RECIPE_FILE).read_text())
    ensure_tiny_model(path, retrain=True, recipe=Recipe(**{**_fields(QUICK), "steps": 2}))
    assert json.loads((path / RECIPE_FILE).read_text())["recipe"]["steps"] == 2 != first["recipe"]["steps"]
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a tiny-model checkpoint"):
        ensure_tiny_model(foreign, recipe=QUICK)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_an_old_recipe_version_is_retrained(tmp_path: Path) -> None:
    path = ensure_tiny_model(tmp_path / "model", recipe=QUICK)
    record = json.loads((path / RECIPE_FILE).read_text())
    (path / RECIPE_FILE).write_text(json.dumps({**record, "version": RECIPE_VERSION - 1}))
    assert read_recipe(path) is None
    ensure_tiny_model(path, recipe=QUICK)
    assert read_recipe(path) is not None


def test_cli_trains_and_prints_the_accuracies(tmp_path: Path, capsys) -> None:
    code = tiny_model.main(["--out", str(tmp_path / "m"), "--steps", "2", "--demos", "200", "--own-problems", "4",
                            "--eval-episodes", "3"])
    out = capsys.readouterr().out
    assert code == 0 and "step 0: loss" in out and "own mistakes, round 2" in out
    printed = json.loads(out[out.index("\n{") + 1:])
    assert printed["accuracy"]["episodes"] == 3 and 0 <= printed["accuracy"]["first_try"] <= 1
    assert read_recipe(tmp_path / "m")["recipe"]["steps"] == 2


# --- measurement and the real recipe ------------------------------------------------------------
def test_measure_counts_first_try_and_later_turns(quick_model: Path) -> None:
    result = measure(make_backend(f"hf:{quick_model}"), episodes=4, max_turns=2, max_tokens=4)
    assert set(result["within"]) == {"none", "unary", "binary", "text"}
    for curve in result["within"].values():
        assert len(curve) == 2 and curve[0] <= curve[1] and curve[0] == result["first_try"]
    env = gym.make(ENV_ID, difficulty=1)
    assert result["prompts"] == [env.reset(seed=seed)[0] for seed in range(4)]


def test_eval_cli_prints_the_measurement(quick_model: Path, capsys) -> None:
    from fbenv.agents import tiny_eval

    assert tiny_eval.main([str(quick_model), "--episodes", "2", "--max-turns", "2", "--kinds", "binary,text",
                           "--hint-level", "3"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(printed["within"]) == {"binary", "text"} and printed["hint_level"] == 3
    assert printed["episodes"] == 2 and len(printed["within"]["text"]) == 2


@pytest.mark.slow
def test_the_real_recipe_is_between_useless_and_perfect_and_feedback_helps(real_model: Path) -> None:
    """Held-out episodes (reset seeds 200-349 of the default problem set), greedy, text at the default level."""
    result = measure(make_backend(f"hf:{real_model}"), episodes=150, kinds=("text",), max_turns=3, seed=200)
    assert 0.1 < result["first_try"] < 0.9
    assert result["within"]["text"][-1] > result["first_try"]
    record = read_recipe(real_model)
    assert record is not None and record["accuracy"]["seen_in_training"] == 0.0

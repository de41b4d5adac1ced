"""The ``fbenv`` command: ``list`` (tables and JSON) and ``play`` (a person as the agent on stdin)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest

import fbenv
from fbenv.cli import main, parse_setting, read_reply
from fbenv.feedback import KIND_DESCRIPTIONS, KINDS
from fbenv.simulators import DEFAULTS, SIMULATORS, get_simulator

WRONG = "Answer: -987654321"
SEED = 3


def episode_facts(seed: int = SEED, **kwargs) -> tuple[str, str, str, str]:
    """(prompt, the oracle's reply, the feedback a WRONG first reply gets, reference) for Math-v0."""
    env = gym.make("fbenv/Math-v0", **kwargs)
    prompt, _ = env.reset(seed=seed)
    instance = env.unwrapped.instance
    feedback, *_ = env.step(WRONG)
    env.close()
    return prompt, instance.oracle_action, feedback, instance.reference


def replies(*texts: str) -> str:
    """What a person types: each reply followed by the empty line that ends it."""
    return "".join(f"{text}\n\n" for text in texts)


def play(capsys, monkeypatch, stdin: str, *args: str) -> tuple[int, str, str]:
    """Run ``fbenv play ARGS`` in-process with ``stdin`` as the person's input."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["play", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def fbenv_script() -> str:
    """The installed ``fbenv`` console script (next to this interpreter, else on PATH)."""
    beside = Path(sys.executable).with_name("fbenv")
    found = str(beside) if beside.exists() else shutil.which("fbenv")
    if found is None:
        pytest.fail("the fbenv console script is not installed; run `pip install -e .`")
    return found


# --- fbenv --version / no command ----------------------------------------------------------------
def test_version(capsys) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"fbenv {fbenv.__version__}"


def test_no_command_is_a_usage_error(capsys) -> None:
    assert main([]) == 2
    assert "required" in capsys.readouterr().err


# --- fbenv list ----------------------------------------------------------------------------------
def test_list_shows_every_env_with_its_kinds_every_simulator_and_every_kind(capsys) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    for env_id, (family, _kwargs) in fbenv.ENVS.items():
        row = next(line for line in lines if line.split() and line.split()[0] == env_id)
        kinds = gym.make(env_id).unwrapped.metadata["feedback_kinds"]
        assert family in row and ", ".join(kinds) in row
    for name in SIMULATORS:
        row = next(line for line in lines if line.split() and line.split()[0] == name)
        assert ", ".join(get_simulator(name).kinds) in row
    for kind in KINDS:
        assert any(line.split()[:1] == [kind] and KIND_DESCRIPTIONS[kind] in line for line in lines)


def test_list_json_matches_the_registries_and_the_built_envs(capsys) -> None:
    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [env["id"] for env in data["envs"]] == list(fbenv.ENVS)
    for env in data["envs"]:
        built = gym.make(env["id"]).unwrapped
        assert env["family"] == fbenv.ENVS[env["id"]][0] == built.metadata["family"]
        assert env["feedback_kinds"] == list(built.metadata["feedback_kinds"])
        assert "error" not in env
    assert {sim["name"] for sim in data["simulators"]} == set(SIMULATORS)
    for sim in data["simulators"]:
        assert sim["kinds"] == list(get_simulator(sim["name"]).kinds)
        assert sim["default_for"] == [kind for kind, name in DEFAULTS.items() if name == sim["name"]]
    assert {kind["kind"]: kind["description"] for kind in data["feedback_kinds"]} == KIND_DESCRIPTIONS


# --- fbenv play, in-process ----------------------------------------------------------------------
def test_play_wrong_then_right_is_solved_on_turn_2(capsys, monkeypatch) -> None:
    prompt, oracle, wrong_feedback, reference = episode_facts(feedback="binary")
    code, out, err = play(
        capsys, monkeypatch, replies(WRONG, oracle), "fbenv/Math-v0", "--feedback", "binary", "--seed", str(SEED)
    )
    assert code == 0 and err == ""
    assert prompt in out
    assert wrong_feedback == "Incorrect." and "Incorrect." in out
    assert "turn 1 of 5 | reward 0.0" in out and "turn 2 of 5 | reward 1.0" in out
    assert "Solved on turn 2 of 5." in out
    assert f"Reference answer: {reference}" in out


def test_a_reply_spans_lines_until_an_empty_line(capsys, monkeypatch) -> None:
    _prompt, oracle, _feedback, _reference = episode_facts(feedback="process")
    assert oracle.count("\n") >= 2  # the oracle reply is several lines: solved only if read as one reply
    code, out, _err = play(
        capsys, monkeypatch, replies(oracle), "Math-v0", "--feedback", "process", "--seed", str(SEED)
    )
    assert code == 0
    assert "Solved on turn 1 of 5." in out
    assert out.count("--- feedback") == 1


def test_eof_with_no_reply_ends_cleanly_and_shows_the_reference(capsys, monkeypatch) -> None:
    _prompt, _oracle, _feedback, reference = episode_facts()
    code, out, err = play(capsys, monkeypatch, "", "fbenv/Math-v0", "--seed", str(SEED))
    assert code == 0 and err == ""
    assert "Ctrl-D" in out  # the prompt says how to end a reply and how to quit
    assert "Not solved: you stopped after 0 turns." in out
    assert f"Reference answer: {reference}" in out


def test_eof_after_an_unterminated_reply_sends_it_then_stops(capsys, monkeypatch) -> None:
    code, out, _err = play(capsys, monkeypatch, WRONG, "fbenv/Math-v0", "--feedback", "binary", "--seed", str(SEED))
    assert code == 0
    assert "Incorrect." in out and "Not solved: you stopped after 1 turn." in out
    assert "Your last answer: -987654321" in out


def test_running_out_of_turns_shows_the_outcome_and_ground_truth(capsys, monkeypatch) -> None:
    _prompt, _oracle, wrong_feedback, reference = episode_facts(feedback="text", hint_level=1)
    code, out, _err = play(
        capsys,
        monkeypatch,
        replies(WRONG, WRONG, WRONG),
        "fbenv/Math-v0",
        "--seed",
        str(SEED),
        "--hint-level",
        "1",
        "--max-turns",
        "2",
    )
    assert code == 0
    assert out.count(wrong_feedback) == 2
    assert "turn 2 of 2" in out and "turn 3" not in out  # the third reply is never read
    assert "Not solved: out of turns after 2 turns." in out
    assert f"Reference answer: {reference}" in out and "Worked solution:" in out


def test_set_and_task_index_reach_the_env(capsys, monkeypatch) -> None:
    env = gym.make("fbenv/Math-v0", difficulty=5, problems="algebra")
    prompt, _ = env.reset(options={"task_index": 7})
    code, out, _err = play(
        capsys,
        monkeypatch,
        "",
        "fbenv/Math-v0",
        "--set",
        "difficulty=5",
        "--set",
        "problems=algebra",
        "--task-index",
        "7",
    )
    assert code == 0 and prompt in out


def test_simulator_option_picks_the_simulator(capsys, monkeypatch) -> None:
    code, out, _err = play(capsys, monkeypatch, "", "fbenv/Math-v0", "--simulator", "oracle-critic")
    assert code == 0 and "feedback text (oracle-critic)" in out.splitlines()[0]


# --- fbenv play, errors: one line on stderr, exit code 2 ------------------------------------------
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["fbenv/Nope-v0"], "unknown env id 'fbenv/Nope-v0'; known ids: fbenv/Math-v0"),
        (["fbenv/Math-v0", "--feedback", "bogus"], "unknown feedback kind 'bogus'"),
        (["fbenv/Math-v0", "--set", "nonsense=1"], "nonsense"),
        (["fbenv/Math-v0", "--set", "difficulty=9"], "difficulty"),
        (["fbenv/Math-v0", "--feedback", "binary", "--hint-level", "2"], "hint_level"),
        (["fbenv/Math-v0", "--simulator", "nobody"], "unknown simulator 'nobody'"),
        (["fbenv/Math-v0", "--task-index", "-1"], "task_index"),
        (["fbenv/Math-v0", "--feedback", "text", "--set", 'feedback="binary"'], "feedback is given twice"),
    ],
)
def test_bad_requests_exit_2_with_a_one_line_error(capsys, monkeypatch, args, expected) -> None:
    code, out, err = play(capsys, monkeypatch, replies(WRONG), *args)
    assert code == 2
    assert err.startswith("fbenv: error: ") and err.count("\n") == 1
    assert expected in err
    assert "Traceback" not in err + out


def test_bad_set_syntax_is_a_usage_error(capsys, monkeypatch) -> None:
    code, _out, err = play(capsys, monkeypatch, "", "fbenv/Math-v0", "--set", "difficulty")
    assert code == 2 and "expected key=value" in err


def test_parse_setting_reads_json_else_a_string() -> None:
    assert parse_setting("difficulty=3") == ("difficulty", 3)
    assert parse_setting('config={"min_terms": 2}') == ("config", {"min_terms": 2})
    assert parse_setting("flag=true") == ("flag", True)
    assert parse_setting("problems=algebra") == ("problems", "algebra")
    assert parse_setting("path=a=b.jsonl") == ("path", "a=b.jsonl")


def test_read_reply_skips_leading_blanks_and_stops_at_an_empty_line() -> None:
    stream = io.StringIO("\n\nfirst line\r\n  indented\n\nsecond reply\n")
    assert read_reply(stream) == "first line\n  indented"
    assert read_reply(stream) == "second reply"
    assert read_reply(stream) is None


# --- the installed console script ----------------------------------------------------------------
def test_console_script_plays_a_whole_math_episode_from_piped_stdin() -> None:
    prompt, oracle, wrong_feedback, reference = episode_facts(seed=11, feedback="text")
    result = subprocess.run(
        [fbenv_script(), "play", "fbenv/Math-v0", "--feedback", "text", "--seed", "11"],
        input=replies(WRONG, oracle),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    assert prompt in out
    first, second = out.split("--- feedback | turn 2", 1)
    assert "--- feedback | turn 1 of 5 | reward 0.0 ---\n" + wrong_feedback in first
    assert f"> {WRONG}" in first  # piped replies are echoed, so the output is a whole transcript
    assert "reward 1.0" in second.splitlines()[0]
    assert "Solved on turn 2 of 5." in second
    assert f"Reference answer: {reference}" in second


def test_console_script_errors_and_eof() -> None:
    script = fbenv_script()
    unknown = subprocess.run([script, "play", "Nope-v0"], capture_output=True, text=True, timeout=120, check=False)
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("fbenv: error: unknown env id 'Nope-v0'") and "Traceback" not in unknown.stderr
    eof = subprocess.run(
        [script, "play", "Math-v0"], input="", capture_output=True, text=True, timeout=120, check=False
    )
    assert eof.returncode == 0 and eof.stderr == ""
    assert "Not solved: you stopped after 0 turns." in eof.stdout
    version = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=120, check=False)
    assert version.returncode == 0 and version.stdout.strip() == f"fbenv {fbenv.__version__}"


def test_code_replies_keep_blank_lines_and_end_at_a_dot(monkeypatch, capsys) -> None:
    stream = io.StringIO("def f():\n\n    return 1\n.\nnext\n")
    assert read_reply(stream, ".") == "def f():\n\n    return 1"
    assert read_reply(io.StringIO("a\n\nb\n")) == "a"
    code = "def second_largest(numbers):\n\n    values = sorted(set(numbers))\n\n" \
           "    return values[-2] if len(values) >= 2 else None\n.\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(code))
    assert main(["play", "CodeFile-v0", "--feedback", "binary", "--task-index", "0"]) == 0
    out = capsys.readouterr().out
    assert "holding just '.'" in out and "Correct." in out and "Solved on turn 1" in out

"""Verification replays real bundles and rejects every kind of tampering, naming the episode and field."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import run_suite
from lb_helpers import FAMILIES, TINY_SUITE, episode, load, tampered, write_suite
from server_process import stats

from fbenv.leaderboard.bundle import make_bundle, write_bundle
from fbenv.leaderboard.replay import verify, verify_bundle


def test_real_bundles_verify(board: Path, bundles: dict[str, Path]) -> None:
    for agent, path in bundles.items():
        report = verify(path, board)
        assert report.ok, report.text()
        assert report.episodes == 4 * 3 + 2 * 3 and report.rows == 6 and not report.notes, agent
    tool = load(bundles["lb_helpers:ToolThenOracle"])
    first = episode(tool, "text", "fbenv/HumanEval-v0")
    assert first["steps"][0]["kind"] == "tool" and "42" in first["messages"][2]["content"]


def reject(board: Path, bundles: dict[str, Path], tmp_path: Path, edit: Any, agent: str = "random") -> list[str]:
    report = verify(tampered(bundles[agent], tmp_path / "t.json", edit), board)
    assert not report.ok
    return report.mismatches


def test_edited_reward_is_rejected(board: Path, bundles: dict[str, Path], tmp_path: Path) -> None:
    def edit(bundle: dict[str, Any]) -> None:
        episode(bundle, "binary")["steps"][0]["reward"] = 1.0
    [line] = reject(board, bundles, tmp_path, edit)
    assert "|binary|" in line and ".steps[0].reward: bundle 1.0, replay 0.0" in line


def test_edited_feedback_text_is_rejected(board: Path, bundles: dict[str, Path], tmp_path: Path) -> None:
    def edit(bundle: dict[str, Any]) -> None:
        found = episode(bundle, "text")
        found["steps"][0]["feedback"]["text"] = "Great job!"
        found["messages"][2]["content"] = "Great job!"
    lines = reject(board, bundles, tmp_path, edit)
    assert any(".steps[0].feedback.text: bundle 'Great job!'" in line for line in lines)
    assert any(".messages[2].content: bundle 'Great job!'" in line for line in lines)


def test_edited_verdict_and_totals_are_rejected(board: Path, bundles: dict[str, Path], tmp_path: Path) -> None:
    def edit(bundle: dict[str, Any]) -> None:
        found = episode(bundle, "none")
        found["steps"][-1]["verdict"]["correct"] = True
        found["solved"], found["solved_turn"] = True, 2
    lines = reject(board, bundles, tmp_path, edit)
    assert any(".steps[1].verdict.correct: bundle true, replay false" in line for line in lines)
    assert any(".solved: bundle true, replay false" in line for line in lines)
    assert any(line.startswith("summary[") for line in lines)  # the claims no longer follow from the episodes


def test_edited_claimed_metric_is_rejected(board: Path, bundles: dict[str, Path], tmp_path: Path) -> None:
    def edit(bundle: dict[str, Any]) -> None:
        bundle["summary"][1]["first_try"]["value"] = 0.9
    [line] = reject(board, bundles, tmp_path, edit)
    assert line.startswith("summary[1].first_try (fbenv/Math-v0 binary): claimed") and "recomputed" in line


def test_another_env_version_is_rejected(board: Path, bundles: dict[str, Path], tmp_path: Path) -> None:
    def edit(bundle: dict[str, Any]) -> None:
        spec = json.loads(bundle["envs"][0]["spec"])
        spec["id"] = "fbenv/Math-v1"
        spec["kwargs"]["difficulty"] = 3
        bundle["envs"][0]["spec"] = json.dumps(spec)
    [line] = reject(board, bundles, tmp_path, edit)
    assert line.startswith("envs[0].spec: differs from the fresh env's spec.to_json()")
    assert "spec.id: bundle 'fbenv/Math-v1', replay 'fbenv/Math-v0'" in line and "spec.kwargs.difficulty" in line


def test_a_missing_episode_is_rejected(board: Path, bundles: dict[str, Path], tmp_path: Path) -> None:
    lines = reject(board, bundles, tmp_path, lambda bundle: bundle["episodes"].pop(5))
    assert any(line.startswith("episodes: 1 of the suite's 18 episodes are missing (e.g. fbenv/Math-v0|binary|1")
               for line in lines)


def test_another_seed_set_is_rejected(board: Path, bundles: dict[str, Path], tmp_path: Path) -> None:
    def edit(bundle: dict[str, Any]) -> None:
        bundle["envs"][0]["seeds"] = [0, 1, 2, 7]
        bundle["episodes"][3]["seed"] = 7
        bundle["episodes"][3]["key"] = "fbenv/Math-v0|none|7"
    lines = reject(board, bundles, tmp_path, edit)
    assert lines[0] == ("envs[0].seeds: the bundle's seed set differs: missing 3, not in the suite 7; the suite "
                        "fixes seeds 0..3 for fbenv/Math-v0")
    assert any(line.startswith("episodes[3]: fbenv/Math-v0|none|7 is not an episode of suite tiny") for line in lines)


def test_a_transcript_from_other_seeds_is_rejected(board: Path, bundles: dict[str, Path], tmp_path: Path) -> None:
    def edit(bundle: dict[str, Any]) -> None:  # swap two episodes' transcripts, keeping their keys
        first, second = bundle["episodes"][0], bundle["episodes"][1]
        first["messages"], second["messages"] = second["messages"], first["messages"]
    lines = reject(board, bundles, tmp_path, edit)
    assert lines[0].startswith("episodes[0] (fbenv/Math-v0|none|0).messages[0].content: the prompt differs")


def test_edited_agent_reply_no_longer_matches_its_feedback(board: Path, bundles: dict[str, Path],
                                                           tmp_path: Path) -> None:
    def edit(bundle: dict[str, Any]) -> None:  # the agent "answered right" without the env ever saying so
        found = episode(bundle, "text")
        found["messages"][1]["content"] = load(bundles["oracle"])["episodes"][
            bundle["episodes"].index(found)]["messages"][1]["content"]
    lines = reject(board, bundles, tmp_path, edit)
    assert any(".steps[0].verdict.correct: bundle false, replay true" in line for line in lines)
    assert lines[-1].endswith("more mismatch(es) in this episode")  # listed up to five per episode


def test_truncated_and_padded_transcripts_are_rejected(board: Path, bundles: dict[str, Path], tmp_path: Path) -> None:
    def cut(bundle: dict[str, Any]) -> None:
        found = episode(bundle, "binary")
        del found["steps"][-1], found["messages"][-2:]
    assert any("the bundle stops after turn 1 but the episode goes on" in line
               for line in reject(board, bundles, tmp_path, cut))

    def pad(bundle: dict[str, Any]) -> None:  # a turn after the episode ended
        found = bundle["episodes"][0]
        found["steps"].append(copy.deepcopy(found["steps"][-1]))
        found["messages"] += copy.deepcopy(found["messages"][-2:])
        found["turns"] += 1
    lines = reject(board, bundles, tmp_path, pad, agent="oracle")
    assert lines[0] == ("episodes[0] (fbenv/Math-v0|none|0).steps[1]: the env had already ended after turn 1; "
                        "the bundle has steps the env never played")

    def shape(bundle: dict[str, Any]) -> None:
        episode(bundle, "binary")["messages"][1]["source"] = "user"
    assert any(".messages[1]: expected role 'assistant' and source 'agent'" in line
               for line in reject(board, bundles, tmp_path, shape))


def test_keys_and_duplicates_are_checked(board: Path, bundles: dict[str, Path], tmp_path: Path) -> None:
    def duplicate(bundle: dict[str, Any]) -> None:
        bundle["episodes"].append(copy.deepcopy(bundle["episodes"][0]))
    assert "episodes[18]: fbenv/Math-v0|none|0 appears twice" in reject(board, bundles, tmp_path, duplicate)

    def rekey(bundle: dict[str, Any]) -> None:
        bundle["episodes"][0]["key"] = "anything"
    assert any(line.startswith("episodes[0].key: 'anything' should be 'fbenv/Math-v0|none|0'")
               for line in reject(board, bundles, tmp_path, rekey))


def test_a_bundle_for_another_suite_version_is_rejected(board: Path, bundles: dict[str, Path], tmp_path: Path) -> None:
    changed = tmp_path / "board"
    write_suite(changed, {**TINY_SUITE, "version": 2, "max_turns": 3})
    report = verify(bundles["oracle"], changed)
    assert not report.ok and report.mismatches[0].startswith("suite: the bundle ran tiny v1")
    report = verify(bundles["oracle"], tmp_path / "empty")
    assert report.mismatches[0].startswith("suite.name: no suite 'tiny'")


def test_an_envs_own_turn_budget_and_conditions_are_checked_on_replay(tmp_path: Path) -> None:
    board = tmp_path / "board"
    write_suite(board, FAMILIES)
    honest = write_bundle(make_bundle(run_suite(board, "families", "random", tmp_path / "run"), board),
                          tmp_path / "honest.json.gz")
    report = verify(honest, board)
    assert report.ok, report.text()
    assert report.episodes == 2 * 2 + 2 * 2 and report.steps == 2 * 2 * 2 + 2 * 2 * 4  # random never solves
    # The same suite name and version with a longer budget and one more condition for Clarify: its bundle,
    # relabelled as a run of the board's suite, must fail on the spec, the extra condition and the episode ends.
    other = tmp_path / "other"
    clarify = {**FAMILIES["envs"][1], "max_turns": 6, "conditions": ["none", "binary", "implicit"]}
    write_suite(other, {**FAMILIES, "envs": [FAMILIES["envs"][0], clarify]})
    bundle = make_bundle(run_suite(other, "families", "random", tmp_path / "other-run"), other)
    bundle["suite"] = load(honest)["suite"]
    report = verify_bundle(bundle, board)
    assert not report.ok
    lines = report.mismatches
    assert "envs[2]: fbenv/Clarify-v0 under 'none' is not in suite families" in lines
    assert any(line.startswith("envs[3].spec: differs") and "spec.kwargs.max_turns: bundle 6, replay 4" in line
               for line in lines), lines
    assert any("(fbenv/Clarify-v0|binary|0).steps[4]: the env had already ended after turn 4" in line
               for line in lines), lines
    assert any(line.startswith("episodes[4]: fbenv/Clarify-v0|none|0 is not an episode of suite families")
               for line in lines), lines


def test_a_schema_error_is_a_rejection_naming_the_field(board: Path, bundles: dict[str, Path], tmp_path: Path) -> None:
    def edit(bundle: dict[str, Any]) -> None:
        bundle["episodes"][3]["steps"][1]["feedback"] = {**bundle["episodes"][3]["steps"][1]["feedback"], "label": "no"}
    [line] = reject(board, bundles, tmp_path, edit)
    assert line.endswith("episodes[3].steps[1].feedback.label: expected bool or null, got str")


def test_a_bundle_from_before_a_field_was_added_verifies_when_the_replay_gives_its_default(
        board: Path, bundles: dict[str, Path], tmp_path: Path) -> None:
    def drop(bundle: dict[str, Any], name: str) -> None:
        for found in bundle["episodes"]:
            for step in found["steps"]:
                step["feedback"].pop(name)
    report = verify(tampered(bundles["random"], tmp_path / "old.json", lambda b: drop(b, "end_episode")), board)
    assert report.ok, report.text()  # every episode's feedback had end_episode false, the default
    lines = reject(board, bundles, tmp_path, lambda b: drop(b, "source"))
    assert "steps[0].feedback.source: bundle '', replay 'silent'" in lines[0]


def test_agent_code_never_runs_during_verification(board: Path, bundles: dict[str, Path], tmp_path: Path) -> None:
    trap = tmp_path / "lb_trap.py"
    trap.write_text("import pathlib\npathlib.Path(__file__).with_suffix('.ran').touch()\nclass Agent:\n    pass\n")
    path = tampered(bundles["lb_helpers:WrongThenOracle"], tmp_path / "b.json",
                    lambda bundle: bundle["agent"].update(spec="lb_trap:Agent"))
    code = ("import sys, json; sys.path.insert(0, sys.argv[1])\n"
            "import fbenv.agents.base as base\n"
            "def refuse(*a, **k): raise AssertionError('make_agent called')\n"
            "base.make_agent = refuse\n"
            "from fbenv.leaderboard.replay import verify\n"
            "report = verify(sys.argv[2], sys.argv[3])\n"
            "print(json.dumps([report.ok, 'lb_trap' in sys.modules]))\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path), str(path), str(board)], capture_output=True,
                          text=True, check=True)
    assert json.loads(done.stdout) == [True, False]
    assert not trap.with_suffix(".ran").exists()


@pytest.fixture(scope="module")
def coin_bundle(board: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A board whose suite has a nondeterministic critic, and a bundle of it."""
    root = tmp_path_factory.mktemp("coin")
    suite = {**TINY_SUITE, "name": "coin", "envs": [{"id": "fbenv/Math-v0", "episodes": 3}],
             "conditions": ["binary", {"name": "text:coin", "feedback": "text", "simulator": "lb_helpers:CoinCritic",
                                       "kwargs": {"simulator_kwargs": {"prefix": "Critique"}}}]}
    write_suite(root, suite)
    out = run_suite(root, "coin", "lb_helpers:WrongThenOracle", root / "run")
    return root, write_bundle(make_bundle(out, root), root / "coin.json.gz")


def test_nondeterministic_simulators_have_their_verdicts_rechecked_and_say_so(
        coin_bundle: tuple[Path, Path], tmp_path: Path) -> None:
    root, path = coin_bundle
    bundle = load(path)
    assert episode(bundle, "text:coin")["steps"][0]["feedback"]["text"].startswith("Critique ")
    report = verify(path, root)
    assert report.ok, report.text()
    [note] = report.notes
    assert "'lb_helpers:CoinCritic' is nondeterministic, so its feedback was taken from the bundle" in note

    def edit(bundle: dict[str, Any]) -> None:
        episode(bundle, "text:coin")["steps"][0]["verdict"]["correct"] = True
    report = verify(tampered(path, tmp_path / "t.json", edit), root)
    assert any("|text:coin|" in line and ".steps[0].verdict.correct: bundle true, replay false" in line
               for line in report.mismatches)

    def spec(bundle: dict[str, Any]) -> None:
        entry = json.loads(bundle["envs"][1]["spec"])
        entry["kwargs"]["simulator_kwargs"]["prefix"] = "Praise"
        bundle["envs"][1]["spec"] = json.dumps(entry)
    report = verify(tampered(path, tmp_path / "t.json", spec), root)
    assert [line.split(" (")[0] for line in report.mismatches] == ["envs[1].spec: differs from the fresh env's "
                                                                    "spec.to_json()"]


def test_a_model_backed_critic_runs_on_its_recorded_words_and_no_model_is_called(
        openai_server: Any, tmp_path: Path) -> None:
    url = openai_server("--reply", "Look again at your second step.")
    suite = {**TINY_SUITE, "name": "llm", "envs": [{"id": "fbenv/Math-v0", "episodes": 2}],
             "conditions": [{"name": "text:llm", "feedback": "text", "simulator": "llm-critic",
                             "kwargs": {"simulator_kwargs": {"backend": f"openai:critic@{url}"}}}]}
    write_suite(tmp_path, suite)
    out = run_suite(tmp_path, "llm", "lb_helpers:WrongThenOracle", tmp_path / "run")
    bundle = make_bundle(out, tmp_path)
    assert episode(bundle, "text:llm")["steps"][0]["feedback"]["text"] == "Look again at your second step."
    before = stats(url)["requests"]
    report = verify_bundle(bundle, tmp_path)
    assert report.ok, report.text()
    assert "its model's words were taken from the bundle (no model was loaded or called)" in report.notes[0]
    assert stats(url)["requests"] == before > 0

    reworded = copy.deepcopy(bundle)  # other words are the model's business: they verify
    found = episode(reworded, "text:llm")
    found["steps"][0]["feedback"]["text"] = found["messages"][2]["content"] = "Try once more."
    assert verify_bundle(reworded, tmp_path).ok
    relabelled = copy.deepcopy(bundle)  # but the critic's label is the verdict's, recomputed
    episode(relabelled, "text:llm")["steps"][0]["feedback"]["label"] = True
    lines = verify_bundle(relabelled, tmp_path).mismatches
    assert any(".steps[0].feedback.label: bundle true, replay false" in line for line in lines)
    assert stats(url)["requests"] == before

"""`fbenv eval --suite` and `fbenv leaderboard bundle|verify|submit|build` end to end, with their errors."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from lb_helpers import tampered

from fbenv.cli import build_parser, main


def test_a_suite_run_bundles_verifies_submits_and_builds(fresh_board: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    board, out, bundle = str(fresh_board), tmp_path / "run", tmp_path / "b.json.gz"
    assert main(["eval", "--suite", "tiny", "--board", board, "--agent", "oracle", "--out", str(out),
                 "--no-progress"]) == 0
    assert f"fbenv leaderboard bundle {out} --out {out}/bundle.json.gz" in capsys.readouterr().out
    assert json.loads((out / "run.json").read_text())["suite"]["name"] == "tiny"
    assert main(["leaderboard", "bundle", str(out), "--out", str(bundle), "--board", board, "--name", "Oracle (ref)",
                 "--description", "reference replies"]) == 0
    assert "18 episodes of 'Oracle (ref)'" in capsys.readouterr().out
    assert main(["leaderboard", "verify", str(bundle), "--board", board]) == 0
    assert capsys.readouterr().out.startswith(f"VERIFIED {bundle}: agent 'Oracle (ref)', suite tiny v1; 18 episodes")

    def edit(data: dict[str, Any]) -> None:
        data["episodes"][0]["steps"][0]["reward"] = 0.5
    bad = tampered(bundle, tmp_path / "bad.json", edit)
    assert main(["leaderboard", "verify", str(bundle), str(bad), "--board", board]) == 1
    printed = capsys.readouterr().out
    assert "VERIFIED" in printed and f"REJECTED {bad}: 1 mismatch(es)" in printed and ".steps[0].reward" in printed
    assert main(["leaderboard", "submit", str(bad), "--board", board]) == 1
    assert "REJECTED" in capsys.readouterr().err
    assert main(["leaderboard", "submit", str(bundle), "--board", board]) == 0
    assert "accepted: filed as" in capsys.readouterr().out
    assert main(["leaderboard", "submit", str(bundle), "--board", board]) == 2
    assert "already on the board" in capsys.readouterr().err
    assert main(["leaderboard", "build", "--board", board]) == 0
    assert "| 1 | Oracle (ref) |" in (fresh_board / "README.md").read_text()
    assert (fresh_board / "site" / "index.html").is_file()


@pytest.mark.parametrize(("args", "message"), [
    (["eval", "--suite", "tiny", "--env", "Math-v0", "--episodes", "3"], "fixes envs, feedback, episodes, seeds, "
     "max turns and env kwargs; leave out --env, --episodes"),
    (["eval", "--suite", "tiny", "--seed", "0"], "leave out --seed"),
    (["eval", "--suite", "nope"], "no suite 'nope'"),
    (["eval", "--suite", "../tiny"], "holds '/' (a path separator)"),
    (["eval"], "say what to run: --env ID... or --suite NAME"),
])
def test_eval_suite_errors_name_the_fix(fresh_board: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        args: list[str], message: str) -> None:
    assert main([*args, "--board", str(fresh_board), "--agent", "oracle", "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err


def test_leaderboard_errors_name_the_fix(fresh_board: Path, runs: dict[str, Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["leaderboard", "build", "--board", str(tmp_path)]) == 2
    assert "has no suites/); pass --board DIR" in capsys.readouterr().err
    assert main(["leaderboard", "bundle", str(tmp_path), "--out", str(tmp_path / "b"), "--board",
                 str(fresh_board)]) == 2
    assert "bundle a directory written by `fbenv eval --suite NAME --out DIR`" in capsys.readouterr().err
    assert main(["leaderboard", "bundle", str(runs["oracle"]), "--out", str(tmp_path / "b"), "--board",
                 str(fresh_board), "--name", "two\nlines"]) == 2
    assert "agent.name: holds a control character" in capsys.readouterr().err
    assert main(["leaderboard", "verify", str(tmp_path / "missing.json"), "--board", str(fresh_board)]) == 1
    assert "no such bundle file" in capsys.readouterr().out


def test_the_documented_one_liners_parse() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "leaderboard.md").read_text()
    [tiny] = [line for line in doc.splitlines() if line.startswith("fbenv eval --suite small --agent tiny")]
    commands = [shlex.split(command) for command in tiny.split(" && ")]
    assert [c[1] for c in commands] == ["eval", "leaderboard", "leaderboard", "leaderboard"]
    for command in commands:
        assert callable(build_parser().parse_args(command[1:]).run)

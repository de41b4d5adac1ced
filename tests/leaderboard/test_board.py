"""Submit files only verified bundles, under safe names; build renders one column per condition."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
from conftest import run_suite
from lb_helpers import FAMILIES, SCRIPT_NAME, load, renamed, tampered, write_suite

from fbenv.leaderboard.board import SUBMISSIONS, SubmitError, build, load_submissions, slug, submit, tables
from fbenv.leaderboard.bundle import make_bundle, write_bundle


def test_submit_files_the_verified_bytes_under_a_safe_name(fresh_board: Path, bundles: dict[str, Path],
                                                           tmp_path: Path) -> None:
    target, report = submit(bundles["oracle"], fresh_board)
    assert report.ok and target.parent == fresh_board / SUBMISSIONS
    assert target.name.startswith("oracle-") and target.name.endswith(".json.gz")
    assert target.read_bytes() == bundles["oracle"].read_bytes()
    with pytest.raises(SubmitError, match=f"already on the board as {target.name}"):
        submit(bundles["oracle"], fresh_board)
    sneaky = renamed(bundles, "random", "../../outside/evil\\name", tmp_path / "s.json.gz")
    target, _ = submit(sneaky, fresh_board)
    assert target.parent == fresh_board / SUBMISSIONS and target.name.startswith("outside-evil-name-")
    assert slug("") == "agent" and slug("Qwen/Qwen2.5-7B") == "qwen-qwen2-5-7b"


@pytest.mark.parametrize("kind", ["tampered", "pickle", "missing"])
def test_a_rejected_bundle_is_not_filed(fresh_board: Path, bundles: dict[str, Path], tmp_path: Path,
                                        kind: str) -> None:
    if kind == "tampered":
        def edit(bundle: dict[str, Any]) -> None:
            bundle["summary"][0]["first_try"]["value"] = 1.0
        path = tampered(bundles["random"], tmp_path / "t.json", edit)
        expected = "summary[0].first_try"
    elif kind == "pickle":
        path = tmp_path / "p.json"
        path.write_bytes(pickle.dumps(load(bundles["random"])))
        expected = "looks like a Python pickle"
    else:
        path, expected = tmp_path / "nothing.json", "no such bundle file"
    with pytest.raises(SubmitError) as caught:
        submit(path, fresh_board)
    assert caught.value.report is not None and expected in caught.value.report.text()
    assert not any((fresh_board / SUBMISSIONS).glob("*"))


def test_build_renders_one_column_per_condition_and_escapes_names(fresh_board: Path, bundles: dict[str, Path],
                                                                  tmp_path: Path) -> None:
    for agent in ("oracle", "random", "lb_helpers:WrongThenOracle"):
        submit(bundles[agent], fresh_board)
    submit(renamed(bundles, "random", SCRIPT_NAME, tmp_path / "x.json.gz"), fresh_board)
    readme, page = build(fresh_board)
    submissions = load_submissions(fresh_board)
    board_tables = tables(submissions, fresh_board)
    assert [t.env_id for t in board_tables] == ["fbenv/Math-v0", "fbenv/HumanEval-v0"]
    math = board_tables[0]
    assert sorted(row.file for row in math.rows) == sorted(s.file for s in submissions)
    assert [row.agent for row in math.rows][:2] == ["oracle", "wrong-then-oracle"]  # ranked by mean success@2
    assert [c.header for c in math.columns][1:4] == ["none", "binary", "text"]
    oracle = load(bundles["lb_helpers:WrongThenOracle"])
    claimed = {row["condition"]: row["success@2"]["value"] for row in oracle["summary"] if "Math" in row["env_id"]}
    wrong_row = next(row for row in math.rows if row.agent == "wrong-then-oracle")
    assert {c: wrong_row.cells[f"cond-{c}"].value for c in claimed} == claimed
    assert wrong_row.cells["incorporation"].value == 1.0  # every wrong first answer was fixed after feedback
    assert wrong_row.cells["first_try"].value == 0.0

    text = readme.read_text()
    assert "| # | agent | mean | none | binary | text | first try | feedback gain |" in text
    assert "Main metric: success within 2 turns (`success@2`)" in text and "Turn budget" not in text
    assert "* **mean**: mean of success@2 over the conditions (the ranking)." in text
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt; \\| \\*bold\\*" in text
    assert "<script>" not in text
    assert text.count("| 1 | oracle |") == 2  # one table per env, oracle first in each
    html = page.read_text()
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in html
    assert html.count("<script>") == 1 and "pwned'" not in html
    assert "https://" not in html and "http://" not in html  # self-contained: no CDN


def test_build_gives_an_env_its_own_turn_budget_and_conditions(tmp_path: Path) -> None:
    board = tmp_path / "board"
    write_suite(board, FAMILIES)
    for agent in ("oracle", "random"):
        run = run_suite(board, "families", agent, tmp_path / agent)
        submit(write_bundle(make_bundle(run, board), tmp_path / f"{agent}.json.gz"), board)
    readme, page = build(board)
    math, clarify = tables(load_submissions(board), board)
    assert (math.max_turns, math.conditions) == (2, ["none", "binary"])  # implicit: conversation envs only
    assert (clarify.max_turns, clarify.conditions) == (4, ["binary", "implicit"])
    assert [row.agent for row in clarify.rows] == ["oracle", "random"]
    assert clarify.rows[0].cells["cond-implicit"].value == 1.0 and clarify.rows[1].cells["mean"].value == 0.0
    text = readme.read_text()
    assert "Main metric: success within the env's turn budget (`success@max_turns`, the budget given under" in text
    assert "### Math-v0\n\nTurn budget: 2 replies (`success@2`).\n\n| # | agent | mean | none | binary |" in text
    assert "### Clarify-v0\n\nTurn budget: 4 replies (`success@4`).\n\n| # | agent | mean | binary | implicit |" in text
    assert "* **mean**: mean of success@max_turns over the conditions (the ranking)." in text
    html = page.read_text()
    assert "success@4 under feedback &#x27;implicit&#x27;: solved within 4 turns" in html
    assert "success@2 under feedback &#x27;none&#x27;: solved within 2 turns" in html


def test_build_refuses_a_damaged_submission(fresh_board: Path, bundles: dict[str, Path]) -> None:
    target, _ = submit(bundles["oracle"], fresh_board)
    target.write_bytes(target.read_bytes()[:-20])
    with pytest.raises(ValueError, match=target.name):
        build(fresh_board)

"""Submit files only verified bundles, under safe names; build renders one column per condition."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
from lb_helpers import SCRIPT_NAME, load, renamed, tampered

from fbenv.leaderboard.board import SUBMISSIONS, SubmitError, build, load_submissions, slug, submit, tables


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
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt; \\| \\*bold\\*" in text
    assert "<script>" not in text
    assert text.count("| 1 | oracle |") == 2  # one table per env, oracle first in each
    html = page.read_text()
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in html
    assert html.count("<script>") == 1 and "pwned'" not in html
    assert "https://" not in html and "http://" not in html  # self-contained: no CDN


def test_build_refuses_a_damaged_submission(fresh_board: Path, bundles: dict[str, Path]) -> None:
    target, _ = submit(bundles["oracle"], fresh_board)
    target.write_bytes(target.read_bytes()[:-20])
    with pytest.raises(ValueError, match=target.name):
        build(fresh_board)

"""The published board: every accepted bundle still verifies, and the generated files are up to date."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fbenv.leaderboard.board import README, SITE, Submission, load_submissions, render_readme, tables
from fbenv.leaderboard.replay import verify

BOARD = Path(__file__).resolve().parents[2] / "leaderboards"
SUBMISSIONS = load_submissions(BOARD)


def test_the_board_is_seeded() -> None:
    assert {"oracle", "random", "fixed"} <= {s.agent for s in SUBMISSIONS}


@pytest.mark.parametrize("submission", SUBMISSIONS, ids=lambda s: s.file)
def test_every_accepted_bundle_still_verifies(submission: Submission) -> None:
    report = verify(BOARD / "submissions" / submission.file, BOARD)
    assert report.ok, report.text()


def test_the_generated_readme_and_page_are_up_to_date() -> None:
    fix = "run `fbenv leaderboard build` and commit leaderboards/"
    assert (BOARD / README).read_text() == render_readme(tables(SUBMISSIONS, BOARD)), fix
    page = (BOARD / SITE / "index.html").read_text()
    rows = re.findall(r'<tr data-file="([^"]+)"><td data-value="\d+">', page)  # the main tables' rows
    envs = len({entry["env_id"] for s in SUBMISSIONS for entry in s.bundle["envs"]})
    assert sorted(rows) == sorted(s.file for s in SUBMISSIONS for _ in range(envs)), fix

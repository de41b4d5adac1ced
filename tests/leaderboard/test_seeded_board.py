"""The published board: every accepted bundle still verifies, and the generated files are up to date."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fbenv.leaderboard.board import README, SITE, Submission, load_submissions, render_readme, tables
from fbenv.leaderboard.replay import verify
from fbenv.leaderboard.site import render_site

BOARD = Path(__file__).resolve().parents[2] / "leaderboards"
SUBMISSIONS = load_submissions(BOARD)


def test_the_board_is_seeded() -> None:
    assert {"oracle", "random", "fixed", "tiny"} <= {s.agent for s in SUBMISSIONS}


@pytest.mark.parametrize("submission", SUBMISSIONS, ids=lambda s: s.file)
def test_every_accepted_bundle_still_verifies(submission: Submission) -> None:
    report = verify(BOARD / "submissions" / submission.file, BOARD)
    assert report.ok, report.text()


def test_the_generated_readme_and_page_are_up_to_date() -> None:
    fix = "run `fbenv leaderboard build` and commit leaderboards/"
    board_tables = tables(SUBMISSIONS, BOARD)
    assert (BOARD / README).read_text() == render_readme(board_tables), fix
    # The plots are compared as "a PNG is there": their bytes may differ between matplotlib builds.
    png = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")
    page = (BOARD / SITE / "index.html").read_text()
    assert png.sub("PNG", page) == png.sub("PNG", render_site(board_tables)), fix
    assert len(png.findall(page)) == len({table.suite for table in board_tables})

"""The README's first command (the feedback tour) runs and shows every kind of feedback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_feedback_tour_runs_and_ends_solved_under_every_kind() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "feedback_tour.py"), "--seed", "3"],
                         capture_output=True, text=True, check=True).stdout
    for kind in ("none", "unary", "binary", "text", "process"):
        assert f"feedback={kind!r}" in out
    assert out.count("truly correct: True") == 5
    assert "Let's try again." in out and "Incorrect." in out and "The first wrong step is your first step" in out
    assert "Step 1 `" in out and "Final answer: incorrect" in out

"""A separately installed package adds simulators through the fbenv.simulators entry points."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_an_installed_plugin_shows_in_fbenv_list_and_works_by_name(tmp_path: Path) -> None:
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
         str(ROOT / "examples" / "plugin")],
        capture_output=True, text=True,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    env = {**os.environ, "PYTHONPATH": str(site)}
    listing = subprocess.run([sys.executable, "-m", "fbenv.cli", "list", "--json"], capture_output=True,
                             text=True, env=env, cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    simulators = {s["name"]: s for s in json.loads(listing.stdout)["simulators"]}
    assert simulators["polite"]["kinds"] == ["binary", "text"]
    code = (
        "import gymnasium as gym, fbenv\n"
        "env = gym.make('fbenv/Math-v0', feedback='text', simulator='polite')\n"
        "env.reset(seed=0)\n"
        "print(env.step('Answer: -1')[0])\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "Thank you! Not quite right yet, would you try once more?"
    # Without the plug-in installed the name is unknown, with a message listing the known ones.
    bare = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert "unknown simulator 'polite'" in bare.stderr

"""The distribution: a light ``import fbenv``, and a wheel that works from outside the repo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "vllm", "ray")


def test_import_fbenv_stays_light() -> None:
    code = (
        "import sys, json, fbenv, fbenv.simulators, fbenv.agents\n"
        "print(json.dumps([m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'transformers', 'vllm', 'ray', 'reasoning_gym', 'math_verify')]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert json.loads(out.stdout) == []


@pytest.mark.slow
def test_wheel_installs_in_a_fresh_venv_and_works_outside_the_repo(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        check=True, capture_output=True, text=True,
    )
    wheel = next(dist.glob("fbenv-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-3000:]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    code = (
        "import sys, json, gymnasium as gym, fbenv, fbenv.simulators, fbenv.agents\n"
        "env = gym.make('fbenv/MathFile-v0', feedback='binary')\n"
        "env.reset(seed=0)\n"
        "obs, reward, *_ = env.step(env.unwrapped.instance.oracle_action)\n"
        "print(json.dumps({'file': fbenv.__file__, 'sim': fbenv.simulators.__file__, 'agents': fbenv.agents.__file__,"
        f" 'obs': obs, 'reward': reward, 'heavy': [m for m in sys.modules if m.split('.')[0] in {HEAVY!r}]}}))"
    )
    run = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=outside,
                         env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout)
    for key in ("file", "sim", "agents"):
        assert str(env_dir) in result[key] and str(ROOT) not in result[key]
    assert result["sim"].endswith(os.path.join("fbenv", "simulators", "__init__.py"))
    assert (result["obs"], result["reward"], result["heavy"]) == ("Correct.", 1.0, [])
    cli = subprocess.run([str(env_dir / "bin" / "fbenv"), "list"], capture_output=True, text=True, cwd=outside)
    assert cli.returncode == 0 and "fbenv/Math-v0" in cli.stdout

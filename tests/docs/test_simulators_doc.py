"""The "write your own simulator" page's example runs as the page says."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import gymnasium as gym

import fbenv  # noqa: F401

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulators.md"


def test_the_documented_simulator_works_by_module_and_class(tmp_path, monkeypatch) -> None:
    example = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)[0]
    assert len(example.strip().splitlines()) <= 30
    (tmp_path / "my_simulators.py").write_text(example)
    monkeypatch.syspath_prepend(str(tmp_path))
    env = gym.make("fbenv/Math-v0", feedback="text", simulator="my_simulators:StrictTeacher",
                   simulator_kwargs={"min_steps": 2}, problems="arithmetic")
    assert "my_simulators:StrictTeacher" in env.spec.to_json()
    env.reset(seed=0)
    obs, *_, info = env.step("Answer: -1")
    assert obs.startswith("Incorrect.") and info["feedback"].source == "strict-teacher"
    answer_only = f"Answer: {env.unwrapped.instance.reference}"
    obs, reward, terminated, *_ = env.step(answer_only)
    assert obs == "Right answer, but show at least 2 steps." and reward == 0.0 and terminated
    env.reset(seed=0)
    obs, reward, *_ = env.step(env.unwrapped.instance.oracle_action)
    assert obs == "Correct, and well shown." and reward == 1.0
    sys.modules.pop("my_simulators", None)

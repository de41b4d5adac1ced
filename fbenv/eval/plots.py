"""Plots of a results directory: success within k turns, one line per feedback condition, one panel per env."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def plot_success_by_turn(rows: Sequence[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Write a PNG of success@k against k for every (agent, condition), a panel per env; returns the path.

    ``rows`` are :func:`fbenv.eval.metrics.summarize` rows; error bars are the bootstrap intervals.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, and no GUI backend gets imported
    import matplotlib.pyplot as plt

    envs = list(dict.fromkeys(row["env_id"] for row in rows))
    agents = list(dict.fromkeys(row["agent"] for row in rows))
    columns = min(len(envs), 3) or 1
    lines = (len(envs) + columns - 1) // columns or 1
    figure, axes = plt.subplots(lines, columns, figsize=(5 * columns, 3.6 * lines), squeeze=False)
    for panel, env_id in zip(axes.flat, envs, strict=False):
        for row in (r for r in rows if r["env_id"] == env_id):
            ks = sorted(int(name.split("@")[1]) for name in row if name.startswith("success@"))
            values = [row[f"success@{k}"]["value"] for k in ks]
            low = [v - row[f"success@{k}"]["low"] for k, v in zip(ks, values, strict=True)]
            high = [row[f"success@{k}"]["high"] - v for k, v in zip(ks, values, strict=True)]
            label = row["condition"] if len(agents) == 1 else f"{row['agent']} · {row['condition']}"
            panel.errorbar(ks, values, yerr=[low, high], marker="o", capsize=3, label=label)
        panel.set_title(env_id)
        panel.set_xlabel("turn budget k")
        panel.set_ylabel("success within k turns")
        panel.set_ylim(-0.02, 1.02)
        panel.grid(alpha=0.3)
        panel.legend(fontsize=7)
    for panel in list(axes.flat)[len(envs):]:
        panel.set_visible(False)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path

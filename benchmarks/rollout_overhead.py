"""Where rollout time goes, how much memory many envs take, and what a second Ray worker buys.

What it measures (printed as tables, one run)
    1. **Overhead**: an ``fbenv eval``-style rollout of an agent (default: the tiny CPU model) on
       ``fbenv/Math-v0`` under each feedback kind: wall time inside envs + simulators (reset, step,
       checks, feedback) vs inside the agent's generation calls, and the env share. Target on a GPU
       with vLLM and a real-size model: < 2 % (``--agent vllm:PATH`` there); on a CPU with the tiny
       model the share is reported, since a 1-M-parameter model generates far faster than a real one.
    2. **Memory of 1,000 concurrent envs**: the rollout engine holding 1,000 episodes in flight at
       once (concurrency 1,000, a random agent, after every env has taken a step), measured as the
       growth of the process's resident memory, in a fresh subprocess per env id. Target < 500 MB.
    3. **Ray speed-up**: the same evaluation with ``--ray`` on 1 and on 2 workers (each worker is a
       Ray actor with 1 CPU; Ray pins each to one thread), ``--ray-repeats`` runs of each, alternating,
       medians. Target >= 1.8x with two cores free. The agent must do real work for this to mean
       anything (the default is the tiny model); with a trivial agent Ray's own start-up dominates.
       Wall time is end to end once the cluster is up; the start-up inside it (until every worker has
       built its agent: importing torch and loading the model, about 4 s here) comes from the run's
       own ``RolloutStats.startup_s``, and the rollouts are timed from then to the last episode's
       record. Start-up (and the summary written at the end) are paid once whatever the worker count,
       so the table shows the speed-up of the whole evaluation and of the rollouts; the target is
       judged on the latter, which a longer evaluation's wall time approaches. Alongside, in the same
       run and interleaved with it, the machine's own ceiling for the same work: the same episodes,
       in the same shards, rolled out by one plain process (no Ray) and split between two plain
       processes at once, each with one thread and its agent already loaded. Two cores rarely give
       2x (shared caches and memory, a VM's neighbours), so this says how much of a shortfall is
       Ray's and how much the machine's. Speed-ups are medians of adjacent pairs (1 and 2 workers
       run back to back), which cancels the machine's drift between pairs.

Why
    fbenv claims its feedback machinery is a rounding error next to generation, that envs are cheap
    enough to keep a thousand in flight for batched generation, and that evaluations scale out.

Run
    python benchmarks/rollout_overhead.py                  # all three, tiny model
    python benchmarks/rollout_overhead.py --agent vllm:/models/Qwen2.5-7B-Instruct --skip memory ray
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fbenv.eval.runner import EvalConfig

KINDS = ("none", "unary", "binary", "text", "process")
MEMORY_ENVS = ("fbenv/Math-v0", "fbenv/MathFile-v0", "fbenv/ReasoningGym-v0", "fbenv/HumanEval-v0")


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    rule = "-+-".join("-" * w for w in widths)
    body = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join([line, rule, *body])


def overhead(agent_spec: str, episodes: int, concurrency: int) -> None:
    from fbenv.agents import make_agent
    from fbenv.eval import EpisodeSpec, RolloutStats, rollout

    agent = make_agent(agent_spec)
    rows = []
    total = RolloutStats()
    for kind in KINDS:
        stats = RolloutStats()
        specs = [EpisodeSpec("fbenv/Math-v0", {"feedback": kind, "max_turns": 3}, seed, kind)
                 for seed in range(episodes)]
        start = time.perf_counter()
        records = list(rollout(agent, specs, concurrency=concurrency, stats=stats))
        wall = time.perf_counter() - start
        solved = sum(r["solved"] for r in records) / len(records)
        rows.append([kind, str(stats.steps), f"{stats.env_s:.3f}", f"{stats.agent_s:.3f}", f"{wall:.3f}",
                     f"{100 * stats.env_share:.2f} %", f"{solved:.2f}"])
        for name in ("env_s", "agent_s", "steps"):
            setattr(total, name, getattr(total, name) + getattr(stats, name))
    rows.append(["all", str(total.steps), f"{total.env_s:.3f}", f"{total.agent_s:.3f}", "",
                 f"{100 * total.env_share:.2f} %", ""])
    print(f"\n## 1. Rollout overhead: {agent_spec} on fbenv/Math-v0, {episodes} episodes x 3 turns per kind, "
          f"concurrency {concurrency}")
    print(table(["feedback", "steps", "env+sim s", "agent s", "wall s", "env share", "solved"], rows))


MEMORY_CHILD = """
import gc, json, os, sys
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
import gymnasium as gym, fbenv
from fbenv.agents import RandomAgent
from fbenv.eval import EpisodeSpec, rollout
env_id, n = sys.argv[1], int(sys.argv[2])
warm = gym.make(env_id, feedback="text"); warm.reset(seed=0); warm.step("Answer: 1"); warm.close()
gc.collect(); base = rss(); peak = [base]
class Probe(RandomAgent):
    name = "probe"
    calls = 0
    def act(self, turns):
        Probe.calls += 1
        if Probe.calls == 2:  # every env has been reset and has taken one step: all n in flight
            gc.collect(); peak.append(rss())
        return super().act(turns)
specs = [EpisodeSpec(env_id, {"feedback": "text", "max_turns": 3}, seed, "text") for seed in range(n)]
records = list(rollout(Probe(), specs, concurrency=n))
print(json.dumps({"in_flight_mb": max(peak) - base, "episodes": len(records)}))
"""


PLAIN_CHILD = """
import json, os, sys, time
import torch
torch.set_num_threads(1)
from fbenv.agents import make_agent
from fbenv.eval import rollout
from fbenv.eval.distributed import split_shards
from fbenv.eval.runner import config_from_dict, plan
config = config_from_dict(json.loads(sys.argv[1]))
agent = make_agent(config.agent)
specs = plan(config)
list(rollout(agent, specs[:16], concurrency=config.concurrency))  # warm-up
print("ready", flush=True)
for line in sys.stdin:  # "PART PARTS": roll out every PARTS-th shard from PART, then say how long it took
    part, parts = map(int, line.split())
    start = time.perf_counter()
    for shard in split_shards(specs, parts)[part::parts]:  # the shards --ray would send
        list(rollout(agent, shard, concurrency=config.concurrency))
    print(json.dumps({"seconds": time.perf_counter() - start}), flush=True)
"""


class PlainCeiling:
    """Three plain rollout processes (agent loaded once): one runs all episodes, two split them."""

    def __init__(self, config: EvalConfig) -> None:
        from fbenv.eval.runner import config_to_dict

        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        argv = [sys.executable, "-c", PLAIN_CHILD, json.dumps(config_to_dict(config))]
        self.procs = [subprocess.Popen(argv, env=env,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                       text=True) for _ in range(3)]
        for proc in self.procs:
            if proc.stdout is None or proc.stdout.readline().strip() != "ready":
                raise RuntimeError("a plain rollout process did not start")

    def seconds(self, workers: int) -> float:
        """Wall seconds for all episodes on ``workers`` (1 or 2) plain processes at once."""
        procs = self.procs[:1] if workers == 1 else self.procs[1:]
        start = time.perf_counter()
        for part, proc in enumerate(procs):
            assert proc.stdin is not None
            proc.stdin.write(f"{part} {workers}\n")
            proc.stdin.flush()
        for proc in procs:
            assert proc.stdout is not None
            json.loads(proc.stdout.readline())
        return time.perf_counter() - start

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait()


def memory(count: int) -> None:
    rows = []
    for env_id in MEMORY_ENVS:
        out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, env_id, str(count)], capture_output=True,
                             text=True, timeout=600)
        if out.returncode != 0:
            rows.append([env_id, "error", out.stderr.strip().splitlines()[-1][:60], ""])
            continue
        result = json.loads(out.stdout.strip().splitlines()[-1])
        mb = result["in_flight_mb"]
        rows.append([env_id, str(count), f"{mb:.1f}", "PASS" if mb < 500 else "FAIL"])
    print(f"\n## 2. Memory of {count} envs in flight (RSS growth, fresh process each; target < 500 MB)")
    print(table(["env", "envs", "MB", "target"], rows))


def ray_speedup(agent_spec: str, episodes: int, repeats: int) -> None:
    import shutil
    import statistics

    import ray

    from fbenv.eval import RolloutStats
    from fbenv.eval.runner import EvalConfig, run_eval

    wall: dict[int, list[float]] = {1: [], 2: []}
    startup: dict[int, list[float]] = {1: [], 2: []}
    rollouts: dict[int, list[float]] = {1: [], 2: []}
    plain: dict[int, list[float]] = {1: [], 2: []}
    base = EvalConfig(envs=["Math-v0"], feedback=["text", "binary"], agent=agent_spec, episodes=episodes, out="",
                      max_turns=3, concurrency=16)
    ceiling = PlainCeiling(base)
    try:
        for repeat in range(repeats):
            order = (1, 2) if repeat % 2 == 0 else (2, 1)  # alternate, so drift hits both
            for workers in order:
                plain[workers].append(ceiling.seconds(workers))
            for workers in order:
                out = tempfile.mkdtemp(prefix=f"fbenv-ray{workers}-")
                config = dataclasses.replace(base, out=out, ray=True, ray_workers=workers)
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
                try:
                    stats, record_times = RolloutStats(), []
                    start = time.perf_counter()
                    run_eval(config, progress=False, stats=stats,
                             on_record=lambda _, times=record_times: times.append(time.perf_counter()))
                    wall[workers].append(time.perf_counter() - start)
                    startup[workers].append(stats.startup_s)
                    rollouts[workers].append(record_times[-1] - start - stats.startup_s)
                finally:
                    ray.shutdown()
                    shutil.rmtree(out, ignore_errors=True)
    finally:
        ceiling.close()

    def paired(times: dict[int, list[float]]) -> float:
        return statistics.median(one / two for one, two in zip(times[1], times[2], strict=True))

    med = {w: statistics.median(wall[w]) for w in wall}
    work = {w: statistics.median(rollouts[w]) for w in wall}
    boot = {w: statistics.median(startup[w]) for w in wall}
    bare = {w: statistics.median(plain[w]) for w in plain}
    ratio, work_ratio, bare_ratio = paired(wall), paired(rollouts), paired(plain)
    verdict = "PASS (>= 1.8x)" if work_ratio >= 1.8 else "FAIL (>= 1.8x)"
    total = 2 * episodes
    print(f"\n## 3. Ray: {agent_spec}, fbenv/Math-v0 x (text, binary) x {episodes} episodes, "
          f"{repeats} runs per worker count, alternating; times are medians, speed-ups medians of adjacent pairs "
          f"(cores here: {os.cpu_count()})")
    print(table(["workers", "wall s", "episodes/s", "speed-up", "actor start-up s", "rollouts s", "rollout speed-up",
                 "target"],
                [["1", f"{med[1]:.2f}", f"{total / med[1]:.1f}", "1.00x", f"{boot[1]:.2f}", f"{work[1]:.2f}",
                  "1.00x", ""],
                 ["2", f"{med[2]:.2f}", f"{total / med[2]:.1f}", f"{ratio:.2f}x", f"{boot[2]:.2f}",
                  f"{work[2]:.2f}", f"{work_ratio:.2f}x", verdict]]))
    print(f"machine ceiling, the same episodes on plain processes (no Ray, agent loaded): 1 process "
          f"{bare[1]:.2f} s, 2 processes {bare[2]:.2f} s, speed-up {bare_ratio:.2f}x; Ray's rollout speed-up is "
          f"{work_ratio / bare_ratio:.0%} of it")
    print("per-pair speed-ups (wall, rollouts, plain): " + ", ".join(
        f"{a / b:.2f}x/{c / d:.2f}x/{e / f:.2f}x" for a, b, c, d, e, f in
        zip(wall[1], wall[2], rollouts[1], rollouts[2], plain[1], plain[2], strict=True)))
    print("wall s: the whole evaluation once the cluster is up; actor start-up s: until every worker had built its "
          "agent (importing torch, loading the model), paid once per evaluation whatever the worker count; "
          "rollouts s: from then to the last episode's record, the part a second worker shares (the rest of the "
          "wall time is writing the summary and plot). The target is judged on the rollouts; an evaluation's "
          "wall-time speed-up approaches it as it gets longer than the start-up.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agent", default="tiny", help="agent spec for parts 1 and 3 (default: tiny)")
    parser.add_argument("--episodes", type=int, default=64, help="episodes per feedback kind (part 1)")
    parser.add_argument("--concurrency", type=int, default=64, help="envs in flight (part 1)")
    parser.add_argument("--envs", type=int, default=1000, help="envs in flight (part 2)")
    parser.add_argument("--ray-episodes", type=int, default=400, help="episodes per condition (part 3)")
    parser.add_argument("--ray-repeats", type=int, default=5, help="runs per worker count (part 3)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["overhead", "memory", "ray"])
    args = parser.parse_args()
    if "overhead" not in args.skip:
        overhead(args.agent, args.episodes, args.concurrency)
    if "memory" not in args.skip:
        memory(args.envs)
    if "ray" not in args.skip:
        ray_speedup(args.agent, args.ray_episodes, args.ray_repeats)


if __name__ == "__main__":
    main()

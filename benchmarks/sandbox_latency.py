"""Latency of the code sandbox: one trivial run, and run_many over 100 trivial programs.

    .venv/bin/python benchmarks/sandbox_latency.py [--runs 200]

Prints p50/p95 of a single ``Sandbox.run("pass")`` (caller's view, warm worker) per isolation mode,
and the wall time / throughput of ``run_many`` over 100 ``print(i)`` programs with 1 and 2 workers.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

from fbenv.tools import BubblewrapUnavailable, Sandbox


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    for isolation in ("bubblewrap", "rlimits"):
        try:
            sandbox = Sandbox(workers=2, isolation=isolation)
        except BubblewrapUnavailable as exc:
            print(f"{isolation}: unavailable ({exc})")
            continue
        with sandbox:
            sandbox.run_many(["pass"] * 4)  # start both workers
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                sandbox.run("pass")
                times.append(time.perf_counter() - start)
            p50, p95, mean = percentile(times, 0.5), percentile(times, 0.95), statistics.mean(times)
            print(f"{isolation}: run('pass')  p50 {p50 * 1e3:.2f} ms  p95 {p95 * 1e3:.2f} ms  mean {mean * 1e3:.2f} ms")
        for workers in (1, 2):
            with Sandbox(workers=workers, isolation=isolation) as sandbox:
                sandbox.run_many(["pass"] * (2 * workers))
                codes = [f"print({i})" for i in range(100)]
                best = float("inf")
                for _ in range(3):
                    start = time.perf_counter()
                    results = sandbox.run_many(codes)
                    best = min(best, time.perf_counter() - start)
                assert [r.stdout for r in results] == [f"{i}\n" for i in range(100)]
                print(f"{isolation}: run_many(100) with {workers} worker(s): {best * 1e3:.0f} ms "
                      f"({100 / best:.0f} runs/s)")  # fmt: skip


if __name__ == "__main__":
    main()

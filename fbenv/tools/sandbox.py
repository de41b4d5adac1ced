"""Run untrusted, LLM-written Python in isolation, fast: a pool of warm fork-servers.

Each worker is a long-lived ``python -I`` fork-server (:mod:`fbenv.tools.sandbox_server`), started
inside bubblewrap when it works (read-only system, private ``/tmp``, no network, own PID namespace)
and otherwise on its own with rlimits only. Every run is a fresh ``fork()`` of a warm server, so a
run costs about a millisecond of overhead and never sees state from an earlier run. See
``docs/sandbox.md`` for the design and the threat model.

    with Sandbox(workers=2) as sb:
        result = sb.run("print(sum(range(10)))")
        result.stdout  # "45\\n"
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import shutil
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from fbenv.tools.sandbox_server import MAX_FRAME, PRELOAD
from fbenv.tools.sandbox_worker import Worker, WorkerDied

__all__ = ["BubblewrapUnavailable", "Limits", "RunResult", "Sandbox", "shared_sandbox"]

log = logging.getLogger(__name__)
ISOLATIONS = ("auto", "bubblewrap", "rlimits")
_SELF_TEST = "import sys\nprint(sys.stdin.read().upper())"


class BubblewrapUnavailable(RuntimeError):
    """``isolation="bubblewrap"`` was asked for but bubblewrap is missing or fails its self-test."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run. Every run gets all of them, in both isolation modes.

    ``cpu_seconds`` is CPU time (RLIMIT_CPU, whole seconds, rounded up); ``wall_seconds`` is enforced
    by the server, which then kills the run's processes. ``memory_bytes`` caps the address space
    (RLIMIT_AS), ``processes`` the run user's processes and threads (RLIMIT_NPROC), ``file_bytes``
    the size of any file written (RLIMIT_FSIZE), ``open_files`` the fds (RLIMIT_NOFILE).
    ``output_bytes`` caps stdout and stderr each; the rest is read and dropped.
    """

    cpu_seconds: float = 3.0
    wall_seconds: float = 3.0
    memory_bytes: int = 1 << 30
    processes: int = 16
    file_bytes: int = 10 << 20
    open_files: int = 64
    output_bytes: int = 64 << 10

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not 0 < value < 1 << 63:  # the sandbox's protocol carries each in 8 bytes
                raise ValueError(f"Limits.{name} must be positive and below 2**63, got {value!r}")
        if self.open_files < 8:
            raise ValueError("Limits.open_files must be at least 8 (stdio and the harness need some)")


@dataclass(frozen=True)
class RunResult:
    """What one run did.

    ``status`` is "ok" (exit status 0), "error" (nonzero exit, e.g. an uncaught exception),
    "timeout" (the wall or CPU limit) or "killed" (another signal: a segfault, a limit, the worker
    dying). ``passed`` is the success signal: with ``success_token=True`` it is True only when the
    harness saw the whole program run to completion without an exception (see ``docs/sandbox.md``);
    without it, it is just ``status == "ok"``. ``isolation`` says which isolation ran the code.
    """

    status: str
    exit_code: int | None
    signal: int | None
    stdout: str
    stderr: str
    duration_s: float
    passed: bool
    isolation: str


class Sandbox:
    """A pool of sandbox workers; thread-safe. Use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        workers: int | None = None,
        isolation: str = "auto",
        limits: Limits = Limits(),
        *,
        bwrap: str | None = "bwrap",
        warm: str = "",
        preload: Sequence[str] | None = None,
        programs: Sequence[str] = (),
        pin_cpus: bool = False,
    ) -> None:
        """Start the pool (one worker now, more on demand up to ``workers``, default cpu count).

        ``isolation``: "bubblewrap" (raise :class:`BubblewrapUnavailable` if it cannot run),
        "rlimits", or "auto" (bubblewrap when its self-test passes, else rlimits with a warning).
        ``bwrap`` is the bubblewrap executable (a name on PATH or a path; None means none).
        ``warm`` is trusted source (a test harness, say) that each worker compiles and runs once
        before it forks any run; the names it defines (those in its ``__all__``, if it has one) are
        globals of every run. Compiling in a freshly forked child is several times slower than in
        the warm server (every page the compiler touches is copied on write), so fixed code belongs
        here, not in each run. ``programs`` are trusted sources that runs will execute often (a
        call into the warm code): each worker compiles them once, and a run whose code is one of
        them skips the compiler. Any other code is compiled inside its run.
        ``pin_cpus`` keeps each worker, and the runs it forks, on a CPU of its own (the least used
        of those this process may run on): a run then starts, and its end is noticed, on the CPU its
        server sleeps on, without a wake-up sent across CPUs (+2 to +4 % checks a second with one
        worker per CPU on the 2-CPU development VM, in three interleaved A/Bs). Worth it for a pool
        that has the machine's CPUs to itself; leave it off where other busy processes would share
        those CPUs.
        ``preload`` names the modules each worker imports before it forks any run, so that runs get
        them for free; the default, ``sandbox_server.PRELOAD``, is a broad slice of the standard
        library. Every preloaded module also makes every run dearer (more of the server's memory is
        mapped into each fork and torn down at each exit), so a pool for one kind of program should
        preload what those programs import. In rlimits mode the default set is always preloaded as
        well: there the run's uid may be unable to read the interpreter's own files (a pyenv under
        a 0700 ``/root``), and only preloaded modules can be imported.
        """
        if isolation not in ISOLATIONS:
            raise ValueError(f"isolation must be one of {ISOLATIONS}, got {isolation!r}")
        self.size = max(1, workers or os.cpu_count() or 1)
        self.limits = limits
        self.warm = warm
        self.programs = tuple(programs)
        self._cpus = sorted(os.sched_getaffinity(0)) if pin_cpus and hasattr(os, "sched_getaffinity") else []
        self._started: list[Worker] = []  # for the CPU of the next worker (pin_cpus)
        self._cpu_lock = threading.Lock()
        self.preload = None if preload is None else tuple(preload)
        self._bwrap = shutil.which(bwrap) if bwrap else None
        self._lock = threading.Condition()
        self._idle: list[Worker] = []
        self._count = 0  # workers alive or being started
        self._closed = False
        self._executor: ThreadPoolExecutor | None = None
        self.isolation = self._first_worker(isolation)

    # -- the pool -----------------------------------------------------------------------------

    def _first_worker(self, isolation: str) -> str:
        if isolation in ("auto", "bubblewrap"):
            try:
                worker = self._bubblewrap_self_test()
            except BubblewrapUnavailable as exc:
                if isolation == "bubblewrap":
                    raise
                message = f"fbenv sandbox: bubblewrap unusable ({exc}); falling back to rlimits-only isolation"
                log.warning(message)
                warnings.warn(message, RuntimeWarning, stacklevel=3)
            else:
                self._adopt(worker)
                return "bubblewrap"
        self._adopt(self._start("rlimits"))
        return "rlimits"

    def _start(self, isolation: str) -> Worker:
        preload = self.preload
        if isolation == "rlimits" and preload is not None:
            preload = tuple(dict.fromkeys((*preload, *PRELOAD)))
        if not self._cpus:
            return Worker(isolation, self._bwrap, self.warm, preload, self.programs)
        with self._cpu_lock:
            self._started = [w for w in self._started if w.alive()]
            used = [w.cpu for w in self._started]
            cpu = min(self._cpus, key=used.count)  # the least used; a dead worker's CPU is free again
            worker = Worker(isolation, self._bwrap, self.warm, preload, self.programs, cpu)
            self._started.append(worker)
        return worker

    def _bubblewrap_self_test(self) -> Worker:
        """Start a bubblewrap worker and check it runs code, reads stdin and has no network."""
        if self._bwrap is None:
            raise BubblewrapUnavailable("the bwrap executable was not found")
        try:
            worker = self._start("bubblewrap")
        except (WorkerDied, OSError) as exc:
            raise BubblewrapUnavailable(f"the worker did not start: {exc}") from None
        try:
            resp = worker.request(_SELF_TEST, _limits_dict(Limits()), True, 20.0, b"ok")
        except WorkerDied as exc:
            worker.kill()
            raise BubblewrapUnavailable(f"self-test run failed: {exc}: {worker.error_output()}") from None
        if resp.get("stdout") != "OK\n" or not resp.get("passed_token") or not worker.hello.get("net_isolated"):
            worker.kill()
            raise BubblewrapUnavailable(f"self-test gave {resp!r}")
        return worker

    def _adopt(self, worker: Worker) -> None:
        with self._lock:
            self._count += 1
            self._idle.append(worker)

    def _acquire(self) -> Worker:
        with self._lock:
            while True:
                if self._closed:
                    raise RuntimeError("the sandbox is closed")
                if self._idle:
                    return self._idle.pop()
                if self._count < self.size:
                    self._count += 1
                    break
                self._lock.wait()
        try:
            return self._start(self.isolation)
        except BaseException:
            self._drop()
            raise

    def _release(self, worker: Worker) -> None:
        with self._lock:
            if self._closed:
                worker.close()
                self._count -= 1
            else:
                self._idle.append(worker)
            self._lock.notify()

    def _drop(self) -> None:
        with self._lock:
            self._count -= 1
            self._lock.notify()

    # -- running ------------------------------------------------------------------------------

    def run(
        self, code: str, *, stdin: str | bytes = "", limits: Limits | None = None, success_token: bool = False
    ) -> RunResult:
        """Run ``code`` (Python source, as ``__main__``) in a fresh forked child and report.

        ``stdin`` is the program's standard input (then end of file): text (sent as UTF-8) or bytes,
        which reach the program unchanged (``sys.stdin.buffer``). With ``success_token`` the
        result's ``passed`` needs the harness's proof that the code ran to completion.
        """
        limits = limits or self.limits
        if isinstance(stdin, str):
            data = stdin.encode()
        elif isinstance(stdin, (bytes, bytearray, memoryview)):
            data = bytes(stdin)
        else:
            raise TypeError(f"stdin must be str or bytes, not {type(stdin).__name__}")
        if len(data) > MAX_FRAME:
            raise ValueError(f"stdin of {len(data)} bytes is over the sandbox's limit of {MAX_FRAME >> 20} MiB")
        worker = self._acquire()
        if not worker.alive():  # died while idle: replace it before using it
            worker.kill()
            self._drop()
            worker = self._acquire()
        try:
            resp = worker.request(code, _limits_dict(limits), success_token, limits.wall_seconds + 15.0, data)
        except WorkerDied as exc:
            log.warning("fbenv sandbox: worker died during a run (%s); starting a new one", exc)
            worker.kill()
            self._drop()
            return RunResult("killed", None, None, "", f"[sandbox worker died: {exc}]", 0.0, False, self.isolation)
        except BaseException:
            worker.kill()
            self._drop()
            raise
        self._release(worker)
        passed = bool(resp["passed_token"]) if success_token else resp["status"] == "ok"
        return RunResult(
            status=resp["status"],
            exit_code=resp["exit_code"],
            signal=resp["signal"],
            stdout=resp["stdout"],
            stderr=resp["stderr"],
            duration_s=float(resp["duration_s"]),
            passed=passed,
            isolation=self.isolation,
        )

    def run_many(self, codes: Sequence[str], **kw: Any) -> list[RunResult]:
        """Run each program (with the same keyword arguments) in parallel; results in input order."""
        if len(codes) <= 1:
            return [self.run(code, **kw) for code in codes]
        with self._lock:
            if self._closed:
                raise RuntimeError("the sandbox is closed")
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.size, thread_name_prefix="fbenv-sandbox")
            executor = self._executor
        return list(executor.map(lambda code: self.run(code, **kw), codes))

    def close(self) -> None:
        """Stop every worker (idle ones now, busy ones when their run ends)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            executor, self._executor = self._executor, None
            self._lock.notify_all()
        for worker in idle:
            worker.close()
        if executor is not None:
            executor.shutdown(wait=False)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@functools.lru_cache(maxsize=64)
def _limits_dict(limits: Limits) -> dict[str, Any]:
    """``asdict(limits)``, made once per Limits (frozen, so hashable): it deep-copies every field."""
    return asdict(limits)


_shared: Sandbox | None = None
_shared_lock = threading.Lock()


def shared_sandbox() -> Sandbox:
    """The process-wide sandbox (one worker per CPU, "auto" isolation), created on first use and
    closed at exit. Thread-safe; callers must not close it."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Sandbox(workers=os.cpu_count())
            atexit.register(_shared.close)
        return _shared

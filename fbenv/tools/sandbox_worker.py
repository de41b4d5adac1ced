"""Parent side of one sandbox worker: launch the fork-server (in bubblewrap or not) and talk to it.

A :class:`Worker` owns one long-lived ``python -I sandbox_server.py`` process. It is not thread-safe
on its own: :class:`fbenv.tools.sandbox.Sandbox` hands each worker to one thread at a time.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import queue
import secrets
import select
import shutil
import signal
import site
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from fbenv.tools.sandbox_server import MAX_FRAME, decode_response, encode_request, proc_stats

SERVER = Path(__file__).with_name("sandbox_server.py")
# Each worker's runs use their own unprivileged uid/gid from this range (not in /etc/passwd). One uid
# per worker matters: RLIMIT_NPROC counts all processes of a uid, and the server's clean-up kills
# every process of its uid, so two workers must never share one.
UID_BASE = 1_600_000_000
UID_SPAN = 1 << 24
TMP_BYTES = 256 << 20  # size of the private /tmp of a bubblewrap worker (tmpfs lives in RAM)
START_TIMEOUT = 20.0
# Directories hidden in bubblewrap mode (home dirs hold keys and tokens); the interpreter's own
# prefixes and the server's dir are bound back read-only when they live inside one of them.
HIDDEN = ("/root", "/home", "/run")
# LD_BIND_NOW: the server's dynamic linker resolves every symbol at load time, once, instead of lazily in
# each forked run (a run otherwise re-resolves what the server never called, writing copy-on-write
# pages: 10-19 of a check's ~420 page faults). The server replaces its environment before any run, so
# runs do not see it.
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": "/tmp",
       "LD_BIND_NOW": "1"}  # fmt: skip


# Isolated mode (no PYTHONPATH, no user site, no cwd on sys.path) and no site module: see site_dirs().
PYTHON_FLAGS = ("-I", "-S")


class WorkerDied(RuntimeError):
    """The server process ended, or stopped answering, while the parent waited on it."""


def bwrap_argv(bwrap: str, privileged: bool) -> list[str]:
    """The bubblewrap command line that wraps a server.

    As root we unshare every namespace *except* the user namespace: a user namespace made by root
    maps a single uid, so the server could not drop each run to its own unprivileged uid, and
    RLIMIT_NPROC is never enforced for (namespaced) root. Capabilities are cut to what the server
    needs to drop privileges, kill the run user's processes and delete its files. Without root,
    ``--unshare-all`` (which includes a user namespace) is used and runs keep the caller's uid.
    """
    argv = [bwrap, "--ro-bind", "/", "/"]
    binds: set[str] = set()
    # The private /tmp is mounted first too, so that an interpreter or a checkout that lives under
    # /tmp (a CI clone, a venv made there) is bound back into it like those under the hidden dirs.
    for hidden in (*HIDDEN, "/tmp"):
        if os.path.isdir(hidden) and not os.path.islink(hidden):
            argv += ["--size", str(TMP_BYTES), "--tmpfs", hidden] if hidden == "/tmp" else ["--tmpfs", hidden]
            for path in _needed_paths():
                if path == hidden or path.startswith(hidden + "/"):
                    binds.add(path)
    made: set[str] = set()
    for path in sorted(binds):
        parent, parents = os.path.dirname(path), []
        while parent not in (*HIDDEN, "/tmp") and parent != "/" and parent not in made:
            parents.append(parent)
            parent = os.path.dirname(parent)
        for directory in reversed(parents):  # bwrap would make them 0700: the run user must pass
            argv += ["--perms", "0755", "--dir", directory]
            made.add(directory)
        argv += ["--ro-bind", path, path]
    argv += ["--dev", "/dev", "--proc", "/proc"]
    if privileged:
        argv += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        argv += ["--cap-drop", "ALL"]
        for cap in ("SETUID", "SETGID", "KILL", "CHOWN", "DAC_OVERRIDE", "FOWNER"):
            argv += ["--cap-add", f"CAP_{cap}"]
    else:
        argv += ["--unshare-all"]
    argv += ["--die-with-parent", "--new-session", "--chdir", "/tmp", "--"]
    return argv


def site_dirs() -> list[str]:
    """The parent's site-packages dirs, which the server (started without ``site``) puts on sys.path.

    Runs can import what is installed there; the dirs' ``.pth`` files are not run (an editable
    install's import hook among them), which keeps them out of every run's memory.
    """
    return [d for d in site.getsitepackages() if os.path.isdir(d)]


def _needed_paths() -> list[str]:
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, str(SERVER.parent.resolve())}
    paths.add(os.path.dirname(os.path.realpath(sys.executable)))
    return sorted(os.path.realpath(p) for p in paths if p)


class _Spawner:
    """Starts every worker from one long-lived thread.

    bubblewrap's ``--die-with-parent`` (and ``PR_SET_PDEATHSIG`` in general) fires when the *thread*
    that forked it exits. Workers are started lazily from whichever thread needs one (often a
    short-lived pool thread), so starting them from a thread that lives as long as the process keeps
    them alive exactly as long as the parent process.
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue[tuple[Callable[[], Any], concurrent.futures.Future[Any]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def call(self, fn: Callable[[], Any]) -> Any:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="fbenv-sandbox-spawner", daemon=True)
                self._thread.start()
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._jobs.put((fn, future))
        return future.result()

    def _loop(self) -> None:
        while True:
            fn, future = self._jobs.get()
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)


_SPAWNER = _Spawner()


def _kill_uid(uid: int, timeout: float = 2.0) -> None:
    """SIGKILL every process of ``uid`` (a worker's own run uid) until none is left or time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = False
        for pid, fields in proc_stats().items():
            if fields[0] == b"Z":  # dead, waiting for its reaper
                continue
            try:
                if os.stat(f"/proc/{pid}").st_uid == uid:
                    found = True
                    os.kill(pid, signal.SIGKILL)
            except OSError:  # gone meanwhile
                continue
        if not found:
            return
        time.sleep(0.01)


class Worker:
    """One running fork-server and the pipes to it."""

    def __init__(
        self,
        isolation: str,
        bwrap: str | None = None,
        warm: str = "",
        preload: Sequence[str] | None = None,
        programs: Sequence[str] = (),
        cpu: int | None = None,
    ) -> None:
        """Start a server; ``isolation`` is "bubblewrap" (needs ``bwrap``) or "rlimits".

        ``warm`` is trusted source the server runs once before serving; its names (those in its
        ``__all__``, if it has one) are globals of every run. ``preload`` names the modules the
        server imports first (default: the server's ``PRELOAD``). ``programs`` are trusted sources
        the server compiles once, for runs whose code is one of them. ``cpu``: the one CPU the server
        and its runs are kept on (None: any). See :class:`fbenv.tools.sandbox.Sandbox`.

        Raises :class:`WorkerDied` (with bubblewrap's or the server's error output) if the server
        does not say it is ready.
        """
        self.isolation = isolation
        privileged = os.geteuid() == 0
        uid = UID_BASE + secrets.randbelow(UID_SPAN) if privileged else None
        self.uid = uid
        config = {"uid": uid, "gid": uid, "pidns": isolation == "bubblewrap", "warm": warm, "path": site_dirs(),
                  "programs": list(programs), "cpu": cpu}  # fmt: skip
        self.cpu = cpu
        if preload is not None:
            config["preload"] = list(preload)
        argv = [sys.executable, *PYTHON_FLAGS, str(SERVER), json.dumps(config)]
        if isolation == "bubblewrap":
            if bwrap is None:
                raise ValueError("bubblewrap isolation needs the bwrap path")
            argv = [*bwrap_argv(bwrap, privileged), *argv]
        self._errors: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker
        self.proc: subprocess.Popen[bytes] = _SPAWNER.call(
            lambda: subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._errors, env=ENV, close_fds=True
            )
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in = self.proc.stdin.fileno()
        self._out = self.proc.stdout.fileno()
        try:
            self.hello: dict[str, Any] = json.loads(self._receive(time.monotonic() + START_TIMEOUT))
        except WorkerDied as exc:
            self.proc.kill()
            self.proc.wait()
            errors = self.error_output()
            self.kill()
            raise WorkerDied(f"{exc}: {errors}") from None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def request(
        self, code: str, limits: dict[str, Any], success_token: bool, timeout: float, stdin: bytes = b""
    ) -> dict[str, Any]:
        """Run ``code`` under ``limits`` (``Limits`` as a dict) with ``stdin`` as its input, and wait up
        to ``timeout`` seconds for the response."""
        view = memoryview(encode_request(code, limits, success_token, stdin))
        try:
            while view:
                view = view[os.write(self._in, view) :]
        except OSError as exc:
            raise WorkerDied(f"could not send to the sandbox server: {exc}") from None
        body = self._receive(time.monotonic() + timeout)
        try:
            return decode_response(body)
        except ValueError as exc:
            raise WorkerDied(f"the sandbox server sent {exc}") from None

    def _receive(self, deadline: float) -> bytes:
        """One message's bytes."""
        # One read usually brings the whole frame: the server answers once, and nothing follows a
        # response until the next request, so reading past the frame is impossible.
        data = self._read(4, 1 << 16, deadline)
        (size,) = struct.unpack(">I", data[:4])
        if size > MAX_FRAME:
            raise WorkerDied(f"sandbox server sent a frame of {size} bytes")
        body = data[4:]
        if len(body) > size:
            raise WorkerDied("the sandbox server sent more than one frame")
        if len(body) < size:
            body += self._read(size - len(body), size - len(body), deadline)
        return body

    def _read(self, n: int, most: int, deadline: float) -> bytes:
        """At least ``n`` bytes and at most ``most``, as they arrive before ``deadline``."""
        chunks: list[bytes] = []
        got = 0
        while got < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._out], [], [], left)[0]:
                raise WorkerDied("the sandbox server did not answer in time")
            chunk = os.read(self._out, min(most - got, 1 << 20))
            if not chunk:
                raise WorkerDied("the sandbox server exited")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def error_output(self) -> str:
        """What the server (or bubblewrap) wrote to stderr, for error messages."""
        try:
            self._errors.seek(0)
            return self._errors.read(4000).decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""

    def close(self, timeout: float = 2.0) -> None:
        """Ask the server to exit (end of file on its stdin); kill it if it does not."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()
        finally:
            self._close_pipes()

    def kill(self) -> None:
        """Kill the server; in rlimits mode also what its runs left and its run dirs (it cannot now).

        In bubblewrap mode the PID namespace ends with the server, and the kernel kills everything in
        it. In rlimits mode a run dies with the server (PDEATHSIG), but processes it started do not:
        as root, every process of the worker's own uid is killed here.
        """
        try:
            self.proc.kill()
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self._close_pipes()
        if self.isolation == "rlimits" and self.uid is not None:
            _kill_uid(self.uid)
        tmp_root = getattr(self, "hello", {}).get("tmp_root")
        if tmp_root and os.path.basename(tmp_root).startswith("fbenv-sandbox-"):
            shutil.rmtree(tmp_root, ignore_errors=True)

    def _close_pipes(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout, self._errors):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass

"""The sandbox's fork-server: runs untrusted Python source, one forked child per run.

This file is the program a sandbox worker runs (``python -I sandbox_server.py CONFIG``), inside
bubblewrap or not. It uses the standard library only and imports nothing from fbenv, because
``python -I`` does not put the project on ``sys.path``. The parent side (:mod:`fbenv.tools.sandbox`)
imports it only for the framing helpers.

Why a fork-server: starting a Python interpreter costs ~20-50 ms; forking a warm one costs well under
a millisecond. Every run gets a fresh ``fork()`` of the idle server, so it starts from the same clean
state and nothing one run does (globals, imported modules, monkeypatches) is seen by the next.

Protocol: the parent writes requests to the server's stdin, the server answers on its stdout. Each
message is a 4-byte big-endian length followed by that many bytes. The first message is the server's
hello, in UTF-8 JSON (``{"ready": true, ...}``); then one response per request, in order. Requests and
responses are a fixed binary header and raw bytes (see :func:`encode_request` and
:func:`encode_response`): the run's code, then its stdin after the message; the run's stdout and
stderr, undecoded. Encoding and decoding JSON in the server cost a run ~45 page faults (server
faults a run 215 -> 171; every page the server writes after a fork is copied), and program input
and output travel unescaped.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import importlib
import io
import json
import linecache
import math
import os
import resource
import select
import signal
import struct
import sys
import time
import traceback
import types
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

MAX_FRAME = 512 << 20
CHILD_SETUP_FAILED = 125  # exit code of a child whose sandbox set-up failed (never user code)
TOKEN_FD = 3  # the child's private fd for the success token
# Modules imported once by the server so that runs get them for free (fork shares them). Not
# threading (nor queue or subprocess, which import it): once threading is loaded, every fork runs its
# after-fork hooks, which costs ~0.4 ms a run here, a sixth of a whole check. It also
# matters for correctness in "rlimits" mode when the interpreter lives somewhere the unprivileged
# run user cannot read (e.g. pyenv under a 0700 /root): only modules loaded here import there.
PRELOAD = (
    "array", "ast", "base64", "bisect", "calendar", "cmath", "collections", "collections.abc",
    "contextlib", "copy", "csv", "dataclasses", "datetime", "decimal", "enum", "fractions",
    "functools", "hashlib", "heapq", "itertools", "numbers", "operator", "pathlib", "pickle",
    "pprint", "re", "statistics", "string", "socket", "textwrap",
    "typing", "unicodedata", "unittest", "uuid", "zlib", "contextvars", "glob", "shutil",
    "tempfile", "encodings.idna", "encodings.ascii", "encodings.latin_1", "encodings.utf_16",
)  # fmt: skip
MADV_COLLAPSE = 25  # madvise: make huge pages of a range now (Linux >= 6.1)
HUGE_PAGE = 2 << 20
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
CLONE_NEWNET = 0x40000000
WORLD_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm")


# ----------------------------------------------------------------------------- framing


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd`` (blocking)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_json(fd: int, obj: Any) -> None:
    """Write one length-prefixed UTF-8 JSON message (the hello) to ``fd``."""
    data = json.dumps(obj).encode()
    write_all(fd, struct.pack(">I", len(data)) + data)


def read_exact(fd: int, n: int) -> bytes | None:
    """Read exactly ``n`` bytes from ``fd``; None on end of file before that."""
    chunks: list[bytes] = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


# A request's header: the limits (in LIMIT_NAMES' order), success_token, the code's length in bytes
# and the stdin's. A response's: the status (its index in STATUSES), whether there is an exit code and
# which, the signal (0: none), CPU seconds, whether the token came, wall seconds, the lengths of stdout
# and stderr as sent, and whether each was cut at the output limit.
LIMIT_NAMES = ("cpu_seconds", "wall_seconds", "memory_bytes", "processes", "file_bytes", "open_files", "output_bytes")
_REQUEST = struct.Struct(">2d5Q?2I")
STATUSES = ("ok", "error", "timeout", "killed")
_RESPONSE = struct.Struct(">B?qid?d2I2?")


def encode_request(code: str, limits: dict[str, Any], success_token: bool, stdin: bytes) -> bytes:
    """A run's request, ready to write: the framed header and code, then the stdin."""
    source = code.encode()
    numbers = [float(limits[name]) if i < 2 else int(limits[name]) for i, name in enumerate(LIMIT_NAMES)]
    head = _REQUEST.pack(*numbers, success_token, len(source), len(stdin))
    return struct.pack(">I", len(head) + len(source)) + head + source + stdin


def read_request(fd: int) -> tuple[dict[str, Any], bytes] | None:
    """Read one request (code, limits, success_token) and its raw stdin bytes; None on a clean end
    of file."""
    head = read_exact(fd, 4)
    if head is None:
        return None
    (size,) = struct.unpack(">I", head)
    if not _REQUEST.size <= size <= MAX_FRAME:
        raise ValueError(f"a request of {size} bytes")
    body = read_exact(fd, size)
    if body is None:
        raise EOFError("truncated request")
    *numbers, token, code_size, stdin_size = _REQUEST.unpack_from(body)
    if code_size != size - _REQUEST.size or stdin_size > MAX_FRAME:
        raise ValueError("a request whose lengths do not add up")
    stdin = read_exact(fd, stdin_size) if stdin_size else b""
    if stdin is None:
        raise EOFError("truncated stdin")
    code = body[_REQUEST.size :].decode()
    return {"code": code, "limits": dict(zip(LIMIT_NAMES, numbers, strict=True)), "success_token": token}, stdin


def encode_response(resp: dict[str, Any], out: bytes | bytearray, err: bytes | bytearray, cap: int) -> bytes:
    """A run's response, framed: the header, then stdout and stderr cut at ``cap`` bytes each."""
    code, sig = resp["exit_code"], resp["signal"]
    shown_out, shown_err = out[:cap], err[:cap]
    head = _RESPONSE.pack(STATUSES.index(resp["status"]), code is not None, code or 0, sig or 0, resp["cpu_s"],
                          resp["passed_token"], resp["duration_s"], len(shown_out), len(shown_err),
                          len(out) > cap, len(err) > cap)  # fmt: skip
    return b"".join((struct.pack(">I", len(head) + len(shown_out) + len(shown_err)), head, shown_out, shown_err))


def decode_response(body: bytes) -> dict[str, Any]:
    """The response dict from a response's bytes (the frame's body); ValueError if they are not one.
    Output is decoded as UTF-8 with replacement characters, and says where it was cut."""
    if len(body) < _RESPONSE.size:
        raise ValueError(f"a response of {len(body)} bytes")
    status, has_code, code, sig, cpu, token, duration, out_size, err_size, out_cut, err_cut = (
        _RESPONSE.unpack_from(body))  # fmt: skip
    if status >= len(STATUSES) or _RESPONSE.size + out_size + err_size != len(body):
        raise ValueError("a response whose header does not fit its bytes")
    out = body[_RESPONSE.size : _RESPONSE.size + out_size]
    err = body[_RESPONSE.size + out_size :]
    cut = "\n[... truncated]"
    return {"status": STATUSES[status], "exit_code": code if has_code else None, "signal": sig or None, "cpu_s": cpu,
            "passed_token": token, "duration_s": duration,
            "stdout": out.decode("utf-8", errors="replace") + (cut if out_cut else ""),
            "stderr": err.decode("utf-8", errors="replace") + (cut if err_cut else "")}  # fmt: skip


# ----------------------------------------------------------------------------- the server


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


class Server:
    """One worker: holds the run user's ids and answers run requests one at a time."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.uid: int | None = config.get("uid")
        self.gid: int | None = config.get("gid", self.uid)
        self.pidns: bool = bool(config.get("pidns"))
        # Trusted code compiled and run once, here in the warm server; its names (those in its
        # __all__, when it has one) are every run's globals.
        self.warm: dict[str, Any] = {}
        if config.get("warm"):
            exec(compile(config["warm"], "<warm>", "exec"), self.warm)
            self.warm.pop("__builtins__", None)
        exports = self.warm.get("__all__", [name for name in self.warm if name != "__all__"])
        # What a checked run's guard lets look at frames (see install_guard): the warm code (a harness
        # formatting a traceback) and the run's own set-up, through the traceback module's code.
        trusted = code_objects([*self.warm.values(), run_user_code, _execute])
        self.arm_guard = install_guard(trusted, code_objects([traceback, linecache]))
        self.libc = _libc()
        self.pid = os.getpid()
        # Orphaned descendants of a run are re-parented to the server, not to init: "do I still have
        # a child?" then tells exactly whether anything a run started is alive.
        self.libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        self.privileged = self.uid is not None and os.geteuid() == 0 and self.uid != 0
        self.net_isolated = self.pidns or self._unshare_net()
        if self.pidns:
            self.tmp_root = "/tmp"
        else:
            import tempfile

            self.tmp_root = tempfile.mkdtemp(prefix="fbenv-sandbox-")
            os.chmod(self.tmp_root, 0o711)  # the run user may enter its own dir, not list others
        # One run dir path per worker, made afresh for each run and removed after it: a constant
        # path lets the runs' environment be set once, here, instead of in every child (rewriting
        # os.environ after a fork costs ~0.3 ms of copy-on-write faults).
        self.workdir = os.path.join(self.tmp_root, "run")
        self.main_path = os.path.join(self.workdir, "main.py")  # named for tracebacks; the source is not written out
        # Every run's __main__, made once here: a run changes only its own copy-on-write copy of it,
        # and making it in each child (a module, the warm names copied in, each value's refcount
        # written) cost ~40 page faults a run.
        self.module = types.ModuleType("__main__")
        self.module.__file__ = self.main_path
        self.module.__dict__.update({name: self.warm[name] for name in exports})
        # Trusted programs the parent will send often (a call into the warm code), compiled once:
        # the compiler costs ~35 page faults in a fresh child even for one line.
        self.programs = {source: compile(source, self.main_path, "exec") for source in config.get("programs", ())}
        self.lines_of: str | None = None  # the program whose lines linecache holds (see run)
        # Only directories a run can actually write (world-writable, not on a read-only mount) can
        # hold its stray files; found once, since scanning them after every run costs ~0.2 ms.
        self.shared_dirs = tuple(d for d in WORLD_WRITABLE if _writable_by_anyone(d))
        os.environ.clear()
        os.environ.update({"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": self.workdir, "TMPDIR": self.workdir,
                           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"})  # fmt: skip

    def _unshare_net(self) -> bool:
        """rlimits mode as root: put the server (and so every run) in an empty network namespace."""
        if os.geteuid() != 0:
            return False
        return self.libc.unshare(CLONE_NEWNET) == 0

    def hello(self) -> dict[str, Any]:
        return {"ready": True, "pid": os.getpid(), "privileged": self.privileged, "net_isolated": self.net_isolated,
                "tmp_root": None if self.pidns else self.tmp_root}  # fmt: skip

    # -- one run ------------------------------------------------------------------------------

    def run(self, req: dict[str, Any], stdin: bytes = b"") -> tuple[bytes, str]:
        """Run one request with ``stdin`` as the program's input; return the response, framed, and
        the run's working dir (for later clean-up)."""
        limits: dict[str, Any] = req["limits"]
        cap = int(limits["output_bytes"])
        workdir = self.workdir
        if os.path.lexists(workdir):  # a clean-up that did not finish: never reuse a run's files
            _rmtree(workdir)
        os.mkdir(workdir, 0o700)
        if self.privileged:
            os.chown(workdir, self.uid, self.gid)  # type: ignore[arg-type]
        stdin_fd = os.memfd_create("stdin", 0)
        write_all(stdin_fd, stdin)
        os.lseek(stdin_fd, 0, os.SEEK_SET)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        tok_r, tok_w = os.pipe()
        # The token is in a list, never in a local of this frame, which stays on the child's stack
        # under the run's code: the child pops it just before the run starts (see run_user_code).
        secret = [os.urandom(16)]
        code = req["code"]
        if code != self.lines_of:  # tracebacks show the program's lines; here, not in every child
            linecache.cache[self.main_path] = (len(code), None, code.splitlines(True), self.main_path)
            self.lines_of = code
        rlimits = _rlimits(limits)  # here, not in the child: every page a fresh child writes is copied
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            try:
                guard = bool(req.get("success_token"))
                self._child(code, rlimits, (stdin_fd, out_w, err_w, tok_w), secret, guard)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(CHILD_SETUP_FAILED)
        for fd in (stdin_fd, out_w, err_w, tok_w):
            os.close(fd)
        out, err, timed_out, status, rusage = self._supervise(pid, out_r, err_r, start, limits, cap)
        duration = time.monotonic() - start
        self.kill_leftovers(pid)
        for fd, buf in ((out_r, out), (err_r, err)):
            self._drain(fd, buf, cap)
            os.close(fd)
        got = self._read_token(tok_r)
        os.close(tok_r)
        resp = self._classify(status, timed_out, rusage, limits)
        resp["passed_token"] = got == secret[0] and resp["status"] == "ok"
        resp["duration_s"] = duration
        return encode_response(resp, out, err, cap), workdir

    def _supervise(
        self, pid: int, out_r: int, err_r: int, start: float, limits: dict[str, Any], cap: int
    ) -> tuple[bytearray, bytearray, bool, int, Any]:
        """Collect output (capped) until the child exits or the wall limit passes."""
        out, err = bytearray(), bytearray()
        bufs = {out_r: out, err_r: err}
        poller = select.poll()
        for fd in bufs:
            poller.register(fd, select.POLLIN)
        pidfd = os.pidfd_open(pid)
        poller.register(pidfd, select.POLLIN)
        deadline = start + float(limits["wall_seconds"])
        timed_out = False
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    timed_out = True
                    _kill_group(pid)
                    break
                events = poller.poll(max(1, math.ceil(left * 1000)))
                if any(fd == pidfd for fd, _ in events):
                    break
                for fd, _ in events:
                    if not _read_into(fd, bufs[fd], cap):
                        poller.unregister(fd)
        finally:
            os.close(pidfd)
        _, status, rusage = os.wait4(pid, 0)
        return out, err, timed_out, status, rusage

    @staticmethod
    def _drain(fd: int, buf: bytearray, cap: int) -> None:
        """Read what is left in a pipe once every process of the run is gone (so no writer is left,
        and the pipe ends; non-blocking all the same, so that a reader can never hang here)."""
        os.set_blocking(fd, False)
        while _read_into(fd, buf, cap):
            pass

    @staticmethod
    def _read_token(fd: int) -> bytes:
        os.set_blocking(fd, False)
        try:
            return os.read(fd, 64)
        except BlockingIOError:
            return b""

    @staticmethod
    def _classify(status: int, timed_out: bool, rusage: Any, limits: dict[str, Any]) -> dict[str, Any]:
        exit_code = os.waitstatus_to_exitcode(status)
        sig = -exit_code if exit_code < 0 else None
        cpu = rusage.ru_utime + rusage.ru_stime
        if timed_out or sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= math.ceil(limits["cpu_seconds"])):
            kind = "timeout"
        elif sig is not None:
            kind = "killed"
        else:
            kind = "ok" if exit_code == 0 else "error"
        return {"status": kind, "exit_code": None if sig else exit_code, "signal": sig, "cpu_s": cpu}

    # -- leftovers ----------------------------------------------------------------------------

    def kill_leftovers(self, pid: int) -> None:
        """Kill everything a run left behind: its process group and every other process it started.

        The server is a child subreaper, so each live descendant of a run has an ancestor that is a
        direct child of the server: when ``waitpid(-1)`` says there are no children, nothing is left.
        Otherwise kill, reap, repeat. If that does not converge the server exits, and the parent
        starts a fresh worker (in bubblewrap mode that tears down the whole PID namespace). The usual
        run leaves nothing, and is done after one ``waitpid``.
        """
        if not _has_children():
            return
        _kill_group(pid)
        deadline = time.monotonic() + 2.0
        while True:
            if not _has_children():
                return
            if time.monotonic() > deadline:
                sys.stderr.write("fbenv sandbox: could not kill a run's processes; exiting\n")
                os._exit(3)
            self._kill_all()
            time.sleep(0.001)

    def _kill_all(self) -> None:
        if self.privileged:
            # kill(-1) from the run user's ids reaches exactly that user's processes (never root's,
            # never the server itself). The saved uid stays 0 so the server can switch back.
            os.setresuid(self.uid, self.uid, 0)  # type: ignore[arg-type]
            try:
                if os.getresuid()[:2] == (self.uid, self.uid) and self.uid:
                    for _ in range(2):
                        try:
                            os.kill(-1, signal.SIGKILL)
                        except ProcessLookupError:
                            break
            finally:
                os.setresuid(0, 0, 0)
        for pid in self._descendants():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def _descendants(self) -> list[int]:
        """Processes to kill: in a PID namespace everything but init and us; else our descendants."""
        me = os.getpid()
        parents = {pid: int(fields[1]) for pid, fields in proc_stats().items()}
        if self.pidns:
            return [p for p in parents if p not in (1, me)]
        found, frontier = [], [me]
        while frontier:
            parent = frontier.pop()
            kids = [p for p, pp in parents.items() if pp == parent]
            found.extend(kids)
            frontier.extend(kids)
        return found

    def clean_files(self, workdir: str) -> None:
        """Remove the run's working dir and anything the run user left in world-writable dirs."""
        try:
            os.rmdir(workdir)  # most runs write no files: one call instead of rmtree's walk
        except OSError:
            _rmtree(workdir)
        if not self.privileged:
            return
        for top in self.shared_dirs:
            try:
                entries = list(os.scandir(top))
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.stat(follow_symlinks=False).st_uid != self.uid:
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        _rmtree(entry.path)
                    else:
                        os.unlink(entry.path)
                except OSError:
                    pass

    # -- the child ----------------------------------------------------------------------------

    def _child(
        self,
        code: str,
        rlimits: tuple[tuple[int, tuple[int, int]], ...],
        fds: tuple[int, ...],
        secret: list[bytes],
        guard: bool,
    ) -> NoReturn:
        """Set the child up (fds, session, user, limits, cwd), then run the user's code."""
        stdin_fd, out_w, err_w, tok_w = fds
        os.setsid()
        os.dup2(stdin_fd, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.dup2(tok_w, TOKEN_FD)
        os.closerange(TOKEN_FD + 1, os.sysconf("SC_OPEN_MAX"))
        if self.privileged:
            os.setgroups([])
            os.setresgid(self.gid, self.gid, self.gid)  # type: ignore[arg-type]
            os.setresuid(self.uid, self.uid, self.uid)  # type: ignore[arg-type]
            if os.getresuid() != (self.uid,) * 3:
                os._exit(CHILD_SETUP_FAILED)
        if not self.pidns:
            # Die with the server. Set after the uid change, which clears it. Not needed in a PID
            # namespace (bubblewrap), where the namespace's init ends with the server and the kernel
            # then kills everything in it; skipped there because a ctypes call is dear in a fresh
            # child (~70 page faults where a bare fork and exit take ~100; ~6 % of a check's CPU).
            self.libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != self.pid:  # the server died before that: end now
                os._exit(CHILD_SETUP_FAILED)
        os.chdir(self.workdir)
        for res, value in rlimits:
            resource.setrlimit(res, value)
        # No random.seed() here: random, when a preload imported it, reseeds itself in every forked
        # child (an after-fork hook), and a run that imports it itself seeds it from os.urandom.
        guard_ = self.arm_guard if guard else None
        run_user_code(self.programs.get(code, code), self.main_path, secret, self.module, guard_)


def _rlimits(limits: dict[str, Any]) -> tuple[tuple[int, tuple[int, int]], ...]:
    """The resource limits a run's child sets on itself: (resource, (soft, hard)) pairs."""
    cpu = max(1, math.ceil(float(limits["cpu_seconds"])))
    return (
        (resource.RLIMIT_CORE, (0, 0)),
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_FSIZE, (int(limits["file_bytes"]),) * 2),
        (resource.RLIMIT_NOFILE, (int(limits["open_files"]),) * 2),
        (resource.RLIMIT_NPROC, (int(limits["processes"]),) * 2),
        (resource.RLIMIT_AS, (int(limits["memory_bytes"]),) * 2),
    )


def proc_stats() -> dict[int, list[bytes]]:
    """Every process in ``/proc``: its pid and the fields of its ``stat`` after the command name
    (``[0]`` the state, ``[1]`` the parent's pid). Processes that end meanwhile are left out."""
    found = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    found[int(name)] = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
    return found


# Pipe reads land here, not in a fresh 64 KiB bytes object per read (each costs the server page faults).
_SCRATCH = bytearray(1 << 16)
_SCRATCH_VIEW = memoryview(_SCRATCH)


def _read_into(fd: int, buf: bytearray, cap: int) -> bool:
    """Read one chunk into ``buf``, keeping at most ``cap + 1`` bytes; False at end of file (or,
    on a non-blocking fd, when nothing is there)."""
    try:
        got = os.readv(fd, [_SCRATCH])
    except BlockingIOError:
        return False
    if not got:
        return False
    room = cap + 1 - len(buf)
    if room > 0:
        buf += _SCRATCH_VIEW[: min(got, room)]
    return True


def _rmtree(path: str) -> None:
    """``shutil.rmtree(path, ignore_errors=True)``, importing shutil only when a run left files:
    with bz2, lzma and the rest it brings, it was 0.4 MB of the server's memory, which every run's
    fork copies into page tables and every exit tears down, for runs that mostly write nothing."""
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _has_children() -> bool:
    """Whether this process has a child, alive or not yet reaped (reaping those that ended)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        return False
    return True


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def run_user_code(
    program: str | types.CodeType,
    path: str,
    secret: list[bytes],
    module: types.ModuleType,
    guard: Callable[[], None] | None = None,
) -> NoReturn:
    """Run ``program`` (source, or the server's compiled copy of a trusted program) in ``module``,
    the run's ``__main__``, and exit; send the token in ``secret`` on fd 3 only if it
    ran to completion. Called in a server's forked child: the server has made ``module``
    ``sys.modules["__main__"]``, installed the run's streams and argv, and put the source's lines in
    ``linecache``, once, before forking.

    Everything used after the user's code has run is captured *before* it runs (``os.write``,
    ``os._exit``, ``os.getpid``, the streams' ``flush``), so patching ``os``, ``sys`` or ``builtins``
    does not change what happens here. The token is sent only by the process the server forked (a
    ``fork()`` inside the user's code copies this frame too), only when the code ended without any
    exception (``SystemExit`` included), and the server also requires exit status 0. While the code
    runs the token is no variable of any frame: it is popped from ``secret`` onto this frame's
    evaluation stack, which frame introspection does not show. With ``guard`` (a run whose result
    counts: the function that arms the guard, see :func:`install_guard`) the ways a program could
    reach another frame, or memory, are closed as well.
    """
    stdout, stderr = sys.stdout, sys.stderr
    sys.path.insert(0, os.path.dirname(path))
    captured = (os.getpid(), os.getpid, os.write, os._exit, (stdout.flush, stderr.flush))
    _finish(secret.pop(), *captured, *_execute(program, path, module, stderr, guard))


def _execute(
    program: str | types.CodeType,
    path: str,
    module: types.ModuleType,
    stderr: io.TextIOBase,
    guard: Callable[[], None] | None,
) -> tuple[bool, int]:
    """Run the program; (whether it ran to completion, its exit status)."""
    print_exception = traceback.print_exception
    if guard is not None:
        guard()
    try:
        exec(program if isinstance(program, types.CodeType) else compile(program, path, "exec"), module.__dict__)
        return True, 0
    except SystemExit as exc:
        return False, _exit_code(exc, stderr)
    except BaseException as exc:
        try:
            tb = exc.__traceback__
            print_exception(type(exc), exc, tb.tb_next if tb is not None else tb, file=stderr)  # not our frame
        except BaseException:
            pass
        return False, 1


def _finish(
    token: bytes, me: int, getpid: Any, write: Any, exit_: Any, flushes: tuple[Any, ...], completed: bool, status: int
) -> NoReturn:
    """The end of every run: flush, send the token if the run completed in the forked process, exit."""
    # try/except, not contextlib.suppress: the program may have replaced contextlib's functions.
    for flush in flushes:
        try:  # noqa: SIM105
            flush()
        except BaseException:
            pass
    if completed and getpid() == me:
        try:  # noqa: SIM105
            write(TOKEN_FD, token)
        except BaseException:
            pass
    exit_(status)


# ----------------------------------------------------------------------------- the guard of checked runs
#
# A run whose result counts (the parent asked for the success token) runs in the same process as
# the code that judges it: the harness's frames hold the cases, the expected values and the
# results, and the frames below hold the way the token is sent. Python hands out frames, and raw
# memory, in a few ways; each raises an audit event or needs a module object, so every server
# installs an audit hook (it cannot be removed) that a checked run arms: it refuses them, and the two
# module functions that have no event are replaced. Trusted code (the warm harness, the run's own
# set-up) may still read a traceback's frames to format it, when every frame between it and the
# event is the traceback or linecache module's own.

# Audit events refused outright (unless a trusted caller, see above).
GUARDED_EVENTS = frozenset({
    "sys._getframe", "sys._current_frames", "sys._current_exceptions",  # frames of this or other threads
    "sys.settrace", "sys.setprofile",  # trace functions are given frames
    "gc.get_objects", "gc.get_referrers", "gc.get_referents",  # any object, frames' contents included
    "code.__new__", "marshal.loads",  # hand-made bytecode reads outside its frame (imports: see below)
    "os.symlink", "os.link",  # a link swapped after the check below would reach /proc/N/mem
})  # fmt: skip
FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})
FUNCTION_INNARDS = frozenset({"__code__"})  # swapping it changes a function in place (namedtuple sets __defaults__)
PROC_MEMORY = ("/mem", "/pagemap")
TEST_MODULES = ("_test", "_xx", "_ctypes")  # CPython's test helpers and ctypes reach memory directly


def code_objects(values: Any) -> frozenset[types.CodeType]:
    """The code objects of these functions and classes, and of those defined in these modules (not
    in the modules they import), nested code included."""
    found: set[types.CodeType] = set()
    pending = [v for value in values for v in (vars(value).values() if isinstance(value, types.ModuleType)
                                               else [value])]  # fmt: skip
    seen: set[int] = set()
    while pending:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, types.CodeType):
            found.add(value)
            pending.extend(c for c in value.co_consts if isinstance(c, types.CodeType))
        elif isinstance(value, types.FunctionType):
            pending.append(value.__code__)
        elif isinstance(value, (staticmethod, classmethod, types.MethodType)):
            pending.append(value.__func__)
        elif isinstance(value, property):
            pending.extend(f for f in (value.fget, value.fset, value.fdel) if f is not None)
        elif isinstance(value, type):
            pending.extend(vars(value).values())
    return frozenset(found)


def _not_from_the_run(path: object) -> bool:
    """Whether the run cannot have written this bytecode file: it is on a read-only mount (bubblewrap),
    or neither it nor its dir belongs to the run's uid (rlimits mode as root)."""
    if not isinstance(path, str):
        return False
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return True
        me = os.getuid()
        return os.stat(path).st_uid != me and os.stat(os.path.dirname(path) or ".").st_uid != me
    except OSError:
        return False


def install_guard(trusted: frozenset[types.CodeType], helpers: frozenset[types.CodeType]) -> Callable[[], None]:
    """Install the guard (see above), disarmed; return the function that arms it for good.

    Called once in the server, so that a checked run only arms it (a hook installed in each run cost
    it ~0.2 ms: its code and everything it touches copied on write, never specialized). Armed, the
    hook refuses the ways code could reach another frame or raw memory; ``trusted`` code may,
    through ``helpers`` (the traceback module's code) and nothing else. Nothing the run's code can
    reach refers to the hook or to the returned function.
    """
    import _imp
    import _signal
    import _thread

    armed = False
    busy: set[int] = set()
    trusted_ids, helper_ids = frozenset(map(id, trusted)), frozenset(map(id, helpers))  # they live as long as we do
    get_ident, getframe, realpath, isdir = _thread.get_ident, sys._getframe, os.path.realpath, os.path.isdir
    load_bytecode = sys.modules["_frozen_importlib_external"]._compile_bytecode.__code__

    def hook(event: str, args: tuple[Any, ...], _alive: object = (trusted, helpers)) -> None:
        # (_alive: the code objects whose ids are compared stay alive as long as the hook does.)
        if not armed:
            return
        if event in GUARDED_EVENTS or event.startswith("ctypes."):
            pass
        elif event == "object.__getattr__":
            if args[1] not in FRAME_ATTRIBUTES:
                return
        elif event == "object.__setattr__":
            if args[1] not in FUNCTION_INNARDS:
                return
        elif event == "open":
            path = args[0]
            if not isinstance(path, (str, bytes)):
                return
            name = realpath(os.fsdecode(path))
            # A directory's fd would let a relative open (dir_fd, which the event does not show) reach
            # /proc/N/mem from /, /proc or /dev (fd -> /proc/self/fd).
            if not (name.startswith("/proc/") and name.endswith(PROC_MEMORY)) and not isdir(name):
                return
        elif event == "import":
            if not str(args[0]).startswith(TEST_MODULES):
                return
        else:
            return
        me = get_ident()
        if me in busy:  # this hook's own look at the stack
            return
        busy.add(me)
        try:
            frame = getframe(1)
            if (
                event == "marshal.loads"
                and frame.f_code is load_bytecode  # an import reading a .pyc
                and _not_from_the_run(frame.f_locals.get("bytecode_path"))
            ):
                return
            # By identity: hashing a code object hashes all its bytecode and constants.
            while frame is not None and id(frame.f_code) in helper_ids:
                frame = frame.f_back
            if frame is not None and id(frame.f_code) in trusted_ids:
                return
        finally:
            busy.discard(me)
        what = f"{event} {args[1]}" if event.startswith("object.") else event
        message = f"fbenv sandbox: {what} is not allowed in a checked run (it could reach the checker's state)"
        # ValueError is what sys._getframe raises past the stack's end: namedtuple, enum and typing
        # then fall back as they do there.
        raise (ValueError if event == "sys._getframe" else RuntimeError)(message)

    def refuse(*args: object, **kwargs: object) -> NoReturn:
        raise RuntimeError("fbenv sandbox: not allowed in a checked run (it could reach the checker's state)")

    def arm() -> None:
        nonlocal armed
        armed = True
        _signal.signal = refuse  # a Python signal handler is given the frame it interrupts
        _imp.create_builtin = refuse  # a fresh _signal module would have its own signal(); all are loaded

    sys.addaudithook(hook)
    return arm


def _writable_by_anyone(path: str) -> bool:
    try:
        return bool(os.stat(path).st_mode & 0o002) and not os.statvfs(path).f_flag & os.ST_RDONLY
    except OSError:
        return False


def _stdio() -> tuple[io.TextIOWrapper, io.TextIOWrapper, io.TextIOWrapper]:
    """Text streams on fds 0, 1 and 2. Made once in the server (a run's child only redirects the
    fds underneath them), since building them in each child costs copy-on-write faults."""

    def text(fd: int, mode: str, errors: str) -> io.TextIOWrapper:
        return io.TextIOWrapper(io.FileIO(fd, mode, closefd=False), encoding="utf-8", errors=errors,
                                line_buffering=mode == "w")  # fmt: skip

    return text(0, "r", "replace"), text(1, "w", "backslashreplace"), text(2, "w", "backslashreplace")


_SERVER_MODULE: types.ModuleType | None = None  # the server's own __main__, kept alive


def _exit_code(exc: SystemExit, stderr: io.TextIOBase) -> int:
    """The exit status ``sys.exit(x)`` asks for, as the interpreter would compute it."""
    try:
        value = exc.code
        if value is None:
            return 0
        if isinstance(value, int):
            return value & 0xFF
        stderr.write(f"{value}\n")
    except BaseException:
        pass
    return 1


def _collapse_into_huge_pages(libc: Any) -> None:
    """Back each whole, aligned 2 MiB of the server's anonymous memory with one huge page (Linux
    6.1's MADV_COLLAPSE; best effort, nothing changes where it is missing or refused).

    A run's fork copies, and its exit tears down, a page-table entry for every page of the server;
    the kernel does both a large folio at a time, so the glibc heap's 2 MiB as one folio costs each
    run less (five fresh-server pairs, counted sequentially: server CPU +2 to -17 %, the run's -0.5
    to -15 %, even though the first write to it in a run splits its mapping back into small
    entries). Python's own arenas are 1 MiB mappings and seldom hold an aligned 2 MiB.
    """
    madvise = libc.madvise
    madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    with open("/proc/self/maps") as maps:
        lines = maps.read().splitlines()
    for line in lines:
        fields = line.split()
        if fields[1] != "rw-p" or (len(fields) > 5 and fields[5] != "[heap]"):
            continue  # private anonymous memory only (no file, no stack)
        low, high = (int(x, 16) for x in fields[0].split("-"))
        start, end = -(-low // HUGE_PAGE) * HUGE_PAGE, high // HUGE_PAGE * HUGE_PAGE
        if end > start:
            madvise(start, end - start, MADV_COLLAPSE)


def preload(names: Sequence[str]) -> None:
    """Import ``names`` (skipping any that fail), with ``random``'s after-fork hook made cheap.

    ``random`` reseeds itself in every forked child, through a hook that calls its Python-level
    ``Random.seed``: that runs Python code in every run, a preloaded ``random`` cost each run 6-14
    page faults, so pools did without it and each run that imported it paid ~2.7 ms. The hook is
    registered here as the C seed it ends in (the same fresh state from ``os.urandom``; the Python
    method only also clears ``gauss_next``, which the server never sets). Other modules' hooks are
    registered as they ask.
    """
    hooks: list[dict[str, Any]] = []
    register, os.register_at_fork = os.register_at_fork, lambda **kw: hooks.append(kw)
    try:
        for name in names:
            with contextlib.suppress(Exception):
                importlib.import_module(name)
    finally:
        os.register_at_fork = register
    random = sys.modules.get("random")
    for kw in hooks:
        hook = kw.get("after_in_child")
        if random is not None and getattr(hook, "__self__", None) is random._inst \
                and getattr(hook, "__func__", None) is random.Random.seed:  # fmt: skip
            import _random

            kw = {**kw, "after_in_child": functools.partial(_random.Random.seed, random._inst)}
        register(**kw)


def main() -> None:
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    if config.get("cpu") is not None:  # Sandbox(pin_cpus=True): this server and its runs on one CPU
        with contextlib.suppress(OSError, AttributeError):
            os.sched_setaffinity(0, {int(config["cpu"])})
    proto_in, proto_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    # The parent starts the server with -S: the site module's start-up (and the .pth files it runs,
    # such as an editable install's import hook with pathlib, urllib and ipaddress behind it) was
    # 0.7 MB of the code-check server's heap, copied into every run's page tables and torn down at
    # every run's exit. Runs still see the installed packages (the dirs are on sys.path, their .pth files are not
    # run) and the builtins site adds (exit, quit, help, ...).
    sys.path.extend(config.get("path", ()))
    if sys.flags.no_site:
        import site

        site.setquit()
        site.setcopyright()
        site.sethelper()
    # Every module compiled into the interpreter (tiny; no files): a checked run cannot create one
    # afresh (see install_guard), so none may be left to import.
    preload((*sys.builtin_module_names, *config.get("preload", PRELOAD)))
    server = Server(config)
    # Make the runs' streams the server's own now, so that a run installing them frees nothing: freeing
    # the interpreter's original stream objects (and the server's argv, which holds the config with the
    # warm harness source) in every child cost ~45 copy-on-write page faults a run (a `pass` run: 333 -> 290).
    sys.stdin, sys.stdout, sys.stderr = sys.__stdin__, sys.__stdout__, sys.__stderr__ = _stdio()
    sys.argv = [server.main_path]  # every run's
    global _SERVER_MODULE
    _SERVER_MODULE, sys.modules["__main__"] = sys.modules["__main__"], server.module  # every run's __main__
    # The start-up's garbage (the compiler's memory for the warm code, among others) is free but
    # still mapped: handing it back leaves less for every fork to copy and every exit to tear down.
    gc.collect()
    with contextlib.suppress(AttributeError):  # glibc's; other C libraries do without
        server.libc.malloc_trim(0)
    gc.freeze()  # keep the warm heap out of the children's collections: fewer copy-on-write faults
    _collapse_into_huge_pages(server.libc)
    write_json(proto_out, server.hello())
    while True:
        request = read_request(proto_in)
        if request is None:
            break
        resp, workdir = server.run(*request)
        write_all(proto_out, resp)
        server.clean_files(workdir)  # after answering: off the caller's latency
    if not server.pidns:
        _rmtree(server.tmp_root)


if __name__ == "__main__":
    main()

"""The sandbox against hostile code: every attack is its own test, in both isolation modes.

After each attack the same sandbox must still serve a normal run correctly. Tests for "bubblewrap"
skip (with the reason) where bubblewrap cannot run; "rlimits" tests always run. Some containment in
"rlimits" mode needs the parent to be root (runs drop to their own uid); those skip otherwise.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fbenv.tools import BubblewrapUnavailable, Limits, RunResult, Sandbox, shared_sandbox
from fbenv.tools.sandbox import ISOLATIONS, _limits_dict
from fbenv.tools.sandbox_server import decode_response, encode_request, encode_response, read_request
from fbenv.tools.sandbox_worker import site_dirs

REPO = Path(__file__).resolve().parents[2]
ROOT = os.geteuid() == 0
FAST = Limits(cpu_seconds=1, wall_seconds=1.0, memory_bytes=512 << 20, output_bytes=4096)
NEEDS_ROOT = "rlimits mode contains this only when the parent runs as root (runs then drop to their own uid)"


def _make(isolation: str, workers: int = 1) -> Sandbox:
    try:
        return Sandbox(workers=workers, isolation=isolation, limits=FAST)
    except BubblewrapUnavailable as exc:
        pytest.skip(f"bubblewrap is unusable here: {exc}")


@pytest.fixture(scope="module", params=["bubblewrap", "rlimits"])
def sb(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """One single-worker sandbox per mode, shared by the module: a later run reuses the same worker."""
    with _make(request.param) as sandbox:
        assert sandbox.isolation == request.param
        yield sandbox


def healthy(sb: Sandbox) -> None:
    """The sandbox still serves a normal run correctly."""
    r = sb.run("import sys\nprint(sys.stdin.read()[::-1])", stdin="olleh", success_token=True)
    assert (r.status, r.stdout, r.stderr, r.passed) == ("ok", "hello\n", "", True), r


def run(sb: Sandbox, code: str, **kw: object) -> RunResult:
    return sb.run(textwrap.dedent(code), **kw)  # type: ignore[arg-type]


def needs_root(sb: Sandbox) -> None:
    if sb.isolation == "rlimits" and not ROOT:
        pytest.skip(NEEDS_ROOT)


# ----------------------------------------------------------------------------- normal behaviour


def test_normal_run(sb: Sandbox) -> None:
    r = run(sb, "print('hi')\nimport sys\nprint('err', file=sys.stderr)", success_token=True)
    assert (r.status, r.exit_code, r.signal, r.stdout, r.stderr, r.passed) == ("ok", 0, None, "hi\n", "err\n", True)
    assert r.isolation == sb.isolation and r.duration_s < 1.0


def test_exception_is_an_error_with_a_clean_traceback(sb: Sandbox) -> None:
    r = run(sb, "x = 1\n1 / x * 0 / 0", success_token=True)
    assert (r.status, r.exit_code, r.passed) == ("error", 1, False)
    assert "ZeroDivisionError" in r.stderr and "main.py" in r.stderr and "sandbox_server" not in r.stderr


def test_stdin_is_given_then_eof(sb: Sandbox) -> None:
    assert run(sb, "print(input() + '!')", stdin="hey\nrest").stdout == "hey!\n"
    r = run(sb, "import sys\nprint(repr(sys.stdin.read()))\ninput()")
    assert r.stdout == "''\n" and "EOFError" in r.stderr and r.status == "error"
    big = "x" * (1 << 20)
    assert run(sb, "import sys\nprint(len(sys.stdin.read()))", stdin=big).stdout == f"{len(big)}\n"


def test_stdin_bytes_arrive_unchanged(sb: Sandbox) -> None:
    data = bytes(range(256)) * 3 + b"\x00\xff"
    r = run(sb, "import hashlib, sys\nprint(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())", stdin=data)
    assert r.stdout == hashlib.sha256(data).hexdigest() + "\n", r
    with pytest.raises(TypeError, match="stdin must be str or bytes, not int"):
        sb.run("pass", stdin=5)  # type: ignore[arg-type]  # bytes(5) would be five zero bytes
    text = "naïve – ✓\n"  # text travels as UTF-8
    assert run(sb, "import sys\nprint(sys.stdin.buffer.read().hex())", stdin=text).stdout == text.encode().hex() + "\n"


def test_run_many_keeps_order_and_runs_in_parallel() -> None:
    with Sandbox(workers=2, isolation="rlimits", limits=FAST) as sb2:
        results = sb2.run_many([f"print({i} * {i})" for i in range(20)], success_token=True)
        assert [r.stdout for r in results] == [f"{i * i}\n" for i in range(20)]
        assert all(r.passed for r in results)
        start = time.monotonic()
        slow = sb2.run_many(["import time; time.sleep(0.4)"] * 2)
        assert all(r.status == "ok" for r in slow) and time.monotonic() - start < 0.75


def test_shared_sandbox_is_one_thread_safe_instance() -> None:
    found: list[Sandbox] = []
    threads = [threading.Thread(target=lambda: found.append(shared_sandbox())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(s) for s in found}) == 1
    assert found[0].run("print(6 * 7)").stdout == "42\n"


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="isolation"):
        Sandbox(isolation="docker")
    with pytest.raises(ValueError, match="wall_seconds"):
        Limits(wall_seconds=0)
    with pytest.raises(ValueError, match="memory_bytes must be positive and below 2"):
        Limits(memory_bytes=1 << 64)
    assert set(ISOLATIONS) == {"auto", "bubblewrap", "rlimits"}


# ----------------------------------------------------------------------------- protocol


def test_requests_and_responses_survive_the_wire(tmp_path: Path) -> None:
    limits = _limits_dict(Limits(cpu_seconds=1.5, output_bytes=5))
    path = tmp_path / "wire"
    path.write_bytes(encode_request("print('é')", limits, True, b"\x00in\xff"))
    with open(path, "rb") as f:
        request = {"code": "print('é')", "limits": limits, "success_token": True}
        assert read_request(f.fileno()) == (request, b"\x00in\xff")
        assert read_request(f.fileno()) is None  # a clean end of file
    resp = {"status": "killed", "exit_code": None, "signal": 9, "cpu_s": 0.25, "passed_token": False, "duration_s": 1.5}
    framed = encode_response(resp, b"12345678", b"\xffok", cap=5)
    assert int.from_bytes(framed[:4], "big") == len(framed) - 4
    assert decode_response(framed[4:]) == {**resp, "stdout": "12345\n[... truncated]", "stderr": "\ufffdok"}
    ok = {**resp, "status": "ok", "exit_code": 0, "signal": None}
    assert decode_response(encode_response(ok, b"", b"", cap=5)[4:]) == {**ok, "stdout": "", "stderr": ""}


@pytest.mark.parametrize("body", [b"", b"\x00" * 10, b"\x09" + b"\x00" * 60, b"\x00" * 31 + b"\xff" * 4 + b"\x00" * 6])
def test_a_response_that_does_not_add_up_is_refused(body: bytes) -> None:
    # Too short, an unknown status, lengths past the end: the parent refuses, it does not guess.
    with pytest.raises(ValueError, match="a response"):
        decode_response(body)


# ----------------------------------------------------------------------------- fallback


def test_missing_bubblewrap_falls_back_loudly() -> None:
    with pytest.warns(RuntimeWarning, match="falling back to rlimits"):
        sandbox = Sandbox(workers=1, isolation="auto", bwrap="/nonexistent/bwrap", limits=FAST)
    with sandbox:
        assert sandbox.isolation == "rlimits"
        r = sandbox.run("print(1)")
        assert r.isolation == "rlimits" and r.stdout == "1\n"


def test_broken_bubblewrap_falls_back(tmp_path: Path) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: no permission to create namespaces' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.warns(RuntimeWarning, match="no permission to create namespaces"), Sandbox(
        workers=1, bwrap=str(fake), limits=FAST
    ) as sandbox:
        assert sandbox.isolation == "rlimits"


def test_asking_for_bubblewrap_without_it_raises() -> None:
    with pytest.raises(BubblewrapUnavailable, match="not found"):
        Sandbox(workers=1, isolation="bubblewrap", bwrap="/nonexistent/bwrap")


# ----------------------------------------------------------------------------- resource attacks


def test_fork_bomb(sb: Sandbox) -> None:
    r = run(sb, """
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """)
    assert r.status == "timeout" and not r.passed
    healthy(sb)
    assert _leftover_processes(sb) == []


def test_memory_bomb(sb: Sandbox) -> None:
    r = run(sb, "x = bytearray(8 << 30)", success_token=True)
    assert r.status in ("error", "killed") and "MemoryError" in r.stderr and not r.passed
    r = run(sb, "chunks = []\nwhile True:\n    chunks.append(bytearray(10 << 20))")
    # Zero-filling a gigabyte can outlast a short wall limit on a loaded machine: also contained.
    assert r.status in ("error", "killed", "timeout") and not r.passed
    healthy(sb)


def test_infinite_loop_hits_the_cpu_limit(sb: Sandbox) -> None:
    r = run(sb, "while True: pass", limits=Limits(cpu_seconds=1, wall_seconds=5))
    assert r.status == "timeout" and r.signal in (signal.SIGXCPU, signal.SIGKILL) and r.duration_s < 3
    healthy(sb)


def test_long_sleep_hits_the_wall_limit(sb: Sandbox) -> None:
    r = run(sb, "import time\nprint('before', flush=True)\ntime.sleep(100)")
    assert r.status == "timeout" and 0.9 < r.duration_s < 2 and r.stdout == "before\n"
    healthy(sb)


def test_busy_loop_ignoring_signals(sb: Sandbox) -> None:
    r = run(sb, """
        import signal
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGXCPU, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        while True:
            pass
    """, limits=Limits(cpu_seconds=30, wall_seconds=1))  # fmt: skip
    assert r.status == "timeout" and r.duration_s < 2
    healthy(sb)


def test_recursion_overflow(sb: Sandbox) -> None:
    r = run(sb, "def f(n):\n    return f(n + 1)\nf(0)")
    assert r.status == "error" and "RecursionError" in r.stderr
    r = run(sb, "import sys\nsys.setrecursionlimit(10**9)\ndef f(n):\n    return f(n + 1)\nf(0)")
    assert r.status != "ok" and not r.passed  # frames grow until a limit: memory, stack or time
    healthy(sb)


def test_segfault_via_ctypes(sb: Sandbox) -> None:
    r = run(sb, "import ctypes\nctypes.string_at(0)")
    assert (r.status, r.signal, r.exit_code, r.passed) == ("killed", signal.SIGSEGV, None, False)
    # A run whose result counts (success_token) may not use ctypes at all: it reads any memory.
    r = run(sb, "import ctypes\nctypes.string_at(0)", success_token=True)
    assert (r.status, r.passed) == ("error", False) and "ctypes.string_at is not allowed" in r.stderr, r
    healthy(sb)


def test_fd_exhaustion(sb: Sandbox) -> None:
    r = run(sb, "fs = []\nwhile True:\n    fs.append(open('/dev/null'))")
    assert r.status == "error" and "Too many open files" in r.stderr
    healthy(sb)


def test_huge_file_is_capped(sb: Sandbox) -> None:
    r = run(sb, "with open('big', 'wb') as f:\n    f.write(b'x' * (20 << 20))")
    assert r.status in ("error", "killed") and ("File too large" in r.stderr or r.signal == signal.SIGXFSZ)
    healthy(sb)


# ----------------------------------------------------------------------------- output attacks


def test_100_mb_of_output_is_capped(sb: Sandbox) -> None:
    r = run(sb, "import sys\nfor _ in range(100):\n    sys.stdout.write('x' * (1 << 20) + '\\n')",
            limits=Limits(wall_seconds=5, output_bytes=4096))  # fmt: skip
    assert r.status == "ok" and r.stdout.startswith("x" * 4096) and r.stdout.endswith("[... truncated]")
    assert len(r.stdout) < 4200
    healthy(sb)


def test_huge_line_without_newline_on_both_streams(sb: Sandbox) -> None:
    r = run(sb, "import sys\nsys.stdout.write('y' * (30 << 20))\nsys.stderr.write('z' * (30 << 20))",
            limits=Limits(wall_seconds=5, output_bytes=1000))  # fmt: skip
    assert r.status == "ok" and r.stdout == "y" * 1000 + "\n[... truncated]"
    assert r.stderr == "z" * 1000 + "\n[... truncated]"
    healthy(sb)


def test_invalid_utf8_output_is_replaced(sb: Sandbox) -> None:
    r = run(sb, "import os\nos.write(1, b'ok \\xff\\xfe end')")
    assert r.stdout == "ok \ufffd\ufffd end"
    healthy(sb)


def test_closing_stdout_and_stderr(sb: Sandbox) -> None:
    r = run(sb, "import os\nos.close(1)\nos.close(2)\nx = 2 + 2", success_token=True)
    assert (r.status, r.stdout, r.passed) == ("ok", "", True)
    healthy(sb)


# ----------------------------------------------------------------------------- escape attacks


def test_network_is_unreachable(sb: Sandbox) -> None:
    if sb.isolation == "rlimits" and not ROOT:
        pytest.skip("rlimits mode removes the network only when started as root")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        r = run(sb, f"""
            import socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=0.5)
                print("connected")
            except OSError as exc:
                print("blocked", exc)
        """)  # fmt: skip
        assert r.stdout.startswith("blocked"), r
        server.settimeout(0.05)
        with pytest.raises(socket.timeout):
            server.accept()
    r = run(sb, "import socket\nsocket.getaddrinfo('pypi.org', 443)")
    assert r.status == "error"
    healthy(sb)


def test_writing_outside_the_work_dir_fails(sb: Sandbox, tmp_path: Path) -> None:
    needs_root(sb)
    marker = uuid.uuid4().hex
    targets = [tmp_path / "owned_by_test.txt", REPO / f"pwned_{marker}.txt", Path("/etc") / f"pwned_{marker}"]
    code = "\n".join(
        f"try:\n    open({str(t)!r}, 'w').write('x')\n    print('wrote')\nexcept OSError as e:\n    print('denied')"
        for t in targets
    )
    r = run(sb, code)
    assert r.stdout == "denied\n" * len(targets), r
    assert not any(t.exists() for t in targets)
    assert run(sb, "open('mine.txt', 'w').write('ok')\nprint(open('mine.txt').read())").stdout == "ok\n"
    healthy(sb)


def test_deleting_project_files_fails(sb: Sandbox) -> None:
    needs_root(sb)
    victim = REPO / "README.md"
    r = run(sb, f"""
        import os, shutil
        for f in (lambda: os.remove({str(victim)!r}), lambda: shutil.rmtree({str(REPO / "fbenv")!r}),
                  lambda: os.rename({str(victim)!r}, "/tmp/x")):
            try:
                f()
            except OSError as e:
                print(type(e).__name__)
    """)  # fmt: skip
    assert r.stdout.count("Error") == 3, r
    assert victim.exists() and (REPO / "fbenv" / "tools" / "sandbox.py").exists()
    healthy(sb)


def test_killing_the_parent_and_init(sb: Sandbox) -> None:
    r = run(sb, """
        import os, signal
        for pid in (os.getppid(), 1, -1):
            try:
                os.kill(pid, signal.SIGKILL)
                print("killed", pid)
            except OSError as e:
                print("denied", pid)
    """)  # fmt: skip
    if ROOT:  # runs have their own uid: nothing outside the run can be signalled
        assert "denied 1\n" in r.stdout and r.stdout.startswith("denied"), r
    healthy(sb)


def test_a_worker_that_dies_is_replaced(sb: Sandbox) -> None:
    """Whatever kills a worker (mid-run or idle), the sandbox answers and keeps serving."""
    healthy(sb)
    (worker,) = sb._idle  # the module's sandboxes have one worker: this one runs the next program
    killer = threading.Timer(0.3, worker.proc.kill)
    killer.start()
    r = run(sb, "import time\ntime.sleep(0.8)", limits=Limits(wall_seconds=2))
    killer.join()
    assert r.status == "killed" and "worker died" in r.stderr and not r.passed
    healthy(sb)
    (worker,) = sb._idle
    worker.proc.kill()  # and while idle
    worker.proc.wait()
    healthy(sb)


def test_a_run_dies_with_its_worker(sb: Sandbox) -> None:
    """A worker killed mid-run takes its run along (PDEATHSIG in rlimits mode; in bubblewrap mode the
    PID namespace ends with its init), so no run outlives the server that supervised it."""
    needs_root(sb)  # as root each worker's runs have their own uid, which finds them from here
    healthy(sb)
    (worker,) = sb._idle
    uid = worker.uid

    def runs_alive() -> list[int]:
        pids = []
        for name in os.listdir("/proc"):
            with contextlib.suppress(OSError):
                if name.isdigit() and os.stat(f"/proc/{name}").st_uid == uid:
                    pids.append(int(name))
        return pids

    killer = threading.Timer(0.4, worker.proc.kill)
    killer.start()
    r = run(sb, "import os, time\nos.fork()\ntime.sleep(5)", limits=Limits(wall_seconds=8))
    killer.join()
    assert r.status == "killed" and "worker died" in r.stderr
    deadline = time.monotonic() + 3
    while runs_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runs_alive() == []
    healthy(sb)


def _leftover_processes(sb: Sandbox) -> list[str]:
    """Processes of the run user other than the asking run itself, seen from inside the sandbox."""
    r = run(sb, """
        import os
        me, uid = os.getpid(), os.getuid()
        print([p for p in os.listdir('/proc') if p.isdigit() and int(p) != me and os.stat('/proc/' + p).st_uid == uid])
    """)  # fmt: skip
    assert r.status == "ok", r
    return eval(r.stdout)  # type: ignore[no-any-return]


def test_daemon_child_does_not_survive_the_run(sb: Sandbox) -> None:
    needs_root(sb)
    marker = Path("/tmp") / f"fbenv-daemon-{uuid.uuid4().hex}"
    r = run(sb, f"""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(0.5)
                open({str(marker)!r}, "w").write("alive")
                time.sleep(60)
            os._exit(0)
        print("parent done")
    """)  # fmt: skip
    assert r.status == "ok" and r.stdout == "parent done\n"
    assert _leftover_processes(sb) == []
    time.sleep(0.8)
    assert not marker.exists()
    healthy(sb)


def test_tmp_is_private_and_home_hidden(sb: Sandbox) -> None:
    if sb.isolation != "bubblewrap":
        pytest.skip("rlimits mode shares the host's /tmp (other users' files stay protected by permissions)")
    host_file = Path("/tmp") / f"fbenv-host-{uuid.uuid4().hex}"
    host_file.write_text("secret")
    try:
        r = run(sb, f"""
            import os
            print(os.path.exists({str(host_file)!r}), sorted(os.listdir('/tmp')))
            print(sorted(os.listdir('/root')) if os.path.isdir('/root') else [])
            for d in ('/tmp', '/dev/shm', '/var/tmp', '/'):
                try:
                    open(d + '/x', 'w')
                    print('wrote', d)
                except OSError:
                    pass
        """)  # fmt: skip
        lines = r.stdout.splitlines()
        assert lines[0].startswith("False") and "fbenv-host" not in lines[0]
        assert set(eval(lines[1])) <= {".pyenv"}  # only the interpreter, bound back, never keys or tokens
        assert "wrote" not in r.stdout, r
    finally:
        host_file.unlink()
    healthy(sb)


def test_secrets_in_roots_home_are_unreadable(sb: Sandbox) -> None:
    needs_root(sb)
    r = run(sb, "import os\ntry:\n    print(os.listdir('/root'))\nexcept OSError as e:\n    print('denied')")
    assert r.stdout == "denied\n" or set(eval(r.stdout)) <= {".pyenv"}
    healthy(sb)


def test_dev_shm_leaves_nothing_behind(sb: Sandbox) -> None:
    needs_root(sb)
    name = f"fbenv-shm-{uuid.uuid4().hex}"
    run(sb, f"try:\n    open('/dev/shm/{name}', 'w').write('x')\nexcept OSError:\n    pass")
    r = run(sb, f"import os\nprint(os.path.exists('/dev/shm/{name}'))")  # clean-up ends before a next run
    assert r.stdout == "False\n"
    assert not (Path("/dev/shm") / name).exists()
    healthy(sb)


# ----------------------------------------------------------------------------- the success signal


@pytest.mark.parametrize(
    "early_exit", ["exit(0)", "quit()", "import sys; sys.exit(0)", "raise SystemExit", "import os; os._exit(0)"]
)
def test_exiting_before_the_tests_does_not_pass(sb: Sandbox, early_exit: str) -> None:
    code = f"def add(a, b):\n    return a - b\n{early_exit}\nassert add(2, 2) == 4\n"
    r = run(sb, code, success_token=True)
    assert r.status == "ok" and r.exit_code == 0 and not r.passed
    assert run(sb, code.replace("a - b", "a + b").replace(early_exit, ""), success_token=True).passed


def test_monkeypatching_builtins_does_not_fake_a_pass(sb: Sandbox) -> None:
    r = run(sb, """
        import builtins, os, sys
        builtins.AssertionError = type("AssertionError", (Exception,), {})
        os._exit = lambda code: None
        os.write = lambda fd, data: len(data)
        os.getpid = lambda: 0
        sys.excepthook = lambda *a: None
        sys.exit = lambda *a: None
        def check(): raise AssertionError("caught by nobody?")
        assert 1 == 2
    """, success_token=True)  # fmt: skip
    assert r.status == "error" and not r.passed and "AssertionError" in r.stderr
    healthy(sb)


def test_a_forked_copy_cannot_pass_for_the_program(sb: Sandbox) -> None:
    r = run(sb, """
        import os
        pid = os.fork()
        if pid:
            os.waitpid(pid, 0)
            os._exit(0)
        # only the copy gets here and "completes"
    """, success_token=True)  # fmt: skip
    assert r.status == "ok" and not r.passed


def test_writing_the_token_fd_or_killing_the_harness_does_not_pass(sb: Sandbox) -> None:
    r = run(sb, "import os\nfor fd in range(3, 10):\n    try: os.write(fd, b'0' * 16)\n    except OSError: pass\n",
            success_token=True)  # fmt: skip
    assert r.status == "ok" and not r.passed
    r = run(sb, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", success_token=True)
    assert r.status == "killed" and r.signal == signal.SIGKILL and not r.passed
    r = run(sb, "import os\nos.closerange(3, 64)\nx = 1", success_token=True)
    assert r.status == "ok" and not r.passed


@pytest.mark.parametrize("program", [
    "print(open('/proc/self/mem', 'rb'))",
    "import os\nprint(os.open(f'/proc/{os.getpid()}/task/{os.getpid()}/mem', os.O_RDONLY))",
    "import os\nos.open('self/mem', os.O_RDONLY, dir_fd=os.open('/proc', os.O_RDONLY))",
    "import os\nos.open('fd/../mem', os.O_RDONLY, dir_fd=os.open('/dev', os.O_RDONLY))",
    "import os\nos.symlink('/proc/self/mem', 'm')",
    "import marshal\nmarshal.loads(marshal.dumps(compile('1', 'x', 'eval')))",
    "f = lambda: 0\nf.__code__ = f.__code__.replace(co_code=f.__code__.co_code)",
    "import copy\ncopy.deepcopy.__code__ = (lambda x, memo=None, _nil=[]: x).__code__",
    "import _testcapi",
    "import gc\ngc.get_referrers(gc)",
])  # fmt: skip
def test_a_checked_run_cannot_read_memory_or_make_bytecode(sb: Sandbox, program: str) -> None:
    # Memory, hand-made bytecode and CPython's test helpers all reach the run's token (on the stack);
    # swapping a library function's code changes what a checker calls.
    r = run(sb, program, success_token=True)
    assert (r.status, r.passed) == ("error", False) and "not allowed in a checked run" in r.stderr, r


def test_a_checked_run_cannot_import_bytecode_it_wrote(sb: Sandbox) -> None:
    r = run(sb, """
        import marshal, _frozen_importlib_external as bootstrap
        data = bootstrap.MAGIC_NUMBER + bytes(12) + marshal.dumps(compile("x = 1", "evil", "exec"))
        open("evil.pyc", "wb").write(data)
        import evil
    """, success_token=True)  # fmt: skip
    assert (r.status, r.passed) == ("error", False) and "marshal.loads is not allowed" in r.stderr, r


def test_a_checked_run_still_does_what_programs_do(sb: Sandbox) -> None:
    # namedtuple, enum and typing ask for their caller's frame and fall back when refused; a failing
    # program's traceback is still printed; the standard library imports (in bubblewrap mode, where
    # the run can read it; in rlimits mode as root only preloaded modules can be imported anyway).
    program = textwrap.dedent("""
        import collections, enum, typing
        P = collections.namedtuple("P", "x y")
        Color = enum.Enum("Color", "RED GREEN")
        class N(typing.NamedTuple):
            a: int
        print(P(1, 2), Color.RED.name, N(3))
    """)
    if sb.isolation == "bubblewrap":
        program += "import wave, colorsys\n"
    r = sb.run(program, success_token=True)
    assert (r.status, r.passed, r.stdout) == ("ok", True, "P(x=1, y=2) RED N(a=3)\n"), r
    r = run(sb, "def f():\n    raise KeyError('k')\nf()", success_token=True)
    assert r.status == "error" and 'line 2, in f' in r.stderr and "KeyError: 'k'" in r.stderr, r


def test_without_success_token_passed_is_exit_status_zero(sb: Sandbox) -> None:
    assert run(sb, "import sys\nsys.exit(0)").passed
    assert not run(sb, "import sys\nsys.exit(3)").passed


def test_runs_see_installed_packages_and_the_site_builtins(sb: Sandbox) -> None:
    # The server starts without the site module (-S): its site-packages dirs are still on sys.path and
    # the builtins site adds are still there, so agent code calling exit() or quit() works as usual.
    # (Not imported here: in rlimits mode the run's uid may be unable to read the stdlib they need.)
    r = run(sb, """
        import sys
        print(sys.flags.no_site, callable(help), callable(quit), sys.path[-1])
        exit(4)
    """)  # fmt: skip
    expected = f"1 True True {site_dirs()[-1]}\n"
    assert (r.status, r.exit_code, r.stdout) == ("error", 4, expected), r
    if sb.isolation == "bubblewrap":
        assert run(sb, "import gymnasium").status == "ok"


@pytest.mark.parametrize("isolation", ISOLATIONS[1:])
def test_preload_is_what_a_run_starts_with(isolation: str) -> None:
    probe = "import sys\nprint('heapq' in sys.modules, 'unittest' in sys.modules)\nimport unittest, heapq"
    try:
        sandbox = Sandbox(workers=1, isolation=isolation, limits=FAST, preload=("heapq",))
    except BubblewrapUnavailable as exc:
        pytest.skip(f"bubblewrap is unusable here: {exc}")
    with sandbox:
        r = sandbox.run(probe)
        # Whether or not the server loaded random, every run gets a stream of its own.
        draws = [sandbox.run("import random\nprint(random.random())").stdout for _ in range(2)]
    # In rlimits mode the default set is preloaded too: the run's uid may not be able to read the
    # interpreter's files (pyenv under a 0700 /root), so only preloaded modules could be imported.
    assert (r.status, r.stdout) == ("ok", f"True {isolation == 'rlimits'}\n"), r
    assert draws[0] != draws[1] and all(draws), draws
    with _make(isolation) as default:
        assert default.run(probe).stdout == "True True\n"


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2, reason="one CPU")
def test_pinned_workers_each_keep_a_cpu_of_their_own() -> None:
    probe = "import os, time\ntime.sleep(0.3)\nprint(*sorted(os.sched_getaffinity(0)))"

    def cpus_of_two_runs(sandbox: Sandbox) -> list[str]:
        return [r.stdout.strip() for r in sandbox.run_many([probe, probe])]  # at once: one per worker

    with Sandbox(workers=2, limits=FAST, pin_cpus=True) as sandbox:
        first = cpus_of_two_runs(sandbox)
        assert all(len(cpus.split()) == 1 for cpus in first) and len(set(first)) == 2, first
        # The worker on the CPU picked last dies: its replacement takes that CPU again (a new worker
        # gets the least used one, not simply the next in turn, which would double up on the first).
        dead = max(sandbox._idle, key=lambda worker: sorted(os.sched_getaffinity(0)).index(worker.cpu))
        dead.proc.kill()
        dead.proc.wait()
        again = cpus_of_two_runs(sandbox)
        assert sorted(again) == sorted(first), (first, again)
    with Sandbox(workers=1, limits=FAST) as unpinned:
        assert unpinned.run(probe).stdout.split() == [str(c) for c in sorted(os.sched_getaffinity(0))]


def test_a_preloaded_random_is_reseeded_in_every_run() -> None:
    # The server registers random's after-fork reseed as the C seed (cheap); each run still draws
    # its own stream, and random's own functions work as they do anywhere.
    with Sandbox(workers=1, limits=FAST, preload=("random",)) as sandbox:
        probe = "import random, sys\nprint(random.random(), random.gauss(0, 1) == random.gauss(0, 1))"
        draws = [sandbox.run(probe).stdout for _ in range(3)]
        seeded = [sandbox.run("import random\nrandom.seed(7)\nprint(random.random())").stdout for _ in range(2)]
    assert len(set(draws)) == 3 and all(d.endswith(" False\n") for d in draws), draws
    assert seeded[0] == seeded[1] == f"{__import__('random').Random(7).random()}\n"


# ----------------------------------------------------------------------------- no shared state


def test_a_run_never_sees_an_earlier_one(sb: Sandbox) -> None:
    r1 = run(sb, """
        import builtins, os, random, sys
        builtins.LEAK = 1
        sys.modules["json"].dumps = None
        open("state.txt", "w").write("old")
        print(os.getcwd(), random.random())
    """)  # fmt: skip
    r2 = run(sb, """
        import builtins, json, os, random
        print(hasattr(builtins, "LEAK"), json.dumps is None, os.path.exists("state.txt"), len(os.listdir(".")))
        print(os.getcwd(), random.random())
    """)  # fmt: skip
    assert r1.status == r2.status == "ok", (r1, r2)
    lines = r2.stdout.splitlines()
    assert lines[0] == "False False False 0"  # a fresh, empty run dir
    assert lines[1] != r1.stdout.strip()  # a new random stream


def test_runs_have_no_environment_secrets(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")  # only matters for workers started from now on
    r = run(sb, "import os\nprint(sorted(os.environ))")
    assert "OPENAI_API_KEY" not in r.stdout and "sk-secret" not in r.stdout


def test_an_interpreter_under_tmp_is_bound_back_into_the_private_tmp(monkeypatch) -> None:
    # A checkout or venv under /tmp (a CI clone) must stay visible inside bubblewrap's private /tmp.
    from fbenv.tools import sandbox_worker

    monkeypatch.setattr(sandbox_worker, "_needed_paths", lambda: ["/tmp/clone/.venv", "/root/.pyenv/bin"])
    argv = sandbox_worker.bwrap_argv("bwrap", privileged=True)
    joined = " ".join(argv)
    assert joined.index("--tmpfs /tmp") < joined.index("--ro-bind /tmp/clone/.venv /tmp/clone/.venv")
    assert joined.index("--tmpfs /root") < joined.index("--ro-bind /root/.pyenv/bin /root/.pyenv/bin")
    assert "--dir /tmp/clone" in joined

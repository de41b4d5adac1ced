"""The Python tool (MINT): run the agent's code in the sandbox and show what it printed.

The code runs in the same isolated sandbox as code checks (:mod:`fbenv.tools.sandbox`), each call in
a fresh process, so nothing persists between calls: an agent that wants a function later must send
it again (the observation says so when a name is undefined).
"""

from __future__ import annotations

from fbenv.tool_calls import ToolOutput

_MAX_SHOWN = 4_000


class PythonTool:
    """Runs one ``<execute>`` block per call with the given limits.

    Args:
        timeout: wall and CPU seconds per call.
    """

    name = "python"

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout

    def run(self, code: str) -> ToolOutput:
        """Execute ``code``; the output is stdout, then stderr, then how the run ended."""
        from fbenv.tools.sandbox import Limits, shared_sandbox

        result = shared_sandbox().run(code, limits=Limits(cpu_seconds=self.timeout, wall_seconds=self.timeout))
        parts = [result.stdout.rstrip("\n")] if result.stdout.strip() else []
        if result.stderr.strip():
            parts.append(result.stderr.rstrip("\n"))
        if result.status == "timeout":
            parts.append(f"[the code did not finish within {self.timeout:g} s]")
        elif result.status == "killed":
            parts.append(f"[the process was killed by signal {result.signal}]")
        elif not parts:
            parts.append("[no output]")
        text = "\n".join(parts)
        if len(text) > _MAX_SHOWN:
            text = text[: _MAX_SHOWN - 40] + "\n[... output truncated]"
        return ToolOutput(
            f"Execution output:\n{text}",
            {"status": result.status, "exit_code": result.exit_code, "isolation": result.isolation,
             "duration_s": round(result.duration_s, 4)},
        )

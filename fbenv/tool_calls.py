"""Tools an agent can call inside an episode (MINT's protocol), and how a call is spotted.

A reply that holds ``<execute> ... </execute>`` is a tool call, not an answer: the env runs the code
with the named tool and the output is the next observation (no verdict, no feedback, reward 0). A
call counts as a turn, and ``max_tool_calls`` bounds how many an episode may make. Tools are
registered by name so env kwargs stay JSON-able (``tools=["python"]``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from fbenv.registry import Registry

_EXECUTE = re.compile(r"<execute>(.*?)</execute>", re.DOTALL | re.IGNORECASE)
_FENCED = re.compile(r"^\s*```[\w+-]*[^\n]*\n(.*?)\n?```\s*$", re.DOTALL)


@dataclass(frozen=True)
class ToolOutput:
    """What a tool returns: the text the agent sees, and structured details for ``info``."""

    text: str
    details: dict[str, Any] = field(default_factory=dict)


class Tool(Protocol):
    """A tool: ``run`` takes the code (or query) of one call and returns its output."""

    name: str

    def run(self, code: str) -> ToolOutput:
        """Run one call; must not raise on any input (hostile input is the normal case)."""
        ...


TOOLS: Registry[type] = Registry("tool")
TOOLS.register("python", "fbenv.tools.python_tool:PythonTool")


def parse_tool_call(reply: str) -> str | None:
    """The code of the first ``<execute>`` block in ``reply`` (fences inside it removed), else None."""
    if "<" not in reply:
        return None
    match = _EXECUTE.search(reply)
    if match is None:
        return None
    code = match.group(1)
    fenced = _FENCED.match(code)
    return fenced.group(1) if fenced else code.strip("\n")


def make_tools(names: list[str] | tuple[str, ...]) -> dict[str, Tool]:
    """Instantiate registered tools by name (a ValueError lists the known names)."""
    return {name: TOOLS.get(name)() for name in names}

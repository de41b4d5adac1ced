"""Reading the agent's code out of its reply: a fenced block, or the reply itself.

Agents answer with bare code or with Markdown fences (```python ... ```). When there are several
fenced blocks the one that defines the requested function wins (the last such block), else the last
block; a reply with no fence is taken as code as it is.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_CODE_LANGUAGES = {"", "python", "py", "python3"}


def extract_code(reply: str, entry_point: str | None = None) -> str:
    """The code in ``reply`` (see the module docstring); never raises."""
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(reply)]
    blocks = [body for lang, body in blocks if lang in _CODE_LANGUAGES]
    if not blocks:
        return reply.strip("\n")
    if entry_point:
        defining = [b for b in blocks if re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", b, re.M)]
        if defining:
            return defining[-1]
    return blocks[-1]

"""Reading answers out of free text, exactly: final-answer extraction, numbers, equation steps.

Shared by the math tasks. Everything here is pure, bounded in cost by the length of its input, and
never raises on odd input (agent text is hostile): it returns None or a failed check instead.
"""

from __future__ import annotations

import functools
import re
from fractions import Fraction

from fbenv.feedback import StepCheck

_ANSWER_MARK = re.compile(r"(?:final\s+answer|answer)\s*(?:is)?\s*[:：]", re.IGNORECASE)
# What may follow the word "answer" in a marker (the rest of _ANSWER_MARK), for the ASCII fast path.
_ANSWER_TAIL = re.compile(r"\s*(?:is)?\s*[:：]", re.IGNORECASE)
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL)
_BOXED = "\\boxed{"

# A number as people write it: -12, +3, 1,234, 3.5, .5, 7/2 (as one token only when unspaced).
_NUM = r"[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+−]?\.\d+"
_NUMBER_TEXT = re.compile(rf"^\s*\$?\s*(?P<num>{_NUM})(?:\s*/\s*(?P<den>\d+))?\s*\$?\s*\.?\s*$")
# LaTeX fractions, exact too: \frac{5}{8}, -\dfrac{1}{2}, \tfrac12
_LATEX_FRACTION = re.compile(
    r"^\s*\$?\s*(?P<sign>[-+−]?)\s*\\[dt]?frac\s*(?:\{\s*(?P<n>\d+)\s*\}|(?P<n1>\d))"
    r"\s*(?:\{\s*(?P<d>\d+)\s*\}|(?P<d1>\d))\s*\$?\s*\.?\s*$"
)
_OPERAND = rf"(?:\(\s*(?:{_NUM})\s*\)|(?:{_NUM}))"
_OPS = {"+": "+", "-": "-", "−": "-", "*": "*", "×": "*", "x": "*", "·": "*", "/": "/", "÷": "/"}
_OP = r"[-+−*×x·/÷]"
_STEP_LINE = re.compile(
    rf"^\s*(?:(?:step\s*)?\d+\s*[.):]\s+|[-•]\s+)?(?P<a>{_OPERAND})\s*(?P<op>{_OP})\s*(?P<b>{_OPERAND})"
    rf"\s*=\s*(?P<c>{_OPERAND})\s*[.,;]?\s*$",
    re.IGNORECASE,
)
# The common case, integers only ("12 + -5 = 7"), read without the general pattern's alternatives.
_SIMPLE_STEP = re.compile(r"\s*(-?\d+) ?([-+*/]) ?(-?\d+) ?= ?(-?\d+)\s*")
# The same shape found anywhere in prose, e.g. "she sold 48 / 2 = 24 clips" or "<<48/2=24>>".
_INLINE_EQUATION = re.compile(
    rf"(?<![\w.])(?P<a>{_OPERAND})\s*(?P<op>{_OP})\s*(?P<b>{_OPERAND})\s*=\s*(?P<c>{_OPERAND})(?![\d])"
)


def extract_final_answer(reply: str, *, multiline: bool = False) -> str | None:
    """The final answer in ``reply``, or None if it states none.

    Looks, in order, for the last ``\\boxed{...}`` (braces balanced), the last ``<answer>...</answer>``
    and the last ``Answer:`` / ``Final answer:`` marker. After a marker the answer runs to the end of
    its line, or to the end of the reply when ``multiline`` (for answers such as grids).
    """
    if "\\boxed{" in reply:
        boxed = _last_boxed(reply)
        if boxed is not None:
            return boxed.strip() or None
    if "</" in reply:
        tags = _ANSWER_TAG.findall(reply)
        if tags:
            return tags[-1].strip() or None
    end = _last_answer_mark_end(reply)
    if end is None:
        return None
    rest = reply[end:]
    if not multiline:
        rest = rest.split("\n", 1)[0]
    return rest.strip() or None


def _last_answer_mark_end(reply: str) -> int | None:
    """Where the last ``Answer:`` / ``Final answer:`` marker of ``reply`` ends (None if it has none).

    For ASCII text, the occurrences of "answer" are tried from the right, each followed by the rest
    of the marker; the first that fits ends where the last ``_ANSWER_MARK`` match would (matches
    cannot overlap, and a "final" prefix does not move the end). That is several times faster than
    running the case-insensitive regex over the whole reply. Other text takes the regex, since
    ``lower()`` may change its length and Unicode case folding matches more than ASCII letters.
    """
    if reply.isascii():
        lowered = reply.lower()
        at = len(lowered)
        while (at := lowered.rfind("answer", 0, at)) >= 0:
            if reply.startswith(":", at + 6):  # the usual "Answer:" (the tail regex would end here too)
                return at + 7
            tail = _ANSWER_TAIL.match(reply, at + 6)
            if tail is not None:
                return tail.end()
        return None
    last = None
    for last in _ANSWER_MARK.finditer(reply):  # noqa: B007  (we want the last match)
        pass
    return None if last is None else last.end()


def has_answer_mark(line: str) -> bool:
    """Whether a line holds an ``Answer:`` marker (cheaper than extracting the answer)."""
    return ("nswer" in line or "NSWER" in line) and _ANSWER_MARK.search(line) is not None


def _last_boxed(text: str) -> str | None:
    start = text.rfind(_BOXED)
    if start < 0:
        return None
    depth, i = 1, start + len(_BOXED)
    while i < len(text):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start + len(_BOXED) : i]
        i += 1
    return None


def parse_number(text: str) -> Fraction | int | None:
    """The exact value of a number written as text (``-1,234.5``, ``7/2``, ``$12.``), else None."""
    if len(text) > 200:
        return None
    match = _NUMBER_TEXT.match(text)
    if not match:
        return _parse_latex_fraction(text)
    value = _to_fraction(match.group("num"))
    den = match.group("den")
    if den is not None:
        if int(den) == 0:
            return None
        value = Fraction(value, int(den))
    return value


def _parse_latex_fraction(text: str) -> Fraction | None:
    match = _LATEX_FRACTION.match(text)
    if not match:
        return None
    numerator = int(match.group("n") or match.group("n1"))
    denominator = int(match.group("d") or match.group("d1"))
    if denominator == 0:
        return None
    value = Fraction(numerator, denominator)
    return -value if match.group("sign") in ("-", "−") else value


def _to_fraction(token: str) -> Fraction | int:
    """The exact value of a matched number token; a plain int when it is one (much cheaper)."""
    try:
        return int(token)  # the common case: "12", "-3"
    except ValueError:
        pass
    token = token.strip().strip("()").strip().replace(",", "").replace("−", "-")
    try:
        return int(token)
    except ValueError:
        return Fraction(token)


def format_number(value: Fraction | int) -> str:
    """Write an exact value the way the tasks print it: ``12``, ``-3``, ``7/2``."""
    if isinstance(value, int):
        return str(value)
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def apply_op(a: Fraction | int, op: str, b: Fraction | int) -> Fraction | int | None:
    """``a op b`` exactly (``/`` gives a Fraction unless it divides evenly); None for division by zero."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        return None
    if isinstance(a, int) and isinstance(b, int) and a % b == 0:
        return a // b
    return Fraction(a, b)


def parse_step(line: str) -> tuple[Fraction | int, str, Fraction | int, Fraction | int] | None:
    """Read one ``a op b = c`` line (an optional ``Step 1:`` prefix allowed), else None."""
    if len(line) > 500:
        return None
    simple = _SIMPLE_STEP.fullmatch(line)
    if simple:
        a, op, b, c = simple.groups()
        return int(a), op, int(b), int(c)
    match = _STEP_LINE.match(line)
    if not match:
        return None
    return _equation(match)


def _equation(match: re.Match[str]) -> tuple[Fraction | int, str, Fraction | int, Fraction | int]:
    return (
        _to_fraction(match.group("a")),
        _OPS[match.group("op").lower()],
        _to_fraction(match.group("b")),
        _to_fraction(match.group("c")),
    )


def check_calculations(reply: str, *, limit: int = 200) -> tuple[StepCheck, ...]:
    """Check every ``a op b = c`` calculation written anywhere in ``reply`` with exact arithmetic.

    This is the process check for tasks whose solution path is not known step by step (files of
    word problems, reasoning-gym): each calculation the agent wrote is right or wrong on its own.
    At most ``limit`` calculations are checked.
    """
    checks: list[StepCheck] = []
    if "=" not in reply:
        return ()
    for match in _INLINE_EQUATION.finditer(reply):
        if len(checks) >= limit:
            break
        a, op, b, c = _equation(match)
        result = apply_op(a, op, b)
        correct = result is not None and result == c
        expected = None if result is None else f"{format_number(a)} {op} {format_number(b)} = {format_number(result)}"
        message = "the arithmetic is right" if correct else (
            "division by zero" if result is None else "the arithmetic is wrong"
        )
        checks.append(StepCheck(len(checks), match.group(0), correct, expected, message))
    return tuple(checks)


ORDINALS = (
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
    "eighteenth", "nineteenth", "twentieth",
)


def ordinal(index: int) -> str:
    """``0 → "first"``; written in words so that feedback that names a step carries no digits."""
    return ORDINALS[index] if 0 <= index < len(ORDINALS) else "twenty-first or later"


def direction_note(value: Fraction | int | None, reference: Fraction | int | None) -> str | None:
    """"your final answer is too large/small" when both are numbers and differ, else None."""
    if value is None or reference is None or value == reference:
        return None
    return "your final answer is too large" if value > reference else "your final answer is too small"


def _normalise(text: str) -> str:
    return " ".join(text.strip().strip("$").strip().rstrip(".").split()).lower()


def math_equal(answer: str, reference: str) -> bool:
    """Whether ``answer`` equals ``reference`` mathematically.

    The fast exact path decides whenever it can: equal after normalising white space, ``$`` and a
    trailing period, or both plain numbers (compared as exact fractions, so ``1,000`` = ``1000.0``
    and ``0.5`` = ``1/2`` = ``\\frac{1}{2}``, while ``72`` vs ``73`` is settled without parsing any
    LaTeX). Only answers that are not both plain numbers go to math-verify (imported on first use;
    the reference's parse is cached).
    """
    if _normalise(answer) == _normalise(reference):
        return True
    number, ref_number = parse_number(answer), parse_number(reference)
    if ref_number is not None and number is not None:
        return number == ref_number
    if len(answer) > 2_000:
        return False
    return _math_verify_equal(answer, reference)


def _math_verify_equal(answer: str, reference: str) -> bool:
    import threading

    from math_verify import parse, verify

    # math-verify's time limits use SIGALRM, which only the main thread may set.
    timeout = 5 if threading.current_thread() is threading.main_thread() else None
    try:
        gold = _parse_reference(reference, timeout)
        pred = parse(_as_math(answer), parsing_timeout=timeout)
        return bool(gold and pred and verify(gold, pred, timeout_seconds=timeout))
    except Exception:  # math-verify raises on some hostile input; it is simply not equal
        return False


@functools.lru_cache(maxsize=4096)
def _parse_reference(reference: str, timeout: int | None) -> list:
    from math_verify import parse

    return parse(_as_math(reference), parsing_timeout=timeout)


def _as_math(text: str) -> str:
    text = text.strip()
    return text if "$" in text or "\\" in text else f"${text}$"

"""Reading answers and steps out of free text: exact, bounded, never raising."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fbenv.tasks.answers import (
    check_calculations,
    extract_final_answer,
    math_equal,
    ordinal,
    parse_number,
    parse_step,
)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("12 + 5 = 17\nAnswer: 17", "17"),
        ("answer: 3\nFinal answer: 4", "4"),
        ("so the result is \\boxed{\\frac{1}{2}} indeed", "\\frac{1}{2}"),
        ("<answer> 42 </answer>", "42"),
        ("Answer:   ", None),
        ("no marker here 17", None),
        ("\\boxed{unclosed", None),
        ("Answer: 5\nand more text", "5"),
    ],
)
def test_extract_final_answer(reply: str, expected: str | None) -> None:
    assert extract_final_answer(reply) == expected


def test_multiline_answers_run_to_the_end() -> None:
    assert extract_final_answer("Answer: 1 2\n3 4", multiline=True) == "1 2\n3 4"


@pytest.mark.parametrize(
    ("text", "value"),
    [("17", 17), ("-3", -3), ("1,234", 1234), ("3.5", Fraction(7, 2)), ("7/2", Fraction(7, 2)),
     ("$12.", 12), ("+4", 4), ("−6", -6), (".5", Fraction(1, 2)), ("\\frac{5}{8}", Fraction(5, 8)),
     ("$-\\dfrac{10}{4}$", Fraction(-5, 2)), ("\\tfrac12", Fraction(1, 2))],
)
def test_parse_number(text: str, value) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize(
    "text", ["", "x", "1/0", "1 2", "12 apples", "1e400", "9" * 300, "\\frac{1}{0}", "\\frac{x}{2}"]
)
def test_parse_number_rejects_non_numbers(text: str) -> None:
    assert parse_number(text) is None


def test_parse_step_reads_one_operation_per_line() -> None:
    assert parse_step("3 * 4 = 12") == (3, "*", 4, 12)
    assert parse_step("Step 2: (-3) × 4 = -12.") == (-3, "*", 4, -12)
    assert parse_step("7 / 2 = 3.5") == (7, "/", 2, Fraction(7, 2))
    assert parse_step("x = 4") is None
    assert parse_step("3 * 4 + 1 = 13") is None


def test_check_calculations_finds_equations_in_prose() -> None:
    checks = check_calculations("She sold 48/2 = <<48/2=24>>24 clips, then 24 + 48 = 73 in all.")
    assert [(c.text.replace(" ", ""), c.correct) for c in checks] == [("48/2=24", True), ("24+48=73", False)]
    assert checks[-1].expected == "24 + 48 = 72"


def test_math_equal_fast_path_and_math_verify() -> None:
    assert math_equal("1,000", "1000.0")
    assert math_equal("0.5", "1/2")
    assert not math_equal("72", "73")
    assert math_equal("\\frac{5}{8}", "0.625")
    assert math_equal("5/8", "\\frac{5}{8}")
    assert not math_equal("\\frac{2}{3}", "\\frac{3}{2}")
    assert not math_equal("}{\\\\frac", "\\frac{1}{2}")


def test_ordinals_are_words() -> None:
    assert ordinal(0) == "first" and ordinal(19) == "twentieth"
    assert not any(ch.isdigit() for ch in ordinal(57))


# The marker's ASCII fast path must end where the last match of the full regex ends.
_MARKER_PIECES = ["answer", "Answer", "ANSWER", "final", "Final ", " answer", "is", " is ", ":", "：", " ", "\n",
                  "\t", "x", "7", "answ", "er:", "final answer is: ", "ſ", "İ"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_MARKER_PIECES), max_size=12))
def test_the_answer_marker_fast_path_agrees_with_the_regex(pieces: list[str]) -> None:
    from fbenv.tasks.answers import _ANSWER_MARK, _last_answer_mark_end

    reply = "".join(pieces)
    matches = list(_ANSWER_MARK.finditer(reply))
    assert _last_answer_mark_end(reply) == (matches[-1].end() if matches else None)

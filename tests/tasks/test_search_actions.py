"""Reading search actions from agent text: tolerant of case, spacing, Markdown and tags; linear on hostile input."""

from __future__ import annotations

import time

import pytest

from fbenv.tasks.base import Move
from fbenv.tasks.qa_scoring import exact_match, normalize_answer, token_f1
from fbenv.tasks.search_actions import answer_of, parse_move, read_action


@pytest.mark.parametrize(("reply", "expected"), [
    ("search: Kelbridge Labs", ("search", "Kelbridge Labs")),
    ("  SEARCH :   Kelbridge   Labs  ", ("search", "Kelbridge   Labs")),
    ("Search：Kelbridge", ("search", "Kelbridge")),
    ("I should look it up first.\nsearch: founder of Kelbridge Labs\nThen I will open it.",
     ("search", "founder of Kelbridge Labs")),
    ("<search> founder of\nKelbridge </search> trailing", ("search", "founder of Kelbridge")),
    ("<SEARCH>unclosed because generation stopped", ("search", "unclosed because generation stopped")),
    ("Open: [kb-000042]", ("open", "[kb-000042]")),
    ("- open: `kb-000042`", ("open", "kb-000042")),
    ("ask: which Kelbridge Labs do you mean?", ("ask", "which Kelbridge Labs do you mean?")),
    ("**Answer:** Mara Voss", ("answer", "Mara Voss")),
    ("Final answer: Mara Voss", ("answer", "Mara Voss")),
    ("answer:\n\n  Mara Voss\nbecause ...", ("answer", "Mara Voss")),
    ("<answer>Mara Voss</answer>", ("answer", "Mara Voss")),
    ("search: first\nanswer: second", ("search", "first")),
    ("answer: first\nsearch: second", ("answer", "first")),
    ("<answer>x</answer>\nsearch: y", ("answer", "x")),
    ("I will search: mid-line verbs are prose", None),
    ("The answer is Mara Voss.", None),
    ("", None),
])
def test_read_action(reply: str, expected: tuple[str, str] | None) -> None:
    assert read_action(reply) == expected


def test_moves_answers_and_malformed_moves() -> None:
    assert parse_move("search: x") == Move("search", "x")
    assert parse_move("search:   ") == Move("invalid", "search")
    assert parse_move("<open></open>") == Move("invalid", "open")
    assert parse_move("answer: x") is None and answer_of("answer: x") == "x"
    assert parse_move("no action here") is None and answer_of("no action here") is None
    assert answer_of("answer:") == "" and answer_of("search: x") is None


@pytest.mark.parametrize("reply", ["<answer>" * 50_000, "<search" * 50_000, "*" * 200_000 + "search: x",
                                   ("\n" + " " * 50 + "*") * 20_000, "answer:" + "\n" * 100_000,
                                   "<search>" + "</" * 100_000])
def test_hostile_replies_are_read_in_linear_time(reply: str) -> None:
    start = time.perf_counter()
    parse_move(reply)
    answer_of(reply)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(("prediction", "reference", "exact", "f1"), [
    ("The Kelbridge Labs.", "kelbridge labs", True, 1.0),
    ("  MARA   voss ", "Mara Voss", True, 1.0),
    ("Mara", "Mara Voss", False, 2 / 3),
    ("Voss Mara", "Mara Voss", False, 1.0),  # SQuAD's F1 is a bag of words; exact match is not
    ("Tobin Arle", "Mara Voss", False, 0.0),
    ("１９８７", "1987", True, 1.0),  # full-width digits (NFKC)
    ("", "Mara Voss", False, 0.0),
    ("the", "", True, 1.0),
])
def test_squad_normalisation_exact_match_and_f1(prediction: str, reference: str, exact: bool, f1: float) -> None:
    assert exact_match(prediction, reference) is exact
    assert token_f1(prediction, reference) == pytest.approx(f1)


def test_normalisation_strips_punctuation_symbols_and_articles() -> None:
    assert normalize_answer("An apple, a pear & the plum!") == "apple pear plum"
    assert normalize_answer("Saint-Étienne") == "saint étienne"

"""``fbenv/Teach-v0``: learn a team's made-up house style from the user, who corrects you in words.

The user asks for three payments to be written up "in our house style", a convention the agent
cannot know: how names are written (``Ada Lovelace``, ``Lovelace, Ada``, ``LOVELACE Ada``,
``A. Lovelace``), how dates are written (four formats), how amounts are written (three), the
separator between the fields (three) and the order of the lines (three). The agent may ask about
any of these rules (``ASK: how do you write dates?``): the user explains the rule on an example.
A wrong attempt is corrected the way a colleague teaches: "We write dates like "01.02.2023" for
1 February 2023." — the text feedback of this family is teaching in words. The answer is correct
when its lines are exactly the house-style lines; its score is the share of the five rules it follows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fbenv.feedback import Verdict
from fbenv.tasks.base import Instance
from fbenv.tasks.conversation import ConversationTask, Slot
from fbenv.tasks.dialogue_acts import parse_act, protocol
from fbenv.tasks.seeding import ItemRandom

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
GIVEN = ("Ada", "Alan", "Emmy", "Kurt", "Rosalind", "Barbara", "Donald", "Edsger", "Frances", "Hedy", "Claude",
         "Margaret")
SURNAMES = ("Lovelace", "Turing", "Noether", "Franklin", "Liskov", "Knuth", "Dijkstra", "Allen", "Lamarr",
            "Shannon", "Hamilton", "Hopper")


@dataclass(frozen=True)
class Payment:
    """One record: who paid, when (year, month, day) and how much (in cents)."""

    given: str
    surname: str
    date: tuple[int, int, int]
    cents: int


EXAMPLE = Payment("Grace", "Hopper", (2023, 2, 1), 150000)
_EXAMPLE_WORDS = {"names": "for Grace Hopper", "dates": "for 1 February 2023", "amounts": "for 1500 dollars"}


@dataclass(frozen=True)
class Option:
    """One way a rule can go: how it renders a payment's field, and a partial hint about it."""

    key: str
    render: Callable[[Payment], str]
    hint: str


def _money(cents: int, grouped: bool) -> str:
    return f"{cents // 100:,}.{cents % 100:02d}" if grouped else f"{cents // 100}.{cents % 100:02d}"


RULES: dict[str, tuple[Option, ...]] = {
    "names": (
        Option("given surname", lambda p: f"{p.given} {p.surname}", "the given name comes first"),
        Option("surname, given", lambda p: f"{p.surname}, {p.given}", "the surname comes first"),
        Option("SURNAME given", lambda p: f"{p.surname.upper()} {p.given}", "the surname comes first"),
        Option("initial", lambda p: f"{p.given[0]}. {p.surname}", "the given name comes first"),
    ),
    "dates": (
        Option("iso", lambda p: "{:04d}-{:02d}-{:02d}".format(*p.date), "the year comes first"),
        Option("dots", lambda p: f"{p.date[2]:02d}.{p.date[1]:02d}.{p.date[0]}", "the day comes first"),
        Option("us", lambda p: f"{p.date[1]:02d}/{p.date[2]:02d}/{p.date[0]}", "the month comes first"),
        Option("short", lambda p: f"{p.date[2]} {MONTHS[p.date[1] - 1][:3]} {p.date[0]}", "the day comes first"),
    ),
    "amounts": (
        Option("dollar", lambda p: "$" + _money(p.cents, True), "the currency comes before the number"),
        Option("code after", lambda p: _money(p.cents, False) + " USD", "the currency comes after the number"),
        Option("code before", lambda p: "USD " + _money(p.cents, True), "the currency comes before the number"),
    ),
    "separator": (
        Option(" | ", lambda p: " | ", "not a comma"),
        Option("; ", lambda p: "; ", "not a comma"),
        Option(" — ", lambda p: " — ", "not a comma"),
    ),
    "order": (
        Option("oldest first", lambda p: "the oldest payment", "it is sorted by date"),
        Option("newest first", lambda p: "the newest payment", "it is sorted by date"),
        Option("largest first", lambda p: "the largest amount", "it is sorted by amount"),
    ),
}
WORDS = {
    "names": ("name", "person", "people", "who", "surname"),
    "dates": ("date", "day", "when", "month", "year"),
    "amounts": ("amount", "money", "sum", "currency", "dollar", "price", "cents"),
    "separator": ("separat", "delimit", "between", "punctuation", "comma", "divide"),
    "order": ("order", "sort", "sequence", "arrange", "first", "list"),
}
COMPLAINTS = {"names": "The names don't look right.", "dates": "The dates don't look right.",
              "amounts": "The amounts don't look right.", "separator": "The separators aren't right.",
              "order": "The lines are in the wrong order."}


def explain(rule: str, option: Option) -> str:
    """The user's explanation of a rule, on the example payment: what they say when asked or correcting."""
    if rule == "separator":
        return f'We separate the fields with "{option.key}".'
    if rule == "order":
        return f"We list {option.render(EXAMPLE)} first."
    return f'We write {rule} like "{option.render(EXAMPLE)}" {_EXAMPLE_WORDS[rule]}.'


def _slot(rule: str, option: Option, rng: ItemRandom) -> Slot:
    others = [o for o in RULES[rule] if o is not option]
    if rule == "separator":
        follow_up = f'Could you use "{option.key}" between the fields?'
    elif rule == "order":
        follow_up = f"Could you put {option.render(EXAMPLE)} first?"
    else:
        follow_up = f'Could you write the {rule} like "{option.render(EXAMPLE)}" {_EXAMPLE_WORDS[rule]}?'
    answer = explain(rule, option)
    return Slot(rule, rule, (rule, *WORDS[rule]), "constraint", answer, answer,
                f"I'm not sure yet about the {rule}; {option.hint}, anyway.", explain(rule, rng.choice(others)),
                COMPLAINTS[rule], follow_up)


def _order(payments: list[Payment], key: str) -> list[Payment]:
    if key == "largest first":
        return sorted(payments, key=lambda p: -p.cents)
    return sorted(payments, key=lambda p: p.date, reverse=key == "newest first")


def _lines(text: str) -> list[str]:
    lines = (re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", line) for line in text.splitlines())
    return [" ".join(line.split()) for line in lines if line.strip()]


class TeachTask(ConversationTask):
    """Write three payments in a house style the user teaches (or corrects) in words.

    Args:
        seed: varies the whole set of instances; 0 by default.
    """

    task_name = "teach"

    def instance(self, index: int) -> Instance:
        """Three payments and a house style, derived from (seed, index) alone."""
        rng = self.item_random(index)
        style = {rule: rng.choice(options) for rule, options in RULES.items()}
        given, surnames = list(GIVEN), list(SURNAMES[:-1])  # Hopper is the examples' name
        payments, dates, amounts = [], set(), set()
        while len(payments) < 3:
            date = (rng.randint(2022, 2024), rng.randint(1, 12), rng.randint(1, 28))
            cents = rng.randint(500, 499_999)
            if date in dates or cents // 100 in amounts:
                continue
            dates.add(date)
            amounts.add(cents // 100)
            payments.append(Payment(given.pop(rng.below(len(given))), surnames.pop(rng.below(len(surnames))),
                                    date, cents))
        expected = [style["separator"].key.join(style[rule].render(p) for rule in ("names", "dates", "amounts"))
                    for p in _order(payments, style["order"].key)]
        listing = "\n".join(f"- {p.given} {p.surname} paid {_money(p.cents, False)} dollars on {p.date[2]} "
                            f"{MONTHS[p.date[1] - 1]} {p.date[0]}" for p in payments)
        prompt = (
            "You are an assistant keeping the ledger of the user's team.\n\n"
            'User: "Can you write up these payments for the ledger? In our house style, please."\n\n'
            f"{listing}\n\nIn the ledger each payment is one line: the name, the date and the amount, in that "
            "order. The house style fixes how names, dates and amounts are written, the separator between the "
            "fields, and the order of the lines.\n\n"
            + protocol("answer", "<one line per payment>  the ledger lines, starting on the next line")
        )
        slots = tuple(_slot(rule, option, rng) for rule, option in style.items())
        data = {"payments": tuple(payments), "style": {r: o.key for r, o in style.items()}, "expected": expected,
                "slots": slots, "goal": tuple(s.answer for s in slots)}
        reference = "\n".join(expected)
        return Instance(self.task_id(index), index, prompt, reference, f"ANSWER:\n{reference}", data)

    def judge(self, instance: Instance, reply: str) -> tuple[Verdict, tuple[str, ...]]:
        """Exact lines are correct; otherwise find which of the five rules the lines break."""
        act = parse_act(reply)
        if act is None or act.name == "ask":
            return Verdict(False, 0.0, None, instance.reference,
                           form_error="there are no ledger lines in the reply: write ANSWER: and then one line per "
                                      "payment"), ()
        expected: list[str] = instance.data["expected"]
        lines = _lines(act.argument[:5000])
        answer = "\n".join(lines)
        if lines == expected:
            return Verdict(True, 1.0, answer, instance.reference), ()
        wrong = self._broken_rules(instance, lines)
        form_error = None if wrong else "each line must hold just the name, the date and the amount, in that order"
        score = (1 - len(wrong) / len(RULES)) * (0.8 if not wrong else 1.0)
        diagnostics = tuple(f"the lines do not follow the house rule for the {rule}" for rule in wrong)
        return Verdict(False, score, answer, instance.reference, form_error=form_error,
                       diagnostics=diagnostics), wrong

    @staticmethod
    def _broken_rules(instance: Instance, lines: list[str]) -> tuple[str, ...]:
        """The rules the lines break, each judged on its own (a rule holds when every payment shows it)."""
        payments: tuple[Payment, ...] = instance.data["payments"]
        style = {rule: next(o for o in RULES[rule] if o.key == key) for rule, key in instance.data["style"].items()}
        found: list[Payment | None] = [next((p for p in payments if p.surname.lower() in line.lower()), None)
                                       for line in lines]
        complete = len(lines) == len(payments) and set(found) == set(payments)
        broken: list[Any] = []
        for rule in ("names", "dates", "amounts"):
            if not complete or any(style[rule].render(p) not in line for p, line in zip(found, lines, strict=True)):
                broken.append(rule)
        if not lines or any(line.count(style["separator"].key) != 2 for line in lines):
            broken.append("separator")
        if not complete or found != _order(list(payments), style["order"].key):
            broken.append("order")
        return tuple(broken)

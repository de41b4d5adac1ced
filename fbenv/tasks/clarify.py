"""``fbenv/Clarify-v0``: the user wants a booking made but says almost nothing; ask, then fill every slot.

Each instance is one of four requests (a restaurant table, a train ticket, a haircut, a meeting
room) with five slots whose values are drawn per instance: a choice from a listed set, a weekday, a
time, a count, a surname. The opening request states none of them; the user tells a slot only when
asked. The final answer, ``ANSWER: slot=value; slot=value; ...``, is correct when every slot is
right; its score is the share of slots that are. Values are compared leniently: case, spaces and
punctuation do not matter, times may be written ``19:30``, ``7:30 pm`` or ``1930``, counts as digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fbenv.feedback import Verdict
from fbenv.tasks.base import Instance
from fbenv.tasks.conversation import ConversationTask, Slot
from fbenv.tasks.dialogue_acts import parse_act, protocol
from fbenv.tasks.seeding import ItemRandom

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SURNAMES = ("Okafor", "Lindqvist", "Moreau", "Tanaka", "Novak", "Silva", "Haddad", "Kowalski", "Byrne",
            "Ferreira", "Nakamura", "Adeyemi", "Petrov", "Castillo", "Murphy", "Sorensen")


@dataclass(frozen=True)
class Field:
    """A slot of a request: its kind (``choice``, ``time``, ``count``, ``name``) and possible values."""

    name: str
    label: str
    kind: str
    words: tuple[str, ...]
    values: tuple[Any, ...] = ()

    def describe(self) -> str:
        """How the prompt tells the agent what the slot takes."""
        if self.kind == "choice":
            return f"{self.name} (one of: {', '.join(self.values)})"
        return f"{self.name} ({_TAKES[self.kind]})"


_TAKES = {"time": "HH:MM, 24-hour", "count": "a number", "name": "a surname"}


def _times(first: int, last: int, step: int) -> tuple[str, ...]:
    return tuple(f"{m // 60:02d}:{m % 60:02d}" for m in range(first * 60, last * 60 + 1, step))


_DAY = Field("day", "day", "choice", ("day", "when", "date", "weekday"), WEEKDAYS)
_NAME = Field("name", "name", "name", ("name", "surname", "under"), SURNAMES)


@dataclass(frozen=True)
class Request:
    """A kind of request: what the assistant does, the user's opening line, and the slots."""

    job: str
    opening: str
    fields: tuple[Field, ...]


REQUESTS: tuple[Request, ...] = (
    Request("booking a restaurant table", "Hi, I'd like to book a table, please.", (
        Field("restaurant", "restaurant", "choice", ("restaurant", "place"),
              ("Luigi's", "Sakura", "Le Petit Bistro", "El Toro", "Golden Lotus")),
        _DAY, Field("time", "time", "time", ("time", "when", "hour", "o'clock"), _times(17, 21, 30)),
        Field("people", "number of people", "count", ("people", "guests", "party", "how many", "persons", "seats"),
              tuple(range(1, 9))),
        _NAME)),
    Request("buying a train ticket", "I need a train ticket.", (
        Field("destination", "destination", "choice", ("destination", "where", "going", "city", "travel to"),
              ("Lyon", "Munich", "Milan", "Vienna", "Zurich", "Prague")),
        _DAY, Field("time", "time", "time", ("time", "when", "hour", "depart", "leave"), _times(6, 20, 60)),
        Field("class", "class", "choice", ("class", "seat", "comfort"), ("standard", "first")),
        Field("passengers", "number of passengers", "count",
              ("passengers", "people", "how many", "tickets", "travellers", "travelers"), tuple(range(1, 5))))),
    Request("booking a haircut", "Can I book a haircut?", (
        Field("stylist", "stylist", "choice", ("stylist", "hairdresser", "barber", "who"),
              ("Ana", "Ben", "Chloe", "Dev", "Emil")),
        Field("service", "service", "choice", ("service", "treatment", "done", "cut", "kind"),
              ("cut", "colour", "trim", "beard trim")),
        _DAY, Field("time", "time", "time", ("time", "when", "hour", "o'clock"), _times(9, 17, 30)),
        _NAME)),
    Request("booking a meeting room", "I need a meeting room.", (
        Field("room", "room", "choice", ("room",), ("Aurora", "Borealis", "Cedar", "Delta", "Elm")),
        _DAY, Field("time", "time", "time", ("time", "when", "hour", "start"), _times(8, 17, 30)),
        Field("duration", "duration", "choice", ("duration", "long", "length", "minutes"),
              ("30 minutes", "45 minutes", "60 minutes", "90 minutes")),
        Field("attendees", "number of attendees", "count", ("attendees", "people", "how many", "participants"),
              tuple(range(2, 13))))),
)


def _slot(field: Field, value: Any, rng: ItemRandom) -> Slot:
    """What the user says about one slot of their request."""
    other = value
    while other == value:
        other = rng.choice(field.values)
    label = field.label
    if field.kind == "time":
        hour = int(value[:2])
        hint = f"some time in the {'morning' if hour < 12 else 'afternoon' if hour < 17 else 'evening'}, I think"
    elif field.kind == "count":
        hint = f"fewer than {value + 1 + rng.below(3)}, anyway"
    elif field.kind == "name":
        hint = f"it starts with {value[0]}, I'll spell it later"
    elif field.values == WEEKDAYS:
        index = WEEKDAYS.index(value)
        hint = f"{'early in the week' if index < 3 else 'late in the week' if index < 5 else 'at the weekend'}, I think"
    elif len(field.values) > 2:
        hint = f"not {next(v for v in field.values if v not in (value, other))}, anyway"
    else:
        hint = "I'll have to check"
    short = f"{value}"[:1].upper() + f"{value}"[1:]
    return Slot(field.name, label, (field.name, *field.words), "constraint", f"The {label} should be {value}.",
                f"{short}.", f"I'm not sure yet about the {label}; {hint}.", f"The {label} should be {other}.",
                f"That's the wrong {label}.", f"Could you make the {label} {value}?")


def normalise(field: Field, text: str) -> Any:
    """A slot value in a comparable form (None when it cannot be read)."""
    text = text.strip().strip("\"'`.").strip()
    if field.kind == "count":
        match = re.search(r"\d+", text)
        return int(match.group()) if match and len(match.group()) < 6 else None
    if field.kind == "time":
        match = re.fullmatch(r"(\d{1,2})(?:[:.h]?(\d{2}))?\s*([ap])?\.?\s*m?\.?", text.lower())
        if match is None:
            return None
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        if match.group(3) == "p" and hour < 12:
            hour += 12
        if match.group(3) == "a" and hour == 12:
            hour = 0
        return hour * 60 + minute if hour < 24 and minute < 60 else None
    return re.sub(r"[^a-z0-9]", "", text.lower())


class ClarifyTask(ConversationTask):
    """Fill every slot of an underspecified request by asking the user.

    Args:
        seed: varies the whole set of instances; 0 by default.
    """

    task_name = "clarify"

    def instance(self, index: int) -> Instance:
        """A request and its slot values, derived from (seed, index) alone."""
        rng = self.item_random(index)
        request = rng.choice(REQUESTS)
        values = {field.name: rng.choice(field.values) for field in request.fields}
        slots = tuple(_slot(field, values[field.name], rng) for field in request.fields)
        answer = "; ".join(f"{field.name}={values[field.name]}" for field in request.fields)
        prompt = (
            f"You are an assistant {request.job} for the user.\n\n"
            f'User: "{request.opening}"\n\n'
            f"To complete it you need: {'; '.join(field.describe() for field in request.fields)}.\n\n"
            + protocol("answer", "slot=value; slot=value; ...  the completed request, e.g. "
                       f'"ANSWER: {request.fields[0].name}=...; {request.fields[1].name}=...; ..."')
        )
        data = {"request": request, "values": values, "slots": slots, "goal": tuple(s.answer for s in slots)}
        return Instance(self.task_id(index), index, prompt, answer, f"ANSWER: {answer}", data)

    def judge(self, instance: Instance, reply: str) -> tuple[Verdict, tuple[str, ...]]:
        """Read ``slot=value`` pairs after ANSWER: and compare each slot with the user's value."""
        request: Request = instance.data["request"]
        values: dict[str, Any] = instance.data["values"]
        act = parse_act(reply)
        fields = {field.name: field for field in request.fields}
        given: dict[str, str] = {}
        if act is not None and act.name != "ask":
            for part in re.split(r"[;\n]", act.argument[:5000]):
                key, sep, value = part.partition("=") if "=" in part else part.partition(":")
                name = key.strip().lower()
                if sep and name in fields and name not in given:
                    given[name] = value
        if not given:
            error = ("there is no completed request in the reply: write ANSWER: followed by "
                     f"{'; '.join(f'{name}=...' for name in fields)}")
            return Verdict(False, 0.0, None, instance.reference, form_error=error), ()
        wrong = tuple(name for name, field in fields.items()
                      if name not in given or normalise(field, given[name]) != normalise(field, str(values[name])))
        answer = "; ".join(f"{name}={given[name].strip()}" for name in fields if name in given)
        diagnostics = tuple(f"the {fields[name].label} is {'missing' if name not in given else 'wrong'}"
                            for name in wrong)
        score = 1 - len(wrong) / len(fields)
        return Verdict(not wrong, score, answer, instance.reference, diagnostics=diagnostics), wrong

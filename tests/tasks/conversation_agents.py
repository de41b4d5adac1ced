"""Scripted agents for the conversation tasks, reading only what an agent sees (prompt and replies).

``AskingAgent`` subclasses ask about every slot the prompt names, ask again when the user is not sure
yet, listen for "I misspoke about the X earlier: ...", end with an open question (which flushes any
pending correction) and then answer from what they were told. ``immediate`` answers from the prompt
alone. Neither reads ``env.unwrapped.instance`` or ``info``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import gymnasium as gym

MISSPOKE = "Oh, and I misspoke about the "
NOT_SURE = "not sure yet"


class AskingAgent:
    """Ask about each slot, re-ask partial answers, then answer; subclasses read the domain."""

    attempt = "ANSWER"

    def __init__(self, prompt: str) -> None:
        self.todo: list[str] = self.slots(prompt)
        self.asked: str | None = None
        self.wrapped_up = False
        self.known: dict[str, Any] = {}

    def slots(self, prompt: str) -> list[str]:
        raise NotImplementedError

    def question(self, slot: str) -> str:
        return f"ASK: What about the {slot}?"

    def hear(self, slot: str, text: str) -> None:
        raise NotImplementedError

    def answer(self) -> str:
        raise NotImplementedError

    def act(self, observation: str) -> str:
        if self.asked is not None:
            main, *corrections = observation.split(MISSPOKE)
            for correction in corrections:
                label, _, said = correction.partition(" earlier: ")
                self.hear(label, said)
            if self.asked != "?":
                if NOT_SURE in main:
                    self.todo.insert(0, self.asked)
                else:
                    self.hear(self.asked, main)
        if self.todo:
            self.asked = self.todo.pop(0)
            return self.question(self.asked)
        if not self.wrapped_up:
            self.wrapped_up, self.asked = True, "?"
            return "ASK: Is there anything else I should know?"
        self.asked = None
        return self.answer()


class RecommendAgent(AskingAgent):
    """Reads the catalogue table; keeps constraints and choice/flag preferences it is told."""

    def slots(self, prompt: str) -> list[str]:
        rows = [line.split(" | ") for line in prompt.splitlines() if line.count(" | ") >= 3]
        self.columns, self.items = rows[0][1:], [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
        self.values = {c: sorted({item[c] for item in self.items}, key=len, reverse=True) for c in self.columns}
        return list(self.columns)

    def hear(self, slot: str, text: str) -> None:
        lower = text.lower()
        if slot not in self.columns:
            return
        if "don't mind" in lower:
            self.known.pop(slot, None)
            return
        soft = "prefer" in lower or "ideally" in lower or "not a must" in lower
        if set(self.values[slot]) <= {"yes", "no"}:
            self.known[slot] = (soft, lambda v: v == "yes")
        elif any(ch.isdigit() for ch in self.values[slot][0]):
            number = re.search(r"\d+", text)
            if number is not None and not soft:
                bound, most = int(number.group()), "at most" in lower
                self.known[slot] = (False, lambda v, b=bound, m=most: (_int(v) <= b) if m else (_int(v) >= b))
        else:
            value = next((v for v in self.values[slot] if v.lower() in lower), None)
            if value is not None:
                self.known[slot] = (soft, lambda v, w=value: v == w)

    def answer(self) -> str:
        hard = [(slot, test) for slot, (soft, test) in self.known.items() if not soft]
        soft = [(slot, test) for slot, (is_soft, test) in self.known.items() if is_soft]
        fits = [item for item in self.items if all(test(item[slot]) for slot, test in hard)] or self.items
        best = max(fits, key=lambda item: sum(test(item[slot]) for slot, test in soft))
        return f"RECOMMEND: {best['id']}"


def _int(text: str) -> int:
    return int(re.search(r"\d+", text).group())  # type: ignore[union-attr]


class ClarifyAgent(AskingAgent):
    """Reads the slots and their kinds from the prompt; takes values out of the user's first sentence."""

    def slots(self, prompt: str) -> list[str]:
        needs = re.search(r"you need: (.*)\.\n", prompt).group(1)  # type: ignore[union-attr]
        self.kinds: dict[str, Any] = {}
        for part in needs.split("; "):
            name, _, kind = part.partition(" (")
            kind = kind.rstrip(")")
            self.kinds[name] = sorted(kind.removeprefix("one of: ").split(", "), key=len, reverse=True) \
                if kind.startswith("one of") else kind
        self.labels = {"number of people": "people", "number of passengers": "passengers",
                       "number of attendees": "attendees"}
        return list(self.kinds)

    def question(self, slot: str) -> str:
        return f"ASK: What should the {slot} be?"

    def hear(self, slot: str, text: str) -> None:
        slot = self.labels.get(slot, slot)
        kind = self.kinds.get(slot)
        first = re.split(r"(?<=[.!?])\s+", text.strip())[0]
        if isinstance(kind, list):
            value = next((v for v in kind if v.lower() in first.lower()), None)
        elif kind and kind.startswith("HH:MM"):
            value = (re.search(r"\d{1,2}:\d{2}", first) or [None])[0]
        elif kind == "a number":
            value = (re.search(r"\d+", first) or [None])[0]
        else:
            value = (re.findall(r"\b[A-Z][a-z]+\b", first) or [None])[-1]
        if value is not None:
            self.known[slot] = value

    def answer(self) -> str:
        return "ANSWER: " + "; ".join(f"{slot}={self.known.get(slot, '?')}" for slot in self.kinds)


class TeachAgent(AskingAgent):
    """Learns each house rule from the user's example and writes the payments with it."""

    QUESTIONS: ClassVar[dict[str, str]] = {"names": "ASK: How do you write names?",
                                           "dates": "ASK: How do you write dates?",
                                           "amounts": "ASK: How do you write amounts?",
                                           "separator": "ASK: What separator goes between the fields?",
                                           "order": "ASK: In what order?"}

    def slots(self, prompt: str) -> list[str]:
        self.payments = re.findall(r"- (\w+) (\w+) paid (\d+)\.(\d\d) dollars on (\d+) (\w+) (\d{4})", prompt)
        return list(self.QUESTIONS)

    def question(self, slot: str) -> str:
        return self.QUESTIONS[slot]

    def hear(self, slot: str, text: str) -> None:
        quoted = re.search(r'"([^"]*)"', text)
        if slot == "order":
            self.known[slot] = next((w for w in ("oldest", "newest", "largest") if w in text), None)
        elif quoted and slot == "separator":
            self.known[slot] = quoted.group(1)
        elif quoted and slot == "names":
            self.known[slot] = (quoted.group(1).replace("HOPPER", "{SU}").replace("Hopper", "{S}")
                                .replace("Grace", "{G}").replace("G.", "{I}."))
        elif quoted and slot == "dates":
            template = quoted.group(1).replace("2023", "{Y}").replace("Feb", "{Mon}")
            self.known[slot] = template.replace("02", "{MM}").replace("01", "{DD}").replace("1", "{D}")
        elif quoted and slot == "amounts":
            self.known[slot] = quoted.group(1).replace("1,500.00", "{A,}").replace("1500.00", "{A}")

    def answer(self) -> str:
        months = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                  "October", "November", "December")
        rows = []
        for given, surname, units, cents, day, month, year in self.payments:
            m = months.index(month) + 1
            fields = {"G": given, "S": surname, "SU": surname.upper(), "I": given[0], "Y": year, "MM": f"{m:02d}",
                      "DD": f"{int(day):02d}", "D": day, "Mon": month[:3], "A": f"{units}.{cents}",
                      "A,": f"{int(units):,}.{cents}"}
            parts = [re.sub(r"\{([A-Za-z,]+)\}", lambda g, f=fields: f[g.group(1)], self.known.get(rule) or "?")
                     for rule in ("names", "dates", "amounts")]
            rows.append(((int(year), m, int(day)), int(units) * 100 + int(cents), (self.known.get("separator")
                                                                                     or " ").join(parts)))
        order = self.known.get("order")
        rows.sort(key=lambda r: -r[1] if order == "largest" else r[0], reverse=order == "newest")
        return "ANSWER:\n" + "\n".join(row[2] for row in rows)


AGENTS = {"fbenv/Recommend-v0": RecommendAgent, "fbenv/Clarify-v0": ClarifyAgent, "fbenv/Teach-v0": TeachAgent}


def immediate(prompt: str) -> str:
    """An answer straight from the prompt: the first catalogue item, or each slot's first guess."""
    if "RECOMMEND:" in prompt:
        first = next(line for line in prompt.splitlines() if re.match(r"[A-Z]\d\d \| ", line))
        return f"RECOMMEND: {first.split(' | ')[0]}"
    if "ANSWER: slot=value" in prompt:
        agent = ClarifyAgent(prompt)
        guess = {"HH:MM, 24-hour": "19:00", "a number": "2", "a surname": "Smith"}
        return "ANSWER: " + "; ".join(f"{slot}={kind[-1] if isinstance(kind, list) else guess[kind]}"
                                      for slot, kind in agent.kinds.items())
    agent = TeachAgent(prompt)
    agent.known = {"names": "{G} {S}", "dates": "{Y}-{MM}-{DD}", "amounts": "{A}", "separator": ", "}
    return agent.answer()


def play(env: gym.Env, agent_or_reply: Any, seed: int) -> tuple[dict[str, Any], bool, int]:
    """One episode; returns the last info, whether it was solved, and the turns it took."""
    observation, info = env.reset(seed=seed)
    agent = agent_or_reply(observation) if isinstance(agent_or_reply, type) else None
    terminated = truncated = False
    while not (terminated or truncated):
        reply = agent.act(observation) if agent is not None else agent_or_reply(observation)
        observation, _, terminated, truncated, info = env.step(reply)
    solved = info.get("verdict") is not None and info["verdict"].correct
    return info, solved, info["turn"]

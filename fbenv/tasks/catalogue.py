"""Procedural catalogues (items with typed attributes) and the hidden goals of users who shop in them.

A domain (restaurants, laptops, hotels) lists typed attributes: ``choice`` (one of some values),
``number`` (a range; ``better`` says which way users lean: ``"low"`` for price, ``"high"`` for
rating) and ``flag`` (has it or not). :func:`make_catalogue` draws ten items and a goal from an
:class:`~fbenv.tasks.seeding.ItemRandom`:

* **constraints** (2-3): all hold for a hidden target item — a choice value, an at-most / at-least
  bound on a number, a flag the item must have. Other items that happen to meet them all are
  changed to break one, so at most two items qualify (one in five for a blind pick at best).
* **preferences** (1-2, on other attributes): a preferred value, a direction ("the cheaper the
  better"), a flag that would be nice. The user's utility of an item is the share of preferences it
  meets (a number counts by where it lies in its range); :func:`preference_score` turns that into the
  quality of a recommendation.

:func:`slot_for` words each attribute as a :class:`~fbenv.tasks.conversation.Slot`: what the user says
when asked about it, tersely, partially, wrongly, and when a recommendation gets it wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fbenv.tasks.conversation import Slot
from fbenv.tasks.seeding import ItemRandom

N_ITEMS = 10


@dataclass(frozen=True)
class Attribute:
    """A typed attribute of a domain's items, with the words users and agents use for it."""

    name: str
    kind: str  # "choice" | "number" | "flag"
    words: tuple[str, ...]
    values: tuple[str, ...] = ()
    low: int = 0
    high: int = 0
    step: int = 1
    unit: str = "{}"  # how a number is written, e.g. "${} a head"
    better: str = "low"  # numbers: which way users lean
    more: str = ""  # numbers: "cheaper"; flags: the thing itself ("outdoor seating")
    too: str = ""  # numbers: the complaint, "That's too expensive for me."

    def show(self, value: Any) -> str:
        """A value as the catalogue and the user write it."""
        if self.kind == "flag":
            return "yes" if value else "no"
        if self.kind == "number":
            return self.unit.format(value).replace("1 stars", "1 star")
        return str(value)


@dataclass(frozen=True)
class Domain:
    """A kind of catalogue: what is recommended, the id prefix, the opening request, the attributes."""

    name: str
    thing: str
    prefix: str
    request: str
    attributes: tuple[Attribute, ...]


def _choice(name: str, words: tuple[str, ...], values: tuple[str, ...]) -> Attribute:
    return Attribute(name, "choice", (name, *words), values)


def _number(name: str, words: tuple[str, ...], low: int, high: int, step: int, unit: str, better: str, more: str,
            too: str) -> Attribute:
    return Attribute(name, "number", (name, *words), low=low, high=high, step=step, unit=unit, better=better,
                     more=more, too=too)


def _flag(name: str, words: tuple[str, ...], thing: str) -> Attribute:
    return Attribute(name, "flag", (name, *words), more=thing)


AREAS = ("centre", "north side", "south side", "riverside", "old town")
DOMAINS: tuple[Domain, ...] = (
    Domain("restaurants", "restaurant", "R", "Hi! Can you recommend a restaurant for tonight?", (
        _choice("cuisine", ("food", "eat", "dish", "kitchen"),
                ("Italian", "Thai", "Japanese", "Mexican", "Indian", "French")),
        _choice("area", ("where", "location", "part of town", "neighbourhood", "neighborhood", "district"), AREAS),
        _number("price", ("budget", "cost", "spend", "expensive", "cheap", "afford", "money"), 10, 60, 5,
                "${} a head", "low", "cheaper", "That's too expensive for me."),
        _number("rating", ("rated", "stars", "review", "quality"), 1, 5, 1, "{} stars", "high", "better rated",
                "That's not rated well enough."),
        _flag("outdoor seating", ("outdoor", "outside", "terrace", "patio"), "outdoor seating"),
        _flag("vegetarian menu", ("vegetarian", "veggie", "meat", "diet"), "a vegetarian menu"),
    )),
    Domain("laptops", "laptop", "L", "Hi, I need a new laptop. What would you recommend?", (
        _choice("brand", ("manufacturer", "company"), ("Acer", "Asus", "Dell", "Lenovo", "HP", "Apple")),
        _choice("colour", ("color", "finish"), ("silver", "black", "white", "blue", "green")),
        _number("price", ("budget", "cost", "spend", "expensive", "cheap", "afford", "money"), 400, 2400, 100,
                "${}", "low", "cheaper", "That's too expensive for me."),
        _number("battery", ("charge", "hours", "unplugged", "power"), 6, 20, 2, "{} hours", "high",
                "with a longer battery life", "The battery doesn't last long enough."),
        _flag("touchscreen", ("touch", "screen"), "a touchscreen"),
        _flag("backlit keyboard", ("backlit", "keyboard", "keys"), "a backlit keyboard"),
    )),
    Domain("hotels", "hotel", "H", "Hello, could you recommend a hotel for my trip?", (
        _choice("area", ("where", "location", "part of town", "neighbourhood", "neighborhood", "district"), AREAS),
        _choice("style", ("kind", "type", "feel", "vibe"), ("boutique", "business", "family", "historic", "modern")),
        _number("price", ("budget", "cost", "spend", "expensive", "cheap", "afford", "money"), 60, 300, 20,
                "${} a night", "low", "cheaper", "That's too expensive for me."),
        _number("stars", ("rating", "rated", "star", "quality", "class"), 1, 5, 1, "{} stars", "high",
                "with more stars", "That's not enough stars for me."),
        _flag("breakfast", ("morning", "meal"), "breakfast included"),
        _flag("pool", ("swim",), "a pool"),
    )),
)


@dataclass(frozen=True)
class Need:
    """One part of a goal: a constraint on an attribute or a preference (``value``: the bound, value or
    wanted flag; for a number preference the direction is the attribute's ``better``)."""

    attribute: Attribute
    need: str  # "constraint" | "preference"
    value: Any

    def holds(self, item: dict[str, Any]) -> bool:
        """Whether an item meets this constraint."""
        got, kind = item[self.attribute.name], self.attribute.kind
        if kind == "number":
            return got <= self.value if self.attribute.better == "low" else got >= self.value
        return got == self.value

    def utility(self, item: dict[str, Any]) -> float:
        """How well an item meets this preference, in [0, 1]."""
        attribute, got = self.attribute, item[self.attribute.name]
        if attribute.kind != "number":
            return float(got == self.value)
        position = (got - attribute.low) / (attribute.high - attribute.low)
        return 1.0 - position if attribute.better == "low" else position


@dataclass(frozen=True)
class Catalogue:
    """A domain's items (dicts with an ``"id"``) and the user's goal over them."""

    domain: Domain
    items: tuple[dict[str, Any], ...]
    needs: tuple[Need, ...]

    def violated(self, item: dict[str, Any]) -> tuple[str, ...]:
        """The attributes whose constraint ``item`` breaks, in goal order."""
        return tuple(n.attribute.name for n in self.needs if n.need == "constraint" and not n.holds(item))

    def utility(self, item: dict[str, Any]) -> float:
        """The user's utility of an item: the mean of its preference utilities."""
        prefs = [n for n in self.needs if n.need == "preference"]
        return sum(n.utility(item) for n in prefs) / len(prefs)

    def best(self) -> dict[str, Any]:
        """The qualifying item the user likes most (the first of equals)."""
        return max((item for item in self.items if not self.violated(item)), key=self.utility)


def preference_score(catalogue: Catalogue, item: dict[str, Any]) -> float:
    """Quality of a qualifying recommendation in (0.5, 1]: (1 + utility) / (1 + best utility)."""
    return (1 + catalogue.utility(item)) / (1 + catalogue.utility(catalogue.best()))


def _draw(attribute: Attribute, rng: ItemRandom) -> Any:
    if attribute.kind == "choice":
        return rng.choice(attribute.values)
    if attribute.kind == "number":
        return attribute.low + attribute.step * rng.below((attribute.high - attribute.low) // attribute.step + 1)
    return rng.chance(0.5)


def _breaking(need: Need, item: dict[str, Any], rng: ItemRandom) -> Any:
    """A value of the need's attribute that breaks the constraint (the item otherwise unchanged)."""
    attribute = need.attribute
    while True:
        value = _draw(attribute, rng) if attribute.kind != "flag" else not need.value
        if not need.holds({**item, attribute.name: value}):
            return value


def make_catalogue(rng: ItemRandom) -> Catalogue:
    """A domain, ten items and a goal with 2-3 constraints (met by at most two items) and 1-2 preferences."""
    domain = rng.choice(DOMAINS)
    items = [{"id": f"{domain.prefix}{i + 1:02d}", **{a.name: _draw(a, rng) for a in domain.attributes}}
             for i in range(N_ITEMS)]
    target = items[rng.below(N_ITEMS)]
    order = list(domain.attributes)
    for i in range(len(order) - 1, 0, -1):  # a seeded shuffle
        j = rng.below(i + 1)
        order[i], order[j] = order[j], order[i]
    # A flag the target lacks cannot be a "must have"; a bound at the range's edge would rule nothing out.
    usable = [a for a in order if (a.kind != "flag" or target[a.name])
              and not (a.kind == "number" and target[a.name] == (a.high if a.better == "low" else a.low))]
    n_constraints = min(rng.randint(2, 3), len(usable))
    needs = [Need(a, "constraint", target[a.name]) for a in usable[:n_constraints]]
    rest = [a for a in order if a.name not in {n.attribute.name for n in needs}]
    for attribute in rest[:rng.randint(1, 2)]:
        value = True if attribute.kind == "flag" else rng.choice(attribute.values) if attribute.kind == "choice" \
            else None
        needs.append(Need(attribute, "preference", value))
    constraints = [n for n in needs if n.need == "constraint"]
    qualifying = 1
    for item in items:
        if item is target or any(not n.holds(item) for n in constraints):
            continue
        if qualifying < 2:
            qualifying += 1
            continue
        need = constraints[rng.below(len(constraints))]
        item[need.attribute.name] = _breaking(need, item, rng)
    return Catalogue(domain, tuple(items), tuple(needs))


def catalogue_table(catalogue: Catalogue) -> str:
    """The catalogue as a plain-text table the agent reads."""
    attributes = catalogue.domain.attributes
    lines = [" | ".join(["id", *(a.name for a in attributes)])]
    lines += [" | ".join([item["id"], *(a.show(item[a.name]) for a in attributes)]) for item in catalogue.items]
    return "\n".join(lines)


def slot_for(attribute: Attribute, need: Need | None, rng: ItemRandom) -> Slot:
    """The slot the user speaks about for ``attribute``, given their need on it (None: they do not mind)."""
    name, kind = attribute.name, attribute.kind
    if need is None:
        says = f"I don't mind about the {name}."
        return Slot(name, name, attribute.words, "none", says, "I don't mind.", says)
    value, must = need.value, need.need == "constraint"
    other = _other(attribute, value, rng)
    if kind == "choice":
        def says(v: Any) -> str:
            return f"For the {name}, " + (f"it has to be {v}." if must else f"I'd prefer {v}, but it's not a must.")

        partial = f"I'm not sure yet about the {name}; not {_other(attribute, value, rng, avoid=other)}, anyway."
        short = str(value)[:1].upper() + str(value)[1:]
        return Slot(name, name, attribute.words, need.need, says(value),
                    f"{short}, definitely." if must else f"{short}, ideally.", partial, says(other),
                    f"That's not the {name} I want.", f"Is there one where the {name} is {value}?")
    if kind == "number":
        more, too = attribute.more, attribute.too
        if not must:
            return Slot(name, name, attribute.words, need.need,
                        f"For the {name}, I'd prefer something {more}, but it's not a must.",
                        f"{more.capitalize()}, ideally.", f"I'm not sure yet about the {name}; it matters a little.",
                        f"I don't mind about the {name}.", too, f"Is there anything {more}?")
        bound = "at most" if attribute.better == "low" else "at least"
        half = (attribute.high - attribute.low) // 2
        looser = min(attribute.high, value + half) if bound == "at most" else max(attribute.low, value - half)
        show = attribute.show
        return Slot(name, name, attribute.words, need.need, f"For the {name}, it has to be {bound} {show(value)}.",
                    f"{bound.capitalize()} {show(value)}.",
                    f"I'm not sure yet about the {name}; {bound} {show(looser)}, anyway.",
                    f"For the {name}, it has to be {bound} {show(other)}.", too, f"Is there anything {more}?")
    thing = attribute.more
    answer, short = ((f"It must have {thing}.", f"{thing.capitalize()}, definitely.") if must else
                     (f"I'd like {thing}, but it's not a must.", f"{thing.capitalize()}, ideally."))
    return Slot(name, name, attribute.words, need.need, answer, short,
                f"I'm not sure yet whether I need {thing}.", f"I don't mind about the {name}.",
                f"It doesn't have {thing}.", f"Is there one with {thing}?")


def _other(attribute: Attribute, value: Any, rng: ItemRandom, avoid: Any = None) -> Any:
    """Another value of the attribute (for slips and partial answers), never ``value`` or ``avoid``."""
    if attribute.kind == "flag":
        return not value
    while True:
        other = _draw(attribute, rng)
        if other != value and other != avoid:
            return other

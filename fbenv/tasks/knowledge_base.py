"""A procedurally generated world of fictional entities, its encyclopedia, and multi-hop questions over it.

Search questions must not be answerable from a language model's memory, so the world is invented:
people, cities, countries and organisations with made-up names, linked by functional relations
(an organisation has one founder, one chief executive, one headquarters city and one founding year;
a person one birthplace, one birth year, one employer and one mentor; a city one country and one
mayor; a country one capital). Every entity gets one document that states its facts in plain
sentences; the corpus is those documents.

A question follows a chain of ``hops`` relations from a named entity ("In which city was the
founder of Kelbridge Labs born?" is founder → birthplace); each hop's fact is stated in the
document of its subject, so the supporting documents are those of the chain's subjects, and the
answer is unique because every relation is functional. Names along a chain are unique, so the
question has one reading. An *ambiguous* question starts instead from a name that two or three
entities share: each gives a valid reading with its own answer, and the user holds one of them and
can tell it by an attribute the question does not use ("the one headquartered in Duneholt").

Determinism: the world depends on ``(seed, size)`` alone and question ``i`` on the world, ``hops``,
``ambiguous`` and ``i`` alone, all drawn from :class:`~fbenv.tasks.seeding.ItemRandom` (BLAKE2b), so
the same index names the same question on every machine and Python version.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from fbenv.tasks.qa_scoring import normalize_answer
from fbenv.tasks.seeding import ItemRandom, item_key
from fbenv.tools.search_engine import STOPWORDS

#: Bumped when the generator changes what a (seed, size) or a question index produces.
GENERATOR_VERSION = 1
MIN_SIZE = 60
MAX_SIZE = 2_000_000
MAX_HOPS = 4
TYPES = ("person", "city", "country", "organisation")


@dataclass(frozen=True)
class Relation:
    """A functional relation and every way it is worded.

    ``noun`` names the object inside a longer question ("the founder of {x}"), ``question`` asks
    for it ("Who founded {x}?"), ``sentence`` states it in the subject's document and ``describe``
    tells what an entity is, for the simulated user's comments ("{o} is the founder of {s}").
    """

    name: str
    subject: str
    object: str
    noun: str
    question: str
    sentence: str
    describe: str


RELATIONS: dict[str, Relation] = {r.name: r for r in (
    Relation("founder", "organisation", "person", "the founder of {x}", "Who founded {x}?",
             "{s} was founded by {o}.", "{o} is the founder of {s}"),
    Relation("chief", "organisation", "person", "the current chief executive of {x}",
             "Who is the current chief executive of {x}?", "The current chief executive of {s} is {o}.",
             "{o} is the current chief executive of {s}"),
    Relation("headquarters", "organisation", "city", "the city where {x} has its headquarters",
             "In which city does {x} have its headquarters?", "{s} has its headquarters in {o}.",
             "{o} is the city where {s} has its headquarters"),
    Relation("founded_year", "organisation", "year", "the year {x} was established",
             "In which year was {x} established?",
             "{s} was established in {o}.", "{o} is the year {s} was established"),
    Relation("birthplace", "person", "city", "the city where {x} was born", "In which city was {x} born?",
             "{s} was born in the city of {o}.", "{o} is the city where {s} was born"),
    Relation("birth_year", "person", "year", "the year {x} was born", "In which year was {x} born?",
             "{s} was born in the year {o}.", "{o} is the year {s} was born"),
    Relation("employer", "person", "organisation", "the organisation that {x} works for",
             "Which organisation does {x} work for?", "{s} works for {o}.",
             "{o} is the organisation {s} works for"),
    Relation("mentor", "person", "person", "the mentor of {x}", "Who was the mentor of {x}?",
             "{s} was mentored by {o}.", "{o} is the mentor of {s}"),
    Relation("country", "city", "country", "the country that {x} lies in", "In which country is {x}?",
             "{s} lies in {o}.", "{o} is the country {s} lies in"),
    Relation("mayor", "city", "person", "the mayor of {x}", "Who is the mayor of {x}?",
             "The mayor of {s} is {o}.", "{o} is the mayor of {s}"),
    Relation("capital", "country", "city", "the capital of {x}", "What is the capital of {x}?",
             "The capital of {s} is {o}.", "{o} is the capital of {s}"),
)}
#: Relations by subject type, in a fixed order (draws index into these tuples).
OUTGOING: dict[str, tuple[Relation, ...]] = {t: tuple(r for r in RELATIONS.values() if r.subject == t) for t in TYPES}
#: Attributes that tell apart entities sharing a name (ambiguous questions), by type.
DISAMBIGUATORS: dict[str, tuple[str, ...]] = {"organisation": ("headquarters", "founded_year"),
                                              "person": ("birthplace", "birth_year")}
#: How an answer of each type is asked for, for the user's comments.
KIND_WORDS = {"person": "a person", "city": "a city", "country": "a country", "organisation": "an organisation",
              "year": "a year"}

_ONSETS = ("b", "br", "c", "d", "dr", "f", "g", "gr", "h", "k", "l", "m", "n", "p", "r", "s", "st", "t", "th",
           "v", "w", "z", "kel", "mar", "tor", "vel", "qu")
_VOWELS = ("a", "e", "i", "o", "u", "a", "e", "o", "ae", "ia", "ou")
_CODAS = ("", "", "", "", "n", "r", "l", "s", "th", "nd", "rk", "m")
_ORG_SUFFIXES = ("Labs", "Trust", "Works", "Group", "Institute", "Foundry", "Collective", "Holdings", "Guild",
                 "Press", "Systems", "Society")
_CITY_SUFFIXES = ("", "", "holt", "ford", "by", "mouth", "wick", "stead", "haven", "mere")
_COUNTRY_SUFFIXES = ("ia", "land", "ora", "stan", "vale")
_PROFESSIONS = ("an engineer", "a painter", "a surveyor", "a chemist", "a teacher", "a lawyer", "a botanist",
                "an architect", "a historian", "a sailor", "a composer", "a physician", "a cartographer")
_INDUSTRIES = ("shipbuilding", "glassmaking", "textile", "publishing", "software", "mining", "brewing",
               "insurance", "aviation", "pharmaceutical", "furniture", "printing", "robotics")
_CITY_TRAITS = ("its old harbour", "a covered market", "its clock tower", "a river festival", "salt marshes",
                "a stone bridge", "its botanical garden", "a winter fair", "copper mines", "a famous library")
_COUNTRY_TRAITS = ("mountain passes", "long coastlines", "wide plains", "river deltas", "high plateaus")


@dataclass(frozen=True)
class Entity:
    """One entity: its index (also its document's position), type, name and facts (relation → value)."""

    index: int
    type: str
    name: str
    facts: dict[str, int | str] = field(compare=False)
    blurb: str = ""


@dataclass(frozen=True)
class Hop:
    """One hop of a chain: ``subject`` (entity index) --``relation``--> ``value`` (entity index or year)."""

    subject: int
    relation: str
    value: int | str


class World:
    """The generated world for ``(seed, size)``: ``size`` entities, one document each.

    Build it with :func:`world` (cached per process). ``entities[i]``'s document has id
    ``doc_id(i)``.
    """

    def __init__(self, seed: int, size: int) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
            raise ValueError(f"corpus_size must be an int in [{MIN_SIZE}, {MAX_SIZE}], got {size!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed must be an int, got {seed!r}")
        self.seed, self.size = seed, size
        self._key = repr(("knowledge_base", GENERATOR_VERSION, seed, size)).encode()
        rng = ItemRandom(self._key)
        counts = {"country": max(3, size // 200), "city": max(8, size * 15 // 100),
                  "organisation": max(8, size * 22 // 100)}
        counts["person"] = size - sum(counts.values())
        self.entities: list[Entity] = []
        self.of_type: dict[str, list[int]] = {}
        used: set[str] = set()
        for kind in TYPES:
            start = len(self.entities)
            for _ in range(counts[kind]):
                name = _fresh_name(kind, rng, used)
                self.entities.append(Entity(len(self.entities), kind, name, {}, _blurb(kind, rng)))
            self.of_type[kind] = list(range(start, len(self.entities)))
        self._share_names(rng)
        self._link(rng)
        self.by_name: dict[str, list[int]] = {}
        for entity in self.entities:
            self.by_name.setdefault(normalize_answer(entity.name), []).append(entity.index)
        self.homonyms = [group for group in self.by_name.values() if len(group) > 1]
        self.id_prefix = "kb-"
        self._id_width = max(6, len(str(size - 1)))

    # --- building --------------------------------------------------------------------------------
    def _share_names(self, rng: ItemRandom) -> None:
        """Give about one organisation and one person in twenty-five a name another one already has."""
        for kind in ("organisation", "person"):
            members = self.of_type[kind]
            for position in range(1, len(members)):
                if rng.below(25) == 0:
                    original = self.entities[members[rng.below(position)]]
                    twin = self.entities[members[position]]
                    self.entities[twin.index] = Entity(twin.index, kind, original.name, twin.facts, twin.blurb)

    def _link(self, rng: ItemRandom) -> None:
        people, cities = self.of_type["person"], self.of_type["city"]
        countries, orgs = self.of_type["country"], self.of_type["organisation"]
        by_country: dict[int, list[int]] = {c: [] for c in countries}
        for position, city in enumerate(cities):
            country = countries[position] if position < len(countries) else rng.choice(countries)
            by_country[country].append(city)
            self.entities[city].facts.update(country=country, mayor=rng.choice(people))
        for country in countries:
            self.entities[country].facts["capital"] = rng.choice(by_country[country])
        for person in people:
            mentor = rng.choice(people)
            while mentor == person:
                mentor = rng.choice(people)
            self.entities[person].facts.update(birthplace=rng.choice(cities), birth_year=str(rng.randint(1920, 2001)),
                                               employer=rng.choice(orgs), mentor=mentor)
        for org in orgs:
            founder, chief = rng.choice(people), rng.choice(people)
            while chief == founder:
                chief = rng.choice(people)
            self.entities[org].facts.update(founder=founder, chief=chief, headquarters=rng.choice(cities),
                                            founded_year=str(rng.randint(1850, 2020)))

    # --- reading -------------------------------------------------------------------------------
    def doc_id(self, index: int) -> str:
        """The document id of entity ``index``."""
        return f"{self.id_prefix}{index:0{self._id_width}d}"

    def index_of(self, doc_id: str) -> int | None:
        """The entity whose document has this id, or None."""
        if not doc_id.startswith(self.id_prefix) or not doc_id[len(self.id_prefix):].isdigit():
            return None
        index = int(doc_id[len(self.id_prefix):])
        return index if 0 <= index < len(self.entities) else None

    def value_name(self, value: int | str) -> str:
        """How a fact's value is written: an entity's name, or the year itself."""
        return self.entities[value].name if isinstance(value, int) else value

    def document(self, index: int) -> tuple[str, str, str]:
        """(id, title, text) of entity ``index``'s document: an intro, one sentence per fact, a closing note."""
        entity = self.entities[index]
        sentences = [_INTRO[entity.type].format(s=entity.name, blurb=entity.blurb)]
        for relation in OUTGOING[entity.type]:
            value = entity.facts[relation.name]
            sentences.append(relation.sentence.format(s=entity.name, o=self.value_name(value)))
        return self.doc_id(index), entity.name, " ".join(sentences)

    def documents(self) -> list[tuple[str, str, str]]:
        """Every document, in entity order."""
        return [self.document(i) for i in range(len(self.entities))]

    def describe(self, hop: Hop) -> str:
        """What the hop's value is, in words: "Mara Voss is the founder of Kelbridge Labs"."""
        relation = RELATIONS[hop.relation]
        return relation.describe.format(o=self.value_name(hop.value), s=self.entities[hop.subject].name)

    def answer_kind(self, value: int | str) -> str:
        """``"year"`` or the type of the entity a value names."""
        return "year" if isinstance(value, str) else self.entities[value].type

    # --- questions -----------------------------------------------------------------------------
    def question(self, hops: int, index: int, ambiguous: bool = False) -> dict[str, Any]:
        """Question ``index`` with ``hops`` hops; see :func:`question_text` and the module docstring.

        Returns a dict with ``question``, ``answer``, ``answer_kind``, ``chain`` (list of
        :class:`Hop`), ``supporting`` (document ids, in hop order) and, for ambiguous questions,
        ``readings`` (one such dict per valid reading, plus ``clarification``) and ``intended``.
        """
        if isinstance(hops, bool) or not isinstance(hops, int) or not 1 <= hops <= MAX_HOPS:
            raise ValueError(f"hops must be an int in [1, {MAX_HOPS}], got {hops!r}")
        rng = ItemRandom(item_key(self._key + repr((hops, ambiguous)).encode(), index))
        for _ in range(10_000):
            found = self._ambiguous(rng, hops) if ambiguous else self._plain(rng, hops)
            if found is not None:
                return found
        raise ValueError(f"corpus_size={self.size} is too small for {'ambiguous ' if ambiguous else ''}"
                         f"questions of {hops} hops; use a larger corpus_size")

    def _unique(self, index: int) -> bool:
        return len(self.by_name[normalize_answer(self.entities[index].name)]) == 1

    def _walk(self, rng: ItemRandom, start: int, relations: list[Relation] | None, hops: int) -> list[Hop] | None:
        """A chain of ``hops`` hops from ``start`` (following ``relations`` if given), or None at a dead end."""
        chain: list[Hop] = []
        seen = {start}
        current = start
        for step in range(hops):
            options = OUTGOING[self.entities[current].type]
            relation = relations[step] if relations is not None else rng.choice(options)
            if relation.subject != self.entities[current].type:
                return None
            last = step == hops - 1
            if relation.object == "year" and not last:
                return None
            value = self.entities[current].facts[relation.name]
            chain.append(Hop(current, relation.name, value))
            if isinstance(value, int):
                if value in seen or (not last and not self._unique(value)):
                    return None
                seen.add(value)
                current = value
        return chain

    def _plain(self, rng: ItemRandom, hops: int) -> dict[str, Any] | None:
        kind = rng.choice(("person", "organisation", "city", "organisation", "person", "country"))
        start = rng.choice(self.of_type[kind])
        if not self._unique(start):
            return None
        chain = self._walk(rng, start, None, hops)
        return None if chain is None else self._reading(chain)

    def _reading(self, chain: list[Hop]) -> dict[str, Any]:
        answer = self.value_name(chain[-1].value)
        return {"question": question_text(self.entities[chain[0].subject].name, [h.relation for h in chain]),
                "answer": answer, "answer_kind": self.answer_kind(chain[-1].value), "chain": chain,
                "supporting": [self.doc_id(h.subject) for h in chain]}

    def _ambiguous(self, rng: ItemRandom, hops: int) -> dict[str, Any] | None:
        if not self.homonyms:
            return None
        group = rng.choice(self.homonyms)
        kind = self.entities[group[0]].type
        first = self._walk(rng, group[0], None, hops)
        if first is None:
            return None
        relations = [RELATIONS[h.relation] for h in first]
        chains = [first] + [self._walk(rng, member, relations, hops) for member in group[1:]]
        if any(chain is None for chain in chains):
            return None
        readings = [self._reading(chain) for chain in chains]  # type: ignore[arg-type]
        answers = {normalize_answer(r["answer"]) for r in readings}
        if len(answers) != len(readings):
            return None
        for attribute in DISAMBIGUATORS[kind]:
            if attribute == relations[0].name:
                continue
            values = [self.value_name(self.entities[m].facts[attribute]) for m in group]
            if len({normalize_answer(v) for v in values}) == len(values) and not answers & {
                    normalize_answer(v) for v in values}:
                break
        else:
            return None
        for reading, member, value in zip(readings, group, values, strict=True):
            reading["clarification"] = clarification(self.entities[member].name, attribute, value)
            reading["tell"] = value
        intended = rng.below(len(readings))
        return {**readings[intended], "readings": readings, "intended": intended}


_INTRO = {
    "person": "{s} is {blurb}.",
    "city": "{s} is a city known for {blurb}.",
    "country": "{s} is a country of {blurb}.",
    "organisation": "{s} is a {blurb} organisation.",
}
_CLARIFY = {
    "headquarters": "the {name} that has its headquarters in {value}",
    "founded_year": "the {name} that was established in {value}",
    "birthplace": "the {name} who was born in {value}",
    "birth_year": "the {name} who was born in {value}",
}


def clarification(name: str, attribute: str, value: str) -> str:
    """Which of several entities named ``name`` is meant: "the Kelbridge Labs that has its headquarters in X"."""
    return _CLARIFY[attribute].format(name=name, value=value)


def question_text(start: str, relations: list[str]) -> str:
    """The question that follows ``relations`` from the entity named ``start``."""
    phrase = start
    for name in relations[:-1]:
        phrase = RELATIONS[name].noun.format(x=phrase)
    return RELATIONS[relations[-1]].question.format(x=phrase)


@functools.lru_cache(maxsize=8)
def world(seed: int, size: int) -> World:
    """The world for ``(seed, size)``, built once per process."""
    return World(seed, size)


def _syllables(rng: ItemRandom, count: int) -> str:
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(count))


def _fresh_name(kind: str, rng: ItemRandom, used: set[str]) -> str:
    """A new name for an entity of ``kind`` (never one already used, compared after normalisation)."""
    while True:
        if kind == "person":
            name = f"{_syllables(rng, 1 + rng.below(2)).capitalize()} {_syllables(rng, 2).capitalize()}"
        elif kind == "organisation":
            name = f"{_syllables(rng, 2).capitalize()} {rng.choice(_ORG_SUFFIXES)}"
        elif kind == "city":
            name = (_syllables(rng, 1 + rng.below(2)) + rng.choice(_CITY_SUFFIXES)).capitalize()
        else:
            name = (_syllables(rng, 2) + rng.choice(_COUNTRY_SUFFIXES)).capitalize()
        key = normalize_answer(name)
        # every word must survive both normalisation (articles) and the search engine's stop words
        if key not in used and all(len(w) >= 3 and w.isalpha() and w not in STOPWORDS for w in name.lower().split()):
            used.add(key)
            return name


def _blurb(kind: str, rng: ItemRandom) -> str:
    if kind == "person":
        return rng.choice(_PROFESSIONS)
    if kind == "organisation":
        return rng.choice(_INDUSTRIES)
    if kind == "city":
        return rng.choice(_CITY_TRAITS)
    return rng.choice(_COUNTRY_TRAITS)

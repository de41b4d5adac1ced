"""``fbenv/Search-v0`` and ``fbenv/SearchAmbiguous-v0``: multi-hop questions over a generated fictional world.

The corpus is the encyclopedia of a :class:`~fbenv.tasks.knowledge_base.World` built from
``(seed, corpus_size)``, indexed once (cached on disk, see :mod:`fbenv.tools.search_engine`); the
questions follow ``hops`` relations through it, so nothing can be answered from memory. With
``ambiguous=True`` the question's first entity shares its name with others: the user holds one
reading, tells it when asked (``ask:``), and says which reading was meant when the agent answers
another. The moves, scoring and feedback are those of :mod:`fbenv.tasks.search_base`.
"""

from __future__ import annotations

from typing import Any

from fbenv.tasks.base import Instance
from fbenv.tasks.knowledge_base import KIND_WORDS, MAX_HOPS, OUTGOING, RELATIONS, Hop, World, world
from fbenv.tasks.qa_scoring import normalize_answer
from fbenv.tasks.search_actions import protocol
from fbenv.tasks.search_base import SearchTaskBase, shared_engine
from fbenv.tools.search_engine import Document

DEFAULT_CORPUS_SIZE = 2000


class SearchTask(SearchTaskBase):
    """Multi-hop questions over a generated knowledge base.

    Args:
        hops: relations each question follows, 1-4.
        corpus_size: documents in the generated corpus (one per entity), 60 to 2,000,000.
        ambiguous: questions whose first entity's name has several readings (ask the user).
        seed: the world's and the questions' seed.
        top_k, search_cost, retrieval, cache_dir: see :class:`~fbenv.tasks.search_base.SearchTaskBase`.
    """

    def __init__(self, hops: int = 2, corpus_size: int = DEFAULT_CORPUS_SIZE, ambiguous: bool = False, seed: int = 0,
                 top_k: int = 5, search_cost: float = 0.0, retrieval: str = "bm25",
                 cache_dir: str | None = None) -> None:
        super().__init__(top_k=top_k, search_cost=search_cost, retrieval=retrieval, cache_dir=cache_dir)
        if isinstance(hops, bool) or not isinstance(hops, int) or not 1 <= hops <= MAX_HOPS:
            raise ValueError(f"hops must be an int in [1, {MAX_HOPS}], got {hops!r}")
        if not isinstance(ambiguous, bool):
            raise ValueError(f"ambiguous must be true or false, got {ambiguous!r}")
        self.hops, self.ambiguous, self.seed = hops, ambiguous, seed
        self.world: World = world(seed, corpus_size)
        if ambiguous and not self.world.homonyms:
            raise ValueError(f"corpus_size={corpus_size} is too small for ambiguous questions; use at least 500")
        self.engine = shared_engine(("knowledge_base", seed, corpus_size), self._documents, retrieval, cache_dir)
        self._id_prefix = f"search/{'ambiguous/' if ambiguous else ''}h{hops}/n{corpus_size}/s{seed}/"
        self._protocol = protocol(self.world.doc_id(0))

    @property
    def name(self) -> str:
        return "search"

    def _documents(self) -> list[Document]:
        return [Document(*doc) for doc in self.world.documents()]

    def instance(self, index: int) -> Instance:
        found = self.world.question(self.hops, index, self.ambiguous)
        chain: list[Hop] = found["chain"]
        entities = self.world.entities
        data: dict[str, Any] = {
            "question": found["question"],
            "supporting": found["supporting"],
            "aliases": [],
            "hop_docs": [f"the document on {entities[h.subject].name} ({self.world.doc_id(h.subject)})"
                         for h in chain],
            "hop_needs": [_need(self.world, h) for h in chain],
            "facts": [RELATIONS[h.relation].sentence.format(s=entities[h.subject].name,
                                                            o=self.world.value_name(h.value)) for h in chain],
            "chain": chain,
            "answer_kind": found["answer_kind"],
        }
        if self.ambiguous:
            data["readings"] = found["readings"]
            data["intended"] = found["intended"]
        prompt = (f"Question: {found['question']}\n\n"
                  f"Find the answer by searching a corpus of {len(entities)} encyclopedia documents about a "
                  f"fictional world (your own knowledge will not help). You may ask me about the question.\n"
                  f"{self._protocol}")
        return Instance(task_id=self._id_prefix + str(index), index=index, prompt=prompt, reference=found["answer"],
                        oracle_action=f"answer: {found['answer']}", data=data)

    # --- the simulated user --------------------------------------------------------------------
    def answer_question(self, instance: Instance, question: str) -> tuple[str, dict[str, Any]]:
        """Tell the intended reading of an ambiguous question; restate a plain one."""
        if not self.ambiguous:
            return super().answer_question(instance, question)
        readings, intended = instance.data["readings"], instance.data["intended"]
        meant = readings[intended]["clarification"]
        asked = f" {normalize_answer(question)} "
        named = [i for i, r in enumerate(readings) if f" {normalize_answer(r['tell'])} " in asked]
        if intended in named:
            text, matched = f"Yes: I mean {meant}.", "intended"
        elif named:
            text, matched = f"No, not that one: I mean {meant}.", "other"
        else:
            text, matched = f"I mean {meant}.", None
        return text, {"slot": "reading", "value": meant, "matched": matched}

    def remarks(self, instance: Instance, answer: str) -> list[str]:
        """The user's ConvSim-style comment: what the wrong answer actually is, and what was asked."""
        data = instance.data
        question = data["question"]
        key = normalize_answer(answer)
        if self.ambiguous:
            readings, intended = data["readings"], data["intended"]
            for i, reading in enumerate(readings):
                if i != intended and normalize_answer(reading["answer"]) == key:
                    return [f"That would be the answer for {reading['clarification']}, but I meant "
                            f"{readings[intended]['clarification']}."]
        chains = [r["chain"] for r in data.get("readings", [])] or [data["chain"]]
        for described in self._facts_naming(key, chains):
            return [f"{described[0].upper()}{described[1:]}, but I asked: {question}"]
        kind = data["answer_kind"]
        named = self.world.by_name.get(key, [])
        if named and all(self.world.entities[i].type != kind for i in named):
            return [f"That is {KIND_WORDS[self.world.entities[named[0]].type]}, but I asked for {KIND_WORDS[kind]}."]
        if named or (kind == "year" and key.isdigit()):
            return [f"That is not the {kind} I asked about."]
        return [f"I don't know that as an answer to my question; I asked for {KIND_WORDS[kind]}."]

    def _facts_naming(self, key: str, chains: list[list[Hop]]) -> list[str]:
        """Facts of the question's own entities whose value is what ``key`` names, in words."""
        subjects = list(dict.fromkeys(h.subject for chain in chains for h in chain))
        own = [(h.subject, h.relation) for chain in chains for h in chain]
        facts = own + [(s, r.name) for s in subjects for r in OUTGOING[self.world.entities[s].type]]
        said = []
        for subject, relation in dict.fromkeys(facts):
            value = self.world.entities[subject].facts[relation]
            if normalize_answer(self.world.value_name(value)) == key:
                said.append(self.world.describe(Hop(subject, relation, value)))
        return said


def _need(world: World, hop: Hop) -> str:
    """What a hop looks up, in words: "the founder of Kelbridge Labs"."""
    return RELATIONS[hop.relation].noun.format(x=world.entities[hop.subject].name)

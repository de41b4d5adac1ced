"""What every search task shares: the episode's moves against a search engine, and the verdict on its answer.

A search episode is a run of moves (see :mod:`fbenv.tasks.search_actions`) ended by an answer:

* ``search: <query>`` ranks the corpus; the top ``top_k`` titles, ids and snippets are the
  observation, and the step's reward is ``-search_cost`` (pay-per-search, as in MASH).
* ``open: <id>`` shows a whole document (free).
* ``ask: <question>`` goes to the user: the task resolves it into facts and a truthful plain
  answer (:meth:`SearchTaskBase.answer_question`); a simulator with ``reply_to_move`` may voice it.
* a malformed move (an action with nothing after it, an unknown document id) gets the protocol back.

The answer's :class:`~fbenv.feedback.Verdict` is built here for every search task:

* ``correct``: normalised exact match with the reference or an alias (SQuAD's normalisation);
  ``score``: 1.0 when correct, else SQuAD's token F1 (partial credit; the reward under
  ``reward_from="verdict"``).
* ``steps``: one check per search query made in the episode, "did its results include a
  supporting document"; ``unit="query"``, so process feedback labels each query and then the answer.
* ``remarks`` at level 2: the simulated user's comment on a wrong answer (ConvSim style, e.g.
  "Mara Voss is the founder of Kelbridge Labs, but I asked: ..."), never holding the reference.
* ``diagnostics`` (level 3): which hop is still missing and which document states it;
  ``expected_steps``: what to look up, hop by hop; ``solution`` (level 4): the chain with its
  documents and the answer.

Subclasses provide ``instance`` (with the ``data`` keys listed in :class:`SearchTaskBase`), the
engine, and optionally :meth:`SearchTaskBase.answer_question` and :meth:`SearchTaskBase.remarks`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from fbenv.feedback import StepCheck, Verdict
from fbenv.tasks.answers import ordinal
from fbenv.tasks.base import Instance, Move, MoveResult, Task
from fbenv.tasks.qa_scoring import exact_match, normalize_answer, token_f1
from fbenv.tasks.search_actions import answer_of, parse_move, protocol
from fbenv.tools.search_engine import METHODS, Document, SearchEngine

_SHOWN = 120  # characters of the agent's own text echoed back in an observation
NO_ACTION = ("no action: reply with one of search: <query>, open: <document id>, ask: <question> "
             "or answer: <your answer>")


@dataclass
class SearchState:
    """What happened in one episode so far."""

    searches: list[dict[str, Any]] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    questions: int = 0


_ENGINES: dict[tuple[Any, ...], SearchEngine] = {}
_ENGINES_LOCK = threading.Lock()


def shared_engine(key: tuple[Any, ...], documents: Callable[[], Sequence[Document]], method: str,
                  cache_dir: str | None) -> SearchEngine:
    """One engine per (corpus key, method, cache dir) in the process, built on first use."""
    full_key = (*key, method, cache_dir)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(full_key)
        if engine is None:
            engine = _ENGINES[full_key] = SearchEngine(documents(), method=method, cache_dir=cache_dir)
        return engine


class SearchTaskBase(Task):
    """The moves and the verdict of search tasks (see the module docstring).

    An instance's ``data`` holds ``question``, ``supporting`` (document ids, in hop order),
    ``aliases`` (further accepted answers), ``hop_docs`` (each supporting document in words, "the
    document on Mara Voss"), ``hop_needs`` (what each hop looks up, or "" where unknown) and
    ``facts`` (each hop's fact as a sentence, for the worked solution).

    Args:
        top_k: results per search.
        search_cost: subtracted from the reward of each search step (pay-per-search); >= 0.
        retrieval: ``"bm25"``, ``"dense"`` or ``"hybrid"`` (the last two need the ``search`` extra).
        cache_dir: where indexes are cached (default ``$FBENV_HOME`` or ``~/.cache/fbenv``).
    """

    family: ClassVar[str] = "search"
    engine: SearchEngine

    def __init__(self, top_k: int = 5, search_cost: float = 0.0, retrieval: str = "bm25",
                 cache_dir: str | None = None) -> None:
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= 50:
            raise ValueError(f"top_k must be an int in [1, 50], got {top_k!r}")
        if isinstance(search_cost, bool) or not isinstance(search_cost, (int, float)) or not 0 <= search_cost <= 1:
            raise ValueError(f"search_cost must be a number in [0, 1], got {search_cost!r}")
        if retrieval not in METHODS:
            raise ValueError(f"retrieval must be one of {', '.join(METHODS)}, got {retrieval!r}")
        if cache_dir is not None and not isinstance(cache_dir, str):
            raise ValueError(f"cache_dir must be a path string or None, got {cache_dir!r}")
        self.top_k, self.search_cost, self.retrieval, self.cache_dir = top_k, float(search_cost), retrieval, cache_dir

    # --- hooks for subclasses --------------------------------------------------------------------
    def answer_question(self, instance: Instance, question: str) -> tuple[str, dict[str, Any]]:
        """The user's truthful plain answer to a clarifying question, and its facts for ``info``.

        The default user holds no more than the question itself (there is one reading).
        """
        return (f"I mean just what I asked: {instance.data['question']} I don't know the answer myself.",
                {"slot": None, "value": None})

    def remarks(self, instance: Instance, answer: str) -> list[str]:
        """What the user says about a wrong answer (level 2); must not hold the reference. Default: nothing."""
        return []

    # --- moves ---------------------------------------------------------------------------------
    def parse_move(self, reply: str) -> Move | None:
        return parse_move(reply)

    def new_episode(self, instance: Instance) -> SearchState:
        return SearchState()

    def episode_info(self, instance: Instance, state: SearchState) -> dict[str, Any]:
        """Searches used and supporting documents found so far, for ``info["episode"]``."""
        return {"searches": len(state.searches), "search_cost": self.search_cost * len(state.searches),
                "opened": list(state.opened), "questions": state.questions,
                "supporting": list(instance.data["supporting"]), "supporting_found": list(state.found)}

    def play_move(self, instance: Instance, move: Move, state: SearchState, rng: np.random.Generator) -> MoveResult:
        if move.name == "search":
            return self._search(instance, move.argument, state)
        if move.name == "open":
            return self._open(instance, move.argument, state)
        if move.name == "ask":
            state.questions += 1
            text, facts = self.answer_question(instance, move.argument)
            return MoveResult(text, facts, to_user=True, source="user")
        return self._explain(f"`{move.argument}:` needs something after it")

    def _search(self, instance: Instance, query: str, state: SearchState) -> MoveResult:
        supporting = instance.data["supporting"]
        missing = next((i for i, doc in enumerate(supporting) if doc not in state.found), None)
        hits = self.engine.search(query, self.top_k)
        ids = [hit.id for hit in hits]
        found = [doc for doc in ids if doc in supporting]
        state.searches.append({"query": query, "results": ids, "found": found, "missing": missing})
        self._mark_found(state, found)
        shown = _shorten(" ".join(query.split()))
        if hits:
            lines = [f"Search {len(state.searches)}: results for \"{shown}\""]
            lines += [f"{rank}. [{hit.id}] {hit.title}: {hit.snippet}" for rank, hit in enumerate(hits, 1)]
            lines.append("Open a document with open: <id>, search again, or answer.")
        else:
            lines = [f"Search {len(state.searches)}: no document matches \"{shown}\". Try other words."]
        details = {"query": query[:1000], "results": ids, "supporting_found": found, "searches": len(state.searches)}
        return MoveResult("\n".join(lines), details, cost=self.search_cost)

    def _open(self, instance: Instance, doc_id: str, state: SearchState) -> MoveResult:
        key = doc_id.strip().strip("[]()<>\"'`").strip()
        doc = self.engine.get(key) or self._by_lower_id().get(key.lower())
        if doc is None:
            return self._explain(f"there is no document with id \"{_shorten(key)}\"; use an id from your search "
                                 "results")
        state.opened.append(doc.id)
        supporting = doc.id in instance.data["supporting"]
        if supporting:
            self._mark_found(state, [doc.id])
        return MoveResult(f"[{doc.id}] {doc.title}\n{doc.text}", {"doc_id": doc.id, "supporting": supporting})

    def _explain(self, problem: str) -> MoveResult:
        text = f"I could not read that: {problem}.\n{protocol(self.engine.documents[0].id)}"
        return MoveResult(text, {"error": problem})

    def _by_lower_id(self) -> dict[str, Document]:
        lowered = getattr(self, "_lowered_ids", None)
        if lowered is None:
            lowered = self._lowered_ids = {doc.id.lower(): doc for doc in reversed(self.engine.documents)}
        return lowered

    @staticmethod
    def _mark_found(state: SearchState, ids: list[str]) -> None:
        state.found.extend(doc for doc in ids if doc not in state.found)

    # --- the verdict ---------------------------------------------------------------------------
    def check(self, instance: Instance, reply: str) -> Verdict:
        return self.check_episode(instance, reply, SearchState())

    def check_episode(self, instance: Instance, reply: str, state: SearchState) -> Verdict:
        data = instance.data
        answer = answer_of(reply)
        references = [instance.reference, *data["aliases"]]
        form_error = None
        if answer is None:
            form_error = NO_ACTION
        elif not answer:
            form_error = "the answer after `answer:` is empty; write it on the same line"
        correct = bool(answer) and any(exact_match(answer, ref) for ref in references)
        score = 1.0 if correct else max((token_f1(answer, ref) for ref in references), default=0.0) if answer else 0.0
        remarks: tuple[tuple[int, str], ...] = ()
        if answer and not correct:
            remarks = tuple((2, text) for text in self.remarks(instance, answer) if not _holds(text, references))
        return Verdict(
            correct=correct,
            score=score,
            answer=answer,
            reference=instance.reference,
            steps=tuple(self._query_check(i, search, data) for i, search in enumerate(state.searches)),
            form_error=form_error,
            expected_steps=tuple(f"find {doc}" + (f" ({need})" if need else "")
                                 for doc, need in zip(data["hop_docs"], data["hop_needs"], strict=True)),
            solution="\n".join([*(f"{n}. {fact} ({doc_id})" for n, (fact, doc_id)
                                  in enumerate(zip(data["facts"], data["supporting"], strict=True), 1)),
                                f"Answer: {instance.reference}"]),
            diagnostics=() if correct else (self._missing_hop(data, state),),
            unit="query",
            remarks=remarks,
        )

    @staticmethod
    def _query_check(index: int, search: dict[str, Any], data: dict[str, Any]) -> StepCheck:
        if search["found"]:
            return StepCheck(index, search["query"], True, message="its results include a supporting document")
        missing = search["missing"]
        expected = None if missing is None else f"a better query would have found {data['hop_docs'][missing]}"
        return StepCheck(index, search["query"], False, expected=expected,
                         message="none of its results is a supporting document")

    @staticmethod
    def _missing_hop(data: dict[str, Any], state: SearchState) -> str:
        supporting = data["supporting"]
        total = len(supporting)
        missing = next((i for i, doc in enumerate(supporting) if doc not in state.found), None)
        if missing is None:
            return (f"you found every supporting document ({total} of {total}); read them again, "
                    "the answer is stated in them")
        need = data["hop_needs"][missing]
        what = (f"the {ordinal(missing)} of {total} hops ({need})" if need
                else f"the {ordinal(missing)} of {total} supporting documents")
        return f"you have not found {what} yet: it is in {data['hop_docs'][missing]}"


def _holds(text: str, references: list[str]) -> bool:
    """Whether ``text`` contains any reference as a whole-word run (after normalisation)."""
    normal = f" {normalize_answer(text)} "
    return any(f" {ref} " in normal for ref in (normalize_answer(r) for r in references) if ref)


def _shorten(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


"""``fbenv/SearchFile-v0``: your own corpus and questions (HotpotQA's layout), with the search family's moves.

Two JSONL files:

* ``corpus``: one document per line, ``{"id", "title", "text"}`` (``_id`` for ``id`` and a list of
  sentences for ``text`` are understood, as HotpotQA and BEIR write them);
* ``questions``: one question per line, ``{"id", "question", "answer", "supporting_ids": [...]}``,
  or HotpotQA's ``supporting_facts: [[title, sentence index], ...]`` resolved by title; optional
  ``aliases``, further accepted answers.

Without them the team-written fixture in ``fbenv/data`` is used (16 documents, 8 questions of one to
three hops). Every error names the file, the line and the fix.
"""

from __future__ import annotations

from typing import Any

from fbenv.tasks.base import Instance
from fbenv.tasks.jsonl import read_problem_file, records
from fbenv.tasks.search_actions import protocol
from fbenv.tasks.search_base import SearchTaskBase, shared_engine
from fbenv.tools.search_engine import Document, corpus_hash, parse_corpus

CORPUS_FIXTURE = "search_corpus.jsonl"
QUESTIONS_FIXTURE = "search_questions.jsonl"


class SearchFileTask(SearchTaskBase):
    """Questions over a corpus read from JSONL files.

    Args:
        corpus: the corpus JSONL; None (with ``questions=None``) for the fixture.
        questions: the questions JSONL.
        top_k, search_cost, retrieval, cache_dir: see :class:`~fbenv.tasks.search_base.SearchTaskBase`.
    """

    def __init__(self, corpus: str | None = None, questions: str | None = None, top_k: int = 5,
                 search_cost: float = 0.0, retrieval: str = "bm25", cache_dir: str | None = None) -> None:
        super().__init__(top_k=top_k, search_cost=search_cost, retrieval=retrieval, cache_dir=cache_dir)
        if (corpus is None) != (questions is None):
            raise ValueError("give both corpus= and questions= (JSONL paths), or neither for the built-in fixture")
        corpus_text, corpus_label = read_problem_file(corpus, CORPUS_FIXTURE, "SearchFile corpus")
        documents = parse_corpus(corpus_text, corpus_label)
        questions_text, questions_label = read_problem_file(questions, QUESTIONS_FIXTURE, "SearchFile questions")
        self.questions = parse_questions(questions_text, questions_label, documents)
        self.engine = shared_engine(("file", corpus_hash(documents)), lambda: documents, retrieval, cache_dir)
        self._titles = {doc.id: doc.title for doc in documents}
        self._label = corpus_label
        self._protocol = protocol(documents[0].id)

    @property
    def name(self) -> str:
        return "search_file"

    def __len__(self) -> int:
        return len(self.questions)

    def instance(self, index: int) -> Instance:
        item = self.questions[index]
        supporting = item["supporting"]
        data: dict[str, Any] = {
            "question": item["question"],
            "supporting": supporting,
            "aliases": item["aliases"],
            "hop_docs": [f"the document \"{self._titles[doc] or doc}\" ({doc})" for doc in supporting],
            "hop_needs": ["" for _ in supporting],
            "facts": [f"Read the document \"{self._titles[doc] or doc}\"." for doc in supporting],
        }
        prompt = (f"Question: {item['question']}\n\nFind the answer by searching a corpus of "
                  f"{len(self.engine.documents)} documents. You may ask me about the question.\n{self._protocol}")
        return Instance(task_id=f"search_file/{item['id']}", index=index, prompt=prompt, reference=item["answer"],
                        oracle_action=f"answer: {item['answer']}", data=data)


def parse_questions(text: str, label: str, documents: list[Document]) -> list[dict[str, Any]]:
    """Questions from JSONL text; supporting documents must exist in ``documents``."""
    ids = {doc.id for doc in documents}
    by_title: dict[str, list[str]] = {}
    for doc in documents:
        by_title.setdefault(doc.title, []).append(doc.id)
    questions: list[dict[str, Any]] = []
    for where, record in records(text, label, "'question', 'answer' and 'supporting_ids'"):
        question, answer = record.get("question"), record.get("answer")
        if isinstance(answer, (int, float)) and not isinstance(answer, bool):
            answer = str(answer)
        if not isinstance(question, str) or not question.strip():
            raise ValueError(f"{where}: missing a non-empty string 'question'")
        if not isinstance(answer, str) or not answer.strip():
            raise ValueError(f"{where}: missing a non-empty 'answer' (a string or a number)")
        aliases = record.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
            raise ValueError(f"{where}: 'aliases' must be a list of non-empty strings")
        supporting = _supporting(record, where, ids, by_title)
        questions.append({"id": str(record.get("id", record.get("_id", len(questions)))),
                          "question": question.strip(), "answer": answer.strip(),
                          "aliases": [a.strip() for a in aliases], "supporting": supporting})
    if not questions:
        raise ValueError(f"{label} holds no questions; give one JSON object per line")
    return questions


def _supporting(record: dict[str, Any], where: str, ids: set[str], by_title: dict[str, list[str]]) -> list[str]:
    """The supporting document ids of a question: ``supporting_ids``, or HotpotQA's ``supporting_facts`` titles."""
    if "supporting_ids" in record:
        supporting = record["supporting_ids"]
        if not isinstance(supporting, list) or not supporting or not all(isinstance(s, str) for s in supporting):
            raise ValueError(f"{where}: 'supporting_ids' must be a non-empty list of document ids")
        unknown = [s for s in supporting if s not in ids]
        if unknown:
            raise ValueError(f"{where}: supporting id(s) {', '.join(map(repr, unknown))} are not in the corpus; "
                             "use the 'id' of a corpus document")
        return list(dict.fromkeys(supporting))
    facts = record.get("supporting_facts")
    if not isinstance(facts, list) or not facts:
        raise ValueError(f"{where}: give 'supporting_ids' (document ids) or HotpotQA's 'supporting_facts' "
                         "([[title, sentence index], ...])")
    supporting = []
    for fact in facts:
        title = fact[0] if isinstance(fact, list) and fact and isinstance(fact[0], str) else None
        if title is None:
            raise ValueError(f"{where}: each supporting fact must be [title, sentence index], got {fact!r}")
        matches = by_title.get(title, [])
        if len(matches) != 1:
            problem = "no document has" if not matches else "several documents have"
            raise ValueError(f"{where}: {problem} the title {title!r}; use 'supporting_ids' with document ids instead")
        supporting.append(matches[0])
    return list(dict.fromkeys(supporting))


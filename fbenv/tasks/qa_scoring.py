"""Scoring short free-text answers the way SQuAD and HotpotQA do: normalised exact match and token F1.

Normalisation lowercases, drops punctuation and the articles *a*, *an*, *the*, and collapses
whitespace, so "The Kelbridge Labs." matches "kelbridge labs". F1 is over the normalised tokens
(a bag of words, as SQuAD's official script computes it). Both are pure and linear in their input.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

_ARTICLES = re.compile(r"\b(?:a|an|the)\b")
_SPACES = re.compile(r"\s+")


def normalize_answer(text: str) -> str:
    """Lowercase, strip punctuation and articles, collapse whitespace (SQuAD's ``normalize_answer``)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(" " if unicodedata.category(ch).startswith(("P", "S", "C")) else ch for ch in text)
    return _SPACES.sub(" ", _ARTICLES.sub(" ", text)).strip()


def exact_match(prediction: str, reference: str) -> bool:
    """Whether the two answers are equal after :func:`normalize_answer`."""
    return normalize_answer(prediction) == normalize_answer(reference)


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD's token F1 of the normalised answers, in [0, 1]."""
    predicted = normalize_answer(prediction).split()
    expected = normalize_answer(reference).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)

"""Scripted agents for the search family's tests: they read documents with the generator's own wording."""

from __future__ import annotations

import re

import gymnasium as gym

from fbenv.tasks.knowledge_base import RELATIONS


def read_fact(text: str, subject: str, relation: str) -> str | None:
    """What a document's text says the ``relation`` of ``subject`` is, read with the sentence's own wording."""
    template = re.escape(RELATIONS[relation].sentence).replace(re.escape("{s}"), re.escape(subject))
    match = re.search(template.replace(re.escape("{o}"), r"(.+?)") + "(?: |$)", text)
    return match.group(1) if match else None


def oracle_episode(env: gym.Env, seed: int) -> dict:
    """Open each supporting document in turn, read the hop's fact from the observation, answer the last one.

    The agent is told only the supporting ids and the relations of the question; the facts come
    from the documents the env shows it, so success means the documents really answer the question.
    """
    env.reset(seed=seed)
    data = env.unwrapped.instance.data
    value = None
    for doc_id, hop in zip(data["supporting"], data["chain"], strict=True):
        obs, reward, terminated, truncated, info = env.step(f"open: {doc_id}")
        header, _, body = obs.partition("\n")
        title = header.split("] ", 1)[1]
        value = read_fact(body, title, hop.relation)
        assert info["verdict"] is None and value is not None, obs
    obs, reward, terminated, truncated, info = env.step(f"answer: {value}")
    return info

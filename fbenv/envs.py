"""Every Gymnasium id fbenv registers, grouped by family.

Entry points are strings and kwargs are names, so ``env.spec.to_json()`` round-trips. Adding an env
is one ``register`` call here; the contract tests in ``tests/test_contract.py`` pick it up.
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

ENTRY_POINT = "fbenv.env:FeedbackEnv"
#: The vector env gym.make_vec builds by default: it judges code and batches LLM feedback concurrently.
VECTOR_ENTRY_POINT = "fbenv.vector:ThreadedVectorEnv"

#: id → (family, the kwargs that pick its task), the single source for registration and listing.
ENVS: dict[str, tuple[str, dict]] = {
    # --- math ---
    "fbenv/Math-v0": ("math", {"task": "arithmetic"}),
    "fbenv/ReasoningGym-v0": ("math", {"task": "reasoning_gym"}),
    "fbenv/MathFile-v0": ("math", {"task": "math_file"}),
    # --- code ---
    "fbenv/HumanEval-v0": ("code", {"task": "humaneval"}),
    "fbenv/CodeFile-v0": ("code", {"task": "code_file"}),
    # --- conversation: the user is the environment (asking takes turns, so episodes are longer) ---
    "fbenv/Recommend-v0": ("conversation", {"task": "recommend", "max_turns": 15}),
    "fbenv/Clarify-v0": ("conversation", {"task": "clarify", "max_turns": 15}),
    "fbenv/Teach-v0": ("conversation", {"task": "teach", "max_turns": 15}),
    # --- search (more turns: a question of several hops takes a search or an open per hop) ---
    "fbenv/Search-v0": ("search", {"task": "search", "max_turns": 10}),
    "fbenv/SearchAmbiguous-v0": ("search", {"task": "search", "ambiguous": True, "max_turns": 10}),
    "fbenv/SearchFile-v0": ("search", {"task": "search_file", "max_turns": 10}),
}


def register_all() -> None:
    """Register every id (idempotent, so re-importing fbenv is harmless).

    ``gym.make`` adds no order-enforcing or passive-checker wrapper: FeedbackEnv raises its own
    clear errors for a step before reset or after the end, and every id passes the full
    ``check_env`` in the contract tests, so the per-call wrappers would only add cost to every step.
    """
    for env_id, (_family, kwargs) in ENVS.items():
        if env_id not in registry:
            register(id=env_id, entry_point=ENTRY_POINT, kwargs=dict(kwargs), order_enforce=False,
                     disable_env_checker=True, vector_entry_point=VECTOR_ENTRY_POINT)

"""Every Gymnasium id fbenv registers, grouped by family.

Entry points are strings and kwargs are names, so ``env.spec.to_json()`` round-trips. Adding an env
is one ``register`` call here; the contract tests in ``tests/test_contract.py`` pick it up.
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

ENTRY_POINT = "fbenv.env:FeedbackEnv"

#: id → (family, the kwargs that pick its task), the single source for registration and listing.
ENVS: dict[str, tuple[str, dict]] = {
    # --- math ---
    "fbenv/Math-v0": ("math", {"task": "arithmetic"}),
    "fbenv/ReasoningGym-v0": ("math", {"task": "reasoning_gym"}),
    "fbenv/MathFile-v0": ("math", {"task": "math_file"}),
}


def register_all() -> None:
    """Register every id (idempotent, so re-importing fbenv is harmless)."""
    for env_id, (_family, kwargs) in ENVS.items():
        if env_id not in registry:
            register(id=env_id, entry_point=ENTRY_POINT, kwargs=dict(kwargs))

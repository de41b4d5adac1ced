"""fbenv: Gymnasium feedback environments for language agents.

``import fbenv`` registers the ``fbenv/...`` ids; then ``gym.make("fbenv/Math-v0", feedback="text")``.
The import stays light: torch, transformers, vLLM, Ray, reasoning-gym and math-verify are imported
only by the code that needs them.
"""

from fbenv.envs import ENVS, register_all
from fbenv.feedback import KINDS, Feedback, StepCheck, Verdict

register_all()

from fbenv.env import FeedbackEnv  # noqa: E402  (after registration on purpose: ids first)
from fbenv.spaces import UnicodeText  # noqa: E402

__version__ = "0.1.0"

__all__ = ["ENVS", "KINDS", "Feedback", "FeedbackEnv", "StepCheck", "UnicodeText", "Verdict", "__version__"]

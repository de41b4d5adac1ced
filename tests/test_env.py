"""FeedbackEnv's turn protocol: what a step returns, when episodes end, how rewards are formed."""

from __future__ import annotations

import gymnasium as gym
import pytest

import fbenv  # noqa: F401
from fbenv.env import FeedbackEnv
from fbenv.feedback import Feedback, Verdict
from fbenv.simulators.base import Simulator
from fbenv.tasks.arithmetic import ArithmeticTask

WRONG = "Answer: -987654321"


def math_env(**kwargs) -> gym.Env:
    return gym.make("fbenv/Math-v0", **kwargs)


def test_the_readme_example_runs() -> None:
    env = gym.make("fbenv/Math-v0", feedback="text", max_turns=5)
    obs, info = env.reset(seed=0)
    assert "Answer:" in obs and info["turn"] == 0 and info["task_id"].startswith("arithmetic/")
    obs, reward, terminated, truncated, info = env.step("3 * 4 = 12\n12 + 5 = 17\nAnswer: 17")
    assert isinstance(obs, str) and isinstance(reward, float)
    assert set(info) >= {"feedback", "verdict", "turn", "task_id", "messages"}
    assert isinstance(info["feedback"], Feedback) and isinstance(info["verdict"], Verdict)


def test_wrong_answers_continue_with_feedback_then_truncate_at_max_turns() -> None:
    env = math_env(feedback="binary", max_turns=3)
    prompt, _ = env.reset(seed=4)
    for turn in (1, 2, 3):
        obs, reward, terminated, truncated, info = env.step(WRONG)
        assert obs == "Incorrect." and reward == 0.0 and not terminated
        assert info["turn"] == turn
        assert truncated == (turn == 3)
    roles = [m["role"] for m in info["messages"]]
    assert roles == ["user"] + ["assistant", "user"] * 3
    assert info["messages"][0]["content"] == prompt
    assert [m["content"] for m in info["messages"][1::2]] == [WRONG] * 3


def test_solving_on_a_later_turn_terminates() -> None:
    env = math_env(feedback="unary", max_turns=5)
    env.reset(seed=5)
    obs, *_ = env.step(WRONG)
    assert obs == "Let's try again."
    obs, reward, terminated, truncated, info = env.step(env.unwrapped.instance.oracle_action)
    assert terminated and not truncated and reward == 1.0 and info["turn"] == 2


def test_step_after_the_episode_ended_raises_a_clear_error() -> None:
    env = FeedbackEnv(feedback="binary", max_turns=1)
    with pytest.raises(RuntimeError, match="reset"):
        env.step("Answer: 1")
    env.reset(seed=0)
    env.step(WRONG)
    with pytest.raises(RuntimeError, match="episode is over.*reset"):
        env.step(WRONG)
    env.reset(seed=0)
    env.step(env.instance.oracle_action)
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step("Answer: 1")


def test_made_envs_enforce_reset_before_step_themselves() -> None:
    env = math_env()
    assert env.unwrapped is env  # no wrappers: the env does its own checks
    with pytest.raises(RuntimeError, match=r"call reset\(\) before step\(\)"):
        env.step("Answer: 1")


@pytest.mark.parametrize("action", [b"Answer: 1", 17, None, ["Answer: 1"]])
def test_non_str_actions_raise_type_error_naming_str(action) -> None:
    env = FeedbackEnv()
    env.reset(seed=0)
    with pytest.raises(TypeError, match="expects the agent's reply as a str"):
        env.step(action)
    env.step(WRONG)  # the env is still usable afterwards


def test_reward_follows_the_feedback_by_default_and_the_verdict_on_request() -> None:
    # An always-approving simulator: the feedback the agent sees is wrong on purpose.
    approving = f"{__name__}:AlwaysApprove"
    env = FeedbackEnv(feedback="binary", simulator=approving)
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(WRONG)
    assert reward == 1.0 and info["feedback"].label is True
    assert not info["verdict"].correct and not terminated  # ground truth still rules the episode
    env = FeedbackEnv(feedback="binary", simulator=approving, reward_from="verdict")
    env.reset(seed=0)
    _, reward, *_ = env.step(WRONG)
    assert reward == 0.0


class AlwaysApprove(Simulator):
    """A deliberately misleading binary critic used by the reward tests."""

    name = "always-approve"
    kinds = ("binary",)

    def respond(self, instance, transcript, verdict, rng) -> Feedback:
        return self.make_feedback("Correct.", True)


def test_no_feedback_rewards_fall_back_to_the_verdict() -> None:
    env = FeedbackEnv(feedback="none")
    env.reset(seed=0)
    obs, reward, *_ = env.step(WRONG)
    assert obs == "" and reward == 0.0
    _, reward, terminated, *_ = env.step(env.instance.oracle_action)
    assert reward == 1.0 and terminated


def test_turn_discount_gives_ufo_schedule() -> None:
    for solve_at in (1, 2, 3):
        env = FeedbackEnv(feedback="unary", turn_discount=0.5, max_turns=5)
        env.reset(seed=11)
        for _ in range(solve_at - 1):
            env.step(f"Answer: {-10**9 - _}")
        _, reward, terminated, *_ = env.step(env.instance.oracle_action)
        assert terminated and reward == pytest.approx(0.5 ** (solve_at - 1))


def test_repeat_penalty_applies_to_repeated_final_answers_only() -> None:
    env = FeedbackEnv(feedback="binary", repeat_penalty=0.25, max_turns=5)
    env.reset(seed=0)
    _, r1, *_, i1 = env.step("Answer: 5")
    _, r2, *_, i2 = env.step("some other working\nAnswer:   5 ")
    _, r3, *_, i3 = env.step("Answer: 6")
    assert (i1["repeated"], i2["repeated"], i3["repeated"]) == (False, True, False)
    assert (r1, r2, r3) == (0.0, -0.25, 0.0)


def test_a_repeat_of_the_first_answer_is_found_whatever_its_spacing_and_case() -> None:
    env = FeedbackEnv(feedback="binary", max_turns=5)
    env.reset(seed=0)
    infos = [env.step(reply)[-1] for reply in ("No  idea\tAT ALL", "no idea at all", "NO IDEA at  all", "maybe 3")]
    assert [info["repeated"] for info in infos] == [False, True, True, False]


def test_task_index_option_pins_the_instance_and_bad_options_fail() -> None:
    env = math_env()
    _, a = env.reset(seed=1, options={"task_index": 42})
    _, b = env.reset(seed=2, options={"task_index": 42})
    assert a["task_id"] == b["task_id"] and a["task_id"].endswith("/42")
    with pytest.raises(ValueError, match="task_index"):
        env.reset(options={"task_index": -1})
    with pytest.raises(ValueError, match="unknown reset option"):
        env.reset(options={"difficulty": 3})


def test_ansi_render_shows_the_transcript() -> None:
    env = math_env(render_mode="ansi", feedback="binary")
    prompt, _ = env.reset(seed=0)
    env.step(WRONG)
    text = env.render()
    assert prompt in text and WRONG in text and "Incorrect." in text


def test_long_feedback_is_truncated_to_the_observation_space() -> None:
    env = FeedbackEnv(feedback="text", simulator=f"{__name__}:Verbose", max_observation_length=300)
    env.reset(seed=0)
    obs, *_ = env.step(WRONG)
    assert env.observation_space.contains(obs) and obs.endswith("[... feedback truncated]")


class Verbose(Simulator):
    """A critic that talks far too much."""

    name = "verbose"
    kinds = ("text",)

    def respond(self, instance, transcript, verdict, rng) -> Feedback:
        return self.make_feedback("no. " * 10_000, verdict.correct)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"feedback": "loud"}, "unknown feedback kind 'loud'"),
        ({"feedback": "implicit"}, "not 'implicit'; implicit feedback is a user's next message, so it needs a "
                                   "conversation task"),
        ({"difficulty": 9}, "difficulty must be one of"),
        ({"difficulty": "hard"}, "difficulty must be one of"),
        ({"problems": "geometry"}, "problems must be one of"),
        ({"colour": "red"}, "colour"),
        ({"max_turns": 0}, "max_turns must be an int >= 1"),
        ({"turn_discount": 0}, "turn_discount"),
        ({"repeat_penalty": -1}, "repeat_penalty"),
        ({"reward_from": "vibes"}, "reward_from"),
        ({"simulator": "nobody"}, "unknown simulator 'nobody'; known: critic"),
        ({"simulator": "outcome", "feedback": "text"}, "gives binary feedback, not 'text'"),
        ({"hint_level": 7}, "hint_level must be one of"),
        ({"hint_level": 2, "feedback": "binary"}, "hint_level applies to feedback='text'"),
        ({"simulator": "fbenv.nothing:Here"}, "cannot import module 'fbenv.nothing'"),
        ({"simulator_kwargs": {"tone": "rude"}}, "bad simulator_kwargs"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
@pytest.mark.filterwarnings("ignore:.*not in the possible render_modes")
def test_invalid_kwargs_raise_value_errors_naming_the_bad_value(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        math_env(**kwargs)


def test_unary_pool_phrasing_is_seeded() -> None:
    def nudges(seed: int) -> list[str]:
        env = math_env(feedback="unary", simulator_kwargs={"phrasing": "pool"}, max_turns=6)
        env.reset(seed=seed)
        return [env.step(f"Answer: {-i - 10**9}")[0] for i in range(6)]

    assert nudges(3) == nudges(3)
    assert len(set(nudges(3)) | set(nudges(4))) > 1


def test_terminate_on_feedback_lets_a_right_answer_called_wrong_go_on() -> None:
    env = gym.make("fbenv/Math-v0", feedback="text", simulator="misleading-critic", terminate_on="feedback",
                   max_turns=3)
    env.reset(seed=0)
    right = env.unwrapped.instance.oracle_action
    _, _, terminated, truncated, info = env.step(right)
    assert info["verdict"].correct and info["feedback"].label is False
    assert not terminated and not truncated
    _, _, terminated, _, info = env.step("1 + 1 = 3\nAnswer: -987654321")
    assert not info["verdict"].correct and info["feedback"].label is True and terminated
    with pytest.raises(ValueError, match="terminate_on"):
        gym.make("fbenv/Math-v0", terminate_on="label")


class OwnUserTask(ArithmeticTask):
    """A task that names its own simulator, as conversation tasks name their persona user."""

    default_simulator = "outcome"


def test_a_tasks_default_simulator_wins_for_the_kinds_it_gives_and_simulator_overrides_it() -> None:
    own = FeedbackEnv(task=OwnUserTask(), feedback="binary")
    assert type(own.simulator).__name__ == "Outcome"
    assert FeedbackEnv(task=OwnUserTask(), feedback="text").simulator.name == "critic"  # outcome gives no text
    assert FeedbackEnv(task=OwnUserTask(), feedback="binary", simulator="judge").simulator.name == "judge"
    assert FeedbackEnv(task="arithmetic", feedback="binary").simulator.name == "outcome"

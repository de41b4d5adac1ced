"""The ``fbenv`` command: see what is registered, or play an episode yourself in the terminal.

::

    fbenv list                      # envs, simulators and feedback kinds, as tables
    fbenv list --json               # the same, as JSON
    fbenv play fbenv/Math-v0 --feedback text --seed 0
    fbenv play Math-v0 --feedback binary --set difficulty=3 --max-turns 3

In ``play`` you are the agent: the prompt is printed, you type a reply (it may span several lines
and ends at an empty line), and the env's feedback, reward and turn are printed back until the
episode ends. End of input (Ctrl-D) with no reply stops the game. Standard library only, besides
fbenv and gymnasium.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import gymnasium as gym

import fbenv
from fbenv.feedback import KIND_DESCRIPTIONS, KINDS, Verdict
from fbenv.simulators import DEFAULTS, SIMULATORS, get_simulator
from fbenv.tasks import get_task

PROG = "fbenv"
#: Exit code for a bad request (unknown id, bad kwargs): argparse's usage-error code.
EXIT_USAGE = 2
#: Exit code after Ctrl-C, as shells report SIGINT.
EXIT_INTERRUPTED = 130
_ENV_ERRORS = (ValueError, TypeError, gym.error.Error)


class CLIError(Exception):
    """A problem with what the user asked for; ``main`` prints it as one line and exits with 2."""


# --- fbenv list --------------------------------------------------------------------------------
def listing() -> dict[str, list[dict[str, Any]]]:
    """Every registered env, simulator and feedback kind, as JSON-able data (what ``list`` prints)."""
    envs = []
    for env_id, (family, kwargs) in fbenv.ENVS.items():
        entry: dict[str, Any] = {"id": env_id, "family": family}
        try:
            entry["feedback_kinds"] = list(env_feedback_kinds(env_id, kwargs))
        except (*_ENV_ERRORS, ImportError) as error:
            entry["feedback_kinds"] = []
            entry["error"] = _one_line(error)
        envs.append(entry)
    simulators = [
        {
            "name": name,
            "kinds": list(getattr(get_simulator(name), "kinds", ())),
            "default_for": [kind for kind, default in DEFAULTS.items() if default == name],
        }
        for name in SIMULATORS
    ]
    kinds = [{"kind": kind, "description": KIND_DESCRIPTIONS.get(kind, "")} for kind in KINDS]
    return {"envs": envs, "simulators": simulators, "feedback_kinds": kinds}


def env_feedback_kinds(env_id: str, kwargs: dict[str, Any]) -> tuple[str, ...]:
    """The feedback kinds an env supports (its ``metadata["feedback_kinds"]``).

    Read from the task class when the registration names a task, which imports only the task's
    module (reasoning-gym and the like are imported when a task is *built*); otherwise the env is
    built with ``gym.make`` and asked.
    """
    task = kwargs.get("task")
    if isinstance(task, str):
        kinds = getattr(get_task(task), "feedback_kinds", None)
        if isinstance(kinds, (tuple, list)):
            return tuple(kinds)
    env = gym.make(env_id)
    try:
        return tuple(env.unwrapped.metadata.get("feedback_kinds", ()))
    finally:
        env.close()


def format_listing(data: dict[str, list[dict[str, Any]]]) -> str:
    """The listing as three plain-text tables."""
    env_rows = [
        [env["id"], env["family"], ", ".join(env["feedback_kinds"]) or f"(unavailable: {env.get('error', '?')})"]
        for env in data["envs"]
    ]
    simulator_rows = [
        [sim["name"], ", ".join(sim["kinds"]), ", ".join(sim["default_for"]) or "-"] for sim in data["simulators"]
    ]
    kind_rows = [[kind["kind"], kind["description"]] for kind in data["feedback_kinds"]]
    return "\n\n".join(
        [
            "Environments\n" + _table(["ID", "FAMILY", "FEEDBACK KINDS"], env_rows),
            "Simulators (simulator=NAME; the default is used when none is named)\n"
            + _table(["NAME", "GIVES", "DEFAULT FOR"], simulator_rows),
            "Feedback kinds (feedback=KIND)\n" + _table(["KIND", "DESCRIPTION"], kind_rows),
        ]
    )


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns two spaces apart, indented; the last column is not padded."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = []
    for row in [headers, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row[:-1], widths, strict=False)] + [str(row[-1])]
        lines.append("  " + "  ".join(cells))
    return "\n".join(lines)


def run_list(args: argparse.Namespace) -> int:
    """``fbenv list``: print the listing as tables, or as JSON with ``--json``."""
    data = listing()
    print(json.dumps(data, indent=2) if args.json else format_listing(data))
    return 0


# --- fbenv play --------------------------------------------------------------------------------
def resolve_env_id(name: str) -> str:
    """The registered fbenv id for ``name``; the ``fbenv/`` namespace may be left out."""
    for candidate in (name, f"fbenv/{name}"):
        if candidate in fbenv.ENVS:
            return candidate
    raise CLIError(f"unknown env id {name!r}; known ids: {', '.join(fbenv.ENVS)} (see `fbenv list`)")


def parse_setting(text: str) -> tuple[str, Any]:
    """Parse one ``--set key=value``: the value as JSON when it parses (3, true, [1, 2]), else a string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key, value


def env_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The ``gym.make`` kwargs from ``--set`` and the named options (which must not both set a key)."""
    kwargs = dict(args.settings)
    named = {
        "feedback": args.feedback,
        "simulator": args.simulator,
        "max_turns": args.max_turns,
        "hint_level": args.hint_level,
    }
    for key, value in named.items():
        if value is None:
            continue
        if key in kwargs:
            raise CLIError(f"{key} is given twice: as --{key.replace('_', '-')} and with --set")
        kwargs[key] = value
    return kwargs


CODE_END = "."


def read_reply(stream: TextIO, end: str | None = None) -> str | None:
    """Read one reply: lines up to an empty line (or, with ``end``, a line that is just ``end``,
    so code can hold blank lines) or end of input; None at end of input with no reply.

    Blank lines before the reply starts are skipped, so an accidental Enter does not send "".
    """
    lines: list[str] = []
    for line in iter(stream.readline, ""):
        text = line.rstrip("\r\n")
        if end is not None and text.strip() == end:
            break
        if text.strip() or (end is not None and lines):
            lines.append(text)
        elif lines:
            break
    return "\n".join(lines) if lines else None


def run_play(args: argparse.Namespace) -> int:
    """``fbenv play``: one episode with a person as the agent, on stdin/stdout."""
    env_id = resolve_env_id(args.id)
    kwargs = env_kwargs(args)
    try:
        env = gym.make(env_id, **kwargs)
    except _ENV_ERRORS as error:
        raise CLIError(f"cannot make {env_id}: {_one_line(error)}") from error
    try:
        return play_episode(env, env_id, seed=args.seed, task_index=args.task_index)
    finally:
        env.close()


def play_episode(env: gym.Env, env_id: str, *, seed: int | None, task_index: int | None) -> int:
    """Reset ``env``, then alternate reply and feedback until it ends; print the outcome."""
    options = {"task_index": task_index} if task_index is not None else None
    try:
        prompt, info = env.reset(seed=seed, options=options)
    except _ENV_ERRORS as error:
        raise CLIError(f"cannot reset {env_id}: {_one_line(error)}") from error
    base = env.unwrapped
    max_turns = getattr(base, "max_turns", None)
    simulator = getattr(base, "simulator", None)
    simulator_name = getattr(simulator, "name", "") or type(simulator).__name__
    print(f"{env_id} | task {info['task_id']} | feedback {getattr(base, 'feedback_kind', '?')} ({simulator_name})")
    _heading("prompt")
    print(prompt)

    turn, verdict, stopped = 0, None, False
    terminated = truncated = False
    end = CODE_END if env.metadata.get("family") == "code" else None  # code has blank lines in it
    how = f"end it with a line holding just {end!r}" if end else "end it with an empty line"
    while not (terminated or truncated):
        print(f"\nYour reply for turn {turn + 1}{_of(max_turns)} ({how}; Ctrl-D to quit):")
        sys.stdout.flush()
        reply = read_reply(sys.stdin, end)
        if reply is None:
            stopped = True
            break
        if not sys.stdin.isatty():  # piped input is not echoed by a terminal: show it, for a full transcript
            print(textwrap.indent(reply, "> "))
        feedback, reward, terminated, truncated, info = env.step(reply)
        turn, verdict = info["turn"], info.get("verdict")
        _heading(f"feedback | turn {turn}{_of(max_turns)} | reward {round(reward, 4)}")
        print(feedback if feedback else "(no feedback: this kind says nothing)")

    instance = getattr(base, "instance", None)
    print_outcome(
        verdict,
        turn=turn,
        max_turns=max_turns,
        terminated=terminated,
        stopped=stopped,
        reference=getattr(instance, "reference", None),
    )
    return 0


def print_outcome(
    verdict: Verdict | None,
    *,
    turn: int,
    max_turns: int | None,
    terminated: bool,
    stopped: bool,
    reference: str | None,
) -> None:
    """Say how the episode ended and show the ground truth (the last verdict's reference answer)."""
    _heading("outcome")
    solved = verdict is not None and verdict.correct
    turns = f"{turn} turn{'s' if turn != 1 else ''}"
    if solved:
        print(f"Solved on turn {turn}{_of(max_turns)}.")
    elif stopped:
        print(f"Not solved: you stopped after {turns}.")
    elif terminated:
        print(f"Not solved: the simulator ended the episode after {turns}.")
    else:
        print(f"Not solved: out of turns after {turns}.")
    if verdict is not None:
        reference = verdict.reference
    if reference is not None:
        print(f"Reference answer: {reference}")
    if verdict is not None and not solved:
        print(f"Your last answer: {verdict.answer if verdict.answer is not None else '(no final answer found)'}")
        if verdict.solution:
            print(f"Worked solution:\n{verdict.solution}")


def _of(max_turns: int | None) -> str:
    return f" of {max_turns}" if max_turns is not None else ""


def _heading(title: str) -> None:
    print(f"\n--- {title} ---")


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


# --- the parser and main -----------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The ``fbenv`` parser: ``list``, ``play``, ``annotate``, ``eval``, ``report`` and ``leaderboard``."""
    parser = argparse.ArgumentParser(prog=PROG, description="Gymnasium feedback environments for language agents.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {fbenv.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    list_parser = commands.add_parser("list", help="list envs, simulators and feedback kinds")
    list_parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    list_parser.set_defaults(run=run_list)

    play_parser = commands.add_parser(
        "play",
        help="play an episode yourself in the terminal",
        description="Play an episode as the agent. A reply may span several lines and ends at an empty "
        "line (for code envs: at a line holding just '.'); end of input (Ctrl-D) with no reply stops the game.",
    )
    play_parser.add_argument("id", metavar="ID", help="an env id from `fbenv list` (the fbenv/ prefix is optional)")
    play_parser.add_argument("--feedback", metavar="KIND", help=f"feedback kind: {', '.join(KINDS)}")
    play_parser.add_argument("--seed", type=int, help="reset seed (picks the instance); random if omitted")
    play_parser.add_argument("--task-index", type=int, metavar="I", help="play instance I instead of a seeded one")
    play_parser.add_argument("--max-turns", type=int, metavar="N", help="replies before the episode is truncated")
    play_parser.add_argument("--hint-level", type=int, metavar="L", help="0-4, how much a text critic reveals")
    play_parser.add_argument("--simulator", metavar="NAME", help="a simulator from `fbenv list`")
    add_settings(play_parser)
    play_parser.set_defaults(run=run_play)

    annotate_parser = commands.add_parser(
        "annotate",
        help="turn agent samples into DPO preference pairs with a simulated annotator",
        description="Read JSONL samples {\"task_index\": I, \"replies\": [...]} for an env, judge every pair of "
        "replies with the task's checker (optionally imperfect: --biases), write TRL-style DPO rows as JSONL.",
    )
    annotate_parser.add_argument("id", metavar="ID", help="the env id the samples were drawn from")
    annotate_parser.add_argument("--samples", required=True, metavar="FILE", help="JSONL of samples ('-' for stdin)")
    annotate_parser.add_argument("--out", required=True, metavar="FILE", help="where to write the DPO JSONL")
    annotate_parser.add_argument("--biases", type=parse_json_object, default={}, metavar="JSON",
                                 help='annotator imperfections, e.g. \'{"flip": 0.25}\' (flip, annotators, position, '
                                 "length)")
    annotate_parser.add_argument("--seed", type=int, default=0, help="seed of the annotator's draws")
    annotate_parser.add_argument("--annotator", default="rule", metavar="SPEC",
                                 help="'rule' (the task's verdicts) or 'llm:<backend>', e.g. llm:hf:/models/judge")
    add_settings(annotate_parser)
    annotate_parser.set_defaults(run=run_annotate)

    eval_parser = commands.add_parser(
        "eval",
        help="evaluate an agent on envs x feedback kinds; resumable results, metrics, table, plot",
        description="Run AGENT on every ENV under every feedback condition (same seeds for every condition), "
        "append each finished episode to OUT/episodes.jsonl (rerunning skips finished episodes), then print the "
        "metrics with bootstrap 95%% intervals and write OUT/summary.json, OUT/summary.md, OUT/success_by_turn.png.",
    )
    eval_parser.add_argument("--env", dest="envs", nargs="+", metavar="ID", help="env ids (or --suite)")
    eval_parser.add_argument("--suite", metavar="NAME", help="a leaderboard suite (BOARD/suites/NAME.json): it fixes "
                             "envs, feedback, episodes, seeds and max turns; bundle the run with `fbenv leaderboard "
                             "bundle`")
    eval_parser.add_argument("--board", metavar="DIR", help="leaderboards directory for --suite (default: "
                             "$FBENV_BOARD, ./leaderboards, or the checkout's)")
    eval_parser.add_argument("--feedback", nargs="+", metavar="KIND",
                             help="feedback kinds, KIND:SIMULATOR (e.g. text:misleading-critic), or all (default)")
    eval_parser.add_argument("--agent", required=True, metavar="SPEC",
                             help="oracle, random, fixed[:TEXT], tiny, hf:PATH, vllm:PATH, openai:MODEL@URL, "
                             "reflexion:<model spec>, or package.module:Class")
    eval_parser.add_argument("--episodes", type=int, metavar="N", help="episodes per env x condition (default 20)")
    eval_parser.add_argument("--seed", type=int, help="first reset seed (episode i uses seed + i; default 0)")
    eval_parser.add_argument("--out", required=True, metavar="DIR", help="results directory (resumed if it exists)")
    eval_parser.add_argument("--max-turns", type=int, metavar="N", help="replies per episode (default 5)")
    eval_parser.add_argument("--concurrency", type=int, default=32, metavar="N", help="envs in flight at once")
    eval_parser.add_argument("--ray", action="store_true", help="run across a Ray cluster (local unless RAY_ADDRESS)")
    eval_parser.add_argument("--ray-workers", type=int, default=2, metavar="N", help="Ray workers")
    eval_parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_settings(eval_parser)
    eval_parser.set_defaults(run=run_eval_command)

    report_parser = commands.add_parser(
        "report", help="recompute metrics, table and plot from a results directory",
        description="Read OUT/episodes.jsonl and recompute every metric; rewrite summary.json, summary.md and the "
        "plot; print the table.")
    report_parser.add_argument("out", metavar="DIR", help="a results directory written by fbenv eval")
    report_parser.set_defaults(run=run_report)

    demo_parser = commands.add_parser(
        "demo", help="train or load the tiny CPU model, evaluate it and the baselines on every family and kind",
        description="The whole loop on a CPU with nothing to download: trains the tiny model on first use (then "
        "loads it), evaluates it and the baselines (random, fixed, oracle) on one env per family under every "
        "feedback kind, prints the table, writes OUT/summary.md, OUT/success_by_turn.png and per-agent results.")
    demo_parser.add_argument("--out", default="fbenv-demo", metavar="DIR",
                             help="results directory (default: %(default)s)")
    demo_parser.add_argument("--episodes", type=int, default=8, metavar="N",
                             help="episodes per env x kind x agent (default: %(default)s)")
    demo_parser.add_argument("--max-turns", type=int, default=3, metavar="N", help="replies per episode")
    demo_parser.add_argument("--model", metavar="DIR", help="where the tiny model is (or is trained to)")
    demo_parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    demo_parser.set_defaults(run=run_demo_command)
    add_leaderboard(commands)
    return parser


# --- fbenv leaderboard -------------------------------------------------------------------------
def add_leaderboard(commands: Any) -> None:
    """The ``leaderboard`` group: ``bundle``, ``verify``, ``submit`` and ``build``."""
    parser = commands.add_parser(
        "leaderboard", help="bundle a suite run, verify bundles by replay, submit them, build the board",
        description="Leaderboards whose numbers anyone can re-check (docs/leaderboard.md).")
    group = parser.add_subparsers(dest="leaderboard_command", metavar="ACTION", required=True)

    def board_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--board", metavar="DIR", help="leaderboards directory (default: $FBENV_BOARD, "
                         "./leaderboards, or the checkout's)")

    bundle = group.add_parser("bundle", help="pack a finished `fbenv eval --suite` run into one bundle file",
                              description="Write the bundle (gzipped JSON) of a finished suite run: fbenv version, "
                              "suite, agent, env specs, seeds, every transcript with verdicts and feedback, metrics.")
    bundle.add_argument("directory", metavar="DIR", help="results directory of `fbenv eval --suite NAME`")
    bundle.add_argument("--out", required=True, metavar="FILE", help="where to write the bundle (.json.gz)")
    bundle.add_argument("--name", metavar="NAME", help="the agent's name on the board (default: the run's)")
    bundle.add_argument("--description", default="", metavar="TEXT", help="a few words about the agent")
    board_option(bundle)
    bundle.set_defaults(run=run_leaderboard_bundle)

    verify = group.add_parser("verify", help="replay bundles in fresh envs and check every number",
                              description="Exit 0 when every bundle verifies, 1 when any is rejected (each mismatch "
                              "is listed with its episode and field).")
    verify.add_argument("bundles", nargs="+", metavar="BUNDLE", help="bundle files")
    board_option(verify)
    verify.set_defaults(run=run_leaderboard_verify)

    submit = group.add_parser("submit", help="verify a bundle and file it under BOARD/submissions/",
                              description="Verify BUNDLE by replay; when it is accepted, copy it to "
                              "BOARD/submissions/ (then run `fbenv leaderboard build`). Exit 1 when rejected.")
    submit.add_argument("bundle", metavar="BUNDLE", help="a bundle file")
    board_option(submit)
    submit.set_defaults(run=run_leaderboard_submit)

    build = group.add_parser("build", help="render BOARD/README.md and BOARD/site/index.html from the submissions")
    board_option(build)
    build.set_defaults(run=run_leaderboard_build)


def _board(args: argparse.Namespace) -> Path:
    from fbenv.leaderboard.suites import SUITES, default_board

    board = Path(args.board) if args.board else default_board()
    if not (board / SUITES).is_dir():
        raise CLIError(f"{board} is not a leaderboards directory (it has no {SUITES}/); pass --board DIR")
    return board


def run_leaderboard_bundle(args: argparse.Namespace) -> int:
    """``fbenv leaderboard bundle``: a finished suite run into one bundle file."""
    from fbenv.leaderboard.bundle import BundleError, make_bundle, write_bundle
    from fbenv.leaderboard.suites import SuiteError

    try:
        bundle = make_bundle(args.directory, _board(args), name=args.name, description=args.description)
        path = write_bundle(bundle, args.out)
    except (BundleError, SuiteError, OSError) as error:
        raise CLIError(_one_line(error)) from error
    print(f"wrote {path}: {len(bundle['episodes'])} episodes of {bundle['agent']['name']!r} on suite "
          f"{bundle['suite']['name']} v{bundle['suite']['version']}; check it with `fbenv leaderboard verify {path}`")
    return 0


def run_leaderboard_verify(args: argparse.Namespace) -> int:
    """``fbenv leaderboard verify``: replay each bundle; 0 when all verify, 1 when any is rejected."""
    from fbenv.leaderboard.replay import verify

    board = _board(args)
    reports = [verify(path, board) for path in args.bundles]
    for report in reports:
        print(report.text())
    return 0 if all(report.ok for report in reports) else 1


def run_leaderboard_submit(args: argparse.Namespace) -> int:
    """``fbenv leaderboard submit``: verify, then file the bundle; 1 when rejected."""
    from fbenv.leaderboard.board import SubmitError, submit

    try:
        target, report = submit(args.bundle, _board(args))
    except SubmitError as error:
        if error.report is None:
            raise CLIError(f"{error}; nothing to do") from error
        print(error.report.text(), file=sys.stderr)
        return 1
    print(report.text())
    print(f"accepted: filed as {target}; now run `fbenv leaderboard build`")
    return 0


def run_leaderboard_build(args: argparse.Namespace) -> int:
    """``fbenv leaderboard build``: the README tables and the HTML page."""
    from fbenv.leaderboard.board import build
    from fbenv.leaderboard.bundle import BundleError

    try:
        paths = build(_board(args))
    except BundleError as error:
        raise CLIError(f"{_one_line(error)}; move that file out of submissions/ or submit it again") from error
    print("wrote " + ", ".join(map(str, paths)))
    return 0


def run_demo_command(args: argparse.Namespace) -> int:
    """``fbenv demo``: the README's first command."""
    from fbenv.eval.demo import DemoConfig, run_demo
    from fbenv.eval.results import ResultsError

    config = DemoConfig(out=args.out, episodes=args.episodes, max_turns=args.max_turns, model=args.model)
    try:
        run_demo(config, progress=not args.no_progress and sys.stderr.isatty())
    except (ResultsError, ImportError, OSError, *_ENV_ERRORS) as error:
        raise CLIError(_one_line(error)) from error
    return 0


def run_eval_command(args: argparse.Namespace) -> int:
    """``fbenv eval``: run or resume an evaluation, then print its table."""
    from fbenv.eval.results import ResultsError
    from fbenv.eval.runner import EvalConfig, print_table, run_eval

    specs = None
    if args.suite:
        config, specs = _suite_config(args)
    elif not args.envs:
        raise CLIError("say what to run: --env ID... or --suite NAME")
    else:
        config = EvalConfig(envs=args.envs, feedback=args.feedback or ["all"], agent=args.agent,
                            episodes=_default(args.episodes, 20), seed=_default(args.seed, 0), out=args.out,
                            max_turns=_default(args.max_turns, 5), env_kwargs=dict(args.settings),
                            concurrency=args.concurrency, ray=args.ray, ray_workers=args.ray_workers)
    try:
        rows = run_eval(config, progress=not args.no_progress and sys.stderr.isatty(), specs=specs)
    except (ResultsError, ImportError, OSError, *_ENV_ERRORS) as error:
        raise CLIError(_one_line(error)) from error
    print_table(rows, title=f"fbenv eval · {args.out}")
    print(f"results: {args.out}/episodes.jsonl · summary: {args.out}/summary.md · plot: {args.out}/success_by_turn.png")
    if args.suite:
        print(f"bundle it for the leaderboard: fbenv leaderboard bundle {args.out} --out {args.out}/bundle.json.gz")
    return 0


def _default(value: Any, default: Any) -> Any:
    return default if value is None else value


def _suite_config(args: argparse.Namespace) -> tuple[Any, list[Any]]:
    """The EvalConfig and episodes of ``--suite``, refusing options the suite fixes."""
    from fbenv.eval.runner import EvalConfig
    from fbenv.leaderboard.suites import SuiteError, load_suite

    given = [flag for flag, value in (("--env", args.envs), ("--feedback", args.feedback),
                                      ("--episodes", args.episodes), ("--seed", args.seed),
                                      ("--max-turns", args.max_turns), ("--set", args.settings or None))
             if value is not None]
    if given:
        raise CLIError(f"--suite {args.suite} fixes envs, feedback, episodes, seeds, max turns and env kwargs; "
                       f"leave out {', '.join(given)}")
    try:
        suite = load_suite(args.suite, _board(args))
    except SuiteError as error:
        raise CLIError(_one_line(error)) from error
    config = EvalConfig(envs=[env.env_id for env in suite.envs], feedback=[], agent=args.agent, seed=suite.seed,
                        out=args.out, max_turns=suite.max_turns, concurrency=args.concurrency, ray=args.ray,
                        ray_workers=args.ray_workers, suite=suite.ref())
    return config, suite.plan()


def run_report(args: argparse.Namespace) -> int:
    """``fbenv report``: metrics recomputed from a results directory."""
    from fbenv.eval.results import ResultsError
    from fbenv.eval.runner import print_table, report

    try:
        rows = report(args.out)
    except (ResultsError, OSError) as error:
        raise CLIError(_one_line(error)) from error
    print_table(rows, title=f"fbenv report · {args.out}")
    return 0


def add_settings(parser: argparse.ArgumentParser) -> None:
    """The repeatable ``--set KEY=VALUE`` option: extra env kwargs for gym.make."""
    parser.add_argument(
        "--set",
        dest="settings",
        type=parse_setting,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an extra env kwarg, e.g. difficulty=3 (VALUE is JSON when it parses, else a string); repeatable",
    )


def parse_json_object(text: str) -> dict[str, Any]:
    """A JSON object from the command line (argparse turns the ValueError into a usage error)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error.msg}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object such as {\"flip\": 0.25}")
    return value


def run_annotate(args: argparse.Namespace) -> int:
    """``fbenv annotate``: samples in, DPO preference rows out; a count of what was written."""
    from fbenv.preferences import annotate_pairs, read_samples

    env_id = resolve_env_id(args.id)
    kwargs = dict(args.settings)
    try:
        if args.samples == "-":
            samples = list(read_samples(sys.stdin, "<stdin>"))
        else:
            with open(args.samples, encoding="utf-8") as f:
                samples = list(read_samples(f, args.samples))
        rows = list(annotate_pairs(env_id, samples, biases=args.biases, seed=args.seed, env_kwargs=kwargs,
                                   annotator=args.annotator))
    except (OSError, UnicodeDecodeError, *_ENV_ERRORS) as error:
        raise CLIError(_one_line(error)) from error
    with open(args.out, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    agree = sum(row["meta"]["agrees_with_truth"] for row in rows)
    print(f"wrote {len(rows)} preference pairs from {len(samples)} samples to {args.out} "
          f"({agree} agree with the ground truth)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the ``fbenv`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and usage errors: argparse has printed already
        if exit_.code is None:
            return 0
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        return args.run(args)
    except CLIError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `fbenv list | head`: stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

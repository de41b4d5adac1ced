"""The board: accepted submissions on disk, their tables, and the generated README.

``BOARD/submissions/`` holds every accepted bundle, named ``<agent slug>-<sha256 prefix>.json[.gz]``
(the slug keeps only ``a-z0-9-``, so no bundle field becomes a path). :func:`submit` verifies a
bundle by replay and only then files it, byte for byte. :func:`tables` turns the submissions into
one table per (suite, env): a row per submission, one column per feedback condition with the main
metric (success within the suite's turn budget), then feedback metrics pooled over the conditions
that give feedback. :func:`build` writes ``BOARD/README.md`` and the HTML page
(:mod:`fbenv.leaderboard.site`).
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fbenv.eval.metrics import Estimate, condition_metrics
from fbenv.leaderboard.bundle import (
    GZIP_MAGIC,
    BundleError,
    Limits,
    episode_records,
    parse_bundle,
    read_bundle,
    read_bytes,
)
from fbenv.leaderboard.replay import Report, verify_bundle
from fbenv.leaderboard.suites import SuiteError, default_board, load_suite

SUBMISSIONS = "submissions"
README = "README.md"
SITE = "site"
#: The condition without feedback: the baseline that ``feedback gain`` is measured against.
NO_FEEDBACK = "none"


class SubmitError(ValueError):
    """A bundle that was not filed (rejected, or already on the board); the message says why."""

    def __init__(self, message: str, report: Report | None = None) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class Submission:
    """An accepted bundle on the board: its file name in ``submissions/`` and its contents."""

    file: str
    bundle: dict[str, Any]

    @property
    def agent(self) -> str:
        """The agent's display name."""
        return self.bundle["agent"]["name"]

    @property
    def suite_ref(self) -> tuple[str, int]:
        """(suite name, version)."""
        return self.bundle["suite"]["name"], self.bundle["suite"]["version"]


@dataclass(frozen=True)
class Column:
    """A table column: a stable key (for sorting links), a header and what it means."""

    key: str
    header: str
    meaning: str


@dataclass
class Row:
    """One submission's row: estimates by column key (None where undefined)."""

    agent: str
    description: str
    spec: str
    file: str
    episodes: int
    cells: dict[str, Estimate | None] = field(default_factory=dict)


@dataclass
class Table:
    """One (suite, env) table, rows ranked by ``mean`` (best first)."""

    suite: str
    version: int
    description: str
    env_id: str
    max_turns: int
    conditions: list[str]
    columns: list[Column]
    rows: list[Row]
    #: Every metric per (agent, condition): the bundles' verified summary rows, for detail tables and plots.
    details: list[dict[str, Any]]

    @property
    def anchor(self) -> str:
        """A stable id for links and the HTML table."""
        return slug(f"{self.suite}-v{self.version}-{self.env_id.removeprefix('fbenv/')}", 80)


def slug(text: str, limit: int = 40) -> str:
    """Lower-case letters, digits and single hyphens only: safe in file names and HTML ids."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-") or "agent"


def submission_name(bundle: dict[str, Any], data: bytes) -> str:
    """``<agent slug>-<first 12 hex of the bytes' sha256>`` plus ``.json.gz`` or ``.json``."""
    suffix = ".json.gz" if data[:2] == GZIP_MAGIC else ".json"
    return f"{slug(bundle['agent']['name'])}-{hashlib.sha256(data).hexdigest()[:12]}{suffix}"


def submit(path: str | Path, board: str | Path | None = None, limits: Limits | None = None) -> tuple[Path, Report]:
    """Verify the bundle at ``path`` and file it under ``BOARD/submissions/``; return where and the report.

    Raises:
        SubmitError: the bundle was rejected (``error.report`` lists why) or is already on the board.
    """
    board = default_board() if board is None else Path(board)
    limits = limits or Limits()
    source = Path(path)
    try:
        data = read_bytes(source, limits)
        bundle = parse_bundle(data, limits, str(source))
    except BundleError as error:
        raise SubmitError(f"rejected {source}", Report(str(source), mismatches=[str(error)])) from None
    report = verify_bundle(bundle, board, source=str(source))
    if not report.ok:
        raise SubmitError(f"rejected {source}", report)
    directory = board / SUBMISSIONS
    directory.mkdir(parents=True, exist_ok=True)
    name = submission_name(bundle, data)
    digest = name.rsplit("-", 1)[1].split(".")[0]
    for existing in directory.glob(f"*-{digest}.json*"):
        raise SubmitError(f"{source} is already on the board as {existing.name}")
    target = directory / name
    tmp = directory / f".{name}.tmp"
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target, report


def load_submissions(board: str | Path | None = None) -> list[Submission]:
    """Every accepted bundle on the board (validated again on reading), ordered by file name."""
    board = default_board() if board is None else Path(board)
    files = sorted(p for p in (board / SUBMISSIONS).glob("*.json*") if p.name.endswith((".json", ".json.gz")))
    return [Submission(path.name, read_bundle(path)) for path in files]


def columns(conditions: list[str], max_turns: int | None) -> list[Column]:
    """The columns of a board table for these conditions; ``max_turns=None`` words them for any turn budget."""
    main = f"success@{'max_turns' if max_turns is None else max_turns}"
    within = "within the env's turn budget" if max_turns is None else f"within {max_turns} turns"
    return [
        Column("mean", "mean", f"mean of {main} over the conditions (the ranking)"),
        *(Column(f"cond-{c}", c, f"{main} under feedback {c!r}: solved {within}") for c in conditions),
        Column("first_try", "first try", "first attempt right, over all conditions"),
        Column("feedback_gain", "feedback gain", f"mean {main} of the conditions with feedback minus {main} under "
               f"{NO_FEEDBACK!r}"),
        Column("incorporation", "incorporation", "wrong attempts followed by a right one (conditions with feedback)"),
        Column("repetition", "repetition", "attempts that repeat an earlier answer (conditions with feedback)"),
        Column("gain_per_turn", "gain/turn", "slope of success@k over k (conditions with feedback)"),
    ]


def tables(submissions: list[Submission], board: str | Path | None = None) -> list[Table]:
    """One table per (suite version, env), in suite order; rows ranked by ``mean``, best first."""
    groups: dict[tuple[str, int], list[Submission]] = {}
    for submission in submissions:
        groups.setdefault(submission.suite_ref, []).append(submission)
    result = []
    for (name, version), members in sorted(groups.items()):
        description = _suite_description(name, version, board)
        first = members[0].bundle
        for env_id in dict.fromkeys(entry["env_id"] for entry in first["envs"]):
            conditions = [entry["condition"] for entry in first["envs"] if entry["env_id"] == env_id]
            max_turns = _max_turns(first, env_id)
            rows = [_row(member, env_id, conditions, max_turns) for member in members]
            rows.sort(key=lambda row: (-_value(row.cells.get("mean")), row.agent, row.file))
            details = [dict(row, agent=member.agent, file=member.file) for member in members
                       for row in member.bundle["summary"] if row["env_id"] == env_id]
            result.append(Table(name, version, description, env_id, max_turns, conditions,
                                columns(conditions, max_turns), rows, details))
    return result


def _suite_description(name: str, version: int, board: str | Path | None) -> str:
    try:
        suite = load_suite(name, board)
    except SuiteError:
        return ""
    return suite.description if suite.version == version else ""


def _max_turns(bundle: dict[str, Any], env_id: str) -> int:
    """The env's ``max_turns``, from the spec the bundle recorded (checked on submission)."""
    entry = next(e for e in bundle["envs"] if e["env_id"] == env_id)
    return int(json.loads(entry["spec"])["kwargs"]["max_turns"])


def _row(submission: Submission, env_id: str, conditions: list[str], max_turns: int) -> Row:
    bundle = submission.bundle
    summary = {row["condition"]: row for row in bundle["summary"] if row["env_id"] == env_id}
    main = f"success@{max_turns}"
    cells: dict[str, Estimate | None] = {}
    for condition in conditions:
        estimate = summary.get(condition, {}).get(main)
        cells[f"cond-{condition}"] = Estimate(**estimate) if estimate else None
    values = [cells[f"cond-{c}"].value for c in conditions if cells[f"cond-{c}"] is not None]
    cells["mean"] = _plain(sum(values) / len(values)) if values else None
    mine = {**bundle, "episodes": [e for e in bundle["episodes"] if e["env_id"] == env_id]}
    records = episode_records(mine, {env_id: max_turns})
    every = condition_metrics(records, max_turns=max_turns)
    cells["first_try"] = every.get("first_try")
    with_feedback = [r for r in records if r["condition"] != NO_FEEDBACK]
    pooled = condition_metrics(with_feedback, max_turns=max_turns) if with_feedback else {}
    for name in ("incorporation", "repetition", "gain_per_turn"):
        cells[name] = pooled.get(name)
    baseline = cells.get(f"cond-{NO_FEEDBACK}")
    others = [cells[f"cond-{c}"].value for c in conditions if c != NO_FEEDBACK and cells[f"cond-{c}"] is not None]
    cells["feedback_gain"] = (_plain(sum(others) / len(others) - baseline.value)
                              if baseline is not None and baseline.value is not None and others else None)
    return Row(submission.agent, bundle["agent"]["description"], bundle["agent"]["spec"], submission.file,
               len(records), cells)


def _plain(value: float) -> Estimate:
    """A value without an interval (a mean of estimates)."""
    return Estimate(value, None, None, 0)


def _value(estimate: Estimate | None) -> float:
    return estimate.value if estimate is not None and estimate.value is not None else float("-inf")


# --- README ------------------------------------------------------------------------------------
def cell_text(estimate: Estimate | None, digits: int = 2) -> str:
    """``0.85 [0.70, 0.95]``, ``0.85`` without an interval, ``-`` when undefined."""
    if estimate is None or estimate.value is None:
        return "-"
    if estimate.low is None or estimate.high is None:
        return f"{estimate.value:.{digits}f}"
    return f"{estimate.value:.{digits}f} [{estimate.low:.{digits}f}, {estimate.high:.{digits}f}]"


def markdown_text(text: str) -> str:
    """Text safe in a Markdown table cell: one line, HTML escaped, Markdown's markup characters escaped."""
    text = html.escape(" ".join(text.split()), quote=False)
    return re.sub(r"([\\|`*_\[\]])", r"\\\1", text)


def render_readme(board_tables: list[Table]) -> str:
    """``BOARD/README.md``: one table per (suite, env) and what the columns mean."""
    lines = [
        "# fbenv leaderboards",
        "",
        "Generated by `fbenv leaderboard build` from the accepted bundles in [submissions/](submissions/); do not "
        "edit by hand. Every number was re-scored before it was accepted: `fbenv leaderboard verify` replays each "
        "transcript in fresh envs and recomputes verdicts, feedback and metrics (see "
        "[docs/leaderboard.md](../docs/leaderboard.md)). The [HTML page](site/index.html) has sortable tables, "
        "every metric per condition, and plots.",
        "",
        "To add an agent: `fbenv eval --suite small --agent SPEC --out runs/me && fbenv leaderboard bundle runs/me "
        "--out me.json.gz --description \"...\" && fbenv leaderboard submit me.json.gz && fbenv leaderboard build`.",
        "",
    ]
    if not board_tables:
        lines += ["No submissions yet.", ""]
    budgets: dict[tuple[str, int], set[int]] = {}
    for table in board_tables:
        budgets.setdefault((table.suite, table.version), set()).add(table.max_turns)
    current = None
    for table in board_tables:
        mixed = len(budgets[(table.suite, table.version)]) > 1
        if (table.suite, table.version) != current:
            current = (table.suite, table.version)
            lines += [f"## Suite `{table.suite}` v{table.version}", ""]
            if table.description:
                lines += [markdown_text(table.description), ""]
            metric = ("success within the env's turn budget (`success@max_turns`, the budget given under each env)"
                      if mixed else f"success within {table.max_turns} turns (`success@{table.max_turns}`)")
            lines += [f"Main metric: {metric}, one column per feedback condition, with 95% bootstrap intervals. "
                      "Rows are ranked by `mean`.", ""]
        lines += [f"### {table.env_id.removeprefix('fbenv/')}", ""]
        if mixed:
            lines += [f"Turn budget: {table.max_turns} replies (`success@{table.max_turns}`).", ""]
        headers = ["#", "agent", *(column.header for column in table.columns), "episodes", "bundle"]
        lines.append("| " + " | ".join(headers) + " |")
        lines.append("|" + "---|" * len(headers))
        for rank, row in enumerate(table.rows, start=1):
            cells = [str(rank), markdown_text(row.agent), *(cell_text(row.cells.get(c.key)) for c in table.columns),
                     str(row.episodes), f"[{markdown_text(row.file)}](submissions/{row.file})"]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    if board_tables:
        lines += ["Columns:", ""]
        every_budget = {table.max_turns for table in board_tables}
        for column in columns([], every_budget.pop() if len(every_budget) == 1 else None):
            lines.append(f"* **{column.header}**: {column.meaning}.")
        lines += ["* **one column per condition**: the main metric under that feedback condition.", "",
                  "## Submissions", ""]
        described = {row.file: row for table in board_tables for row in table.rows}
        for file, row in sorted(described.items()):
            about = f": {markdown_text(row.description)}" if row.description else ""
            lines.append(f"* [{markdown_text(file)}](submissions/{file}): **{markdown_text(row.agent)}**, "
                         f"run as {markdown_text(row.spec)}{about}")
        lines.append("")
    return "\n".join(lines)


def build(board: str | Path | None = None) -> list[Path]:
    """Write ``BOARD/README.md`` and ``BOARD/site/index.html`` from the submissions; return the paths."""
    from fbenv.leaderboard.site import render_site

    board = default_board() if board is None else Path(board)
    board_tables = tables(load_submissions(board), board)
    readme = board / README
    readme.write_text(render_readme(board_tables), encoding="utf-8")
    site = board / SITE
    site.mkdir(exist_ok=True)
    page = site / "index.html"
    page.write_text(render_site(board_tables), encoding="utf-8")
    return [readme, page]

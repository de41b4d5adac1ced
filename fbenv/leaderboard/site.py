"""The board as one self-contained HTML page: sortable tables, detail tables and plots.

Everything a submission says (agent name, description, condition names) is HTML-escaped where it
is written, and a Content-Security-Policy allows only the page's own inline script (by its hash)
and ``data:`` images, so even a missed escape could not run a submitted script. There is no CDN
and no external file: the plots are PNGs inlined as base64.

Click a column header to sort (numbers best first, text A-Z; again to reverse). A URL fragment
``#sort=KEY`` (or ``#sort=KEY&order=asc``) sorts every table that has column ``KEY`` on load, for
shareable links and for the headless-browser test.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
from collections.abc import Sequence
from typing import Any

from fbenv.eval.metrics import Estimate
from fbenv.leaderboard.board import Row, Table, cell_text

TITLE = "fbenv leaderboard"
#: The detail tables' metric columns: (key in a summary row, header); ``main`` is success@max_turns.
DETAIL_METRICS = (("first_try", "first try"), ("main", "success@max"), ("succ_given_fail@2", "succ|fail@2"),
                  ("turns_to_solve", "turns to solve"), ("incorporation", "incorporation"),
                  ("repetition", "repetition"), ("gain_per_turn", "gain/turn"), ("flip_rate", "flip rate"))

SCRIPT = """
(function () {
  "use strict";
  function sortKey(row, index, text) {
    var cell = row.cells[index];
    var raw = cell ? cell.getAttribute("data-value") : null;
    if (text) { return raw === null ? "" : raw.toLowerCase(); }
    return raw === null || raw === "" ? null : parseFloat(raw);
  }
  function sortBy(th) {
    var table = th.closest("table");
    var body = table.tBodies[0];
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var text = th.getAttribute("data-type") === "text";
    var current = th.getAttribute("aria-sort");
    var order = current ? (current === "ascending" ? "descending" : "ascending") : (text ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows).map(function (row, i) { return [row, i]; });
    rows.sort(function (a, b) {
      var x = sortKey(a[0], index, text), y = sortKey(b[0], index, text);
      if (x === null || y === null) { return x === y ? a[1] - b[1] : (x === null ? 1 : -1); }
      var c = x < y ? -1 : (x > y ? 1 : 0);
      return (order === "ascending" ? c : -c) || a[1] - b[1];
    });
    rows.forEach(function (pair) { body.appendChild(pair[0]); });
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", order);
  }
  var headers = document.querySelectorAll("table.board th[data-key]");
  Array.prototype.forEach.call(headers, function (th) {
    th.addEventListener("click", function () { sortBy(th); });
  });
  var wanted = new URLSearchParams(location.hash.slice(1));
  var key = wanted.get("sort");
  if (key) {
    Array.prototype.forEach.call(headers, function (th) {
      if (th.getAttribute("data-key") !== key) { return; }
      th.click();
      var order = wanted.get("order");
      if (order && th.getAttribute("aria-sort") !== (order === "asc" ? "ascending" : "descending")) { th.click(); }
    });
  }
})();
"""

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; padding: 0 1em; color: #222; }
table.board { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
table.board th, table.board td { border-bottom: 1px solid #ddd; padding: 0.3em 0.6em; text-align: right; }
table.board th { cursor: pointer; background: #f4f4f4; user-select: none; }
table.board th[aria-sort="ascending"]::after { content: " \\25B2"; }
table.board th[aria-sort="descending"]::after { content: " \\25BC"; }
table.board td.text, table.board th.text { text-align: left; }
small { color: #777; white-space: nowrap; }
img { max-width: 100%; }
"""


def e(value: Any) -> str:
    """HTML-escaped text, quotes included (safe in element content and attribute values)."""
    return html.escape(str(value), quote=True)


def _number(estimate: Estimate | None) -> str:
    return "" if estimate is None or estimate.value is None else repr(float(estimate.value))


def _value_cell(estimate: Estimate | None) -> str:
    text = cell_text(estimate)
    if " [" in text:
        value, interval = text.split(" ", 1)
        text = f"{e(value)} <small>{e(interval)}</small>"
    else:
        text = e(text)
    return f'<td data-value="{e(_number(estimate))}">{text}</td>'


def _header(key: str, label: str, meaning: str = "", text: bool = False) -> str:
    kind = ' data-type="text" class="text"' if text else ""
    return f'<th data-key="{e(key)}"{kind} title="{e(meaning)}">{e(label)}</th>'


def _about(row: Row) -> str:
    """The tooltip of an agent's name: its description and how it was run."""
    return f"{row.description} (run as {row.spec})" if row.description else f"run as {row.spec}"


def _board_table(table: Table) -> str:
    heads = [_header("rank", "#"), _header("agent", "agent", "the agent's name as submitted", text=True)]
    heads += [_header(column.key, column.header, column.meaning) for column in table.columns]
    heads += [_header("episodes", "episodes"), _header("bundle", "bundle", "the accepted bundle", text=True)]
    rows = []
    for rank, row in enumerate(table.rows, start=1):
        cells = [f'<td data-value="{rank}">{rank}</td>',
                 f'<td class="text agent" data-value="{e(row.agent)}" title="{e(_about(row))}">{e(row.agent)}</td>']
        cells += [_value_cell(row.cells.get(column.key)) for column in table.columns]
        cells += [f'<td data-value="{row.episodes}">{row.episodes}</td>',
                  f'<td class="text" data-value="{e(row.file)}"><a href="../submissions/{e(row.file)}">'
                  f"{e(row.file)}</a></td>"]
        rows.append(f'<tr data-file="{e(row.file)}">{"".join(cells)}</tr>')
    return (f'<table class="board" id="{e(table.anchor)}"><thead><tr>{"".join(heads)}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _detail_table(table: Table) -> str:
    main = f"success@{table.max_turns}"
    metrics = [(main, main) if key == "main" else (key, label) for key, label in DETAIL_METRICS]
    heads = [_header("agent", "agent", text=True), _header("condition", "condition", text=True), _header("n", "n")]
    heads += [_header(key, label) for key, label in metrics]
    rows = []
    for summary in table.details:
        cells = [f'<td class="text" data-value="{e(summary["agent"])}">{e(summary["agent"])}</td>',
                 f'<td class="text" data-value="{e(summary["condition"])}">{e(summary["condition"])}</td>',
                 f'<td data-value="{summary["episodes"]}">{summary["episodes"]}</td>']
        for key, _ in metrics:
            found = summary.get(key)
            cells.append(_value_cell(Estimate(**found) if isinstance(found, dict) else None))
        rows.append(f'<tr data-file="{e(summary["file"])}">{"".join(cells)}</tr>')
    return (f'<table class="board detail" id="{e(table.anchor)}-detail"><thead><tr>{"".join(heads)}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _bar(estimate: Estimate | None) -> tuple[float, float, float]:
    """A bar's height and its error bar's extent below and above (zero where undefined)."""
    if estimate is None or estimate.value is None:
        return 0.0, 0.0, 0.0
    low = estimate.low if estimate.low is not None else estimate.value
    high = estimate.high if estimate.high is not None else estimate.value
    return estimate.value, estimate.value - low, high - estimate.value


def plot_suite(suite_tables: Sequence[Table]) -> bytes:
    """A PNG: a panel per env, the main metric per condition, a bar per agent with its interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    panels = len(suite_tables)
    figure, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 3.8), squeeze=False)
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    files = sorted({row.file for table in suite_tables for row in table.rows})
    colour = {file: palette[i % len(palette)] for i, file in enumerate(files)}  # one colour per submission
    for panel, table in zip(axes.flat, suite_tables, strict=True):
        width = 0.8 / max(len(table.rows), 1)
        positions = np.arange(len(table.conditions))
        for i, row in enumerate(table.rows):
            values, minus, plus = zip(*(_bar(row.cells.get(f"cond-{c}")) for c in table.conditions), strict=True)
            panel.bar(positions + (i - (len(table.rows) - 1) / 2) * width, values, width, yerr=[minus, plus],
                      capsize=2, label=row.agent[:40], color=colour[row.file])
        panel.set_xticks(positions, table.conditions, rotation=20)
        panel.set_ylim(0, 1.05)
        panel.set_title(table.env_id.removeprefix("fbenv/"))
        panel.set_ylabel(f"success within {table.max_turns} turns")
        panel.grid(axis="y", alpha=0.3)
        panel.legend(fontsize=7)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def render_site(board_tables: list[Table]) -> str:
    """The whole page as a string (self-contained; see the module docstring)."""
    script_hash = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    policy = f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{e(policy)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(TITLE)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{e(TITLE)}</h1>",
        "<p>Every number here was re-scored before it was accepted: <code>fbenv leaderboard verify</code> replays "
        "each transcript in fresh envs and recomputes verdicts, feedback and metrics. One column per feedback "
        "condition; values with 95% bootstrap intervals. Click a header to sort.</p>",
    ]
    if not board_tables:
        parts.append("<p>No submissions yet.</p>")
    suites: dict[tuple[str, int], list[Table]] = {}
    for table in board_tables:
        suites.setdefault((table.suite, table.version), []).append(table)
    for (name, version), suite_tables in suites.items():
        parts.append(f"<section><h2>Suite {e(name)} v{e(version)}</h2>")
        if suite_tables[0].description:
            parts.append(f"<p>{e(suite_tables[0].description)}</p>")
        png = base64.b64encode(plot_suite(suite_tables)).decode()
        parts.append(f'<img alt="success within the turn budget per condition, suite {e(name)}" '
                     f'src="data:image/png;base64,{png}">')
        for table in suite_tables:
            parts.append(f"<h3>{e(table.env_id.removeprefix('fbenv/'))}</h3>")
            parts.append(_board_table(table))
            parts.append("<details><summary>every metric per condition</summary>")
            parts.append(_detail_table(table))
            parts.append("</details>")
        parts.append("</section>")
    parts.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(parts) + "\n"

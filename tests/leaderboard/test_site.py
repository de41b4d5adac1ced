"""The HTML page in a real headless Chromium: it renders, its rows are the accepted submissions,
sorting works, and a `<script>` in an agent's name shows as text and never runs."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from lb_helpers import SCRIPT_NAME, renamed

from fbenv.leaderboard.board import build, load_submissions, submit
from fbenv.leaderboard.site import TITLE

CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (.ci/run installs Debian's chromium)")


class Page(HTMLParser):
    """The parts of a dumped DOM the tests read: the title, script elements, and each table's rows."""

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self.scripts = 0
        self.tables: dict[str, list[dict[str, str]]] = {}
        self.headers: dict[str, list[str]] = {}
        self._table: str | None = None
        self._row: dict[str, str] | None = None
        self._cell: list[str] | None = None
        self._cells: list[list[str]] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "title":
            self._in_title = True
        elif tag == "script":
            self.scripts += 1
        elif tag == "table":
            self._table = values.get("id") or ""
            self.tables[self._table], self.headers[self._table] = [], []
        elif tag == "th" and self._table is not None:
            self.headers[self._table].append(values.get("data-key") or "")
        elif tag == "tr" and self._table is not None and values.get("data-file"):
            self._row, self._cells = {"file": values["data-file"] or ""}, []
        elif tag == "td" and self._row is not None:
            self._cell = []
            self._cells.append(self._cell)
            if "agent" in (values.get("class") or ""):
                self._row["agent_cell"] = str(len(self._cells) - 1)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "td":
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self._row["cells"] = "\t".join("".join(cell) for cell in self._cells)
            if "agent_cell" in self._row:
                self._row["agent"] = "".join(self._cells[int(self._row["agent_cell"])])
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._cell is not None:
            self._cell.append(data)


def dump(page: Path, fragment: str = "") -> Page:
    """Load ``page`` in headless Chromium (its script runs), parse the resulting DOM."""
    done = subprocess.run([str(CHROMIUM), "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
                           f"--user-data-dir={page.parent / '.chromium'}", "--dump-dom",
                           page.resolve().as_uri() + fragment],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    parsed = Page()
    parsed.feed(done.stdout)
    return parsed


@pytest.fixture(scope="module")
def site(board: Path, bundles: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A built board with three real submissions and one whose agent name is a script."""
    root = tmp_path_factory.mktemp("site")
    shutil.copytree(board / "suites", root / "suites")
    for agent in ("oracle", "random", "lb_helpers:WrongThenOracle"):
        submit(bundles[agent], root)
    submit(renamed(bundles, "lb_helpers:ToolThenOracle", SCRIPT_NAME, root / "x.json.gz"), root)
    _, page = build(root)
    return root, page


def test_the_page_renders_with_one_row_per_accepted_submission(site: tuple[Path, Path]) -> None:
    root, page = site
    dom = dump(page)
    assert dom.title == TITLE and dom.scripts == 1
    submissions = load_submissions(root)
    expected = sorted((s.file, s.agent) for s in submissions)
    main_tables = {name: rows for name, rows in dom.tables.items() if not name.endswith("-detail")}
    assert sorted(main_tables) == ["tiny-v1-humaneval-v0", "tiny-v1-math-v0"]
    for rows in main_tables.values():
        assert sorted((row["file"], row["agent"]) for row in rows) == expected
    for name, rows in dom.tables.items():
        if name.endswith("-detail"):  # one row per submission and condition
            assert sorted({row["file"] for row in rows}) == sorted(s.file for s in submissions)
            assert len(rows) == 3 * len(submissions)


def test_a_script_in_an_agent_name_shows_as_text_and_does_not_run(site: tuple[Path, Path]) -> None:
    _, page = site
    dom = dump(page)
    agents = [row["agent"] for row in dom.tables["tiny-v1-math-v0"]]
    assert SCRIPT_NAME in agents  # the literal text, markup and all
    assert dom.title == TITLE and dom.scripts == 1  # the injected script neither ran nor became an element


def test_clicking_a_header_sorts_the_rows(site: tuple[Path, Path]) -> None:
    _, page = site
    by_agent = [row["agent"] for row in dump(page, "#sort=agent").tables["tiny-v1-math-v0"]]
    assert by_agent == sorted(by_agent, key=str.lower) and len(by_agent) == 4
    reverse = [row["agent"] for row in dump(page, "#sort=agent&order=desc").tables["tiny-v1-math-v0"]]
    assert reverse == by_agent[::-1]
    dom = dump(page, "#sort=cond-text&order=asc")
    column = dom.headers["tiny-v1-math-v0"].index("cond-text")
    text = [float(row["cells"].split("\t")[column].split(" ")[0]) for row in dom.tables["tiny-v1-math-v0"]]
    assert text == sorted(text) and text[0] < text[-1]
    dom = dump(page)  # ranked by mean until a header is clicked
    column = dom.headers["tiny-v1-math-v0"].index("mean")
    means = [float(row["cells"].split("\t")[column]) for row in dom.tables["tiny-v1-math-v0"]]
    assert means == sorted(means, reverse=True) and [row["agent"] for row in dom.tables["tiny-v1-math-v0"]] != by_agent

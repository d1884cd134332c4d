"""The documentation runs: every ```python block of every page, top to bottom.

Pages: ``README.md``, ``CONTRIBUTING.md``, ``docs/*.md`` and the examples'
``README.md`` files. The conventions (see CONTRIBUTING.md, "Docs that run"):

* A page's ```python blocks run in order, in one namespace, in a new
  temporary working directory (so ``sqlite:///chats.db`` lands there) with
  ``$SYNERGIA_DATABASE_URL`` unset.
* ``print(...)`` followed by ``#> text`` comments (on its line or on the
  lines after it) must print exactly that text: one ``#>`` per output line,
  trailing spaces ignored. Prints without ``#>`` are not checked.
* A block whose first line is ``# needs PostgreSQL...`` runs against a new
  PostgreSQL database of its page (the test server of ``tests/conftest.py``):
  in every ``"postgresql://..."`` string literal of the block, what follows
  the scheme (``postgresql://``, ``postgresql+psycopg://`` ...) is replaced by
  that database's user, host and name.
* Code that cannot run (shell commands, excerpts, output) goes in ```bash,
  ```sh or ```text blocks; any other fence language is refused, so no Python
  block escapes the test.
* A Python block that truly cannot run here (it calls a paid API, needs a
  service the tests do not have) says why on the line before its fence:
  ``<!-- not run: the reason -->``. It must still parse as Python 3.10; a
  marker without a reason, or before anything but a ```python block, fails.
* The pages also run one after another in one shared directory, as a reader
  trying them all in one folder would.
* Blocks parse as Python 3.10 and use none of the 3.11+ standard library
  names of ``NEWER_THAN_310`` (``datetime.UTC`` ...).
* Each page's Python, joined, passes pyflakes (``ruff --select F``): no
  undefined or unused names. Redefinitions are allowed: a section may be a
  self-contained example that imports again what an earlier one did.
"""

from __future__ import annotations

import ast
import asyncio
import io
import re
import subprocess
import sys
import textwrap
import tokenize
import types
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL, Engine

from synergia_core import AsyncSynergia, Synergia
from synergia_core.db import URL_ENV_VAR
from tests.conftest import PostgresServer

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(
    [
        *(ROOT / name for name in ("README.md", "CONTRIBUTING.md")),
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "examples").glob("*/README.md"),
    ]
)
RUN = "python"
NOT_RUN = ("bash", "sh", "text")
OPT_OUT = re.compile(r"^\s*<!--\s*not run:(?P<reason>.*?)-->\s*$")
"""The line before a ```python fence that keeps the block out of the run, with why."""
POSTGRES_MARKER = re.compile(r"#\s*needs PostgreSQL\b", re.IGNORECASE)
POSTGRES_LITERAL = re.compile(
    r"""(?P<quote>["'])(?P<scheme>postgres(?:ql)?(?:\+\w+)?://)[^"'\s]*(?P=quote)"""
)
NEWER_THAN_310 = {
    "datetime": {"UTC"},
    "typing": {"Self", "LiteralString", "Never", "assert_never", "reveal_type"},
    "asyncio": {"TaskGroup", "timeout", "Runner"},
    "enum": {"StrEnum"},
    "tomllib": {"*"},
}
"""Standard library names the docs may not use: the package supports Python 3.10."""
EXPECTED = "#>"
PRINT_HOOK = "__docs_print__"


@dataclass
class Block:
    """One fenced code block of a page."""

    page: Path
    language: str
    first_line: int  # line number, in the page, of the block's first code line
    code: str
    not_run: str | None = None  # why, when an OPT_OUT comment precedes the fence

    @property
    def where(self) -> str:
        return f"{shown(self.page)}:{self.first_line}"

    @property
    def needs_postgres(self) -> bool:
        first = self.code.lstrip("\n").split("\n", 1)[0]
        return POSTGRES_MARKER.match(first) is not None


def shown(page: Path) -> str:
    """The page's path as a failure names it: relative to the repository when inside it."""
    return str(page.relative_to(ROOT)) if page.is_relative_to(ROOT) else str(page)


def fenced_blocks(page: Path) -> list[Block]:
    """Every fenced block of a Markdown page (fences may be indented, as in lists)."""
    blocks: list[Block] = []
    lines = page.read_text(encoding="utf-8").split("\n")
    index = 0
    while index < len(lines):
        opening = re.match(r"^(\s*)(`{3,})(.*)$", lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence, info = opening.groups()
        before = lines[index - 1] if index > 0 else ""
        marker = OPT_OUT.match(before)
        body: list[str] = []
        index += 1
        start = index + 1
        while index < len(lines) and not lines[index].strip().startswith(fence):
            body.append(lines[index][len(indent) :] if lines[index].startswith(indent) else "")
            index += 1
        if index == len(lines):
            raise AssertionError(f"{shown(page)}:{start - 1}: unclosed code fence")
        index += 1
        language = info.strip().split(" ", 1)[0] if info.strip() else ""
        not_run = None
        if marker is not None:
            not_run = marker["reason"].strip()
            if not not_run or language != RUN:
                raise AssertionError(
                    f"{shown(page)}:{start - 2}: a `<!-- not run: ... -->` marker goes on the "
                    "line before a ```python fence and says why the block cannot run"
                )
        blocks.append(Block(page, language, start, "\n".join(body) + "\n", not_run))
    return blocks


@dataclass
class Expectation:
    line: int  # line, in the page, of the print call
    lines: list[str] = field(default_factory=list)


def _expectations(block: Block, tree: ast.Module) -> dict[int, Expectation]:
    """The ``#>`` comments of a block, by the id (start offset) of their print call."""
    calls = sorted(
        (node.lineno, node.col_offset)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "print"
    )
    found: dict[int, Expectation] = {}
    tokens = tokenize.generate_tokens(io.StringIO(block.code).readline)
    for token in tokens:
        if token.type != tokenize.COMMENT or not token.string.startswith(EXPECTED):
            continue
        line = token.start[0]
        owners = [call for call in calls if call[0] <= line]
        if not owners:
            raise AssertionError(f"{block.where}: a {EXPECTED} comment before any print()")
        owner = owners[-1]
        text = token.string[len(EXPECTED) :]
        expectation = found.setdefault(
            _call_id(owner), Expectation(block.first_line + owner[0] - 1)
        )
        expectation.lines.append(text[1:] if text.startswith(" ") else text)
    return found


def _call_id(position: tuple[int, int]) -> int:
    return position[0] * 10_000 + position[1]


def _refuse_names_newer_than_310(block: Block, tree: ast.Module) -> None:
    for node in ast.walk(tree):
        used: list[tuple[str, str]] = []
        if isinstance(node, ast.ImportFrom) and node.module in NEWER_THAN_310:
            used = [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            used = [(alias.name, "*") for alias in node.names]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            used = [(node.value.id, node.attr)]
        for module, name in used:
            newer = NEWER_THAN_310.get(module, set())
            if name in newer or "*" in newer:
                line = block.first_line + getattr(node, "lineno", 1) - 1
                raise AssertionError(
                    f"{shown(block.page)}:{line}: {module}.{name} needs Python 3.11+ "
                    "(the package supports 3.10)"
                )


class _HookPrints(ast.NodeTransformer):
    """``print(...)`` -> ``__docs_print__(<call id>, ...)``."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "print":
            call_id = ast.Constant(_call_id((node.lineno, node.col_offset)))
            node.func = ast.Name(PRINT_HOOK, ast.Load())
            node.args = [call_id, *node.args]
            ast.fix_missing_locations(node)
        return node


class PageRun:
    """Runs a page's Python blocks in one module namespace."""

    def __init__(self, page: Path, postgres: PostgresServer | None) -> None:
        self.page = page
        self.name = "docs_page_" + re.sub(r"\W", "_", page.stem)
        self.module = types.ModuleType(self.name)
        sys.modules[self.name] = self.module  # pydantic and dataclasses look their module up
        self.namespace = self.module.__dict__
        self.namespace[PRINT_HOOK] = self._print
        self.output: dict[tuple[int, int], list[str]] = {}
        self._block = 0
        self._postgres = postgres
        self._database: URL | None = None

    def _print(self, call_id: int, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("file") not in (None, sys.stdout):
            print(*args, **kwargs)
            return
        buffer = io.StringIO()
        print(*args, **{**kwargs, "file": buffer})
        self.output.setdefault((self._block, call_id), []).append(buffer.getvalue())

    def run(self, block: Block) -> None:
        code = block.code
        if block.needs_postgres:
            code = POSTGRES_LITERAL.sub(
                lambda found: repr(found["scheme"] + self._postgres_url().split("://", 1)[1]), code
            )
        try:
            tree = ast.parse(code, filename=str(block.page), feature_version=(3, 10))
        except SyntaxError as exc:
            raise AssertionError(f"{block.where}: not Python 3.10: {exc}") from exc
        _refuse_names_newer_than_310(block, tree)
        expectations = _expectations(block, tree)
        tree = _HookPrints().visit(tree)
        ast.increment_lineno(tree, block.first_line - 1)
        self._block += 1
        try:
            exec(compile(tree, str(block.page), "exec"), self.namespace)  # the docs' own code
        finally:
            _close_event_loop_left_set()
        for call_id, expected in expectations.items():
            printed = "".join(self.output.get((self._block, call_id), []))
            actual = [line.rstrip() for line in printed.rstrip("\n").split("\n")] if printed else []
            wanted = [line.rstrip() for line in expected.lines]
            assert actual == wanted, (
                f"{shown(block.page)}:{expected.line}: the print shows "
                f"{wanted!r} but printed {actual!r}"
            )

    def _postgres_url(self) -> str:
        """The URL of the page's PostgreSQL database, created on first use."""
        if self._database is None:
            assert self._postgres is not None
            self._database = self._postgres.create_database()
        return self._database.render_as_string(hide_password=False)

    def close(self) -> None:
        """Close what the page left open (a page may end with a facade in use)."""
        for value in list(self.namespace.values()):
            if isinstance(value, Synergia):
                value.close()
            elif isinstance(value, AsyncSynergia):
                asyncio.run(value.close())
            elif isinstance(value, Engine):
                value.dispose()
        self.namespace.clear()
        sys.modules.pop(self.name, None)
        if self._database is not None and self._postgres is not None:
            self._postgres.drop_database(self._database)


def _close_event_loop_left_set() -> None:
    """Close the event loop a block left set on this thread, as the end of a
    script would. Sync wrappers of async libraries (PydanticAI's ``run_sync``)
    set one and leave it open; a later ``asyncio.run`` (in the page, or in any
    later test) would drop it unclosed, a ``ResourceWarning``."""
    policy = asyncio.get_event_loop_policy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = policy.get_event_loop()
        except RuntimeError:  # none set
            return
    if not loop.is_running():
        loop.close()
        policy.set_event_loop(None)


def python_blocks(page: Path) -> list[Block]:
    """The page's ```python blocks that run (those without a ``not run`` marker)."""
    return [
        block for block in fenced_blocks(page) if block.language == RUN and block.not_run is None
    ]


def blocks_not_run(page: Path) -> list[Block]:
    """The page's ```python blocks kept out of the run by a ``not run`` marker."""
    return [block for block in fenced_blocks(page) if block.not_run is not None]


RUNNABLE_PAGES = [page for page in PAGES if python_blocks(page)]


@pytest.fixture
def page_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new working directory, without the database URL variable."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(URL_ENV_VAR, raising=False)
    return tmp_path


@pytest.mark.parametrize("page", RUNNABLE_PAGES, ids=shown)
def test_page_runs(page: Path, page_dir: Path, request: pytest.FixtureRequest) -> None:
    blocks = python_blocks(page)
    postgres: PostgresServer | None = None
    if any(block.needs_postgres for block in blocks):
        postgres = request.getfixturevalue("postgres")
    run = PageRun(page, postgres)
    try:
        for block in blocks:
            run.run(block)
    finally:
        run.close()


def test_pages_run_one_after_another_in_one_directory(
    page_dir: Path, request: pytest.FixtureRequest
) -> None:
    """A reader who runs every page in one folder never trips over an earlier page's
    files (a second ``ModelAlreadyExists`` on a shared ``chats.db``)."""
    postgres: PostgresServer = request.getfixturevalue("postgres")
    for page in RUNNABLE_PAGES:
        run = PageRun(page, postgres)
        try:
            for block in python_blocks(page):
                run.run(block)
        finally:
            run.close()


@pytest.mark.parametrize("page", RUNNABLE_PAGES, ids=shown)
def test_page_passes_pyflakes(page: Path) -> None:
    """The page's blocks, joined (at their own line numbers), have no undefined or unused name."""
    lines = [""] * page.read_text(encoding="utf-8").count("\n")
    for block in python_blocks(page):
        for offset, line in enumerate(block.code.rstrip("\n").split("\n")):
            lines[block.first_line - 1 + offset] = line
    pyflakes = ["check", "--no-cache", "--isolated", "--select", "F", "--ignore", "F811"]
    stdin = ["--output-format", "concise", "--stdin-filename", f"{shown(page)}.py", "-"]
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *pyflakes, *stdin],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("page", PAGES, ids=shown)
def test_every_block_says_whether_it_runs(page: Path) -> None:
    for block in fenced_blocks(page):
        assert block.language in (RUN, *NOT_RUN), (
            f"{block.where}: a ```{block.language} block: use ```python (it runs in the tests) "
            f"or one of {', '.join(NOT_RUN)} (it does not)"
        )


@pytest.mark.parametrize("page", PAGES, ids=shown)
def test_a_block_kept_out_of_the_run_still_parses(page: Path) -> None:
    for block in blocks_not_run(page):
        try:
            ast.parse(block.code, filename=str(page), feature_version=(3, 10))
        except SyntaxError as exc:
            raise AssertionError(f"{block.where}: not Python 3.10: {exc}") from exc


def test_the_harness_keeps_out_only_marked_blocks_with_a_reason(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        textwrap.dedent(
            """\
            ```python
            print("runs")  #> runs
            ```

            <!-- not run: it calls a paid API -->
            ```python
            client.responses.create(model="gpt-5", input="hi")
            ```
            """
        )
    )
    (runs,) = python_blocks(page)
    assert "runs" in runs.code
    (kept_out,) = blocks_not_run(page)
    assert kept_out.not_run == "it calls a paid API"
    assert kept_out.first_line == 7
    for marker, fence in [("<!-- not run: -->", "python"), ("<!-- not run: why -->", "bash")]:
        page.write_text(f"{marker}\n```{fence}\nx = 1\n```\n")
        with pytest.raises(AssertionError, match=r"page.md:1: a `<!-- not run"):
            fenced_blocks(page)


@pytest.mark.parametrize(
    "code",
    [
        "from datetime import UTC",
        "import datetime\nprint(datetime.UTC)",
        "import tomllib",
        "from typing import Self",
    ],
)
def test_the_harness_refuses_names_newer_than_python_310(tmp_path: Path, code: str) -> None:
    page = tmp_path / "page.md"
    page.write_text(f"```python\n{code}\n```\n")
    run = PageRun(page, None)
    with pytest.raises(AssertionError, match=r"needs Python 3\.11\+"):
        run.run(python_blocks(page)[0])
    run.close()


def test_the_harness_checks_prints(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        textwrap.dedent(
            """\
            ```python
            x = 2
            print(x + 1)  #> 3
            for i in range(2):
                print(
                    i,
                    "ok",
                )
                #> 0 ok
                #> 1 ok
            ```

            ```python
            print(x)  #> 3
            ```
            """
        )
    )
    first, second = python_blocks(page)
    run = PageRun(page, None)
    run.run(first)
    with pytest.raises(AssertionError, match=r"page.md:14: the print shows \['3'\] but printed"):
        run.run(second)
    run.close()

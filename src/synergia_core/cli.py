"""Command line: ``synergia-core db upgrade|downgrade|current|history``,
``synergia-core models sync --source genai-prices [--provider P ...]``,
``synergia-core export --user U -o FILE`` and
``synergia-core import FILE [--chatgpt] [--user U] [--new-ids]``.

Also runs as ``python -m synergia_core``. The database URL comes from
``--url`` (before or after the subcommand), else ``$SYNERGIA_DATABASE_URL``,
else ``sqlite:///synergia.db``. A URL given as a positional argument is
refused with a message that says to use ``--url`` (``db upgrade REVISION``
takes a revision there). Read-only commands (``db current``, ``db history``)
and ``db downgrade`` never create a database: on a SQLite file that does not
exist they say "no database at PATH"; so does ``models sync``, which wants
a database at the newest schema revision. ``-v`` / ``--verbose`` logs the
SQL statements and the migration steps to standard error (and the models a
sync skips).

``models sync`` brings the catalog in line with a price list (the
``genai-prices`` package: the ``pricing`` extra), in one transaction, showing
a progress bar on standard error (with the ``cli`` extra, ``rich``; else a
few plain lines), and ends with one line: ``synced N models: X created, Y
updated, Z unchanged (S skipped)``.

``export`` writes a user's chats as ``synergia-chats`` JSON Lines (``-o -``:
standard output) and ``import`` reads one back, or a ChatGPT
``conversations.json`` with ``--chatgpt`` (``--user`` required), both with a
progress bar and a summary line (see ``docs/export.md``).

Every error is one line on standard error, ``error: ...``; the exit status
is 1, or 2 for a usage error (a wrong option or argument).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, NoReturn, cast

from sqlalchemy.engine import URL

from synergia_core import _migration
from synergia_core._version import __version__
from synergia_core.db import DEFAULT_URL, URL_ENV_VAR, resolve_url

__all__ = ["main"]

PROG = "synergia-core"
VERBOSE_LOGGERS = ("sqlalchemy.engine", "synergia_core", "alembic")
"""Loggers set to INFO by ``--verbose``: the SQL statements and the migration steps."""
SOURCES = ("genai-prices",)
"""The price lists ``models sync`` reads."""

_URL_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


class _CommandError(Exception):
    """A failure the command reports as one line (exit status 1)."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line: ``error: ...`` and a hint."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def _add_common_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # The same options at every level, so that they can come before or after a
    # subcommand. Below the top they default to SUPPRESS: given there, they
    # override the top's value; not given, they leave it alone.
    default_url = None if top else argparse.SUPPRESS
    default_verbose = False if top else argparse.SUPPRESS
    parser.add_argument(
        "--url",
        default=default_url,
        metavar="URL",
        help=f"database URL (default: ${URL_ENV_VAR}, else {DEFAULT_URL})",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default_verbose,
        help="log the SQL statements and the migration steps to standard error",
    )


def _parser() -> tuple[_Parser, dict[tuple[str, str], argparse.ArgumentParser]]:
    """The parser, and the parsers of the commands by (group, command)."""
    parser = _Parser(
        prog=PROG,
        description="Manage the synergia-core database: its schema and its model catalog.",
        epilog=(
            "The database URL goes with --url, before or after the subcommand: "
            f"{PROG} db upgrade --url sqlite:///chats.db"
        ),
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _add_common_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    db = commands.add_parser("db", help="database schema commands")
    _add_common_options(db, top=False)
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")

    upgrade = db_commands.add_parser(
        "upgrade", help="upgrade the schema (to head by default); creates the database"
    )
    upgrade.add_argument(
        "revision", nargs="?", default="head", metavar="REVISION", help="target revision"
    )
    downgrade = db_commands.add_parser("downgrade", help="downgrade the schema to REVISION")
    downgrade.add_argument(
        "revision",
        metavar="REVISION",
        help="target revision ('base' removes every table but the version table)",
    )
    current = db_commands.add_parser("current", help="show the database's schema revision")
    history = db_commands.add_parser(
        "history", help="list the shipped schema revisions (with --url: mark the database's)"
    )

    models = commands.add_parser("models", help="model catalog commands")
    _add_common_options(models, top=False)
    models_commands = models.add_subparsers(
        dest="models_command", required=True, metavar="MODELS_COMMAND"
    )
    sync = models_commands.add_parser(
        "sync",
        help="create or update the catalog's models from a price list",
        description=(
            "Create or update the catalog's models from a price list, in one transaction. "
            "--source genai-prices needs the 'pricing' extra: "
            "pip install 'synergia-core[pricing]'."
        ),
    )
    sync.add_argument("--source", required=True, choices=SOURCES, help="the price list")
    sync.add_argument(
        "--provider",
        action="append",
        dest="providers",
        metavar="P",
        help="only this provider's models (repeat for several; default: every provider)",
    )

    subcommands: dict[tuple[str, str], argparse.ArgumentParser] = {
        ("db", "upgrade"): upgrade,
        ("db", "downgrade"): downgrade,
        ("db", "current"): current,
        ("db", "history"): history,
        ("models", "sync"): sync,
    }
    subcommands.update(_transfer_parsers(commands))
    for sub in subcommands.values():
        _add_common_options(sub, top=False)
    return parser, subcommands


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Usage errors raise :class:`SystemExit` with status 2 (``--help`` and
    ``--version``: status 0), as :mod:`argparse` does.
    """
    parser, subcommands = _parser()
    args, extras = parser.parse_known_args(argv)
    name = {"db": "db_command", "models": "models_command"}.get(args.command)
    name = getattr(args, name) if name is not None else ""
    command = subcommands[args.command, name]
    for extra in extras:
        if _URL_LIKE.match(extra):
            command.error(f"{extra!r} is a database URL: pass it with --url URL")
    if extras:
        command.error(f"unrecognized arguments: {' '.join(extras)}")
    revision = getattr(args, "revision", None)
    if revision is not None and _URL_LIKE.match(revision):
        command.error(f"{revision!r} is a database URL, not a revision: pass it with --url URL")
    try:
        with _verbose_logging(args.verbose):
            return _run(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line instead of a traceback
        text = str(exc).strip()
        message = text.splitlines()[0] if text else type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        return 1


@contextmanager
def _verbose_logging(verbose: bool) -> Iterator[None]:
    """With ``verbose``: log the SQL and the migration steps to standard error, meanwhile."""
    if not verbose:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    saved: list[tuple[logging.Logger, int, bool]] = []
    for name in VERBOSE_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.setLevel(logging.INFO)
        logger.propagate = False  # shown once, whatever the host configured
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger, level, propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate
        handler.close()


def _existing_database(url: URL) -> URL:
    """``url``, if its database exists; SQLite files are never created by a read."""
    if url.get_backend_name() != "sqlite" or url.query.get("uri"):
        return url  # a server says itself whether the database exists
    database = url.database or ""
    if database in ("", ":memory:"):
        return url
    path = Path(database).resolve()  # as SQLite sees it: relative to the working directory
    if not path.is_file():
        raise _CommandError(f"no database at {path}")
    return url


def _run(args: argparse.Namespace) -> int:
    if args.command in ("export", "import"):
        return _transfer(args)
    if args.command == "models":
        return _sync(args)
    if args.db_command == "history":
        return _history(args.url)
    url = resolve_url(args.url)
    head = _migration.head_revision()
    if args.db_command == "upgrade":
        before = _migration.current_revision(url)
        _migration.migrate(url, args.revision)
        after = _migration.current_revision(url)
        if before == after:
            print(f"already at {after or '<none>'}; nothing to do")
        else:
            print(f"upgraded {before or '<none>'} -> {after}")
    elif args.db_command == "downgrade":
        before = _migration.current_revision(_existing_database(url))
        _migration.downgrade(url, args.revision)
        after = _migration.current_revision(url)
        print(f"downgraded {before or '<none>'} -> {after or '<none>'}")
    else:
        current = _migration.current_revision(_existing_database(url))
        if current is None:
            print(f"<none> (not migrated; run `{PROG} db upgrade`)")
        else:
            print(f"{current} (head)" if current == head else f"{current} (head is {head})")
    return 0


def _history(url: str | None) -> int:
    """The shipped revisions, newest first; with a URL, the database's is marked."""
    current = None
    if url is not None:  # only when asked: the history itself is read from the package
        current = _migration.current_revision(_existing_database(resolve_url(url)))
    for rev in _migration.history():
        marker = " (head)" if rev.is_head else ""
        if rev.revision == current:
            marker += " (current)"
        print(f"{rev.down_revision or '<base>'} -> {rev.revision}{marker}, {rev.message}")
    return 0


def _sync(args: argparse.Namespace) -> int:
    """``models sync``: the price list into the catalog, with a progress bar."""
    from synergia_core.pricing import genai_prices
    from synergia_core.store import Synergia

    url = _existing_database(resolve_url(args.url))
    models = genai_prices(args.providers)
    with Synergia(url) as sy:
        sy.ensure_schema()  # before the bar starts: an error stays one line
        with _progress(len(models), "syncing models") as advance:
            report = sy.models.sync(models, progress=advance)
    total = report.created + report.updated + report.unchanged
    print(
        f"synced {total} models: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged ({len(models.skipped)} skipped)"
    )
    return 0


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on standard error, fed with the number done: rich's
    when the ``cli`` extra is installed, else a line every tenth of the way."""
    try:
        rich_console = importlib.import_module("rich.console")
        rich_progress = importlib.import_module("rich.progress")
    except ImportError:
        step = max(1, total // 10)

        def line(done: int) -> None:
            if done % step == 0 or done == total:
                print(f"{label}: {done}/{total}", file=sys.stderr, flush=True)

        yield line
        return
    progress = rich_progress.Progress(
        rich_progress.TextColumn("{task.description}"),
        rich_progress.BarColumn(),
        rich_progress.MofNCompleteColumn(),
        rich_progress.TimeElapsedColumn(),
        console=rich_console.Console(stderr=True),
    )
    with progress:
        task = progress.add_task(label, total=total)
        yield lambda done: progress.update(task, completed=done)


# --------------------------------------------------------------- export, import


def _transfer_parsers(commands: Any) -> dict[tuple[str, str], argparse.ArgumentParser]:
    """The ``export`` and ``import`` commands."""
    export = commands.add_parser(
        "export",
        help="write a user's chats to a JSON Lines file",
        description=(
            "Write every chat of a user (live and deleted), every branch, usage, costs "
            "and the catalog entries they name, as synergia-chats JSON Lines."
        ),
    )
    export.add_argument("--user", required=True, metavar="U", help="whose chats")
    export.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the file to write ('-': stdout)"
    )
    imports = commands.add_parser(
        "import",
        help="read chats from an export, or from a ChatGPT conversations.json",
        description=(
            "Read chats written by `export` (their owner: the file's, or --user), or with "
            "--chatgpt a ChatGPT data export's conversations.json (--user required). "
            "Chats already there are skipped."
        ),
    )
    imports.add_argument("file", metavar="FILE", help="the file to read")
    imports.add_argument(
        "--chatgpt", action="store_true", help="FILE is a ChatGPT conversations.json"
    )
    imports.add_argument("--user", metavar="U", help="the owner of the imported chats")
    imports.add_argument(
        "--new-ids",
        action="store_true",
        help="give the chats and messages new ids (import a file twice, or as another user)",
    )
    return {("export", ""): export, ("import", ""): imports}


class _CountingReader:
    """A binary file that counts the bytes read from it (for a progress bar)."""

    def __init__(self, fp: BinaryIO) -> None:
        self._fp = fp
        self.done = 0

    def read(self, size: int = -1) -> bytes:
        data = self._fp.read(size)
        self.done += len(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        for line in self._fp:
            self.done += len(line)
            yield line


def _transfer(args: argparse.Namespace) -> int:
    """``export`` and ``import``, with a progress bar and a summary line."""
    from synergia_core.store import Synergia

    url = _existing_database(resolve_url(args.url))
    with Synergia(url) as sy:
        sy.ensure_schema()  # before the bar starts: an error stays one line
        if args.command == "export":
            return _export(sy, args.user, args.output)
        path = Path(args.file)
        if not path.is_file():
            raise _CommandError(f"no file at {path.resolve()}")
        with path.open("rb") as raw, _lazy_progress(path.stat().st_size, "importing") as advance:
            counting = _CountingReader(raw)
            report = sy.import_chats(
                cast(BinaryIO, counting),
                user_id=args.user,
                keep_ids=not args.new_ids,
                format="chatgpt" if args.chatgpt else "synergia",
                progress=lambda _: advance(counting.done),
            )
            advance(counting.done)
    print(
        f"imported {report.chats} chats, {report.messages} messages, {report.models} models"
        f" ({report.skipped_chats} chats already there)"
    )
    return 0


def _export(sy: Any, user_id: str, output: str) -> int:
    total = sy.usage.totals(user_id=user_id).message_count
    to_stdout = output == "-"
    with contextlib.ExitStack() as stack:
        fp = sys.stdout if to_stdout else stack.enter_context(Path(output).open("wb"))
        advance = stack.enter_context(_lazy_progress(total, "exporting"))
        report = sy.export_chats(fp, user_id=user_id, progress=advance)
    print(
        f"exported {report.chats} chats, {report.messages} messages, {report.models} models"
        f" to {'standard output' if to_stdout else output}",
        file=sys.stderr if to_stdout else sys.stdout,
    )
    return 0


@contextmanager
def _lazy_progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """:func:`_progress`, shown from the first progress report on (an input
    refused at once is one error line, without a bar)."""
    with contextlib.ExitStack() as stack:
        shown: list[Callable[[int], None]] = []

        def advance(done: int) -> None:
            if not shown:
                shown.append(stack.enter_context(_progress(total, label)))
            shown[0](done)

        yield advance


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

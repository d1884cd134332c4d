"""Command line: ``synergia-core db upgrade|downgrade|current|history``.

Also runs as ``python -m synergia_core``. The database URL comes from
``--url`` (before or after the subcommand), else ``$SYNERGIA_DATABASE_URL``,
else ``sqlite:///synergia.db``. A URL given as a positional argument is
refused with a message that says to use ``--url`` (``db upgrade REVISION``
takes a revision there). Read-only commands (``db current``, ``db history``)
and ``db downgrade`` never create a database: on a SQLite file that does not
exist they say "no database at PATH". ``-v`` / ``--verbose`` logs the SQL
statements and the migration steps to standard error.

Every error is one line on standard error, ``error: ...``; the exit status
is 1, or 2 for a usage error (a wrong option or argument).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

from sqlalchemy.engine import URL

from synergia_core import _migration
from synergia_core._version import __version__
from synergia_core.db import DEFAULT_URL, URL_ENV_VAR, resolve_url

__all__ = ["main"]

PROG = "synergia-core"
VERBOSE_LOGGERS = ("sqlalchemy.engine", "synergia_core", "alembic")
"""Loggers set to INFO by ``--verbose``: the SQL statements and the migration steps."""

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


def _parser() -> tuple[_Parser, dict[str, argparse.ArgumentParser]]:
    """The parser, and the parsers of the ``db`` commands by name."""
    parser = _Parser(
        prog=PROG,
        description="Manage the synergia-core database schema.",
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
    subcommands: dict[str, argparse.ArgumentParser] = {
        "upgrade": upgrade,
        "downgrade": downgrade,
        "current": current,
        "history": history,
    }
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
    command = subcommands[args.db_command]
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

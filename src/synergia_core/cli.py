"""Command line: ``synergia-core db upgrade|downgrade|current|history``.

Also runs as ``python -m synergia_core``. The database URL comes from
``--url``, else ``$SYNERGIA_DATABASE_URL``, else ``sqlite:///synergia.db``.
Errors print one line on standard error and exit with status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from synergia_core import _migration
from synergia_core._version import __version__
from synergia_core.db import DEFAULT_URL, URL_ENV_VAR

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="synergia-core",
        description="Manage the synergia-core database schema.",
    )
    parser.add_argument("--version", action="version", version=f"synergia-core {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    db = commands.add_parser("db", help="database schema commands")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")

    url_help = f"database URL (default: ${URL_ENV_VAR}, else {DEFAULT_URL})"
    upgrade = db_commands.add_parser("upgrade", help="upgrade the schema (to head by default)")
    upgrade.add_argument("revision", nargs="?", default="head", help="target revision")
    downgrade = db_commands.add_parser("downgrade", help="downgrade the schema to REVISION")
    downgrade.add_argument("revision", help="target revision ('base' removes every table)")
    current = db_commands.add_parser("current", help="show the database's schema revision")
    history = db_commands.add_parser("history", help="list the shipped schema revisions")
    for sub in (upgrade, downgrade, current):
        sub.add_argument("--url", default=None, help=url_help)
    del history
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line instead of a traceback
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    head = _migration.head_revision()
    if args.db_command == "upgrade":
        before = _migration.current_revision(args.url)
        _migration.migrate(args.url, args.revision)
        after = _migration.current_revision(args.url)
        if before == after:
            print(f"already at {after or '<none>'}; nothing to do")
        else:
            print(f"upgraded {before or '<none>'} -> {after}")
    elif args.db_command == "downgrade":
        before = _migration.current_revision(args.url)
        _migration.downgrade(args.url, args.revision)
        after = _migration.current_revision(args.url)
        print(f"downgraded {before or '<none>'} -> {after or '<none>'}")
    elif args.db_command == "current":
        current = _migration.current_revision(args.url)
        if current is None:
            print("<none> (not migrated; run `synergia-core db upgrade`)")
        else:
            print(f"{current} (head)" if current == head else f"{current} (head is {head})")
    else:
        for rev in _migration.history():
            marker = " (head)" if rev.is_head else ""
            print(f"{rev.down_revision or '<base>'} -> {rev.revision}{marker}, {rev.message}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

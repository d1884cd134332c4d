"""Autogenerate a new schema revision (``make migration MSG="..."``).

Migrates a scratch SQLite database to the current head, then lets Alembic
compare it with the ORM metadata and write the difference as a new revision
under ``src/synergia_core/migrations/versions``. Review and hand-edit the
result (spell out column types instead of importing the ORM's) before
committing it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from synergia_core._migration import _config, migrate
from synergia_core.db import create_engine


def main() -> int:
    if len(sys.argv) != 2:
        print('usage: new_migration.py "message"', file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'scratch.db'}"
        migrate(url)
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                command.revision(_config(connection), message=sys.argv[1], autogenerate=True)
        finally:
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

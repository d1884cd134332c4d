"""Quickstart: open the embedded SQLite default, migrate, report health.

Run with ``make demo``, or ``python examples/quickstart.py [URL]``.
"""

from __future__ import annotations

import sys

from synergia_core import Synergia


def main(url: str | None = None) -> None:
    """Migrate the database at ``url`` (default: the embedded SQLite file) and report."""
    with Synergia(url) as sy:
        sy.migrate()
        health = sy.health()
        print(f"synergia-core {health.version} on {health.database}")
        print(f"schema revision: {health.revision} (head: {health.head})")
        print(f"health: {health.status}, round trip {health.latency_ms} ms")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)

"""synergia-core in the shared peer benchmark, with its tables ANALYZEd after seeding.

``peers.py`` runs ``ANALYZE`` on the tables each adapter lists in ``tables()``
after seeding. The shared adapter (``shared/bench/adapters/ours.py``) keeps
synergia-core's tables in a database of its own, which the harness's
connection cannot reach, so it lists none: they are never analyzed, and on a
server running with ``autovacuum = off`` (this machine's) the planner reads
the newest page of a 10,000-message chat with a bitmap scan of every message
of the chat and a sort. This adapter is the shared one, plus the ``ANALYZE``
every other system gets, in a database of its own (``bench_ours_analyzed``),
so both can run side by side::

    $V/bin/python ../shared/bench/peers.py --systems floor,floor_meta,ours,ours_analyzed \\
        --adapter ../shared/bench/adapters/ours.py:Ours \\
        --adapter benchmarks/peers_ours_analyzed.py:OursAnalyzed --out /tmp/peers.md

The shared adapter is found beside ``peers.py`` (``$SYNERGIA_PEERS_ADAPTER``
overrides the path).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any, ClassVar


def _shared_adapter() -> Path:
    explicit = os.environ.get("SYNERGIA_PEERS_ADAPTER")
    if explicit:
        return Path(explicit)
    peers = sys.modules.get("peers")
    if peers is not None and getattr(peers, "__file__", None):
        return Path(str(peers.__file__)).resolve().parent / "adapters" / "ours.py"
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "bench" / "adapters" / "ours.py"
        if candidate.exists():
            return candidate
    raise FileNotFoundError("shared/bench/adapters/ours.py: set $SYNERGIA_PEERS_ADAPTER")


def _load_ours() -> Any:
    spec = importlib.util.spec_from_file_location("synergia_peers_shared_ours", _shared_adapter())
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Ours


_Ours: Any = _load_ours()


class OursAnalyzed(_Ours):  # type: ignore[misc]
    """The shared ``Ours``, analyzed after every seeding like the other systems."""

    key = "ours_analyzed"
    label = "synergia-core (public API, sync facade), tables ANALYZEd after seeding"
    notes: ClassVar[list[str]] = [
        *_Ours.notes,
        "As `ours`, in the database bench_ours_analyzed, plus ANALYZE of its tables "
        "after seeding (the harness does that for the tables every other adapter lists).",
    ]

    sy: Any = None
    _loading_many = False
    owner: dict[str, str]
    db: str

    def setup(self) -> None:
        import psycopg

        from synergia_core import Synergia

        if self.sy is not None:
            self.sy.close()
        self.db = "bench_ours_analyzed"
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{self.db}"')
        self.sy = Synergia(self._url())
        self.sy.migrate()
        self.owner = {}

    def _analyze(self) -> None:
        with self.sy.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.exec_driver_sql("ANALYZE")

    def bulk_load(self, chat_id: str, msgs: list[tuple[str, str]]) -> None:
        super().bulk_load(chat_id, msgs)
        if not self._loading_many:
            self._analyze()

    def bulk_load_many(self, items: list[tuple[str, list[tuple[str, str]]]]) -> None:
        # The shared adapter may load each chat through bulk_load: analyze
        # once at the end, not once per chat.
        self._loading_many = True
        try:
            super().bulk_load_many(items)
        finally:
            self._loading_many = False
        self._analyze()

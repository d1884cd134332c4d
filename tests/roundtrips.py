"""Counting PostgreSQL round trips: libpq's protocol trace of every
connection an engine hands out, and the ``ReadyForQuery`` messages in it
(the server sends one at the end of each round trip)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from psycopg import pq


@dataclass
class Trace:
    """What a traced block sent: its round trips and its queries."""

    lines: list[str] = field(default_factory=list)

    @property
    def round_trips(self) -> int:
        return sum(1 for line in self.lines if line.startswith("B") and "ReadyForQuery" in line)

    @property
    def queries(self) -> list[str]:
        """The SQL the client sent (simple queries and parsed statements)."""
        out = []
        for line in self.lines:
            parts = line.split("\t")
            if parts[0] == "F" and parts[2] in ("Query", "Parse"):
                out.append(parts[3].strip())
        return out


@contextmanager
def traced(engine: sa.Engine) -> Iterator[Trace]:
    """Trace every connection ``engine`` checks out inside the block."""
    trace = Trace()
    files: dict[int, tuple[Any, int, str]] = {}

    def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", dbapi_connection)
        pgconn = driver.pgconn
        if id(pgconn) in files:
            return
        handle, path = tempfile.mkstemp(prefix="synergia-trace-")
        pgconn.trace(handle)
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        files[id(pgconn)] = (pgconn, handle, path)

    sa.event.listen(engine, "checkout", on_checkout)
    try:
        yield trace
    finally:
        sa.event.remove(engine, "checkout", on_checkout)
        for pgconn, handle, path in files.values():
            pgconn.untrace()  # flushes libpq's stream
            os.close(handle)
            with open(path) as written:
                trace.lines.extend(written.read().splitlines())
            os.unlink(path)

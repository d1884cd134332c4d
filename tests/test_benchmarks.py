"""The benchmark harness runs (tiny sizes): `make bench` keeps working; and
the floor it measures against is the physical floor it claims to be.

Not a timed test: the figures are not looked at here, see docs/performance.md.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from psycopg import pq
from sqlalchemy.engine import make_url

from synergia_core import ChatCreate, MessageCreate, Synergia

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str) -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(f"synergia_bench_{name}", BENCHMARKS / name)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_benchmark_harness_runs(backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    run = _load("run.py")
    assert run.main(["--smoke", "--backend", backend]) == 0
    out = capsys.readouterr().out
    for workload in (
        "W1 append",
        "W2 newest 50",
        "W3 all",
        "W4 chat list",
        "W5 one append",
        "W6 breakdown",
        "async W1",
        "async W2",
    ):
        assert workload in out, workload
    assert "ratio" in out
    assert "targets: " in out


@pytest.mark.slow
def test_replicas_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """benchmarks/replicas.py runs (tiny sizes) on its private primary and replica."""
    replicas = _load("replicas.py")
    assert replicas.main(["--smoke"]) == 0
    out = capsys.readouterr().out
    for line in ("primary only", "primary + replica", "routing", "map lookup", "with replicas"):
        assert line in out, line


def test_hotspots_profiles_a_workload(capsys: pytest.CaptureFixture[str]) -> None:
    hotspots = _load("hotspots.py")
    for workload in ("newest", "async-append"):
        assert hotspots.main(["--workload", workload, "--size", "60", "--calls", "3"]) == 0
        out = capsys.readouterr().out
        assert "## by tottime" in out
        assert "## by cumulative" in out


def _floor_calls(floor: Any, chat: Any, after: Any) -> dict[str, Callable[[], object]]:
    """One call of each floor operation (``after``: a chat-list key)."""
    return {
        "append": lambda: floor.append(chat, "alice", "hello"),
        "tail": lambda: floor.tail(chat, "alice", 50),
        "thread": lambda: floor.thread(chat, "alice", 50),
        "full": lambda: floor.full(chat, "alice"),
        "chats": lambda: floor.chats("alice", 21, None),
        "chats after": lambda: floor.chats("alice", 21, after),
    }


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgres_floor_is_one_prepared_round_trip(db_url: str) -> None:
    """Every floor operation on PostgreSQL: one round trip, an already
    prepared statement (no Parse), no BEGIN/COMMIT."""
    floor_module = _load("floor.py")
    with Synergia(db_url) as sy:
        chat = sy.chats.create(ChatCreate(user_id="alice"))
        sy.messages.add(chat.id, MessageCreate(role="user", content="hi"), user_id="alice")
    url = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    floor = floor_module.PostgresFloor(url)
    try:
        calls = _floor_calls(floor, chat.id, (chat.created_at, chat.id))
        for name, call in calls.items():
            call()  # the first execution prepares
            pgconn = floor.connection.pgconn
            handle, path = tempfile.mkstemp(prefix="synergia-floor-trace-")
            try:
                pgconn.trace(handle)
                pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
                call()
                pgconn.untrace()
                lines = Path(path).read_text().splitlines()
            finally:
                os.close(handle)
                os.unlink(path)
            sent = [line.split("\t")[2] for line in lines if line.startswith("F")]
            ready = [line for line in lines if line.startswith("B") and "ReadyForQuery" in line]
            assert len(ready) == 1, (name, lines)
            assert "Parse" not in sent, (name, sent)
            assert "Query" not in sent, (name, sent)
    finally:
        floor.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_floor_is_one_statement(db_url: str) -> None:
    """Every floor operation on SQLite: one statement, no BEGIN/COMMIT (the
    sqlite3 module in autocommit mode); the append's chat-row bump is the
    schema's trigger, inside that statement."""
    floor_module = _load("floor.py")
    with Synergia(db_url) as sy:
        chat = sy.chats.create(ChatCreate(user_id="alice")).id
        sy.messages.add(chat, MessageCreate(role="user", content="hi"), user_id="alice")
        path = make_url(db_url).database
        floor = floor_module.SqliteFloor(path)
        try:
            after = (sy.chats.get(chat, user_id="alice").created_at, chat)
            calls = _floor_calls(floor, chat, after)
            for name, call in calls.items():
                statements: list[str] = []
                floor.connection.set_trace_callback(statements.append)
                call()
                floor.connection.set_trace_callback(None)
                # sqlite3 reports a trigger's program under its statement's
                # text, and the search index's FTS5 tables' own reads and
                # writes (made by the trigger, inside the statement) apart
                distinct = {
                    s
                    for s in statements
                    if "synergia_search_" not in s and "PRAGMA 'main'.data_version" not in s
                }
                assert len(distinct) == 1, (name, statements)
                assert not any(s.lstrip().upper().startswith(("BEGIN", "COMMIT")) for s in distinct)
            chat_row = sy.chats.get(chat, user_id="alice")
            assert chat_row.message_count == 2  # the library's add, then the floor's
            thread = sy.messages.thread(chat, user_id="alice")
            assert [m.content for m in thread] == ["hi", "hello"]
        finally:
            floor.close()


@pytest.mark.slow
def test_transfer_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """benchmarks/transfer.py --smoke: both backends, and the export of the
    import equals the file (the script checks it)."""
    transfer = _load("transfer.py")
    assert transfer.main(["--smoke"]) == 0
    out = capsys.readouterr().out
    for backend in ("sqlite", "postgresql"):
        for operation in ("import", "export"):
            assert f"| {backend} | 250 | {operation} |" in out

"""The private-server helper itself (tests/pgserver.py): servers, replicas, PgBouncer."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.pgserver import (
    PgBouncer,
    PgHelperError,
    PgSandbox,
    PgServer,
    Replica,
    pg_bindir,
    pid_alive,
)


def test_a_private_server_answers_restarts_and_stops(private_pg: PgServer) -> None:
    assert private_pg.url() == f"postgresql+psycopg://postgres@127.0.0.1:{private_pg.port}/postgres"
    assert private_pg.execute("SELECT current_setting('fsync'), 6 * 7") == [("off", 42)]
    assert private_pg.execute("SHOW listen_addresses") == [("127.0.0.1",)]
    socket_dir = private_pg.execute("SHOW unix_socket_directories")[0][0]
    assert Path(socket_dir) == private_pg.socket_dir
    private_pg.execute("CREATE TABLE IF NOT EXISTS kept (n int)")
    private_pg.execute("INSERT INTO kept VALUES (1)")
    pid = private_pg.postmaster_pid()

    private_pg.restart()
    assert private_pg.postmaster_pid() != pid
    assert private_pg.execute("SELECT count(*) FROM kept") == [(1,)]

    with private_pg.stopped():
        assert not private_pg.is_running()
        with pytest.raises(psycopg.OperationalError):
            private_pg.execute("SELECT 1")
    assert private_pg.is_running()

    private_pg.crash()  # immediate stop: crash recovery at the next start
    private_pg.start()
    assert private_pg.execute("SELECT count(*) FROM kept") == [(1,)]


def test_the_sandbox_removes_everything_it_started_even_after_a_failed_start() -> None:
    with PgSandbox() as sandbox:
        server = sandbox.server("good", max_connections=20)
        pid = server.postmaster_pid()
        assert pid is not None
        assert server.execute("SHOW max_connections") == [("20",)]
        with pytest.raises(PgHelperError, match="shared_buffers"):  # the log tail says why
            sandbox.server("broken", shared_buffers="not-a-size")
        assert not sandbox.servers[-1].is_running()
        root = sandbox.root
    assert not root.exists()
    assert not pid_alive(pid)


def test_missing_binaries_are_an_error_not_a_skip(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SYNERGIA_TEST_PG_BIN", str(tmp_path))
    with pytest.raises(PgHelperError, match="not found"):
        pg_bindir()


def test_the_server_processes_are_not_root(private_pg: PgServer) -> None:
    pid = private_pg.postmaster_pid()
    assert pid is not None
    owner = os.stat(f"/proc/{pid}").st_uid
    assert owner != 0 or os.geteuid() != 0
    if os.geteuid() != 0:
        assert owner == os.geteuid()


def test_a_replica_replays_and_pausing_holds_writes_back(
    private_replication: tuple[PgServer, Replica],
) -> None:
    primary, replica = private_replication
    assert replica.execute("SELECT pg_is_in_recovery()") == [(True,)]
    primary.execute("CREATE TABLE IF NOT EXISTS replicated (n int)")
    primary.execute("INSERT INTO replicated VALUES (1)")
    replica.wait_for_replay(primary.current_lsn())
    assert replica.execute("SELECT n FROM replicated") == [(1,)]

    replica.pause_replay()
    try:
        primary.execute("INSERT INTO replicated VALUES (2)")
        lsn = primary.current_lsn()
        replica.wait_for_receive(lsn)  # the WAL arrived ...
        assert replica.execute("SELECT n FROM replicated ORDER BY n") == [(1,)]  # ... not applied
    finally:
        replica.resume_replay()
    replica.wait_for_replay(lsn)
    assert replica.execute("SELECT n FROM replicated ORDER BY n") == [(1,), (2,)]

    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        replica.execute("INSERT INTO replicated VALUES (3)")
    replica.stop()
    assert not replica.is_running()
    primary.execute("INSERT INTO replicated VALUES (3)")  # the primary does not care
    replica.start()
    replica.wait_for_replay(primary.current_lsn())
    assert replica.execute("SELECT count(*) FROM replicated") == [(3,)]


def test_queries_go_through_pgbouncer_in_transaction_mode(
    private_pgbouncer: PgBouncer, private_pg: PgServer
) -> None:
    assert private_pgbouncer.server is private_pg
    assert private_pgbouncer.port != private_pg.port
    with (
        psycopg.connect(private_pgbouncer.conninfo(), autocommit=True) as a,
        psycopg.connect(private_pgbouncer.conninfo(), autocommit=True) as b,
    ):
        assert a.info.port == private_pgbouncer.port
        pid_a = a.execute("SELECT pg_backend_pid()").fetchone()
        pid_b = b.execute("SELECT pg_backend_pid()").fetchone()
        # transaction pooling: b reuses the server connection a gave back
        assert pid_a == pid_b
        with a.transaction():  # a holds it for the length of a transaction
            assert a.execute("SELECT pg_backend_pid()").fetchone() == pid_a
            assert b.execute("SELECT pg_backend_pid()").fetchone() != pid_a
    pid = private_pgbouncer.pid()
    assert pid is not None
    private_pgbouncer.stop()
    assert not pid_alive(pid)
    private_pgbouncer.start()
    with psycopg.connect(private_pgbouncer.conninfo(), autocommit=True) as c:
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_nothing_here_touches_the_system_clusters() -> None:
    tests = Path(__file__).resolve().parent
    found = subprocess.run(
        ["grep", "-rlE", "--include=*.py", r"pg_ctl[c]luster|systemctl (stop|restart)", str(tests)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.stdout == ""

"""Private, throwaway PostgreSQL servers (and PgBouncer) for tests.

A test that stops, restarts or crashes a server, replicates from it or puts a
pooler in front of it must own that server: the shared one named by
``SYNERGIA_TEST_POSTGRES_URL`` belongs to other suites and to the developer.
This module starts one from the local PostgreSQL binaries:

* ``initdb`` into a new temporary directory (trust auth, C locale, UTF-8),
* ``pg_ctl start`` listening on 127.0.0.1 on a free port, the Unix socket
  inside the temporary directory, ``fsync=off`` for speed,
* stopped and removed at the end, also when the test fails.

When the tests run as root (PostgreSQL refuses to), every server process runs
as an unprivileged OS user (``$SYNERGIA_TEST_PG_OS_USER``, default
``postgres``) through ``runuser`` (or ``su``), with the temporary directory
given to that user; run as anyone else, it runs as the current user.

Binaries: ``$SYNERGIA_TEST_PG_BIN`` (a directory holding ``initdb`` and
``pg_ctl``), else ``pg_config --bindir``, else the newest
``/usr/lib/postgresql/*/bin``, else ``$PATH``. PgBouncer:
``$SYNERGIA_TEST_PGBOUNCER``, else ``pgbouncer`` on ``$PATH`` or in
``/usr/sbin``. When they are missing the fixtures *fail* (never skip): CI
must not pass without its PostgreSQL tests.

Fixtures (module-scoped: one private cluster per test module that asks):

* ``private_pg``: a :class:`PgServer` (``url()``, ``stop()``, ``start()``,
  ``restart()``, ``crash()``, ``stopped()``, ``execute()``,
  ``create_database()``).
* ``private_replication``: ``(primary, replica)``, a streaming replica made
  with ``pg_basebackup -R`` (:class:`Replica`: ``pause_replay()``,
  ``resume_replay()``, ``wait_for_replay(lsn)``, ``stop()``).
* ``private_pgbouncer``: a :class:`PgBouncer` in transaction pooling mode in
  front of ``private_pg``.

Outside pytest, :func:`private_postgres` and :func:`private_replication_pair`
are context managers doing the same.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pgserver._process import (
    PgHelperError,
    free_port,
    give_to_owner,
    pg_bindir,
    pgbouncer_binary,
    pid_alive,
)
from tests.pgserver.bouncer import PgBouncer
from tests.pgserver.server import PgServer, Replica

__all__ = [
    "PgBouncer",
    "PgHelperError",
    "PgSandbox",
    "PgServer",
    "Replica",
    "free_port",
    "pg_bindir",
    "pg_sandbox",
    "pgbouncer_binary",
    "pid_alive",
    "private_pg",
    "private_pgbouncer",
    "private_postgres",
    "private_replication",
    "private_replication_pair",
]

_LIVE: set[PgSandbox] = set()


class PgSandbox:
    """A temporary directory and every server and pooler started in it.

    :meth:`close` (or leaving the ``with`` block) stops them all and removes
    the directory; an ``atexit`` hook does it for sandboxes left open.
    """

    def __init__(self, *, bindir: Path | None = None) -> None:
        self.bindir = bindir or pg_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="synergia-pg-"))
        try:
            give_to_owner(self.root)
        except PgHelperError:
            self.root.rmdir()
            raise
        self.servers: list[PgServer] = []
        self.bouncers: list[PgBouncer] = []
        _LIVE.add(self)

    def server(self, name: str = "primary", **settings: str | int) -> PgServer:
        """Initialize and start a new server."""
        server = PgServer(self.root, name, bindir=self.bindir, settings=settings)
        self.servers.append(server)
        server.init()
        server.start()
        return server

    def replica(self, primary: PgServer, name: str = "replica") -> Replica:
        """Make and start a streaming replica of ``primary``."""
        replica = Replica(self.root, name, primary=primary)
        self.servers.append(replica)
        replica.init()
        replica.start()
        return replica

    def pgbouncer(self, server: PgServer, **options: Any) -> PgBouncer:
        """Start a PgBouncer in front of ``server`` (options: see :class:`PgBouncer`)."""
        bouncer = PgBouncer(self.root, server, name=f"pgbouncer{len(self.bouncers)}", **options)
        self.bouncers.append(bouncer)
        bouncer.start()
        return bouncer

    def close(self) -> None:
        """Stop everything (poolers, replicas, primaries) and remove the directory."""
        _LIVE.discard(self)
        errors: list[str] = []
        for bouncer in self.bouncers:
            try:
                bouncer.stop()
            except Exception as exc:  # keep going: the rest must stop too
                errors.append(f"{bouncer!r}: {exc}")
        replicas_first = sorted(self.servers, key=lambda s: not isinstance(s, Replica))
        for server in replicas_first:
            try:
                server.stop("fast")
            except Exception as exc:
                errors.append(f"{server!r}: {exc}")
                server.kill()
        shutil.rmtree(self.root, ignore_errors=True)
        if errors:
            raise PgHelperError("stopping private servers: " + "; ".join(errors))

    def __enter__(self) -> PgSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@atexit.register
def _close_leftovers() -> None:
    for sandbox in list(_LIVE):
        with contextlib.suppress(Exception):
            sandbox.close()


@contextlib.contextmanager
def private_postgres(**settings: str | int) -> Iterator[PgServer]:
    """A started private server, stopped and removed after the block."""
    with PgSandbox() as sandbox:
        yield sandbox.server("primary", **settings)


@contextlib.contextmanager
def private_replication_pair(**settings: str | int) -> Iterator[tuple[PgServer, Replica]]:
    """A started primary and its streaming replica, both removed after the block."""
    with PgSandbox() as sandbox:
        primary = sandbox.server("primary", **settings)
        yield primary, sandbox.replica(primary)


# -- pytest fixtures (imported by tests/conftest.py) ---------------------------


@pytest.fixture(scope="module")
def pg_sandbox() -> Iterator[PgSandbox]:
    """The module's sandbox of private servers; fails (never skips) without binaries."""
    try:
        sandbox = PgSandbox()
    except PgHelperError as exc:
        pytest.fail(str(exc), pytrace=False)
    with sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def private_pg(pg_sandbox: PgSandbox) -> PgServer:
    """A private PostgreSQL server for the module; a test that stops it starts it again."""
    try:
        return pg_sandbox.server("private")
    except PgHelperError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def private_replication(pg_sandbox: PgSandbox) -> tuple[PgServer, Replica]:
    """A private primary and its streaming replica, for the module."""
    try:
        primary = pg_sandbox.server("primary")
        return primary, pg_sandbox.replica(primary)
    except PgHelperError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def private_pgbouncer(pg_sandbox: PgSandbox, private_pg: PgServer) -> PgBouncer:
    """A PgBouncer (transaction pooling) in front of the module's ``private_pg``."""
    try:
        return pg_sandbox.pgbouncer(private_pg)
    except PgHelperError as exc:
        pytest.fail(str(exc), pytrace=False)

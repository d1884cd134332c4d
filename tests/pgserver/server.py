"""A private PostgreSQL server and its streaming replica."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg

from tests.pgserver._process import (
    HOST,
    SUPERUSER,
    PgHelperError,
    free_port,
    give_to_owner,
    pid_alive,
    run,
    wait_until,
)

# Server settings of every private server; a caller's ``settings`` override them.
DEFAULT_SETTINGS: dict[str, str | int] = {
    "fsync": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": 60,
    "wal_level": "replica",
    "max_wal_senders": 4,
    "hot_standby": "on",
    "wal_keep_size": "64MB",
    "log_min_messages": "warning",
    "timezone": "UTC",
}
_CONF = "synergia_test.conf"
START_ATTEMPTS = 3


class PgServer:
    """One private PostgreSQL server: a data directory and a postmaster."""

    def __init__(
        self,
        workdir: Path,
        name: str,
        *,
        bindir: Path,
        settings: Mapping[str, str | int] | None = None,
    ) -> None:
        self.name = name
        self.bindir = bindir
        self.workdir = workdir
        self.datadir = workdir / name
        self.socket_dir = workdir
        self.logfile = workdir / f"{name}.log"
        self.port = free_port()
        self.settings: dict[str, str | int] = {**DEFAULT_SETTINGS, **(settings or {})}

    # connection strings

    def url(self, database: str = "postgres", *, driver: str = "postgresql+psycopg") -> str:
        """A SQLAlchemy URL: ``postgresql+psycopg://postgres@127.0.0.1:PORT/postgres``."""
        return f"{driver}://{SUPERUSER}@{HOST}:{self.port}/{database}"

    def conninfo(self, database: str = "postgres") -> str:
        """A libpq connection string, for psycopg."""
        return f"host={HOST} port={self.port} user={SUPERUSER} dbname={database}"

    # life cycle

    def init(self) -> None:
        """Run ``initdb`` and write this server's settings."""
        flags = "--auth=trust --encoding=UTF8 --locale=C --no-sync --no-instructions"
        initdb = [str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", SUPERUSER]
        run([*initdb, *flags.split()], cwd=self.workdir)
        with (self.datadir / "postgresql.conf").open("a") as conf:
            conf.write(f"\ninclude_if_exists = '{_CONF}'\n")
        self._write_settings()

    def _write_settings(self) -> None:
        lines = {
            **self.settings,
            "listen_addresses": HOST,
            "port": self.port,
            "unix_socket_directories": str(self.socket_dir),
        }
        text = "".join(f"{key} = '{value}'\n" for key, value in lines.items())
        path = self.datadir / _CONF
        path.write_text(text)
        give_to_owner(path)

    def start(self, timeout: float = 60) -> None:
        """Start the server and wait until it accepts connections.

        When the port was taken meanwhile, retries on another free port.
        """
        for attempt in range(START_ATTEMPTS):
            log_size = self.logfile.stat().st_size if self.logfile.exists() else 0
            try:
                self._pg_ctl("start", "-w", "-t", str(int(timeout)), "-l", str(self.logfile))
                return
            except PgHelperError as exc:
                tail = self.log_tail(since=log_size)
                port_taken = "could not bind" in tail or "could not create any TCP/IP" in tail
                if port_taken and attempt + 1 < START_ATTEMPTS:
                    self.port = free_port()
                    self._write_settings()
                    continue
                with contextlib.suppress(PgHelperError):
                    self._pg_ctl("stop", "-m", "immediate", "-w")
                raise PgHelperError(f"{exc}\nserver log ({self.logfile}):\n{tail}") from None

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``mode``: smart, fast or immediate); no-op when stopped."""
        if not self.is_running():
            return
        pid = self.postmaster_pid()
        self._pg_ctl("stop", "-m", mode, "-w", "-t", "60")
        if pid is not None:  # pg_ctl returns when the pid file is gone: wait for the process
            wait_until(lambda: not pid_alive(pid), f"postmaster {pid} to exit", 30)

    def crash(self) -> None:
        """Stop the server the way a crash would: no checkpoint, recovery at next start."""
        self.stop("immediate")

    def restart(self) -> None:
        """Stop the server (fast) and start it again on the same port."""
        self.stop()
        self.start()

    @contextlib.contextmanager
    def stopped(self, mode: str = "fast") -> Iterator[None]:
        """Stop the server for the ``with`` block and start it again after, whatever happens."""
        self.stop(mode)
        try:
            yield
        finally:
            self.start()

    def is_running(self) -> bool:
        """Whether the postmaster is alive (``pg_ctl status``)."""
        if not (self.datadir / "PG_VERSION").exists():
            return False
        try:
            self._pg_ctl("status")
        except PgHelperError:
            return False
        return True

    def kill(self) -> None:
        """Last resort: SIGKILL the postmaster named in ``postmaster.pid``."""
        pid = self.postmaster_pid()
        if pid is not None and pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(PgHelperError):
                wait_until(lambda: not pid_alive(pid), f"postmaster {pid} to die", 10)

    def postmaster_pid(self) -> int | None:
        try:
            first = (self.datadir / "postmaster.pid").read_text().splitlines()[0]
        except (FileNotFoundError, IndexError):
            return None
        return int(first) if first.strip().isdigit() else None

    def _pg_ctl(self, *args: str) -> str:
        return run([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args], cwd=self.workdir)

    def log_tail(self, lines: int = 40, *, since: int = 0) -> str:
        """The end of the server log (from byte offset ``since``)."""
        try:
            with self.logfile.open("rb") as log:
                log.seek(since)
                text = log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # SQL

    def execute(
        self, sql: str, params: Sequence[Any] | None = None, *, database: str = "postgres"
    ) -> list[tuple[Any, ...]]:
        """Run one statement in autocommit mode; the rows it returns (``[]`` if none)."""
        with psycopg.connect(self.conninfo(database), autocommit=True, connect_timeout=10) as conn:
            cursor = conn.execute(sql.encode(), params)
            return cursor.fetchall() if cursor.description is not None else []

    def create_database(self, name: str) -> str:
        """Create a database; its SQLAlchemy URL."""
        self.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def current_lsn(self) -> str:
        """The primary's current WAL write position, e.g. ``'0/3000148'``."""
        return str(self.execute("SELECT pg_current_wal_lsn()::text")[0][0])

    def __repr__(self) -> str:
        return f"<PgServer {self.name} {HOST}:{self.port} {self.datadir}>"


class Replica(PgServer):
    """A streaming hot standby of a :class:`PgServer` (``pg_basebackup -R``)."""

    def __init__(self, workdir: Path, name: str, *, primary: PgServer) -> None:
        super().__init__(workdir, name, bindir=primary.bindir, settings=primary.settings)
        self.primary = primary

    def init(self) -> None:
        """Copy the primary with ``pg_basebackup`` (it writes ``standby.signal``)."""
        source = ["-h", HOST, "-p", str(self.primary.port), "-U", SUPERUSER]
        flags = ["-R", "-X", "stream", "-c", "fast", "--no-sync"]
        basebackup = str(self.bindir / "pg_basebackup")
        run([basebackup, *source, "-D", str(self.datadir), *flags], cwd=self.workdir)
        self._write_settings()

    def pause_replay(self, timeout: float = 30) -> None:
        """Stop applying WAL (it is still received) and wait until replay is paused."""
        self.execute("SELECT pg_wal_replay_pause()")
        wait_until(
            lambda: self.execute("SELECT pg_get_wal_replay_pause_state()")[0][0] == "paused",
            "replay to pause",
            timeout,
        )

    def resume_replay(self) -> None:
        self.execute("SELECT pg_wal_replay_resume()")

    def replay_lsn(self) -> str | None:
        """The last WAL position replayed (``None`` before any)."""
        value = self.execute("SELECT pg_last_wal_replay_lsn()::text")[0][0]
        return None if value is None else str(value)

    def wait_for_replay(self, lsn: str, timeout: float = 30) -> None:
        """Wait until the replica has replayed WAL up to ``lsn``."""
        self._wait_lsn("pg_last_wal_replay_lsn()", lsn, timeout)

    def wait_for_receive(self, lsn: str, timeout: float = 30) -> None:
        """Wait until the replica has received (not necessarily replayed) ``lsn``."""
        self._wait_lsn("pg_last_wal_receive_lsn()", lsn, timeout)

    def _wait_lsn(self, function: str, lsn: str, timeout: float) -> None:
        sql = f"SELECT coalesce({function} >= %s::pg_lsn, false)"
        wait_until(lambda: bool(self.execute(sql, [lsn])[0][0]), f"{function} >= {lsn}", timeout)

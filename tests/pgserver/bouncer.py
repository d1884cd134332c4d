"""A PgBouncer in front of a private server."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from collections.abc import Sequence
from pathlib import Path

from tests.pgserver._process import (
    HOST,
    SUPERUSER,
    PgHelperError,
    free_port,
    give_to_owner,
    pgbouncer_binary,
    pid_alive,
    run,
    wait_until,
)
from tests.pgserver.server import START_ATTEMPTS, PgServer


class PgBouncer:
    """A PgBouncer in front of a :class:`PgServer` (trust auth, its own files)."""

    def __init__(
        self,
        workdir: Path,
        server: PgServer,
        *,
        name: str = "pgbouncer",
        pool_mode: str = "transaction",
        pool_size: int = 10,
        ignore_startup_parameters: Sequence[str] = ("extra_float_digits",),
    ) -> None:
        self.binary = pgbouncer_binary()
        self.server = server
        self.workdir = workdir
        self.name = name
        self.port = free_port()
        self.pool_mode = pool_mode
        self.pool_size = pool_size
        self.ignore_startup_parameters = tuple(ignore_startup_parameters)
        self.config = workdir / f"{name}.ini"
        self.logfile = workdir / f"{name}.log"
        self.pidfile = workdir / f"{name}.pid"
        self.auth_file = workdir / f"{name}.users"

    def url(self, database: str = "postgres", *, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{SUPERUSER}@{HOST}:{self.port}/{database}"

    def conninfo(self, database: str = "postgres") -> str:
        return f"host={HOST} port={self.port} user={SUPERUSER} dbname={database}"

    def _write_config(self) -> None:
        self.auth_file.write_text(f'"{SUPERUSER}" ""\n')
        self.config.write_text(
            "[databases]\n"
            f"* = host={HOST} port={self.server.port}\n"
            "[pgbouncer]\n"
            f"listen_addr = {HOST}\n"
            f"listen_port = {self.port}\n"
            f"unix_socket_dir = {self.workdir}\n"
            "auth_type = trust\n"
            f"auth_file = {self.auth_file}\n"
            f"admin_users = {SUPERUSER}\n"
            f"pool_mode = {self.pool_mode}\n"
            f"default_pool_size = {self.pool_size}\n"
            "max_client_conn = 200\n"
            f"ignore_startup_parameters = {','.join(self.ignore_startup_parameters)}\n"
            f"logfile = {self.logfile}\n"
            f"pidfile = {self.pidfile}\n"
        )
        for path in (self.auth_file, self.config):
            give_to_owner(path)

    def start(self, timeout: float = 30) -> None:
        """Start it as a daemon and wait until it accepts connections."""
        for attempt in range(START_ATTEMPTS):
            self._write_config()
            run([str(self.binary), "-d", "-q", str(self.config)], cwd=self.workdir)
            try:
                wait_until(self._answers, f"pgbouncer on port {self.port}", timeout)
                return
            except PgHelperError:
                log = self.logfile.read_text() if self.logfile.exists() else ""
                self.stop()
                if "Address already in use" in log and attempt + 1 < START_ATTEMPTS:
                    self.port = free_port()
                    continue
                raise PgHelperError(f"pgbouncer did not start; log:\n{log}") from None

    def _answers(self) -> bool:
        pid = self.pid()
        if pid is None or not pid_alive(pid):
            return False
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            return sock.connect_ex((HOST, self.port)) == 0

    def pid(self) -> int | None:
        try:
            text = self.pidfile.read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text.isdigit() else None

    def is_running(self) -> bool:
        pid = self.pid()
        return pid is not None and pid_alive(pid)

    def stop(self, timeout: float = 10) -> None:
        """Shut it down (SIGTERM, then SIGKILL); no-op when it is not running."""
        pid = self.pid()
        if pid is None or not pid_alive(pid):
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            try:
                wait_until(lambda: not pid_alive(pid), f"pgbouncer {pid} to exit", timeout)
            except PgHelperError:
                continue
            break
        self.pidfile.unlink(missing_ok=True)

    def __repr__(self) -> str:
        return f"<PgBouncer {HOST}:{self.port} -> {self.server.port} {self.pool_mode}>"

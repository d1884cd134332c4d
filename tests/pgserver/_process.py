"""Processes of the private servers: binaries, the OS user they run as, ports, waits."""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HOST = "127.0.0.1"
SUPERUSER = "postgres"
BIN_ENV = "SYNERGIA_TEST_PG_BIN"
OS_USER_ENV = "SYNERGIA_TEST_PG_OS_USER"
PGBOUNCER_ENV = "SYNERGIA_TEST_PGBOUNCER"


class PgHelperError(RuntimeError):
    """A private server or pooler could not be set up (the message says why)."""


# -- binaries and the OS user -------------------------------------------------


def pg_bindir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``pg_basebackup``."""
    candidates: list[Path] = []
    if os.environ.get(BIN_ENV):
        candidates.append(Path(os.environ[BIN_ENV]))
    else:
        pg_config = shutil.which("pg_config")
        if pg_config:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=False
            )
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(Path(out.stdout.strip()))
        installed = Path("/usr/lib/postgresql").glob("*/bin")
        candidates += sorted(installed, key=lambda p: _version_key(p.parent.name), reverse=True)
        initdb = shutil.which("initdb")
        if initdb:
            candidates.append(Path(initdb).parent)
    for candidate in candidates:
        if all((candidate / tool).is_file() for tool in ("initdb", "pg_ctl", "pg_basebackup")):
            return candidate
    raise PgHelperError(
        "PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) not found: install the "
        f"PostgreSQL server package or set {BIN_ENV} (looked in: "
        f"{', '.join(map(str, candidates)) or 'nothing found'})"
    )


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def pgbouncer_binary() -> Path:
    """The ``pgbouncer`` executable (Debian package ``pgbouncer``)."""
    found = os.environ.get(PGBOUNCER_ENV) or shutil.which("pgbouncer")
    for candidate in (found, "/usr/sbin/pgbouncer"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise PgHelperError(f"pgbouncer not found: `apt-get install pgbouncer` or set {PGBOUNCER_ENV}")


def os_user() -> str | None:
    """The OS user to run server processes as (``None``: the current one)."""
    if os.geteuid() != 0:
        return None
    return os.environ.get(OS_USER_ENV, "postgres")


def as_owner(argv: Sequence[str]) -> list[str]:
    user = os_user()
    if user is None:
        return list(argv)
    runuser = shutil.which("runuser") or next(
        (p for p in ("/usr/sbin/runuser", "/sbin/runuser") if Path(p).is_file()), None
    )
    if runuser:
        return [runuser, "-u", user, "--", *argv]
    return ["su", "-s", "/bin/sh", user, "-c", shlex.join(argv)]


def give_to_owner(path: Path) -> None:
    user = os_user()
    if user is None:
        return
    try:
        shutil.chown(path, user=user)
    except LookupError as exc:
        raise PgHelperError(
            f"running as root, PostgreSQL needs an unprivileged OS user: {user!r} does not "
            f"exist (create it or set {OS_USER_ENV})"
        ) from exc


def _env() -> dict[str, str]:
    """The environment of helper commands: no PG* variable leaks in, C locale."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def run(argv: Sequence[str], *, cwd: Path, timeout: float = 120) -> str:
    try:
        done = subprocess.run(
            as_owner(argv),
            cwd=cwd,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PgHelperError(f"{shlex.join(argv)} timed out after {timeout} s") from exc
    if done.returncode != 0:
        raise PgHelperError(
            f"{shlex.join(argv)} exited with {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    return done.stdout


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(
    predicate: Callable[[], bool], what: str, timeout: float, interval: float = 0.02
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise PgHelperError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:  # no /proc: trust kill()
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"

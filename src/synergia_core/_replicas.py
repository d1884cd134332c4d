"""Read replicas: reads to a replica, writes to the primary, read-your-writes.

:class:`ReplicaRouter` is the scope of a facade given ``replicas=``. Work
that writes (and every ``transaction()`` block) runs on the primary; work
that only reads runs on a replica, unless that would show the caller data
older than their own last write.

Read-your-writes is kept per *caller*, a caller being the ``user_id`` a
call is for (``None``, the model catalog and reports across users, counts
as one caller). After a unit of work that wrote has committed, the
primary's WAL position (``pg_current_wal_lsn()``) is read on the same
connection and remembered for its user. A read by that user goes to a
replica only once the replica's replay position
(``pg_last_wal_replay_lsn()``) has reached it; until then it goes to the
primary. The position must be read after the commit: read before it (in
the transaction, or in a ``RETURNING``), it lies before the commit record,
and a replica that has replayed that far still hides the write.

A replica's replay position and lag are read on one of its connections at
most every :data:`CHECK_INTERVAL_S` (one query, on the connection the read
then uses); between checks, routing costs no round trip. Positions only grow,
so a cached one is a safe lower bound. A replica that cannot be reached is
skipped for a backoff that doubles up to :data:`MAX_BACKOFF_S`; one lagging
by more than ``max_replica_lag`` seconds is skipped until a check finds it
caught up. When no replica can serve a read, the primary does.

The map of users to positions is bounded (:data:`MAX_TRACKED_USERS`, least
recently written first out): the position of a user pushed out raises a
floor that every read must then reach, so dropping an entry never breaks
read-your-writes, it only sends more reads to the primary. Entries every
replica has replayed are dropped as reads pass by. If the position cannot
be read after a write (the primary's connection lost right after the commit),
the write still succeeds, and that user's reads go to the primary for
``max_replica_lag`` seconds instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine

from synergia_core._translate import checked_out, translate_errors
from synergia_core.errors import InvalidInputError
from synergia_core.repositories.protocols import Repositories
from synergia_core.schemas import ReplicaHealth
from synergia_core.services._context import Scope, unit_of_work

__all__ = [
    "CHECK_INTERVAL_S",
    "DEFAULT_MAX_REPLICA_LAG_S",
    "MAX_BACKOFF_S",
    "MAX_TRACKED_USERS",
    "ReplicaRouter",
    "check_replica_arguments",
    "format_lsn",
    "parse_lsn",
    "recording_scope",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_REPLICA_LAG_S = 30.0
"""Default ``max_replica_lag``: a replica further behind is skipped."""

CHECK_INTERVAL_S = 0.25
"""How often a replica's replay position and lag are read (at most)."""

FIRST_BACKOFF_S = 1.0
"""How long an unreachable replica is skipped after its first failure."""

MAX_BACKOFF_S = 30.0
"""The longest an unreachable replica is skipped (the backoff doubles up to it)."""

MAX_TRACKED_USERS = 100_000
"""How many users' last write positions a facade remembers."""

REPLICA_CONNECT_TIMEOUT_S = 5
"""``connect_timeout`` of the replicas' connections: a replica that does not
answer is given up on in this time and the read goes elsewhere."""

_STATUS_SQL = (
    "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()"
    " ELSE pg_current_wal_lsn() END,"
    " CASE WHEN pg_is_in_recovery()"
    " AND pg_last_wal_receive_lsn() IS DISTINCT FROM pg_last_wal_replay_lsn()"
    " THEN COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)"
    " ELSE 0 END"
)
_CURRENT_LSN_SQL = "SELECT pg_current_wal_lsn()"
_PRIMARY_ONLY = 1 << 64  # beyond any WAL position: no replica qualifies
_AUTOCOMMIT: dict[str, object] = {"isolation_level": "AUTOCOMMIT"}


def parse_lsn(text: object) -> int:
    """A PostgreSQL LSN (``'16/B374D848'``) as an integer; ``-1`` for ``None``."""
    if text is None:
        return -1
    high, _, low = str(text).partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def format_lsn(value: int) -> str | None:
    """An integer LSN back in PostgreSQL's notation (``None`` below zero)."""
    if value < 0:
        return None
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def check_replica_arguments(primary: Engine, replicas: object, max_replica_lag: object) -> None:
    """Refuse replicas a facade cannot route to.

    Raises:
        InvalidInputError: ``replicas`` is not a list of URLs, the primary is
            not PostgreSQL, or ``max_replica_lag`` is not a positive number.
    """
    if isinstance(replicas, (str, bytes)) or not isinstance(replicas, (list, tuple)):
        raise InvalidInputError("replicas must be a list of database URLs", field="replicas")
    for item in replicas:
        if not isinstance(item, (str, URL)):
            raise InvalidInputError(
                f"each replica must be a database URL, not {type(item).__name__}",
                field="replicas",
            )
    if (
        isinstance(max_replica_lag, bool)
        or not isinstance(max_replica_lag, (int, float))
        or not max_replica_lag > 0
    ):
        raise InvalidInputError(
            "max_replica_lag must be a positive number of seconds", field="max_replica_lag"
        )
    if replicas and primary.dialect.name != "postgresql":
        raise InvalidInputError(
            "read replicas need PostgreSQL (streaming replication)", field="replicas"
        )


@dataclass
class _Replica:
    engine: Engine
    url: str
    replay_lsn: int = -1
    lag_s: float | None = None
    checked_at: float = float("-inf")
    down_until: float = float("-inf")
    failures: int = 0
    error: str | None = None
    latency_ms: float | None = field(default=None)


class ReplicaRouter:
    """Routes each unit of work to the primary or a replica (see the module).

    Args:
        primary: The primary's engine.
        replicas: The replicas' engines (sync; an async facade gives the
            ``sync_engine`` of its async engines and runs the router in
            SQLAlchemy's greenlet bridge).
        max_lag_s: A replica lagging more is skipped.
        clock: Monotonic seconds (for tests).
    """

    def __init__(
        self,
        primary: Engine,
        replicas: Sequence[Engine],
        *,
        max_lag_s: float = DEFAULT_MAX_REPLICA_LAG_S,
        max_tracked_users: int = MAX_TRACKED_USERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self._replicas = [
            _Replica(engine, engine.url.render_as_string(hide_password=True)) for engine in replicas
        ]
        self._max_lag_s = float(max_lag_s)
        self._max_tracked = max_tracked_users
        self._clock = clock
        self._lock = threading.Lock()
        self._written: OrderedDict[str | None, int] = OrderedDict()
        self._unknown: OrderedDict[str | None, float] = OrderedDict()
        self._floor = -1
        self._next = 0

    @property
    def engines(self) -> list[Engine]:
        """The replicas' engines, in the order given."""
        return [replica.engine for replica in self._replicas]

    def tracked_users(self) -> int:
        """How many users' write positions are remembered (bounded)."""
        return len(self._written)

    # ------------------------------------------------------------------ scope

    @contextmanager
    def scope(
        self, *, write: bool, atomic: bool = False, user_id: str | None = None
    ) -> Iterator[Repositories]:
        """One unit of work: writes on the primary, reads where they may go."""
        if write:
            with translate_errors(), checked_out(self.primary) as connection:
                with unit_of_work(connection, write=True, atomic=atomic) as repos:
                    yield repos
                self.note_write(connection, (user_id,))
            return
        with (
            translate_errors(),
            self._read_connection(user_id) as connection,
            unit_of_work(connection, write=False, atomic=atomic) as repos,
        ):
            yield repos

    def note_write(self, connection: Connection, users: Iterable[str | None]) -> None:
        """Remember the primary's WAL position (read on ``connection``, after
        the commit) as the last write of each of ``users``."""
        try:
            if not connection.in_transaction():  # else already in autocommit (see unit_of_work)
                connection.execution_options(**_AUTOCOMMIT)
            lsn = parse_lsn(connection.exec_driver_sql(_CURRENT_LSN_SQL).scalar())
        except sa_exc.DBAPIError as exc:
            # The write is committed: report it done, and send these users'
            # reads to the primary for as long as a usable replica may lag.
            logger.warning("could not read the WAL position after a write: %s", exc)
            with self._lock:
                deadline = self._clock() + self._max_lag_s
                for user in users:
                    self._unknown.pop(user, None)
                    self._unknown[user] = deadline
                while len(self._unknown) > self._max_tracked:
                    self._unknown.popitem(last=False)
            return
        with self._lock:
            for user in users:
                previous = self._written.pop(user, -1)
                self._written[user] = max(previous, lsn)
            while len(self._written) > self._max_tracked:
                _, dropped = self._written.popitem(last=False)
                self._floor = max(self._floor, dropped)

    def needed_lsn(self, user_id: str | None) -> int:
        """The WAL position a replica must have replayed to serve ``user_id``."""
        with self._lock:
            if self._unknown:
                deadline = self._unknown.get(user_id)
                if deadline is not None:
                    if deadline > self._clock():
                        return _PRIMARY_ONLY
                    del self._unknown[user_id]
            lsn = self._written.get(user_id)
            if lsn is None:
                return self._floor
            if self._replicas and lsn <= min(r.replay_lsn for r in self._replicas):
                del self._written[user_id]  # every replica has it: forget it
                return self._floor
            return max(lsn, self._floor)

    @contextmanager
    def _read_connection(self, user_id: str | None) -> Iterator[Connection]:
        needed = self.needed_lsn(user_id)
        picked = self._pick_replica(needed)
        if picked is None:
            with checked_out(self.primary) as connection:
                yield connection
            return
        replica, connection = picked
        with connection:
            try:
                yield connection
            except sa_exc.DBAPIError as exc:
                if exc.connection_invalidated:
                    self._mark_down(replica, exc)
                raise

    def _pick_replica(self, needed: int) -> tuple[_Replica, Connection] | None:
        """A replica able to serve a read needing ``needed``, with a
        connection of its, or ``None`` (then the primary serves it)."""
        count = len(self._replicas)
        if count == 0:
            return None
        with self._lock:
            start = self._next
            self._next = (start + 1) % count
        now = self._clock()
        for offset in range(count):
            replica = self._replicas[(start + offset) % count]
            if replica.down_until > now:
                continue
            fresh = now - replica.checked_at < CHECK_INTERVAL_S
            if fresh and (replica.replay_lsn < needed or not self._lag_ok(replica)):
                continue
            try:
                connection = replica.engine.connect()
            except (sa_exc.DBAPIError, sa_exc.InvalidRequestError) as exc:
                self._mark_down(replica, exc)
                continue
            if not fresh:
                try:
                    self._check(replica, connection)
                except sa_exc.DBAPIError as exc:
                    connection.close()
                    self._mark_down(replica, exc)
                    continue
                if replica.replay_lsn < needed or not self._lag_ok(replica):
                    connection.close()
                    continue
            return replica, connection
        return None

    def _lag_ok(self, replica: _Replica) -> bool:
        return replica.lag_s is not None and replica.lag_s <= self._max_lag_s

    def _check(self, replica: _Replica, connection: Connection) -> None:
        """Read the replica's replay position and lag on ``connection``."""
        started = time.perf_counter()
        connection.execution_options(**_AUTOCOMMIT)
        row = connection.exec_driver_sql(_STATUS_SQL).one()
        connection.commit()  # ends SQLAlchemy's autobegun block (no round trip in autocommit)
        replica.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        replica.replay_lsn = parse_lsn(row[0])
        replica.lag_s = float(row[1] or 0)
        replica.checked_at = self._clock()
        replica.failures = 0
        replica.down_until = float("-inf")
        replica.error = None
        if not self._lag_ok(replica):
            logger.warning(
                "replica %s lags %.1f s (more than %.1f s): skipped",
                replica.url,
                replica.lag_s,
                self._max_lag_s,
            )

    def _mark_down(self, replica: _Replica, exc: BaseException) -> None:
        backoff = min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2**replica.failures)
        replica.failures += 1
        replica.down_until = self._clock() + backoff
        replica.checked_at = float("-inf")
        text = str(getattr(exc, "orig", None) or exc).strip()
        replica.error = f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"
        logger.warning("replica %s unavailable, skipped for %.0f s: %s", replica.url, backoff, text)

    # ------------------------------------------------------------------ health

    def health(self) -> list[ReplicaHealth]:
        """Check every replica now (never raises) and report each."""
        report: list[ReplicaHealth] = []
        for replica in self._replicas:
            try:
                with replica.engine.connect() as connection:
                    self._check(replica, connection)
            except Exception as exc:  # health reports every failure instead of raising
                self._mark_down(replica, exc)
                report.append(
                    ReplicaHealth(url=replica.url, status="unavailable", error=replica.error)
                )
                continue
            lagging = not self._lag_ok(replica)
            report.append(
                ReplicaHealth(
                    url=replica.url,
                    status="lagging" if lagging else "healthy",
                    lag_s=replica.lag_s,
                    replay_lsn=format_lsn(replica.replay_lsn),
                    latency_ms=replica.latency_ms,
                    error=f"lags more than {self._max_lag_s:g} s" if lagging else None,
                )
            )
        return report

    def dispose(self) -> None:
        """Release the replicas' connection pools."""
        for replica in self._replicas:
            replica.engine.dispose()


def recording_scope(scope: Scope, writers: set[str | None]) -> Scope:
    """``scope``, adding to ``writers`` the user of each unit of work that may write
    (a transaction block's writers, whose reads must then see the block)."""

    def recorded(
        *, write: bool, atomic: bool = False, user_id: str | None = None
    ) -> AbstractContextManager[Repositories]:
        if write:
            writers.add(user_id)
        return scope(write=write, atomic=atomic, user_id=user_id)

    return recorded

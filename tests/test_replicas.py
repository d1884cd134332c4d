"""Read replicas on a real streaming replica (private servers, never the shared one).

The module starts its own primary and a ``pg_basebackup -R`` replica. With
replay paused on the replica, data written afterwards exists only on the
primary, which tells which server answered a read: a user who just wrote
sees the write (read-your-writes, served by the primary), another user's
read shows the replica's stale state (served by the replica).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from synergia_core import (
    ChatCreate,
    ChatNotFound,
    DatabaseUnavailableError,
    InvalidInputError,
    Synergia,
    migrate,
)
from synergia_core._replicas import MAX_BACKOFF_S, ReplicaRouter, format_lsn, parse_lsn
from tests.facades import open_facade
from tests.pgserver import PgServer, Replica

MODES = ("sync", "async")


@pytest.fixture(scope="module")
def cluster(private_replication: tuple[PgServer, Replica]) -> tuple[PgServer, Replica, str]:
    """The module's primary and replica, and a migrated database on both."""
    primary, replica = private_replication
    name = f"synergia_r_{secrets.token_hex(3)}"
    url = primary.create_database(name)
    migrate(url)
    replica.wait_for_replay(primary.current_lsn())
    return primary, replica, name


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextmanager
def paused(replica: Replica) -> Iterator[None]:
    replica.pause_replay()
    try:
        yield
    finally:
        replica.resume_replay()


@contextmanager
def replica_only(cluster: tuple[PgServer, Replica, str]) -> Iterator[Synergia]:
    """A facade reading the replica alone (its schema is checked on the replica)."""
    _, replica, name = cluster
    with Synergia(replica.url(name)) as alone:
        yield alone


def open_routed(
    mode: str, cluster: tuple[PgServer, Replica, str], *, max_replica_lag: float = 30.0
) -> Synergia:
    primary, replica, name = cluster
    return open_facade(
        mode, primary.url(name), replicas=[replica.url(name)], max_replica_lag=max_replica_lag
    )


def test_reads_go_to_the_replica_and_own_writes_to_the_primary(
    mode: str, cluster: tuple[PgServer, Replica, str]
) -> None:
    primary, replica, _ = cluster
    sy = open_routed(mode, cluster)
    try:
        before = sy.chats.create(ChatCreate(user_id=f"bob-{mode}", title="before"))
        replica.wait_for_replay(primary.current_lsn())
        with paused(replica):
            # alice writes while the replica is frozen: only the primary has it
            chat = sy.chats.create(ChatCreate(user_id=f"alice-{mode}", title="fresh"))
            # read-your-writes: alice's reads see her write (the primary serves them)
            assert sy.chats.get(chat.id, user_id=f"alice-{mode}").title == "fresh"
            assert [c.id for c in sy.chats.list(user_id=f"alice-{mode}").items] == [chat.id]
            # bob wrote long ago: his reads go to the replica, which is behind,
            # so a change made on the primary directly is not seen yet
            primary.execute(
                "UPDATE synergia_chats SET title = 'renamed' WHERE id = %s",
                [str(before.id)],
                database=cluster[2],
            )
            assert sy.chats.get(before.id, user_id=f"bob-{mode}").title == "before"
            # alice's chat is not on the replica yet: were her read served
            # there, it would not be found
            with pytest.raises(ChatNotFound), replica_only(cluster) as alone:
                alone.chats.get(chat.id, user_id=f"alice-{mode}")
        replica.wait_for_replay(primary.current_lsn())
        assert sy.chats.get(before.id, user_id=f"bob-{mode}").title == "renamed"
    finally:
        sy.close()


def test_other_users_reads_are_served_by_the_paused_replica(
    mode: str, cluster: tuple[PgServer, Replica, str]
) -> None:
    primary, replica, name = cluster
    sy = open_routed(mode, cluster)
    try:
        chat = sy.chats.create(ChatCreate(user_id=f"carol-{mode}", title="v1"))
        replica.wait_for_replay(primary.current_lsn())
        sy.chats.get(chat.id, user_id=f"carol-{mode}")  # the router learns the replica caught up
        with paused(replica):
            primary.execute(
                "UPDATE synergia_chats SET title = 'v2' WHERE id = %s",
                [str(chat.id)],
                database=name,
            )
            # no write of carol's through the library since: the replica serves her
            assert sy.chats.get(chat.id, user_id=f"carol-{mode}").title == "v1"
            # her own write makes her next reads go to the primary
            sy.chats.update(chat.id, {"title": "v3"}, user_id=f"carol-{mode}")
            assert sy.chats.get(chat.id, user_id=f"carol-{mode}").title == "v3"
            # a transaction block's writers too
            with sy.transaction() as tx:
                tx.chats.update(chat.id, {"title": "v4"}, user_id=f"carol-{mode}")
            assert sy.chats.get(chat.id, user_id=f"carol-{mode}").title == "v4"
        replica.wait_for_replay(primary.current_lsn())
        assert sy.chats.get(chat.id, user_id=f"carol-{mode}").title == "v4"
    finally:
        sy.close()


def test_a_caught_up_replica_serves_the_writer_again(
    mode: str, cluster: tuple[PgServer, Replica, str]
) -> None:
    primary, replica, name = cluster
    sy = open_routed(mode, cluster)
    try:
        chat = sy.chats.create(ChatCreate(user_id=f"dave-{mode}", title="one"))
        replica.wait_for_replay(primary.current_lsn())
        time.sleep(0.3)  # longer than the check interval: the next read re-checks
        with paused(replica):
            primary.execute(
                "UPDATE synergia_chats SET title = 'two' WHERE id = %s",
                [str(chat.id)],
                database=name,
            )
            # the replica has replayed dave's write: his reads go there again
            assert sy.chats.get(chat.id, user_id=f"dave-{mode}").title == "one"
        replica.wait_for_replay(primary.current_lsn())
    finally:
        sy.close()


def test_a_stopped_replica_is_skipped_and_reported(
    mode: str, cluster: tuple[PgServer, Replica, str]
) -> None:
    primary, replica, _ = cluster
    sy = open_routed(mode, cluster)
    try:
        chat = sy.chats.create(ChatCreate(user_id=f"erin-{mode}", title="kept"))
        replica.wait_for_replay(primary.current_lsn())
        with replica.stopped():
            # all replicas down: reads fall back to the primary
            assert sy.chats.get(chat.id, user_id=f"erin-{mode}").title == "kept"
            assert sy.chats.list(user_id=f"erin-{mode}").items[0].id == chat.id
            health = sy.health()
            assert health.status == "healthy"
            [state] = health.replicas
            assert state.status == "unavailable"
            assert state.error
        replica.wait_for_replay(primary.current_lsn())
        health = sy.health()  # a health check probes the replica again
        assert [r.status for r in health.replicas] == ["healthy"]
        assert health.replicas[0].lag_s is not None
        assert health.replicas[0].replay_lsn is not None
    finally:
        sy.close()


def test_a_lagging_replica_is_skipped(mode: str, cluster: tuple[PgServer, Replica, str]) -> None:
    primary, replica, name = cluster
    sy = open_routed(mode, cluster, max_replica_lag=0.5)
    try:
        chat = sy.chats.create(ChatCreate(user_id=f"frank-{mode}", title="old"))
        replica.wait_for_replay(primary.current_lsn())
        with paused(replica):
            primary.execute(
                "UPDATE synergia_chats SET title = 'new' WHERE id = %s",
                [str(chat.id)],
                database=name,
            )
            replica.wait_for_receive(primary.current_lsn())
            time.sleep(1.0)  # the replica now lags more than 0.5 s
            # the replica is skipped: frank's read sees the primary's data
            assert sy.chats.get(chat.id, user_id=f"frank-{mode}").title == "new"
            [state] = sy.health().replicas
            assert state.status == "lagging"
            assert state.lag_s is not None
            assert state.lag_s > 0.5
        replica.wait_for_replay(primary.current_lsn())
    finally:
        sy.close()


def test_reads_survive_the_primary_and_fail_typed_when_nothing_answers(
    mode: str, cluster: tuple[PgServer, Replica, str]
) -> None:
    primary, replica, _ = cluster
    sy = open_routed(mode, cluster)
    try:
        chat = sy.chats.create(ChatCreate(user_id=f"hank-{mode}", title="durable"))
        replica.wait_for_replay(primary.current_lsn())
        with primary.stopped():
            # the primary is down: the replica, which has hank's write, serves him
            assert sy.chats.get(chat.id, user_id=f"hank-{mode}").title == "durable"
            with pytest.raises(DatabaseUnavailableError):
                sy.chats.create(ChatCreate(user_id=f"hank-{mode}"))
            with replica.stopped():
                with pytest.raises(DatabaseUnavailableError):
                    sy.chats.get(chat.id, user_id=f"hank-{mode}")
                health = sy.health()
                assert health.status == "unhealthy"
                assert health.replicas[0].status == "unavailable"
        replica.wait_for_replay(primary.current_lsn())
    finally:
        sy.close()


def test_replica_arguments_are_checked(cluster: tuple[PgServer, Replica, str]) -> None:
    primary, replica, name = cluster
    with pytest.raises(InvalidInputError) as caught:
        Synergia("sqlite://", replicas=[replica.url(name)])
    assert caught.value.field == "replicas"
    with pytest.raises(InvalidInputError):
        Synergia(primary.url(name), replicas=replica.url(name))
    with pytest.raises(InvalidInputError):
        Synergia(primary.url(name), replicas=[None])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError) as caught:
        Synergia(primary.url(name), replicas=[replica.url(name)], max_replica_lag=0)
    assert caught.value.field == "max_replica_lag"


def test_the_map_of_writers_is_bounded_and_stays_safe(
    cluster: tuple[PgServer, Replica, str],
) -> None:
    primary, replica, name = cluster
    engine = sa.create_engine(primary.url(name))
    replica_engine = sa.create_engine(replica.url(name))
    router = ReplicaRouter(engine, [replica_engine], max_tracked_users=3)
    try:
        with engine.connect() as connection:
            for user in ("a", "b", "c", "d", "e"):
                router.note_write(connection, [user])
        assert router.tracked_users() == 3
        # a user pushed out is not forgotten unsafely: the floor covers them
        assert router.needed_lsn("a") >= 0
        assert router.needed_lsn("a") <= router.needed_lsn("e")
    finally:
        engine.dispose()
        replica_engine.dispose()


def test_lsn_notation_round_trips() -> None:
    assert parse_lsn("16/B374D848") == (0x16 << 32) + 0xB374D848
    assert format_lsn(parse_lsn("16/B374D848")) == "16/B374D848"
    assert parse_lsn(None) == -1
    assert format_lsn(-1) is None
    assert MAX_BACKOFF_S >= 1


def test_a_write_whose_position_is_lost_pins_its_user_to_the_primary(
    cluster: tuple[PgServer, Replica, str],
) -> None:
    primary, replica, name = cluster
    engine = sa.create_engine(primary.url(name))
    replica_engine = sa.create_engine(replica.url(name))
    now = [1000.0]
    router = ReplicaRouter(engine, [replica_engine], max_lag_s=5.0, clock=lambda: now[0])
    try:
        with engine.connect() as connection:
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            connection.commit()
            primary.execute("SELECT pg_terminate_backend(%s)", [pid], database=name)
            router.note_write(connection, ["zed"])  # the position cannot be read: no error
        assert router.needed_lsn("zed") > parse_lsn("FFFFFFFF/FFFFFFFF")  # primary only
        assert router.needed_lsn("someone else") == -1
        now[0] += 6.0  # longer than max_lag_s: replicas may serve zed again
        assert router.needed_lsn("zed") == -1
    finally:
        engine.dispose()
        replica_engine.dispose()

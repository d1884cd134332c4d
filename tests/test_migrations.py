"""Shipped migrations: upgrade, downgrade, agreement with the ORM, concurrency."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.pool import NullPool

import synergia_core
from synergia_core import (
    DatabaseUnavailableError,
    InvalidInputError,
    current_revision,
    downgrade,
    head_revision,
    migrate,
)
from synergia_core._migration import (
    SEARCH_TABLE_PREFIX,
    VERSION_TABLE,
    _config,
    history,
    only_synergia_objects,
)
from synergia_core.db import create_engine
from synergia_core.repositories.sql._orm import metadata as synergia_metadata

SYNERGIA_TABLES = {*synergia_metadata.tables, VERSION_TABLE}


def table_names(url: str) -> set[str]:
    """The tables, but SQLite's full-text index (made by the migrations
    alone, not in the ORM)."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        names = set(sa.inspect(engine).get_table_names())
        return {name for name in names if not name.startswith(SEARCH_TABLE_PREFIX)}
    finally:
        engine.dispose()


def test_upgrade_from_empty_to_head(fresh_url: str) -> None:
    assert current_revision(fresh_url) is None
    migrate(fresh_url)
    assert current_revision(fresh_url) == head_revision()
    assert table_names(fresh_url) == SYNERGIA_TABLES


def test_upgrade_twice_is_a_no_op(fresh_url: str) -> None:
    migrate(fresh_url)
    migrate(fresh_url)
    assert current_revision(fresh_url) == head_revision()


def test_round_trip_up_down_up(fresh_url: str) -> None:
    migrate(fresh_url)
    downgrade(fresh_url, "base")
    assert current_revision(fresh_url) is None
    assert table_names(fresh_url) == {VERSION_TABLE}
    migrate(fresh_url)
    assert current_revision(fresh_url) == head_revision()


def test_migrations_agree_with_the_orm(fresh_url: str) -> None:
    migrate(fresh_url)
    engine = create_engine(fresh_url)
    try:
        with engine.begin() as connection:
            command.check(_config(connection))  # raises when they differ
            # (the full-text index is made by the migrations alone, per dialect)
            opts = {"version_table": VERSION_TABLE, "include_object": only_synergia_objects}
            context = MigrationContext.configure(connection, opts=opts)
            assert compare_metadata(context, synergia_metadata) == []
    finally:
        engine.dispose()


def test_check_detects_a_difference(fresh_url: str) -> None:
    """The agreement test above can fail: an extra ORM column is reported."""
    migrate(fresh_url)
    engine = create_engine(fresh_url)
    extra = sa.Column("extra", sa.Integer())
    synergia_metadata.tables["synergia_models"].append_column(extra)
    try:
        with engine.begin() as connection:
            context = MigrationContext.configure(connection)
            diff = compare_metadata(context, synergia_metadata)
            assert any(op[0] == "add_column" for op in diff if isinstance(op, tuple))
    finally:
        synergia_metadata.tables["synergia_models"]._columns.remove(extra)
        engine.dispose()


def test_accepts_engine_and_connection(fresh_url: str) -> None:
    engine = create_engine(fresh_url)
    try:
        with engine.begin() as connection:
            migrate(connection)
            assert current_revision(connection) == head_revision()
            connection.rollback()  # the caller's transaction decides
        assert current_revision(engine) is None
        migrate(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_host_alembic_history_is_left_alone(fresh_url: str) -> None:
    engine = sa.create_engine(fresh_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"
            )
            connection.exec_driver_sql("INSERT INTO alembic_version VALUES ('host_rev_42')")
            connection.exec_driver_sql("CREATE TABLE host_orders (id INTEGER PRIMARY KEY)")
        migrate(fresh_url)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").all() == [
                ("host_rev_42",)
            ]
        created = table_names(fresh_url) - {"alembic_version", "host_orders"}
        assert created == SYNERGIA_TABLES
        assert all(name.startswith("synergia_") for name in created)
    finally:
        engine.dispose()


def test_include_object_hides_synergia_tables_from_host_autogenerate(fresh_url: str) -> None:
    migrate(fresh_url)
    host = sa.MetaData()
    sa.Table("host_orders", host, sa.Column("id", sa.Integer, primary_key=True))
    engine = sa.create_engine(fresh_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            naive = MigrationContext.configure(connection)
            naive_diff = compare_metadata(naive, host)
            assert any(op[0] == "remove_table" for op in naive_diff if isinstance(op, tuple))
            context = MigrationContext.configure(
                connection, opts={"include_object": synergia_core.include_object}
            )
            diff = compare_metadata(context, host)
    finally:
        engine.dispose()
    assert [op[0] for op in diff if isinstance(op, tuple)] == ["add_table"]


def test_history_lists_the_head() -> None:
    revisions = history()
    assert revisions[0].revision == head_revision()
    assert revisions[0].is_head
    assert revisions[-1].down_revision is None
    assert all(rev.message for rev in revisions)


def _migrate_in_process(url: str, queue: Any) -> None:
    try:
        migrate(url)
        queue.put("ok")
    except Exception as exc:  # reported to the parent
        queue.put(f"{type(exc).__name__}: {exc}")


def test_four_processes_migrating_at_once(fresh_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [
        context.Process(target=_migrate_in_process, args=(fresh_url, queue)) for _ in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    results = [queue.get(timeout=5) for _ in processes]
    assert results == ["ok"] * 4
    assert current_revision(fresh_url) == head_revision()
    engine = sa.create_engine(fresh_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").all()
    finally:
        engine.dispose()
    assert rows == [(head_revision(),)]


@pytest.mark.parametrize("revision", ["does-not-exist", "", "+7", "-1", 5, None, b"head", "a\x00"])
def test_unknown_revision_is_invalid_input(fresh_url: str, revision: Any) -> None:
    """Regression: an unknown revision escaped as Alembic's CommandError."""
    with pytest.raises(InvalidInputError) as caught:
        migrate(fresh_url, revision)
    assert caught.value.field == "revision"
    assert table_names(fresh_url) == set()  # nothing half-written, not even the version table
    with pytest.raises(InvalidInputError, match="revision"):
        downgrade(fresh_url, revision)
    migrate(fresh_url)
    with pytest.raises(InvalidInputError, match="revision"):
        downgrade(fresh_url, "no-such-revision")
    assert current_revision(fresh_url) == head_revision()


@pytest.mark.parametrize("target", [5, b"sqlite://", object(), ["sqlite://"]])
def test_a_target_that_is_no_database_is_invalid_input(target: Any) -> None:
    calls: list[Callable[[], object]] = [
        lambda: migrate(target),
        lambda: downgrade(target, "base"),
        lambda: current_revision(target),
    ]
    for call in calls:
        with pytest.raises(InvalidInputError) as caught:
            call()
        assert caught.value.field == "target"


def test_an_unreachable_database_is_database_unavailable() -> None:
    url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"
    with pytest.raises(DatabaseUnavailableError):
        current_revision(url)
    with pytest.raises(DatabaseUnavailableError):
        migrate(url)

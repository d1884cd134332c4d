"""The Synergia facade: construction, schema check, health, lifecycle."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from synergia_core import (
    DatabaseUnavailableError,
    SchemaOutOfDateError,
    Synergia,
    current_revision,
    head_revision,
    migrate,
)
from synergia_core._migration import VERSION_TABLE
from synergia_core.db import DEFAULT_URL, URL_ENV_VAR, resolve_url

UNREACHABLE_PG = "postgresql://postgres@127.0.0.1:1/nowhere"


def test_construction_does_no_io() -> None:
    sy = Synergia(UNREACHABLE_PG)
    assert sy.engine.dialect.name == "postgresql"
    assert sy.engine.url.drivername == "postgresql+psycopg"
    sy.close()


def test_url_and_engine_are_exclusive(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ValueError, match="not both"):
        Synergia("sqlite://", engine=engine)
    engine.dispose()


def test_default_url_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(URL_ENV_VAR, raising=False)
    assert resolve_url().render_as_string() == DEFAULT_URL
    monkeypatch.setenv(URL_ENV_VAR, f"sqlite:///{tmp_path / 'env.db'}")
    with Synergia() as sy:
        assert sy.engine.url.database == str(tmp_path / "env.db")


def test_unmigrated_database_raises_with_both_revisions_and_the_fix(fresh_url: str) -> None:
    with Synergia(fresh_url) as sy, pytest.raises(SchemaOutOfDateError) as caught:
        sy.ensure_schema()
    error = caught.value
    assert error.current is None
    assert error.expected == head_revision()
    assert "synergia-core db upgrade" in str(error)
    assert pickle.loads(pickle.dumps(error)).expected == head_revision()


def test_auto_migrate_migrates_on_first_use(fresh_url: str) -> None:
    with Synergia(fresh_url, auto_migrate=True) as sy:
        sy.ensure_schema()
    assert current_revision(fresh_url) == head_revision()


def test_database_ahead_of_the_package(fresh_url: str) -> None:
    migrate(fresh_url)
    engine = sa.create_engine(fresh_url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = 'ffff_future'")
    engine.dispose()
    with Synergia(fresh_url, auto_migrate=True) as sy:
        with pytest.raises(SchemaOutOfDateError, match="upgrade the synergia-core package") as e:
            sy.ensure_schema()
        assert e.value.current == "ffff_future"
        health = sy.health()
    assert health.status == "unhealthy"
    assert health.revision == "ffff_future"


def test_migrate_then_healthy(fresh_url: str, backend: str) -> None:
    with Synergia(fresh_url) as sy:
        assert sy.health().status == "unhealthy"
        sy.migrate()
        sy.ensure_schema()
        health = sy.health()
    assert health.status == "healthy"
    assert health.error is None
    assert health.database == backend
    assert health.revision == health.head == head_revision()
    assert health.latency_ms is not None
    assert health.latency_ms >= 0
    assert health.uptime_s >= 0
    assert health.timestamp.tzinfo is not None


def test_health_never_raises_when_the_database_is_down() -> None:
    with Synergia(UNREACHABLE_PG) as sy:
        health = sy.health()
    assert health.status == "unhealthy"
    assert health.revision is None
    assert health.error


def test_unreachable_database_is_a_typed_error() -> None:
    with Synergia(UNREACHABLE_PG) as sy, pytest.raises(DatabaseUnavailableError) as caught:
        sy.ensure_schema()
    assert isinstance(caught.value.__cause__, sa.exc.OperationalError)


def test_host_engine_is_not_disposed(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    with Synergia(engine=engine) as sy:
        assert sy.health().status == "healthy"
    with engine.connect() as connection:  # still usable
        assert connection.execute(sa.text("SELECT 1")).scalar_one() == 1
    engine.dispose()


def test_repr_hides_the_password() -> None:
    sy = Synergia("postgresql://user:secret@127.0.0.1:1/db")
    assert "secret" not in repr(sy)
    sy.close()


def test_sqlite_engine_settings(tmp_path: Path) -> None:
    with Synergia(f"sqlite:///{tmp_path / 'x.db'}") as sy, sy.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() >= 1000


def test_sqlite_writers_take_the_lock_at_begin(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE: a second writer waits at BEGIN, not half-way through."""
    from synergia_core.db import create_engine

    url = f"sqlite:///{tmp_path / 'lock.db'}"
    first = create_engine(url)
    second = create_engine(url, connect_args={"timeout": 0.05})
    try:
        with first.connect() as holder, holder.begin():
            holder.exec_driver_sql("SELECT 1")
            with second.connect() as waiter, pytest.raises(sa.exc.OperationalError, match="locked"):
                waiter.begin()
    finally:
        first.dispose()
        second.dispose()


def test_health_and_schema_checks_do_not_log_at_info(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression: Alembic's MigrationContext logged its set-up on every health check."""
    import logging

    with caplog.at_level(logging.INFO), Synergia(db_url) as sy:
        sy.ensure_schema()
        for _ in range(3):
            assert sy.health().status == "healthy"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == []


@pytest.mark.parametrize("url", ["not a url", "nonsense://x", "sqlite+nosuchdriver:///x.db"])
def test_bad_urls_are_invalid_input(url: str) -> None:
    from synergia_core import AsyncSynergia, InvalidInputError

    with pytest.raises(InvalidInputError) as caught:
        Synergia(url)
    assert caught.value.field == "url"
    with pytest.raises(InvalidInputError):
        AsyncSynergia(url)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg2://u@h/d",
        "postgresql+asyncpg://u@h/d",
        "mysql://u@h/d",
        "mysql+pymysql://u@h/d",
        "sqlite+pysqlcipher:///x.db",
    ],
)
def test_other_drivers_are_refused_naming_the_supported_ones(url: str) -> None:
    from synergia_core import AsyncSynergia, InvalidInputError

    scheme = url.split("://")[0] + "://"
    for attempt in (lambda: Synergia(url), lambda: AsyncSynergia(url), lambda: migrate(url)):
        with pytest.raises(InvalidInputError) as caught:
            attempt()
        assert caught.value.field == "url"
        assert str(caught.value) == (
            f"unsupported database URL scheme {scheme!r}: synergia-core supports sqlite://, "
            "sqlite+pysqlite://, postgresql:// and postgresql+psycopg:// "
            "(psycopg 3, sync and asyncio alike)"
        )


@pytest.mark.parametrize(
    "url", ["sqlite:///x.db", "sqlite+pysqlite:///x.db", "postgres://u@h/d", "postgresql://u@h/d"]
)
def test_the_supported_drivers(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Synergia(url).close()  # no I/O: nothing connects


def test_a_missing_driver_names_what_to_install() -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["psycopg"] = None  # as if the 'postgres' extra were not installed
        from synergia_core import Synergia
        try:
            Synergia("postgresql://u@h/d")
        except ImportError as exc:
            print(exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "not installed" in result.stdout
    assert "pip install 'synergia-core[postgres]'" in result.stdout


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize(("value", "expected"), [("none", None), ("0", 0), ("7", 7)])
def test_prepare_threshold_in_the_url_reaches_psycopg(
    value: str, expected: int | None, db_url: str
) -> None:
    """``?prepare_threshold=`` (for PgBouncer) becomes psycopg's setting."""
    from synergia_core.db import create_engine

    engine = create_engine(f"{db_url}?prepare_threshold={value}")
    try:
        with engine.connect() as connection:
            assert connection.connection.driver_connection.prepare_threshold == expected  # type: ignore[union-attr]
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        engine.dispose()


def test_a_bad_prepare_threshold_is_invalid_input() -> None:
    from synergia_core import InvalidInputError
    from synergia_core.db import create_engine

    with pytest.raises(InvalidInputError) as caught:
        create_engine("postgresql://u@localhost/db?prepare_threshold=often")
    assert caught.value.field == "url"

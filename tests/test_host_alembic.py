"""The docs/migrations.md recipe: synergia-core migrated inside a host's own Alembic revision.

A real host Alembic environment (alembic.ini, env.py, versions/) is written
in a temporary directory and run with ``alembic.command``, the way a host's
``alembic upgrade head`` would: host revisions before, between and after the
ones that call ``synergia_core.migrate(op.get_bind(), ...)``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import alembic.context
import alembic.op
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.pool import NullPool

from synergia_core import current_revision, head_revision
from synergia_core._migration import VERSION_TABLE, history
from tests.conftest import PostgresServer

SYNERGIA_TABLES = {"synergia_models", "synergia_chats", "synergia_messages"}
HOST_TABLES = {"host_orders", "host_invoices"}

ENV_PY = """\
from alembic import context
from sqlalchemy import engine_from_config, pool

import synergia_core

config = context.config
connectable = engine_from_config(
    config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
)
with connectable.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=None,
        include_object=synergia_core.include_object,
    )
    with context.begin_transaction():
        context.run_migrations()
"""

REVISION = '''\
"""{doc}"""
import sqlalchemy as sa
from alembic import op

import synergia_core

revision = "{revision}"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
{upgrade}


def downgrade():
{downgrade}
'''


def host_environment(root: Path, url: str, *, failing_last: bool = False) -> Config:
    """Write a host Alembic project under ``root``; its Config, pointing at ``url``."""
    first, head = history()[-1].revision, head_revision()
    versions = root / "host_migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "host_migrations" / "env.py").write_text(ENV_PY)
    (root / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/host_migrations\npath_separator = os\n"
    )
    steps = [
        (
            "h1_orders",
            'op.create_table("host_orders", sa.Column("id", sa.Integer, primary_key=True))',
            'op.drop_table("host_orders")',
        ),
        (
            "h2_synergia",
            f"synergia_core.migrate(op.get_bind(), {first!r})",
            'synergia_core.downgrade(op.get_bind(), "base")',
        ),
        (
            "h3_invoices",
            'op.create_table("host_invoices", sa.Column("id", sa.Integer, primary_key=True))\n'
            'op.add_column("host_orders", sa.Column("note", sa.String(50)))',
            'op.drop_column("host_orders", "note")\nop.drop_table("host_invoices")',
        ),
        (
            "h4_synergia_upgrade",
            f"synergia_core.migrate(op.get_bind(), {head!r})",
            f"synergia_core.downgrade(op.get_bind(), {first!r})",
        ),
        (
            "h5_after",
            'raise RuntimeError("host revision failed")'
            if failing_last
            else 'op.add_column("host_invoices", sa.Column("total", sa.Integer))',
            'op.drop_column("host_invoices", "total")',
        ),
    ]
    down = None
    for revision, upgrade, downgrade in steps:
        (versions / f"{revision}.py").write_text(
            REVISION.format(
                doc=revision,
                revision=revision,
                down=down,
                upgrade=textwrap.indent(upgrade, "    "),
                downgrade=textwrap.indent(downgrade, "    "),
            )
        )
        down = revision
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    return config


def state(url: str) -> tuple[set[str], list[str]]:
    """The tables of the database and the host's alembic_version rows."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names())
            rows = (
                connection.exec_driver_sql("SELECT version_num FROM alembic_version")
                .scalars()
                .all()
                if "alembic_version" in tables
                else []
            )
    finally:
        engine.dispose()
    return tables, list(rows)


def assert_no_alembic_proxy_left() -> None:
    """After a host run, alembic's module proxies are torn down as after any run."""
    assert getattr(alembic.op, "_proxy", None) is None
    assert getattr(alembic.context, "_proxy", None) is None


def test_migrate_inside_a_host_revision(fresh_url: str, tmp_path: Path) -> None:
    config = host_environment(tmp_path, fresh_url)

    command.upgrade(config, "head")
    tables, host_rows = state(fresh_url)
    assert host_rows == ["h5_after"]
    assert current_revision(fresh_url) == head_revision()
    assert {"alembic_version", VERSION_TABLE} | SYNERGIA_TABLES | HOST_TABLES <= tables
    assert_no_alembic_proxy_left()

    command.downgrade(config, "h3_invoices")  # back across the second synergia step
    assert state(fresh_url)[1] == ["h3_invoices"]
    assert current_revision(fresh_url) == history()[-1].revision

    command.downgrade(config, "base")
    tables, host_rows = state(fresh_url)
    assert host_rows == []
    assert current_revision(fresh_url) is None
    assert tables == {"alembic_version", VERSION_TABLE}  # the two (empty) version tables

    command.upgrade(config, "head")  # and up again
    assert state(fresh_url)[1] == ["h5_after"]
    assert current_revision(fresh_url) == head_revision()
    assert_no_alembic_proxy_left()


def test_a_failing_host_revision_rolls_everything_back_on_postgresql(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    """migrate() on the host's connection never commits the host's transaction."""
    url = postgres.create_database()
    rendered = url.render_as_string(hide_password=False)
    try:
        config = host_environment(tmp_path, rendered, failing_last=True)
        with pytest.raises(RuntimeError, match="host revision failed"):
            command.upgrade(config, "head")
        assert state(rendered) == (set(), [])  # one transaction: nothing was committed
        assert current_revision(rendered) is None
    finally:
        postgres.drop_database(url)

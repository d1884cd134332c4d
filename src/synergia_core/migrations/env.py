"""Alembic environment of synergia-core.

Migrations always run on a connection handed over by
:mod:`synergia_core._migration` through ``config.attributes["connection"]``;
the version table is ``synergia_alembic_version`` so that the library's
history lives beside a host's own Alembic history in one database.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from synergia_core._migration import VERSION_TABLE, only_synergia_objects
from synergia_core.repositories.sql._orm import metadata

config = context.config
connection = config.attributes.get("connection")

if context.is_offline_mode() or not isinstance(connection, Connection):
    raise RuntimeError(
        "synergia-core migrations run through synergia_core.migrate() or "
        "`synergia-core db upgrade`, not through the alembic command"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    include_object=only_synergia_objects,
    compare_type=True,
    transaction_per_migration=False,
)

with context.begin_transaction():
    context.run_migrations()

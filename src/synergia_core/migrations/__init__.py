"""Alembic migrations shipped inside the package.

Run them with :func:`synergia_core.migrate` (or ``synergia-core db upgrade``);
this directory is Alembic's ``script_location`` and is not meant to be used
with the ``alembic`` command directly.
"""

"""Example programs built on synergia-core (a package so that ``examples.fastapi_app`` imports)."""

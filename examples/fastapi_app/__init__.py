"""A FastAPI service on synergia-core: the original backend's API, recreated.

See README.md in this folder. Serve it from the repository root with
``.venv/bin/uvicorn --factory examples.fastapi_app.app:create_app``.
"""

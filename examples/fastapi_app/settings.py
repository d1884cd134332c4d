"""The app's settings, read from the environment and an optional ``.env`` file.

The library itself reads only ``SYNERGIA_DATABASE_URL``; everything else here
is the app's own business. Values come, in order of precedence, from the
arguments given to :class:`Settings`, the process environment, and
``examples/fastapi_app/.env`` (copy ``.env.sample`` to start one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["API_PREFIX", "APP_DIR", "Settings"]

APP_DIR = Path(__file__).resolve().parent
"""The folder of this package: the default home of the database file and the logs."""

API_PREFIX = "/api/v1"
"""Where every route, and the documentation, is mounted."""


class Settings(BaseSettings):
    """Configuration of the example app.

    Attributes:
        ENVIRONMENT: ``local``, ``staging`` or ``production``; production turns
            the interactive documentation and the OpenAPI schema off.
        FRONTEND_HOST: The web front end's origin; always allowed by CORS.
        BACKEND_CORS_ORIGINS: More allowed origins, comma-separated.
        LOG_LEVEL: Level of the app's console and file logs.
        LOG_DIR: Where the rotating log file (``app.log``) is written.
        SYNERGIA_DATABASE_URL: The database: a SQLite file by default,
            ``postgresql://user:password@host/db`` for PostgreSQL.
        ECHO_DELAY_SECONDS: Pause between two words of the built-in echo
            model's streamed replies (0 in tests).
    """

    model_config = SettingsConfigDict(
        env_file=APP_DIR / ".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
    )

    ENVIRONMENT: Literal["local", "staging", "production"] = "local"
    FRONTEND_HOST: str = "http://localhost:5173"
    BACKEND_CORS_ORIGINS: str = ""
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    LOG_DIR: Path = APP_DIR / "logs"
    SYNERGIA_DATABASE_URL: str = f"sqlite:///{APP_DIR / 'synergia.db'}"
    ECHO_DELAY_SECONDS: float = Field(default=0.05, ge=0, le=5)

    @property
    def cors_origins(self) -> list[str]:
        """Every origin CORS allows: ``FRONTEND_HOST`` and ``BACKEND_CORS_ORIGINS``."""
        candidates = [self.FRONTEND_HOST, *self.BACKEND_CORS_ORIGINS.split(",")]
        origins: list[str] = []
        for candidate in candidates:
            origin = candidate.strip().rstrip("/")
            if origin and origin not in origins:
                origins.append(origin)
        return origins

    @property
    def docs_enabled(self) -> bool:
        """Whether Swagger UI, ReDoc and the OpenAPI schema are served."""
        return self.ENVIRONMENT != "production"

"""Logging of the app: console plus a rotating file.

The library never configures logging (it only logs through
``logging.getLogger("synergia_core...")``); the app does, here, for the
time it runs, and puts things back as they were when it stops.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from logging.handlers import RotatingFileHandler
from pathlib import Path

__all__ = ["LOG_FILE_NAME", "LOG_FORMAT", "NOISY_LOGGERS", "app_logging"]

LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
LOG_FILE_NAME = "app.log"
MAX_BYTES = 10 * 1024 * 1024
BACKUP_COUNT = 3

NOISY_LOGGERS = (
    "uvicorn.access",  # the app logs each request itself (access_log.py), to app.log too
    "watchfiles",
    "httpx",
    "httpcore",
    "aiosqlite",
    "asyncio",
    "alembic",
)
"""Loggers held at WARNING whatever ``LOG_LEVEL`` says. uvicorn's own start-up
lines (``Uvicorn running on http://...``) are not among them: they say where
the app is served."""


@contextmanager
def app_logging(level: str, log_dir: Path) -> Iterator[None]:
    """Log to the console and to ``log_dir/app.log`` (10 MB, 3 backups) at ``level``.

    On exit the handlers are closed and removed and the levels restored, so
    an app started twice in one process (tests) does not log twice.

    Args:
        level: A level name: ``DEBUG``, ``INFO``, ``WARNING`` ...
        log_dir: The folder of the log file; created when missing.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter(LOG_FORMAT)
    console = logging.StreamHandler(sys.stderr)
    rotating = RotatingFileHandler(
        log_dir / LOG_FILE_NAME, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
    )
    handlers: list[logging.Handler] = [console, rotating]
    root = logging.getLogger()
    saved = {name: logging.getLogger(name).level for name in ("", *NOISY_LOGGERS)}
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        yield
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
        for name, saved_level in saved.items():
            logging.getLogger(name).setLevel(saved_level)

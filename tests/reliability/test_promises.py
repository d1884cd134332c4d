"""The promises of issue 11, one class of failure at a time.

A caller's mistake is a typed error (``SynergiaError``, or pydantic's
``ValidationError`` when a dict is validated into a schema), it writes
nothing, and the surrounding transaction stays usable. Each class below was
broken once; its regression tests run on both backends and both faces
(``sy`` is sync or async by the ``mode`` fixture) where a database is involved.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel

from synergia_core import (
    ChatCreate,
    InvalidInputError,
    MessageCreate,
    Synergia,
)
from tests.reliability.snapshot import snapshot

S = TypeVar("S", bound=BaseModel)


def add_to(chat_id: uuid.UUID, data: MessageCreate, sy: Any) -> object:
    return sy.messages.add(chat_id, data, user_id="alice")


def refused(sy: Synergia, call: Callable[[Any], object], field: str | None = None) -> None:
    """``call`` raises InvalidInputError (naming ``field``) and writes nothing,
    on its own and inside a transaction block that then commits a valid write."""
    before = snapshot(sy.engine.url)
    with pytest.raises(InvalidInputError) as caught:
        call(sy)
    if field is not None:
        assert caught.value.field == field, caught.value
    assert snapshot(sy.engine.url) == before
    marker = f"after-{uuid.uuid4()}"
    with sy.transaction() as tx:
        with pytest.raises(InvalidInputError):
            call(tx)
        tx.chats.create(ChatCreate(user_id="alice", title=marker))  # the block is still usable
    assert any(chat.title == marker for chat in sy.chats.list(user_id="alice", limit=1000).items)


# ------------------------------------------------- 15. the package logger


def test_the_package_logger_has_a_null_handler_and_nothing_else() -> None:
    handlers = logging.getLogger("synergia_core").handlers
    assert [type(handler) for handler in handlers] == [logging.NullHandler]


QUIET = textwrap.dedent(
    """
    import asyncio, sys
    from synergia_core import AsyncSynergia, Synergia

    for url in sys.argv[1:]:
        assert Synergia(url).health().status == "unhealthy"
        async def probe():
            sy = AsyncSynergia(url)
            try:
                return await sy.health()
            finally:
                await sy.close()
        assert asyncio.run(probe()).status == "unhealthy"
    print("done")
    """
)


def test_health_on_a_dead_database_prints_nothing(tmp_path: Path) -> None:
    """Regression: without a NullHandler, the warning health() logs went to
    stderr through Python's last-resort handler when the host had not
    configured logging."""
    dead = [
        "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2",
        f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}",
    ]
    result = subprocess.run(
        [sys.executable, "-c", QUIET, *dead],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "done"
    assert result.stderr == ""

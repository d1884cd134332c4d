"""Migrations keep data: stored databases of released revisions upgrade with
their rows intact, and a round trip down and up keeps what it should."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from synergia_core import (
    ChatCreate,
    MessageCreate,
    Synergia,
    Usage,
    current_revision,
    downgrade,
    head_revision,
    migrate,
)
from synergia_core._migration import history
from tests.helpers import make_model
from tests.reliability.snapshot import logical_snapshot as snapshot

DATA = Path(__file__).resolve().parent.parent / "data"
RELEASED = sorted(path.name.split("-")[1].split(".")[0] for path in DATA.glob("synergia-*.sqlite"))


def test_every_released_revision_has_a_stored_database() -> None:
    """Each revision but the newest (not yet released) has its fixture."""
    revisions = [rev.revision for rev in history()]  # newest first
    assert RELEASED, "no stored database under tests/data"
    assert set(RELEASED) <= set(revisions)
    assert revisions[-1] in RELEASED  # the first release


@pytest.mark.parametrize("revision", RELEASED)
def test_stored_database_upgrades_with_rows_intact(revision: str, tmp_path: Path) -> None:
    path = tmp_path / "stored.sqlite"
    shutil.copyfile(DATA / f"synergia-{revision}.sqlite", path)
    url = f"sqlite:///{path}"
    assert current_revision(url) == revision
    before = snapshot(url)
    migrate(url)
    assert current_revision(url) == head_revision()
    assert snapshot(url) == before
    with Synergia(url) as sy:  # and the library reads and extends it
        alice_chats = sy.chats.list(user_id="alice").items
        assert [c.title for c in alice_chats] == ["alice's chat"]
        chat = alice_chats[0]
        thread = sy.messages.thread(chat.id, user_id="alice")
        assert thread[-1].status.value == "failed"
        assert sy.usage.totals(user_id="alice").cost > 0
        assert sy.chats.list(user_id="bob").items == []  # bob's chat was soft-deleted
        added = sy.messages.add(chat.id, MessageCreate(role="user", content="new"), user_id="alice")
        assert added.seq == chat.message_count + 1


def test_round_trip_down_and_up_with_data(fresh_url: str) -> None:
    migrate(fresh_url)
    with Synergia(fresh_url) as sy:
        model = make_model(sy)
        chat = sy.chats.create(ChatCreate(user_id="alice", model_id=model.id))
        for i in range(20):
            sy.messages.add(
                chat.id,
                MessageCreate(
                    role="assistant",
                    content=f"m{i}",
                    model_id=model.id,
                    usage=Usage(input_tokens=10 + i, output_tokens=5),
                ),
                user_id="alice",
            )
    before = snapshot(fresh_url)
    revisions = [rev.revision for rev in history()]  # newest first
    for target in revisions[1:]:  # every revision that keeps the tables
        downgrade(fresh_url, target)
        assert current_revision(fresh_url) == target
        assert snapshot(fresh_url) == before
    migrate(fresh_url)
    assert current_revision(fresh_url) == head_revision()
    assert snapshot(fresh_url) == before
    with Synergia(fresh_url) as sy:
        assert sy.chats.get(chat.id, user_id="alice").message_count == 20

"""Export, import (synergia-chats and ChatGPT) and erasure, on both backends,
through both facades."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from synergia_core import (
    BudgetRule,
    ChatCreate,
    ChatNotFound,
    ChatUpdate,
    CorruptImportError,
    ImagePart,
    ImportConflictError,
    InvalidInputError,
    MessageCreate,
    ModelCreate,
    PurgeReport,
    ReasoningPart,
    ServiceConfig,
    Synergia,
    ToolCallPart,
    ToolResultPart,
    TransferReport,
    Usage,
)
from synergia_core.services import _importer, _transfer_records, transfer
from tests.conftest import PostgresServer
from tests.facades import open_facade

CHATGPT = Path(__file__).parent / "data" / "chatgpt_conversations.json"


def export(sy: Synergia, user_id: str) -> str:
    buffer = io.StringIO()
    sy.export_chats(buffer, user_id=user_id)
    return buffer.getvalue()


def records(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def lines(items: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(item) + "\n" for item in items)


def populate(sy: Synergia) -> dict[str, Any]:
    """Alice: branches (edit, regenerate), parts, usage and costs, a deleted
    message, a pinned chat, an archived chat on a model deleted since, a
    soft-deleted chat. Bob: a chat of his own."""
    gpt = sy.models.create(
        ModelCreate(
            provider="openai",
            name="gpt-4o",
            input_price_per_million=Decimal("2.50"),
            output_price_per_million=Decimal("10"),
            cache_read_price_per_million=Decimal("1.25"),
            aliases=["gpt-4o-2024-08-06"],
            metadata={"family": "4o"},
        )
    )
    old = sy.models.create(
        ModelCreate(
            provider="anthropic",
            name="claude-old",
            input_price_per_million=Decimal("3"),
            output_price_per_million=Decimal("15"),
        )
    )
    chat = sy.chats.create(
        ChatCreate(
            user_id="alice",
            title="Rome",
            model_id=gpt.id,
            system_prompt="Be brief",
            metadata={"topic": "travel", "tags": ["a", "b"]},
        )
    )
    q = sy.messages.add(chat.id, MessageCreate(role="user", content="Plan 3 days"), user_id="alice")
    a = sy.messages.add(
        chat.id,
        MessageCreate(
            role="assistant",
            content="Day 1 ...",
            model_id=gpt.id,
            usage=Usage(input_tokens=1200, output_tokens=420, cache_read_tokens=200),
            metadata={"finish": "stop"},
        ),
        user_id="alice",
    )
    regenerated = sy.messages.regenerate(a.id, user_id="alice")
    sy.messages.append(regenerated.id, "Another plan", user_id="alice")
    sy.messages.finish(
        regenerated.id, user_id="alice", usage=Usage(input_tokens=1200, output_tokens=77)
    )
    edited = sy.messages.edit(q.id, "Plan 4 days", user_id="alice")
    call = sy.messages.add(
        chat.id,
        MessageCreate(
            role="assistant",
            parts=[
                ReasoningPart(text="weather first", signature="sig==", provider="anthropic"),
                ToolCallPart(id="call_1", name="weather", arguments={"city": "Rome"}),
            ],
            model_id=gpt.id,
            usage=Usage(input_tokens=50, output_tokens=30, reasoning_tokens=10),
        ),
        user_id="alice",
    )
    sy.messages.add(
        chat.id,
        MessageCreate(role="tool", content="sunny", tool_call_id="call_1"),
        user_id="alice",
    )
    oops = sy.messages.add(chat.id, MessageCreate(role="user", content="oops"), user_id="alice")
    sy.messages.delete(oops.id, user_id="alice")
    sy.chats.update(chat.id, ChatUpdate(is_pinned=True), user_id="alice")
    archived = sy.chats.create(ChatCreate(user_id="alice", title="Old", model_id=old.id))
    sy.messages.add(archived.id, MessageCreate(role="user", content="hi"), user_id="alice")
    sy.messages.add(
        archived.id,
        MessageCreate(
            role="assistant",
            content="hello",
            model_id=old.id,
            usage=Usage(input_tokens=3, output_tokens=1),
        ),
        user_id="alice",
    )
    sy.chats.update(archived.id, ChatUpdate(is_archived=True), user_id="alice")
    sy.models.delete(old.id)
    gone = sy.chats.create(ChatCreate(user_id="alice", title="Gone"))
    sy.messages.add(gone.id, MessageCreate(role="user", content="bye"), user_id="alice")
    sy.chats.delete(gone.id, user_id="alice")
    empty = sy.chats.create(ChatCreate(user_id="alice"))
    bobs = sy.chats.create(ChatCreate(user_id="bob", title="Bob's"))
    sy.messages.add(bobs.id, MessageCreate(role="user", content="bob here"), user_id="bob")
    return {
        "gpt": gpt,
        "old": old,
        "chat": chat,
        "edited": edited,
        "call": call,
        "archived": archived,
        "gone": gone,
        "empty": empty,
        "bobs": bobs,
    }


# ------------------------------------------------------------------- export


def test_export_writes_every_chat_branch_and_referenced_model(sy: Synergia) -> None:
    made = populate(sy)
    text = export(sy, "alice")
    items = records(text)
    assert items[0] == {
        "format": "synergia-chats",
        "version": 1,
        "user_id": "alice",
        "generator": items[0]["generator"],
    }
    kinds = [item.get("type") for item in items[1:]]
    assert kinds.count("model") == 2
    assert kinds.count("chat") == 4
    assert kinds[-1] == "end"
    chats = {item["id"]: item for item in items if item.get("type") == "chat"}
    assert set(chats) == {str(made[k].id) for k in ("chat", "archived", "gone", "empty")}
    assert chats[str(made["gone"].id)]["deleted_at"] is not None
    rome = chats[str(made["chat"].id)]
    assert rome["messages"] == 7
    assert rome["is_pinned"] is True
    assert rome["current_message_id"] == str(made["call"].id) or rome["current_message_id"]
    messages = [item for item in items if item.get("type") == "message"]
    assert len(messages) == 7 + 2 + 1
    assert any(item["deleted_at"] is not None for item in messages)
    assert {item["cost"] for item in messages} >= {"0.00695"}
    models = {item["name"]: item for item in items if item.get("type") == "model"}
    assert models["claude-old"]["deleted_at"] is not None
    assert items[-1] == {"type": "end", "chats": 4, "messages": 10, "models": 2}
    assert "bob here" not in text


def test_export_to_binary_and_text_files_is_the_same(sy: Synergia, tmp_path: Path) -> None:
    populate(sy)
    with (tmp_path / "a.jsonl").open("wb") as fp:
        report = sy.export_chats(fp, user_id="alice")
    assert report == TransferReport(chats=4, messages=10, models=2)
    with (tmp_path / "b.jsonl").open("w", encoding="utf-8") as fp:
        sy.export_chats(fp, user_id="alice")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert (tmp_path / "a.jsonl").read_text(encoding="utf-8") == export(sy, "alice")


def test_export_of_a_user_without_chats(sy: Synergia) -> None:
    assert records(export(sy, "nobody"))[1:] == [
        {"type": "end", "chats": 0, "messages": 0, "models": 0}
    ]


def test_export_refuses_bad_arguments(sy: Synergia) -> None:
    with pytest.raises(InvalidInputError):
        sy.export_chats(io.StringIO(), user_id="")
    with pytest.raises(InvalidInputError):
        sy.export_chats(object(), user_id="alice")  # type: ignore[arg-type]


def test_the_format_names_every_column_it_carries() -> None:
    """A column added to a table must be decided on: carried by the export
    (a new format version, and the record schemas) or left out on purpose."""
    from synergia_core.repositories.sql import _transfer
    from synergia_core.repositories.sql._rows import chats, messages, models

    left_out = {"models": set(), "chats": {"user_id"}, "messages": {"user_id", "chat_id"}}
    for name, table, fields in (
        ("models", models, _transfer.MODEL_FIELDS),
        ("chats", chats, _transfer.CHAT_FIELDS),
        ("messages", messages, _transfer.MESSAGE_FIELDS),
    ):
        assert set(fields) | left_out[name] == set(table.c.keys()), name
    records = _transfer_records
    assert set(records.ModelRecord.model_fields) - {"type"} == set(_transfer.MODEL_FIELDS)
    assert set(records.ChatRecord.model_fields) - {"type", "messages"} == set(_transfer.CHAT_FIELDS)
    assert set(records.MessageRecord.model_fields) - {"type", "model_slug"} == set(
        _transfer.MESSAGE_FIELDS
    )


# ------------------------------------------------------------------- round trip


def test_round_trip_is_byte_identical(sy: Synergia) -> None:
    populate(sy)
    first = export(sy, "alice")
    sy.users.purge("alice")
    assert export(sy, "alice") != first
    report = sy.import_chats(io.BytesIO(first.encode()))
    assert report == TransferReport(chats=4, messages=10, models=2)
    assert export(sy, "alice") == first


def test_round_trip_into_an_empty_database(
    sy: Synergia, fresh_url: str, mode: str, tmp_path: Path
) -> None:
    made = populate(sy)
    first = export(sy, "alice")
    other = open_facade(mode, fresh_url, auto_migrate=True)
    try:
        assert other.import_chats(io.StringIO(first)) == TransferReport(
            chats=4, messages=10, models=2
        )
        assert export(other, "alice") == first
        thread = other.messages.thread(made["chat"].id, user_id="alice")
        assert [m.content for m in thread] == ["Plan 4 days", "", "sunny"]
        assert thread[1].parts == made["call"].parts
        assert other.usage.totals(user_id="alice") == sy.usage.totals(user_id="alice")
        # the deleted catalog entry came along as history, still deleted
        assert [m.name for m in other.models.list()] == ["gpt-4o"]
    finally:
        other.close()


def test_round_trip_over_many_pages(sy: Synergia, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transfer, "CHAT_PAGE", 1)
    monkeypatch.setattr(transfer, "MESSAGE_PAGE", 2)
    monkeypatch.setattr(_importer, "BATCH_ROWS", 2)
    monkeypatch.setattr(_importer, "TRANSACTION_MESSAGES", 3)
    populate(sy)
    first = export(sy, "alice")
    sy.users.purge("alice")
    assert sy.import_chats(io.StringIO(first)).messages == 10
    assert export(sy, "alice") == first


def test_a_history_moves_between_backends_unchanged(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    pg_url = postgres.create_database()
    try:
        with (
            Synergia(f"sqlite:///{tmp_path / 'a.db'}", auto_migrate=True) as lite,
            Synergia(pg_url, auto_migrate=True) as pg,
            Synergia(f"sqlite:///{tmp_path / 'b.db'}", auto_migrate=True) as back,
        ):
            populate(lite)
            first = export(lite, "alice")
            pg.import_chats(io.StringIO(first))
            assert export(pg, "alice") == first
            back.import_chats(io.StringIO(export(pg, "alice")))
            assert export(back, "alice") == first
    finally:
        postgres.drop_database(pg_url)


def test_import_again_skips_the_chats_already_there(sy: Synergia) -> None:
    populate(sy)
    first = export(sy, "alice")
    report = sy.import_chats(io.StringIO(first))
    assert report == TransferReport(chats=0, messages=0, models=2, skipped_chats=4)
    assert export(sy, "alice") == first


def test_import_without_ids_copies_trees_and_current_leaves(sy: Synergia) -> None:
    made = populate(sy)
    first = export(sy, "alice")
    report = sy.import_chats(io.StringIO(first), user_id="carol", keep_ids=False)
    assert report == TransferReport(chats=4, messages=10, models=2)
    original, copy = records(first), records(export(sy, "carol"))
    assert len(copy) == len(original)

    def shape(items: list[dict[str, Any]]) -> list[Any]:
        ids: dict[str, int] = {}
        out: list[Any] = []
        for item in items[1:]:
            if item.get("type") == "chat":
                ids = {}
            if item.get("type") == "message":
                ids[item["id"]] = item["seq"]
                out.append((item["seq"], item["content"], ids.get(item["parent_id"]), item["cost"]))
                out.append((item["created_at"], item["deleted_at"], item["parts"]))
            elif item.get("type") == "chat":
                out.append((item["title"], item["created_at"], item["message_count"]))
        return out

    assert shape(copy) == shape(original)
    new_ids = {item["id"] for item in copy if item.get("type") in ("chat", "message")}
    old_ids = {item["id"] for item in original if item.get("type") in ("chat", "message")}
    assert not new_ids & old_ids
    carols = [c for c in sy.chats.list(user_id="carol").items if c.title == "Rome"]
    leaf = sy.messages.thread(carols[0].id, user_id="carol")
    assert [m.content for m in leaf] == [
        m.content for m in sy.messages.thread(made["chat"].id, user_id="alice")
    ]


def test_import_as_another_user_keeping_ids_is_a_conflict(sy: Synergia) -> None:
    populate(sy)
    with pytest.raises(ImportConflictError) as caught:
        sy.import_chats(io.StringIO(export(sy, "alice")), user_id="bob")
    assert caught.value.entity == "chat"
    assert [c.title for c in sy.chats.list(user_id="bob").items] == ["Bob's"]


def test_a_message_id_taken_by_another_chat_is_a_conflict(sy: Synergia) -> None:
    made = populate(sy)
    items = records(export(sy, "alice"))
    bob_message = sy.messages.list(made["bobs"].id, user_id="bob").items[0]
    chat = next(i for i in items if i.get("type") == "chat" and i["messages"] == 2)
    chat["id"] = str(uuid.uuid4())
    position = items.index(chat)
    items[position + 2]["id"] = str(bob_message.id)
    chat["current_message_id"] = str(bob_message.id)
    only = [
        items[0],
        *[i for i in items if i.get("type") == "model"],
        *items[position : position + 3],
    ]
    only.append({"type": "end", "chats": 1, "messages": 2, "models": 2})
    with pytest.raises(ImportConflictError) as caught:
        sy.import_chats(io.StringIO(lines(only)))
    assert caught.value.entity == "message"
    with pytest.raises(ChatNotFound):
        sy.chats.get(chat["id"], user_id="alice")


# ------------------------------------------------------------------ corrupt input


def _small(sy: Synergia) -> list[dict[str, Any]]:
    chat = sy.chats.create(ChatCreate(user_id="dora", title="t"))
    first = sy.messages.add(chat.id, MessageCreate(role="user", content="a"), user_id="dora")
    sy.messages.add(chat.id, MessageCreate(role="assistant", content="b"), user_id="dora")
    assert first.seq == 1
    return records(export(sy, "dora"))


def _set(index: int, key: str, value: Any) -> Callable[[list[dict[str, Any]]], Any]:
    def change(items: list[dict[str, Any]]) -> Any:
        items[index][key] = value
        return items

    return change


CORRUPTIONS: dict[str, Callable[[list[dict[str, Any]]], Any]] = {
    "empty file": lambda items: "",
    "not JSON": lambda items: "{{{\n",
    "another format": lambda items: lines([{"format": "other", "version": 1}]),
    "a newer version": lambda items: lines([{**items[0], "version": 2}, *items[1:]]),
    "no end line": lambda items: items[:-1],
    "cut inside a chat": lambda items: items[:-2],
    "a line that is not JSON": lambda items: lines(items[:2]) + "not json\n" + lines(items[2:]),
    "an unknown field": _set(2, "colour", "red"),
    "an unknown type": _set(2, "type", "photo"),
    "a parent that is not there": _set(3, "parent_id", str(uuid.uuid4())),
    "seq going back": _set(3, "seq", 1),
    "a duplicate message": _set(3, "id", None),
    "a NUL in content": _set(2, "content", "a\x00b"),
    "invalid parts": _set(2, "parts", [{"type": "hologram"}]),
    "negative tokens": _set(3, "input_tokens", -1),
    "a cost that is not a number": _set(3, "cost", "lots"),
    "a naive time": _set(2, "created_at", "2024-01-01T00:00:00"),
    "an unknown role": _set(2, "role", "robot"),
    "a model nowhere": _set(3, "model_id", str(uuid.uuid4())),
    "a current leaf not in the chat": _set(1, "current_message_id", str(uuid.uuid4())),
    "wrong counts at the end": _set(4, "messages", 7),
    "a message outside a chat": lambda items: [items[0], items[2], items[1], *items[3:]],
    "more messages than announced": _set(1, "messages", 1),
    "a record after the end": lambda items: [*items, items[1]],
}


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_corrupt_input_is_refused_writing_nothing(sy: Synergia, name: str) -> None:
    items = _small(sy)
    if name == "a duplicate message":
        items[3]["id"] = items[2]["id"]
        corrupted: Any = items
    else:
        corrupted = CORRUPTIONS[name](items)
    text = corrupted if isinstance(corrupted, str) else lines(corrupted)
    with pytest.raises(CorruptImportError) as caught:
        sy.import_chats(io.StringIO(text), user_id="mallory", keep_ids=False)
    assert isinstance(caught.value, InvalidInputError)
    assert sy.chats.list(user_id="mallory", include_archived=True).items == []
    assert sy.usage.totals(user_id="mallory").message_count == 0


def test_corrupt_error_names_the_line(sy: Synergia) -> None:
    items = _small(sy)
    items[3]["seq"] = 1
    with pytest.raises(CorruptImportError) as caught:
        sy.import_chats(io.StringIO(lines(items)), user_id="mallory", keep_ids=False)
    assert caught.value.line == 4
    assert "line 4" in str(caught.value)


def test_a_failure_keeps_earlier_transactions_and_no_half_chat(
    sy: Synergia, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_importer, "TRANSACTION_MESSAGES", 1)  # a transaction per chat
    populate(sy)
    items = records(export(sy, "alice"))
    chats = [i for i, item in enumerate(items) if item.get("type") == "chat"]
    rome = next(i for i in chats if items[i]["messages"] == 7)
    items[rome + 7]["parent_id"] = str(uuid.uuid4())  # the chat's last message
    with pytest.raises(CorruptImportError):
        sy.import_chats(io.StringIO(lines(items)), user_id="erin", keep_ids=False)
    titles = {c.title for c in sy.chats.list(user_id="erin", include_archived=True).items}
    done = {items[i]["title"] for i in chats if i < rome and items[i]["deleted_at"] is None}
    assert titles == done
    assert "Rome" not in titles


def test_import_refuses_bad_arguments(sy: Synergia) -> None:
    with pytest.raises(InvalidInputError):
        sy.import_chats(io.StringIO(""), format="csv")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        sy.import_chats(io.StringIO(""), keep_ids="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        sy.import_chats(io.StringIO('{"format":"synergia-chats","version":1}\n'))


# ------------------------------------------------------------------ ChatGPT


@pytest.fixture
def gpt(sy: Synergia) -> Any:
    return sy.models.create(
        ModelCreate(
            provider="openai",
            name="gpt-4o",
            input_price_per_million=Decimal("2.5"),
            output_price_per_million=Decimal("10"),
            aliases=["gpt-4o-2024-08-06"],
        )
    )


def _import_chatgpt(sy: Synergia, **kwargs: Any) -> TransferReport:
    with CHATGPT.open("rb") as fp:
        return sy.import_chats(fp, format="chatgpt", **kwargs)


def test_chatgpt_export_keeps_branches_current_node_and_content(sy: Synergia, gpt: Any) -> None:
    report = _import_chatgpt(sy, user_id="carol")
    assert report == TransferReport(chats=2, messages=14, models=0)
    chats = {c.title: c for c in sy.chats.list(user_id="carol", include_archived=True).items}
    rome, milan = chats["Rome trip"], chats["Milan news"]
    assert rome.message_count == 9
    assert not rome.is_archived
    assert milan.is_archived
    assert rome.created_at == dt.datetime.fromtimestamp(1717000000, dt.timezone.utc)
    everything = sy.messages.list(rome.id, user_id="carol", limit=100).items
    assert all(m.role.value != "system" for m in everything)  # the hidden system node
    thread = sy.messages.thread(rome.id, user_id="carol")
    assert [m.role.value for m in thread] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    assert thread[0].content == "Plan 4 days in Rome"
    assert thread[0].parent_id is None
    assert thread[-1].content == "There are 2 gelato shops on the map."
    assert rome.current_message_id == thread[-1].id
    # the edit: both versions of the first question are roots, siblings
    assert [m.content for m in sy.messages.siblings(thread[0].id, user_id="carol")] == [
        "Plan 3 days in Rome",
        "Plan 4 days in Rome",
    ]
    first = next(m for m in everything if m.content == "Plan 3 days in Rome")
    answers = [m for m in everything if m.parent_id == first.id]
    assert [m.content[:11] for m in answers] == ["Day 1: the ", "Regenerated"]  # the regeneration
    assert answers[0].model_id == gpt.id  # by alias
    assert answers[0].created_at == dt.datetime(2024, 5, 29, 16, 26, 52, 500000, dt.timezone.utc)
    assert thread[-1].model_id is None  # no catalog entry for this slug
    assert thread[-1].metadata["chatgpt"]["metadata"]["model_slug"] == "text-davinci-002-render-sha"
    image, question = thread[2].parts
    assert isinstance(image, ImagePart)
    assert image.uri.startswith("file-service://file-4Xq9")
    assert image.meta["width"] == 1024
    assert question.type == "text"
    (call,) = thread[3].parts
    assert isinstance(call, ToolCallPart)
    assert call.name == "python"
    assert "print(len(shops))" in str(call.arguments)
    assert call.meta == {"language": "python"}
    (result,) = thread[4].parts
    assert isinstance(result, ToolResultPart)
    assert result.call_id == call.id
    assert result.output == "2"
    assert result.name == "python"
    milan_thread = sy.messages.thread(milan.id, user_id="carol")
    assert len(milan_thread) == 5
    assert isinstance(milan_thread[1].parts[0], ReasoningPart)
    assert milan_thread[2].parts[0].type == "tool_call"
    assert milan_thread[2].tool_calls
    assert "Duomo" in milan_thread[3].content
    assert milan_thread[3].metadata["chatgpt"]["content"]["summary"] == "Milan news"
    assert milan_thread[4].metadata["chatgpt"]["metadata"]["citations"]


def test_chatgpt_import_twice_and_round_trip(sy: Synergia, gpt: Any) -> None:
    _import_chatgpt(sy, user_id="carol")
    assert _import_chatgpt(sy, user_id="carol") == TransferReport(skipped_chats=2)
    assert _import_chatgpt(sy, user_id="carol", keep_ids=False).chats == 2
    first = export(sy, "carol")
    sy.users.purge("carol")
    sy.import_chats(io.StringIO(first))
    assert export(sy, "carol") == first


def test_chatgpt_import_from_text_and_needs_a_user(sy: Synergia) -> None:
    with pytest.raises(InvalidInputError):
        _import_chatgpt(sy)
    with CHATGPT.open(encoding="utf-8") as fp:
        assert sy.import_chats(fp, format="chatgpt", user_id="carol").messages == 14


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{}",
        "[{}]",
        '[{"mapping": []}]',
        '[{"mapping": {}} {"mapping": {}}]',
        '[{"mapping": {}}',
        '[{"mapping": {}}] trailing',
        '[{"mapping": {"a": {"message": {"author": {"role": "user"}, "content": '
        '{"content_type": "text", "parts": ["x"]}, "create_time": "noon"}, "parent": null}}}]',
    ],
)
def test_corrupt_chatgpt_input_is_refused(sy: Synergia, text: str) -> None:
    with pytest.raises(CorruptImportError):
        sy.import_chats(io.StringIO(text), format="chatgpt", user_id="carol")
    assert sy.chats.list(user_id="carol").items == []


def test_chatgpt_conversations_without_ids_stay_apart(sy: Synergia) -> None:
    def conversation(text: str) -> dict[str, Any]:
        message = {"author": {"role": "user"}, "content": {"content_type": "text", "parts": [text]}}
        return {"title": text, "mapping": {text: {"message": message, "parent": None}}}

    data = json.dumps([conversation("one"), conversation("two")])
    report = sy.import_chats(io.StringIO(data), format="chatgpt", user_id="carol")
    assert report == TransferReport(chats=2, messages=2)
    again = sy.import_chats(io.StringIO(data), format="chatgpt", user_id="carol")
    assert again == TransferReport(skipped_chats=2)


def test_chatgpt_cycles_are_refused(sy: Synergia) -> None:
    node = {"author": {"role": "user"}, "content": {"content_type": "text", "parts": ["x"]}}
    mapping = {
        "a": {"message": node, "parent": "b"},
        "b": {"message": node, "parent": "a"},
    }
    with pytest.raises(CorruptImportError):
        sy.import_chats(
            io.StringIO(json.dumps([{"mapping": mapping}])), format="chatgpt", user_id="carol"
        )


# ------------------------------------------------------------------ purge


def _rows(sy: Synergia, table: str, user_id: str) -> int:
    # An engine of its own: the async facade's sync engine cannot run alone.
    engine = sa.create_engine(
        sy.engine.url.render_as_string(hide_password=False), poolclass=NullPool
    )
    try:
        with engine.connect() as connection:
            statement = sa.text(f"SELECT count(*) FROM {table} WHERE user_id = :u")
            return int(connection.execute(statement, {"u": user_id}).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture
def budgeted(facade: Any) -> Synergia:
    sy: Synergia = facade(
        ServiceConfig(default_budget=BudgetRule(limit=Decimal("100"), period="month"))
    )
    return sy


def test_purge_erases_every_row_of_the_user_only(budgeted: Synergia) -> None:
    sy = budgeted
    made = populate(sy)
    sy.budgets.set("alice", Decimal("5"), period="day")
    sy.budgets.set("bob", Decimal("7"), period="day")
    bobs = sy.messages.add(
        made["bobs"].id,
        MessageCreate(
            role="assistant",
            content="x",
            model_id=made["gpt"].id,
            usage=Usage(input_tokens=10, output_tokens=10),
        ),
        user_id="bob",
    )
    reply = sy.messages.start(made["chat"].id, user_id="alice", model_id=made["gpt"].id)
    sy.messages.finish(reply.id, user_id="alice", usage=Usage(input_tokens=10, output_tokens=10))
    assert _rows(sy, "synergia_spend", "alice") >= 1
    bob_before = (sy.usage.totals(user_id="bob"), _rows(sy, "synergia_spend", "bob"))
    report = sy.users.purge("alice")
    assert report.chats == 4
    assert report.messages == 11
    assert report.budgets == 1
    assert report.spend >= 1
    for table in ("synergia_chats", "synergia_messages", "synergia_budgets", "synergia_spend"):
        assert _rows(sy, table, "alice") == 0
    assert sy.usage.totals(user_id="alice").message_count == 0
    assert sy.budgets.get("alice") is None
    with pytest.raises(ChatNotFound):
        sy.chats.get(made["chat"].id, user_id="alice")
    assert (sy.usage.totals(user_id="bob"), _rows(sy, "synergia_spend", "bob")) == bob_before
    assert sy.messages.get(bobs.id, user_id="bob").content == "x"
    assert sy.budgets.get("bob") is not None
    assert [m.name for m in sy.models.list()] == ["gpt-4o"]  # the catalog stays
    assert sy.users.purge("alice") == PurgeReport()


def test_purge_in_a_transaction_and_bad_user(sy: Synergia) -> None:
    populate(sy)
    with sy.transaction() as tx:
        assert tx.users.purge("alice").chats == 4
    assert sy.chats.list(user_id="alice").items == []
    with pytest.raises(InvalidInputError):
        sy.users.purge("")

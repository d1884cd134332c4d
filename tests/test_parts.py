"""Messages as typed parts: storage, views, role rules, limits, streamed
reasoning, finish with parts, deletion (every backend, sync and async)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.pool import NullPool

from synergia_core import (
    Attachment,
    ChatCreate,
    InvalidInputError,
    InvalidStateError,
    MessageCreate,
    MessageNotFound,
    ServiceConfig,
    Synergia,
    ToolCall,
    Usage,
)
from synergia_core.db import create_engine
from synergia_core.parts import (
    FilePart,
    ImagePart,
    RawPart,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from synergia_core.repositories.sql._rows import messages as messages_table
from tests.conftest import FacadeFactory
from tests.helpers import make_model
from tests.reliability.snapshot import sync_url

ALICE = "alice"


def _chat(sy: Synergia) -> uuid.UUID:
    return sy.chats.create(ChatCreate(user_id=ALICE)).id


def _stored_parts(sy: Synergia, message_id: uuid.UUID) -> object:
    engine = create_engine(sync_url(sy.engine.url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(
                sa.select(messages_table.c.parts).where(messages_table.c.id == message_id)
            ).scalar_one()
    finally:
        engine.dispose()


def test_a_text_message_is_stored_as_its_text_alone(sy: Synergia) -> None:
    chat = _chat(sy)
    message = sy.messages.add(chat, MessageCreate(role="user", content="hi"), user_id=ALICE)
    assert message.parts == [TextPart(text="hi")]
    assert _stored_parts(sy, message.id) is None  # no JSON to write or decode
    read = sy.messages.get(message.id, user_id=ALICE)
    assert read.parts == [TextPart(text="hi")]
    assert (read.tool_calls, read.tool_call_id, read.attachments) == (None, None, None)
    empty = sy.messages.add(chat, MessageCreate(role="user", content=""), user_id=ALICE)
    assert sy.messages.get(empty.id, user_id=ALICE).parts == []


def test_every_part_kind_round_trips(sy: Synergia) -> None:
    chat = _chat(sy)
    user_parts = [
        TextPart(text="Look at ", meta={"lang": "en"}),
        ImagePart(uri="data:image/png;base64,iVBORw0KGgo=", mime_type="image/png", detail="low"),
        TextPart(text="this"),
        FilePart(uri="s3://bucket/report.pdf", mime_type="application/pdf", name="report.pdf"),
    ]
    asked = sy.messages.add(chat, MessageCreate(role="user", parts=user_parts), user_id=ALICE)
    reply_parts = [
        ReasoningPart(
            text="Let me think.", signature="EqQBCkYIB" + "x" * 200, provider="anthropic"
        ),
        ReasoningPart(encrypted="opaque==", redacted=True, provider="anthropic"),
        TextPart(text="Checking."),
        ToolCallPart(id="call_1", name="lookup", arguments={"q": "x", "n": [1, 2.5, None]}),
        ToolCallPart(id="call_2", name="broken", arguments='{"q": "unterminated'),
        RawPart(provider="openai", data={"type": "web_search_call", "id": "ws_1"}),
    ]
    answered = sy.messages.add(
        chat, MessageCreate(role="assistant", parts=reply_parts), user_id=ALICE
    )
    result = ToolResultPart(
        call_id="call_1",
        output=[TextPart(text="found"), ImagePart(uri="https://x/y.png", mime_type="image/png")],
        is_error=False,
        name="lookup",
    )
    tool = sy.messages.add(chat, MessageCreate(role="tool", parts=[result]), user_id=ALICE)
    for message, parts in ((asked, user_parts), (answered, reply_parts), (tool, [result])):
        read = sy.messages.get(message.id, user_id=ALICE)
        assert read.parts == parts
        assert message.parts == parts
    thread = sy.messages.thread(chat, user_id=ALICE)
    assert [m.parts for m in thread] == [user_parts, reply_parts, [result]]
    # the classic views
    assert thread[0].content == "Look at this"
    assert thread[0].attachments == [
        Attachment(kind="image", uri="data:image/png;base64,iVBORw0KGgo=", mime_type="image/png"),
        Attachment(
            kind="file",
            uri="s3://bucket/report.pdf",
            mime_type="application/pdf",
            name="report.pdf",
        ),
    ]
    assert thread[1].content == "Checking."
    assert thread[1].tool_calls == [
        ToolCall(id="call_1", name="lookup", arguments={"q": "x", "n": [1, 2.5, None]}),
        ToolCall(id="call_2", name="broken", arguments='{"q": "unterminated'),
    ]
    assert thread[2].content == "found"
    assert thread[2].tool_call_id == "call_1"


def test_the_classic_fields_are_parts_too(sy: Synergia) -> None:
    chat = _chat(sy)
    call = ToolCall(id="c1", name="f", arguments={"a": 1})
    asked = sy.messages.add(
        chat,
        MessageCreate(
            role="user",
            content="see",
            attachments=[Attachment(kind="audio", uri="s3://a.mp3", mime_type="audio/mpeg")],
        ),
        user_id=ALICE,
    )
    assert asked.parts == [
        TextPart(text="see"),
        FilePart(uri="s3://a.mp3", mime_type="audio/mpeg"),
    ]
    assert asked.attachments == [Attachment(kind="audio", uri="s3://a.mp3", mime_type="audio/mpeg")]
    answer = sy.messages.add(
        chat, MessageCreate(role="assistant", tool_calls=[call]), user_id=ALICE
    )  # content=None, as the SDKs return it
    assert answer.parts == [ToolCallPart(id="c1", name="f", arguments={"a": 1})]
    assert answer.content == ""
    result = sy.messages.add(
        chat, MessageCreate(role="tool", content='{"ok": true}', tool_call_id="c1"), user_id=ALICE
    )
    assert result.parts == [ToolResultPart(call_id="c1", output='{"ok": true}')]
    assert (result.content, result.tool_call_id) == ('{"ok": true}', "c1")
    read = sy.messages.get(result.id, user_id=ALICE)
    assert (read.content, read.tool_call_id, read.parts) == (
        result.content,
        "c1",
        result.parts,
    )


def test_role_rules_are_checked_at_construction() -> None:
    with pytest.raises(ValidationError, match="only on tool messages"):
        MessageCreate(role="user", parts=[ToolResultPart(call_id="c", output="x")])
    with pytest.raises(ValidationError, match="only them"):
        MessageCreate(
            role="tool", parts=[ToolResultPart(call_id="c", output="x"), TextPart(text="and")]
        )
    with pytest.raises(ValidationError, match="only on assistant"):
        MessageCreate(role="user", parts=[ReasoningPart(text="hmm")])
    with pytest.raises(ValidationError, match="only on assistant"):
        MessageCreate(role="system", parts=[ToolCallPart(id="c", name="f")])
    with pytest.raises(ValidationError, match="not both"):
        MessageCreate(role="user", content="x", parts=[TextPart(text="x")])
    with pytest.raises(ValidationError, match="needs content"):
        MessageCreate(role="user")


def test_every_stored_character_counts_against_the_limit(facade: FacadeFactory) -> None:
    sy = facade(ServiceConfig(max_content_chars=200))
    chat = _chat(sy)
    big_image = ImagePart(uri="data:image/png;base64," + "A" * 300, mime_type="image/png")
    with pytest.raises(InvalidInputError, match="limit"):
        sy.messages.add(chat, MessageCreate(role="user", parts=[big_image]), user_id=ALICE)
    signed = ReasoningPart(text="t", signature="s" * 300)
    with pytest.raises(InvalidInputError, match="limit"):
        sy.messages.add(chat, MessageCreate(role="assistant", parts=[signed]), user_id=ALICE)
    calls = [ToolCallPart(id=f"c{i}", name="f", arguments={"i": i}) for i in range(20)]
    with pytest.raises(InvalidInputError, match="limit"):
        sy.messages.add(chat, MessageCreate(role="assistant", parts=calls), user_id=ALICE)
    with pytest.raises(InvalidInputError, match="limit"):
        sy.messages.add(
            chat,
            MessageCreate(role="user", content="x" * 150, metadata={"k": "v" * 100}),
            user_id=ALICE,
        )
    assert sy.chats.get(chat, user_id=ALICE).message_count == 0


@pytest.mark.parametrize(
    "part",
    [
        TextPart(text="a\x00b"),
        ReasoningPart(text="ok", signature="s\x00"),
        ToolCallPart(id="c", name="f", arguments={"k": "\x00"}),
        RawPart(provider="openai", data={"v": "\x00"}),
        TextPart(text="ok", meta={"\x00": 1}),
    ],
    ids=["text", "signature", "arguments", "raw", "meta-key"],
)
def test_nul_is_refused_in_every_part(sy: Synergia, part: object) -> None:
    chat = _chat(sy)
    with pytest.raises(InvalidInputError):
        sy.messages.add(
            chat,
            MessageCreate.model_validate({"role": "assistant", "parts": [part]}),
            user_id=ALICE,
        )
    assert sy.chats.get(chat, user_id=ALICE).message_count == 0


def test_streamed_reasoning_and_text_then_finish_with_parts(sy: Synergia) -> None:
    model = make_model(sy)
    chat = sy.chats.create(ChatCreate(user_id=ALICE, model_id=model.id)).id
    reply = sy.messages.start(chat, user_id=ALICE)
    sy.messages.append(reply.id, "Thinking ", user_id=ALICE, kind="reasoning")
    sy.messages.append(reply.id, "hard.", user_id=ALICE, kind="reasoning")
    sy.messages.append(reply.id, "Let me ", user_id=ALICE)
    sy.messages.append(reply.id, "look.", user_id=ALICE)
    live = sy.messages.get(reply.id, user_id=ALICE)
    assert live.parts == [ReasoningPart(text="Thinking hard."), TextPart(text="Let me look.")]
    assert live.content == "Let me look."
    with pytest.raises(InvalidInputError, match="kind"):
        sy.messages.append(reply.id, "x", user_id=ALICE, kind="audio")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="tool"):
        sy.messages.finish(
            reply.id, user_id=ALICE, parts=[ToolResultPart(call_id="c", output="no")]
        )
    done = sy.messages.finish(
        reply.id,
        user_id=ALICE,
        usage=Usage(input_tokens=1000, output_tokens=100),
        parts=[RawPart(provider="openai", data={"type": "x"})],
        tool_calls=[ToolCall(id="c1", name="search", arguments={"q": "rome"})],
        metadata={"finish_reason": "tool_calls"},
    )
    expected = [
        ReasoningPart(text="Thinking hard."),
        TextPart(text="Let me look."),
        RawPart(provider="openai", data={"type": "x"}),
        ToolCallPart(id="c1", name="search", arguments={"q": "rome"}),
    ]
    assert done.parts == expected
    assert done.status.value == "complete"
    assert done.cost == Decimal("0.0035")
    assert done.metadata == {"finish_reason": "tool_calls"}
    assert done.tool_calls == [ToolCall(id="c1", name="search", arguments={"q": "rome"})]
    assert sy.messages.get(reply.id, user_id=ALICE).parts == expected
    # the tool result that follows is no orphan: the context keeps the pair
    sy.messages.add(
        chat, MessageCreate(role="tool", content="sunny", tool_call_id="c1"), user_id=ALICE
    )
    context = sy.messages.context(chat, user_id=ALICE)
    assert [m["role"] for m in context] == ["assistant", "tool"]
    assert context[0]["tool_calls"][0]["id"] == "c1"


def test_a_failed_stream_keeps_what_was_streamed(sy: Synergia) -> None:
    model = make_model(sy)
    chat = sy.chats.create(ChatCreate(user_id=ALICE, model_id=model.id)).id
    reply = sy.messages.start(chat, user_id=ALICE)
    sy.messages.append(reply.id, "plan", user_id=ALICE, kind="reasoning")
    sy.messages.append(reply.id, "partial", user_id=ALICE)
    failed = sy.messages.fail(reply.id, "upstream 529", user_id=ALICE)
    assert failed.parts == [ReasoningPart(text="plan"), TextPart(text="partial")]
    assert sy.messages.get(reply.id, user_id=ALICE).parts == failed.parts
    with pytest.raises(InvalidStateError):
        sy.messages.append(reply.id, "more", user_id=ALICE)


def test_delete_a_branch(sy: Synergia) -> None:
    model = make_model(sy)
    chat = _chat(sy)

    def say(text: str, parent: uuid.UUID | None = None) -> uuid.UUID:
        data = MessageCreate(
            role="user" if text.startswith("q") else "assistant",
            content=text,
            parent_id=parent,
            model_id=None if text.startswith("q") else model.id,
            usage=None if text.startswith("q") else Usage(input_tokens=10, output_tokens=10),
        )
        return sy.messages.add(chat, data, user_id=ALICE).id

    q1 = say("q1")
    a1 = say("a1")
    q2 = say("q2")
    a2 = say("a2")
    q2b = sy.messages.edit(q2, "q2 again", user_id=ALICE).id  # sibling of q2, current leaf
    spent = sy.usage.totals(user_id=ALICE)
    sy.messages.select(a2, user_id=ALICE)  # back onto the q2 branch
    sy.messages.delete(q2, user_id=ALICE)  # q2 and a2 go
    chat_now = sy.chats.get(chat, user_id=ALICE)
    assert chat_now.message_count == 4 - 1  # q1, a1, q2b
    assert chat_now.current_message_id == a1  # the leaf was on the branch: its parent
    for gone in (q2, a2):
        with pytest.raises(MessageNotFound):
            sy.messages.get(gone, user_id=ALICE)
        with pytest.raises(MessageNotFound):
            sy.messages.siblings(gone, user_id=ALICE)
        with pytest.raises(MessageNotFound):
            sy.messages.edit(gone, "x", user_id=ALICE)
        with pytest.raises(MessageNotFound):
            sy.messages.delete(gone, user_id=ALICE)
        with pytest.raises(MessageNotFound):
            sy.messages.thread(chat, user_id=ALICE, leaf_id=gone)
    assert [m.id for m in sy.messages.list(chat, user_id=ALICE).items] == [q1, a1, q2b]
    assert [m.id for m in sy.messages.siblings(q2b, user_id=ALICE)] == [q2b]
    assert [m.id for m in sy.messages.thread(chat, user_id=ALICE)] == [q1, a1]
    assert sy.usage.totals(user_id=ALICE) == spent  # the money was spent
    # the next message continues the sequence: a seq is never reused
    q3 = sy.messages.add(chat, MessageCreate(role="user", content="q3"), user_id=ALICE)
    assert q3.seq == 6
    assert q3.parent_id == a1
    # deleting a branch the leaf is not on leaves the leaf alone
    sy.messages.delete(q2b, user_id=ALICE)
    assert sy.chats.get(chat, user_id=ALICE).current_message_id == q3.id
    with pytest.raises(MessageNotFound):
        sy.messages.delete(q1, user_id="bob")


def test_clear_a_chat(sy: Synergia) -> None:
    chat = _chat(sy)
    for text in ("a", "b", "c"):
        sy.messages.add(chat, MessageCreate(role="user", content=text), user_id=ALICE)
    sy.messages.clear(chat, user_id=ALICE)
    cleared = sy.chats.get(chat, user_id=ALICE)
    assert (cleared.message_count, cleared.current_message_id) == (0, None)
    assert sy.messages.list(chat, user_id=ALICE).items == []
    assert sy.messages.thread(chat, user_id=ALICE) == []
    assert sy.usage.totals(user_id=ALICE).message_count == 3
    fresh = sy.messages.add(chat, MessageCreate(role="user", content="d"), user_id=ALICE)
    assert (fresh.seq, fresh.parent_id) == (4, None)
    from synergia_core import ChatNotFound

    with pytest.raises(ChatNotFound):
        sy.messages.clear(chat, user_id="bob")

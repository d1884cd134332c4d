"""A hostile caller: every public method, found by introspection, called with
arbitrary Python values for each parameter.

The methods are discovered on the facades' services (``models``, ``chats``,
``messages``, ``usage``) and on the facade itself, so a method added later is
called here without anyone listing it. Each parameter gets, by its name, a
plausible value (ids of rows that exist, of another user's rows, valid
schemas, live cursors) or a hostile one: ``None``, huge integers, NaN and
infinities, text with NUL characters, lone surrogates or a megabyte of it,
bytes, dicts and lists, malformed and foreign UUIDs, naive and extreme
datetimes, Decimals, schema instances built with ``model_construct`` around
invalid values, and arbitrary objects. Calls also run inside
``transaction()`` blocks, followed by a valid write that must commit.

After every example:

* only a :class:`~synergia_core.SynergiaError` or pydantic's
  ``ValidationError`` escaped;
* a refused call wrote nothing;
* the database is consistent: for every chat, ``message_count`` equals its
  live rows, ``seq`` is gap-free 1..n, and the current leaf is one of the chat's
  messages, ``None`` only when the chat is empty.

Both backends, both faces (sync ``Synergia`` and ``AsyncSynergia``). The run
is derandomized and bounded (``EXAMPLES`` per backend and face), so CI gets
the same examples every time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import math
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from synergia_core import (
    AsyncChatService,
    AsyncMessageService,
    AsyncModelService,
    AsyncSynergia,
    AsyncUsageService,
    ChatCreate,
    ChatUpdate,
    MessageCreate,
    ModelCreate,
    ModelUpdate,
    Synergia,
    SynergiaError,
    ToolCall,
    Usage,
)
from synergia_core.db import READ_ONLY, create_engine
from synergia_core.services import ChatService, MessageService, ModelService, UsageService
from tests.facades import open_facade
from tests.reliability.snapshot import fingerprint, sync_url

EXAMPLES = 200
"""Examples per backend and face (four runs): about ten seconds in all."""

SERVICES: dict[str, type[Any]] = {
    "models": ModelService,
    "chats": ChatService,
    "messages": MessageService,
    "usage": UsageService,
}
FACADE_METHODS = ("migrate", "ensure_schema", "health")
"""Facade methods called with hostile arguments (``transaction`` is driven as
a block below; ``close`` ends the facade)."""


def public_methods(cls: type[Any]) -> list[str]:
    """The public methods of a service class (``from_session`` builds one)."""
    return sorted(
        name
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and callable(member) and name != "from_session"
    )


def parameters(cls: type[Any], name: str) -> list[inspect.Parameter]:
    """A method's parameters, ``self`` left out (the sync class is the source
    of truth: the async services expose the same methods, awaited)."""
    return list(inspect.signature(getattr(cls, name)).parameters.values())[1:]


# ------------------------------------------------------------------ hostile values

HUGE_TEXT = "x" * 1_000_001
SPECIAL_TEXT = [
    "",
    "\x00",
    "nul\x00inside",
    "\ud800 lone surrogate",
    "🚀🔥👩‍💻" * 10,
    "'; DROP TABLE synergia_chats; --",
    "%_\\%",
    HUGE_TEXT,
]
text = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=()), max_size=20),
    st.sampled_from(SPECIAL_TEXT),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    # 5,000 digits: past Python's int-to-str limit (drawn by a function: such an
    # integer has no repr for hypothesis to show).
    st.sampled_from([1, -1]).map(lambda sign: sign * 10**5000),
    st.floats(allow_nan=True, allow_infinity=True),
    text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(text, children, max_size=3)
    ),
    max_leaves=8,
)
TZ_EAST = dt.timezone(dt.timedelta(hours=14))
TZ_WEST = dt.timezone(dt.timedelta(hours=-12))
EXTREME_TIMES = [
    dt.datetime.min,
    dt.datetime.max,
    dt.datetime.min.replace(tzinfo=TZ_EAST),
    dt.datetime.max.replace(tzinfo=TZ_WEST),
    dt.datetime.min.replace(tzinfo=TZ_WEST),
    dt.datetime.max.replace(tzinfo=TZ_EAST),
    dt.datetime.min.replace(tzinfo=dt.timezone.utc),
    dt.datetime.max.replace(tzinfo=dt.timezone.utc),
]
datetimes = st.one_of(
    st.sampled_from(EXTREME_TIMES),
    st.datetimes(),
    st.datetimes(timezones=st.timezones()),
    st.dates(),
)
decimals = st.sampled_from(
    [Decimal("-0"), Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity"), Decimal("1e30"),
     Decimal("-1"), Decimal("1e-11"), Decimal("2.5")]
)  # fmt: skip


def constructed(schema: type[Any]) -> st.SearchStrategy[Any]:
    """A schema instance built with ``model_construct`` around hostile values:
    what a caller gets by skipping validation (or by mutating an instance)."""
    names = sorted(schema.model_fields)
    return st.dictionaries(st.sampled_from(names), st.deferred(lambda: hostile), max_size=4).map(
        lambda values: schema.model_construct(**values)
    )


hostile: st.SearchStrategy[Any] = st.one_of(
    json_scalars,
    st.sampled_from([0, -1, 2**31, 2**63, -(2**63) - 1, 10**30, math.nan, -0.0]),
    st.binary(max_size=16),
    st.dictionaries(text, json_values, max_size=3),
    st.lists(json_values, max_size=3),
    st.uuids(),
    st.uuids().map(str),
    st.sampled_from(["not-a-uuid", "0" * 32, "{" + str(uuid.UUID(int=1)) + "}", "urn:uuid:x"]),
    datetimes,
    decimals,
    st.just(object()),
    st.sampled_from([b"alice", ("alice",), {"alice"}, frozenset(), ...]),
)


# ------------------------------------------------------------------------ the world


class World:
    """Rows to aim at: two users' chats and messages, models, live cursors."""

    def __init__(self, sy: Synergia) -> None:
        self.sy = sy
        self.model = sy.models.create(
            ModelCreate(
                provider="p",
                name="m",
                input_price_per_million=Decimal(1),
                output_price_per_million=Decimal(2),
                context_window=2_000,
                max_output_tokens=500,
            )
        )
        self.disabled = sy.models.create(
            ModelCreate(provider="p", name="off", price_per_million_tokens=Decimal(1))
        )
        sy.models.disable(self.disabled.id)
        self.chats: dict[str, list[uuid.UUID]] = {"alice": [], "bob": []}
        self.messages: list[uuid.UUID] = []
        for user in ("alice", "alice", "bob"):
            chat = sy.chats.create(ChatCreate(user_id=user, model_id=self.model.id))
            self.chats[user].append(chat.id)
            question = sy.messages.add(
                chat.id, MessageCreate(role="user", content="weather?"), user_id=user
            )
            call = sy.messages.add(
                chat.id,
                MessageCreate(
                    role="assistant",
                    content="",
                    tool_calls=[ToolCall(id="c1", name="weather", arguments={"city": "Rome"})],
                    model_id=self.model.id,
                    usage=Usage(input_tokens=10, output_tokens=5),
                ),
                user_id=user,
            )
            result = sy.messages.add(
                chat.id, MessageCreate(role="tool", content="22C", tool_call_id="c1"), user_id=user
            )
            stream = sy.messages.start(chat.id, user_id=user)
            self.messages += [question.id, call.id, result.id, stream.id]
        self.cursors = [
            sy.chats.list(user_id="alice", limit=1).next_cursor,
            sy.chats.list(user_id="bob", limit=1, include_archived=True).next_cursor,
            sy.messages.list(self.chats["alice"][0], user_id="alice", limit=1).next_cursor,
            sy.messages.list(self.chats["bob"][0], user_id="bob", limit=2).next_cursor,
        ]

    def ids(self) -> st.SearchStrategy[Any]:
        known = [self.model.id, self.disabled.id, *self.chats["alice"], *self.chats["bob"]]
        return st.one_of(
            st.sampled_from([*known, *self.messages]),
            st.sampled_from([str(self.chats["alice"][0]), str(self.messages[1]).upper()]),
        )

    def schemas(self, qualified: str) -> st.SearchStrategy[Any]:
        """Plausible values of a ``data`` parameter, by method."""
        ids = st.none() | self.ids()
        small = st.sampled_from(["a", "b", "p", "m", "off"]) | text
        metadata = st.dictionaries(text, json_values, max_size=3)
        prices = st.decimals(min_value=0, max_value=100, places=2) | decimals
        windows = st.none() | st.integers(0, 3_000) | st.sampled_from([2**31, 10**10])
        raw: dict[str, st.SearchStrategy[dict[str, Any]]] = {
            "models.create": st.fixed_dictionaries(
                {"provider": small, "name": small, "price_per_million_tokens": prices},
                optional={
                    "context_window": windows,
                    "max_output_tokens": windows,
                    "metadata": metadata,
                    "display_name": st.none() | text,
                },
            ),
            "models.update": st.fixed_dictionaries(
                {},
                optional={
                    "name": st.none() | small,
                    "input_price_per_million": st.none() | prices,
                    "context_window": windows,
                    "max_output_tokens": windows,
                    "is_enabled": st.none() | st.booleans(),
                    "metadata": st.none() | metadata,
                },
            ),
            "chats.create": st.fixed_dictionaries(
                {"user_id": st.sampled_from(["alice", "bob"]) | text},
                optional={"title": st.none() | text, "model_id": ids, "metadata": metadata},
            ),
            "chats.update": st.fixed_dictionaries(
                {},
                optional={
                    "title": st.none() | text,
                    "model_id": ids,
                    "system_prompt": st.none() | text,
                    "metadata": st.none() | metadata,
                    "is_pinned": st.none() | st.booleans(),
                    "is_archived": st.none() | st.booleans(),
                },
            ),
            "messages.add": st.fixed_dictionaries(
                {
                    "role": st.sampled_from(["user", "assistant", "system", "tool", "robot"]),
                    "content": text,
                },
                optional={
                    "model_id": ids,
                    "parent_id": ids,
                    "usage": st.none() | self.usages(),
                    "tool_calls": st.none()
                    | st.lists(
                        st.fixed_dictionaries({"id": small, "name": small, "arguments": metadata}),
                        max_size=3,
                    ),
                    "tool_call_id": st.none() | small,
                    "attachments": st.none()
                    | st.lists(
                        st.fixed_dictionaries(
                            {
                                "kind": st.sampled_from(["image", "file", "pdf"]),
                                "uri": text,
                                "mime_type": small,
                            }
                        ),
                        max_size=2,
                    ),
                    "metadata": metadata,
                },
            ),
        }
        schema: dict[str, type[Any]] = {
            "models.create": ModelCreate,
            "models.update": ModelUpdate,
            "chats.create": ChatCreate,
            "chats.update": ChatUpdate,
            "messages.add": MessageCreate,
        }
        if qualified not in raw:
            return hostile
        cls = schema[qualified]
        return st.one_of(
            raw[qualified].map(lambda values: _validated(cls, values)),
            raw[qualified],  # a dict: validated by the service
            constructed(cls),
        )

    def usages(self) -> st.SearchStrategy[Any]:
        counts = st.integers(0, 50) | st.sampled_from([-1, 10**9 + 1, 2**63])
        return st.one_of(
            st.fixed_dictionaries(
                {"input_tokens": counts, "output_tokens": counts},
                optional={"cache_read_tokens": counts, "reasoning_tokens": counts},
            ),
            constructed(Usage),
        )

    def plausible(self, qualified: str, name: str) -> st.SearchStrategy[Any]:
        """A value of the right kind for a parameter, by its name."""
        users = st.sampled_from(["alice", "alice", "bob"])
        by_name: dict[str, st.SearchStrategy[Any]] = {
            "id": self.ids(),
            "chat_id": self.ids(),
            "leaf_id": st.none() | self.ids(),
            "parent_id": st.none() | self.ids(),
            "model_id": st.none() | self.ids(),
            "user_id": users,
            "content": text,
            "chunk": text,
            "error": text,
            "usage": st.none() | self.usages().map(lambda v: _validated(Usage, v)),
            "limit": st.integers(-2, 1002),
            "cursor": st.none() | st.sampled_from([c for c in self.cursors if c]),
            "format": st.sampled_from(["openai", "anthropic", "gemini"]),
            "max_input_tokens": st.none() | st.integers(-1, 3_000),
            "since": st.none() | datetimes,
            "until": st.none() | datetimes,
            "by": st.sampled_from(["model", "day", "user", "chat", "week"]),
            "enabled_only": st.booleans(),
            "include_archived": st.booleans(),
            "pinned": st.none() | st.booleans(),
            "provider": st.sampled_from(["p", "a"]) | text,
            "name": st.sampled_from(["m", "off"]) | text,
            "revision": st.sampled_from(["head", "heads", "0001", "base", "+1", "-1", "bogus"]),
        }
        if name == "data":
            return self.schemas(qualified)
        return by_name.get(name, hostile)


def _validated(schema: type[Any], values: dict[str, Any]) -> Any:
    """The schema built from ``values``, or the dict itself when it is invalid
    (the service then validates it: ValidationError)."""
    try:
        return schema.model_validate(values)
    except ValidationError:
        return values


def arguments(
    data: st.DataObject, world: World, qualified: str, params: list[inspect.Parameter]
) -> tuple[list[Any], dict[str, Any]]:
    """Draw a call's arguments: each parameter plausible (three times in four)
    or hostile, optional ones sometimes left at their default."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param in params:
        optional = param.default is not inspect.Parameter.empty
        if optional and data.draw(st.booleans(), label=f"{param.name}: default"):
            continue
        plausible = world.plausible(qualified, param.name)
        hostile_now = data.draw(st.integers(0, 3), label=f"{param.name}: hostile") == 0
        value = data.draw(hostile if hostile_now else plausible, label=param.name)
        if param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and not optional:
            args.append(value)
        else:
            kwargs[param.name] = value
    return args, kwargs


def shown(value: Any) -> str:
    """A short repr that never fails (a 5,000-digit integer has no repr)."""
    try:
        return repr(value)[:300]
    except Exception:
        return f"<{type(value).__name__}>"


# ---------------------------------------------------------------------- invariants


def check_consistent(connection: sa.Connection) -> None:
    """For every chat: ``seq`` gap-free 1..n over every row (deleted ones
    included: a ``seq`` is never reused), ``last_seq`` the highest,
    ``message_count`` the live (not deleted) rows, and the current leaf a live
    message of the chat or ``None`` (always ``None`` when none is live; a
    deleted branch that held the leaf leaves it at the branch's parent)."""
    chats = connection.exec_driver_sql(
        "SELECT id, message_count, last_seq, current_message_id FROM synergia_chats"
    ).all()
    rows = connection.exec_driver_sql(
        "SELECT chat_id, seq, id, deleted_at FROM synergia_messages"
    ).all()
    seqs: dict[Any, list[int]] = {}
    live: dict[Any, set[str]] = {}
    for chat_id, seq, message_id, deleted_at in rows:
        seqs.setdefault(str(chat_id), []).append(seq)
        if deleted_at is None:
            live.setdefault(str(chat_id), set()).add(str(message_id).replace("-", ""))
    for chat_id, count, last_seq, current in chats:
        key = str(chat_id)
        found = sorted(seqs.get(key, []))
        assert found == list(range(1, len(found) + 1)), f"chat {key}: seq {found}"
        assert last_seq == len(found), f"chat {key}: last_seq {last_seq}, rows {len(found)}"
        alive = live.get(key, set())
        assert count == len(alive), f"chat {key}: message_count {count}, live rows {len(alive)}"
        if current is not None:
            assert str(current).replace("-", "") in alive, f"chat {key}: stray leaf"
        assert alive or current is None, f"chat {key}: a current leaf without messages"
    assert set(seqs) <= {str(chat_id) for chat_id, _, _, _ in chats}, "messages without a chat"


ALLOWED = (SynergiaError, ValidationError)


@pytest.fixture(params=["sync", "async"])
def face(request: pytest.FixtureRequest, db_url: str) -> Iterator[tuple[Synergia, World]]:
    sy = open_facade(str(request.param), db_url)
    try:
        yield sy, World(sy)
    finally:
        sy.close()


@pytest.fixture
def observer(db_url: str) -> Iterator[sa.Connection]:
    """A connection of its own, to look at the database between examples."""
    engine = create_engine(sync_url(db_url), poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        connection.execution_options(**{READ_ONLY: True})  # SQLite: no write lock
        yield connection
    engine.dispose()


def look(observer: sa.Connection) -> tuple[Any, ...]:
    observer.rollback()  # a fresh snapshot on PostgreSQL
    return fingerprint(observer)


OPERATIONS = [
    *(f"{service}.{name}" for service, cls in SERVICES.items() for name in public_methods(cls)),
    *(f"facade.{name}" for name in FACADE_METHODS),
    "transaction",
]


def call_one(data: st.DataObject, sy: Any, world: World, qualified: str) -> None:
    """Draw arguments for one method and call it; only allowed errors escape."""
    owner, name = qualified.split(".")
    if owner == "facade":
        target, cls = sy, Synergia
    else:
        target, cls = getattr(sy, owner), SERVICES[owner]
    args, kwargs = arguments(data, world, qualified, parameters(cls, name))
    try:
        getattr(target, name)(*args, **kwargs)
    except ALLOWED:
        raise
    except Exception as exc:  # the promise: nothing else escapes
        pytest.fail(f"{qualified}(*{shown(args)}, **{shown(kwargs)}) raised {shown(exc)}")


def run_transaction(data: st.DataObject, sy: Synergia, world: World, marker: str) -> None:
    """Hostile calls inside one transaction block, then a valid write: after
    a SynergiaError the block must still commit."""
    calls = data.draw(
        st.lists(st.sampled_from([op for op in OPERATIONS if "." in op and "facade" not in op]),
                 min_size=1, max_size=2),
        label="in transaction",
    )  # fmt: skip
    with sy.transaction() as tx:
        for qualified in calls:
            with contextlib.suppress(*ALLOWED):
                call_one(data, tx, world, qualified)
        tx.chats.create(ChatCreate(user_id="alice", title=marker))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_hostile_callers_get_typed_errors_and_leave_the_database_consistent(
    face: tuple[Synergia, World], observer: sa.Connection, data: st.DataObject
) -> None:
    sy, world = face
    operation = data.draw(st.sampled_from(OPERATIONS), label="operation")
    before = look(observer)
    if operation == "transaction":
        marker = f"marker-{uuid.uuid4()}"
        run_transaction(data, sy, world, marker)
        observer.rollback()
        committed = observer.execute(
            sa.text("SELECT count(*) FROM synergia_chats WHERE title = :t"), {"t": marker}
        )
        assert committed.scalar_one() == 1, "the block did not commit after a refused call"
    else:
        try:
            call_one(data, sy, world, operation)
        except ALLOWED:
            assert look(observer) == before, f"{operation} was refused but wrote"
    observer.rollback()
    check_consistent(observer)


def test_every_public_method_is_exercised() -> None:
    """The operations are discovered, not listed: a new public method of a
    service is called by the hostile run without anyone adding it."""
    for service, cls in SERVICES.items():
        for name in public_methods(cls):
            assert f"{service}.{name}" in OPERATIONS
            assert parameters(cls, name) is not None
    assert "messages.context" in OPERATIONS
    assert "chats.purge" in OPERATIONS


def test_the_async_face_has_the_same_methods() -> None:
    """Every method of the sync services is on the async ones (the hostile
    run calls the async face through the sync signatures)."""
    faces = {
        "models": AsyncModelService,
        "chats": AsyncChatService,
        "messages": AsyncMessageService,
        "usage": AsyncUsageService,
    }
    for service, cls in SERVICES.items():
        # Awaited methods are descriptors: every public name of the class.
        names = [n for n in dir(faces[service]) if not n.startswith("_") and n != "from_session"]
        assert sorted(names) == public_methods(cls), service
    for name in (*FACADE_METHODS, "close"):
        assert inspect.iscoroutinefunction(getattr(AsyncSynergia, name)), name
    assert callable(Synergia.transaction)
    assert callable(AsyncSynergia.transaction)

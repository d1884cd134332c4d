"""The FastAPI example (``examples/fastapi_app``), on SQLite and PostgreSQL.

Every test that touches a database runs on both backends (``db_url``). The
app is driven through FastAPI's ``TestClient`` used as a context manager, so
its lifespan (logging, opening and migrating the database) runs as it does
under uvicorn.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
import warnings
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
    MutableMapping,
    Sequence,
)
from decimal import Decimal
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis.strategies import SearchStrategy
from pydantic import BaseModel
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.exceptions import StarletteDeprecationWarning
from starlette.requests import ClientDisconnect

from examples.fastapi_app.app import create_app
from examples.fastapi_app.echo import NOTHING_TO_ECHO, EchoModel
from examples.fastapi_app.logging_config import LOG_FILE_NAME
from examples.fastapi_app.settings import Settings
from examples.fastapi_app.streaming import reply_events, reply_stream
from synergia_core import (
    AsyncSynergia,
    ChatCreate,
    ChatNotFound,
    ConcurrentUpdateError,
    DatabaseUnavailableError,
    InvalidInputError,
    InvalidStateError,
    MessageCreate,
    MessageNotFound,
    MessageRead,
    MessageStatus,
    ModelAlreadyExists,
    ModelCreate,
    ModelNotFound,
    ModelUnavailableError,
    SchemaOutOfDateError,
    Synergia,
    SynergiaError,
    head_revision,
)

with warnings.catch_warnings():
    # Starlette 1.x wants `httpx2` for its TestClient and warns when it falls back
    # to `httpx`, which is what the `examples` extra installs; the fallback works.
    warnings.filterwarnings(
        "ignore", message="Using `httpx` with", category=StarletteDeprecationWarning
    )
    from fastapi.testclient import TestClient

API = "/api/v1"
ALICE = {"X-User-Id": "alice"}
BOB = {"X-User-Id": "bob"}
ALLOWED_ORIGIN = "https://chat.example.com"
FRONTEND = "http://localhost:5173"

JSON = dict[str, Any]


# ----------------------------------------------------------------------------- fixtures


def make_settings(url: str, log_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test: nothing read from a developer's environment or ``.env``."""
    values: dict[str, Any] = {
        "ENVIRONMENT": "local",
        "FRONTEND_HOST": FRONTEND,
        "BACKEND_CORS_ORIGINS": f"{ALLOWED_ORIGIN}, https://admin.example.com/",
        "LOG_LEVEL": "INFO",
        "LOG_DIR": log_dir,
        "SYNERGIA_DATABASE_URL": url,
        "ECHO_DELAY_SECONDS": 0,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings on the test's migrated, empty database."""
    return make_settings(db_url, tmp_path / "logs")


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    """The app, not started."""
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """The started app, called as alice unless a request says otherwise."""
    with TestClient(app, headers=ALICE) as started:
        yield started


def body(response: Any, status: int) -> Any:
    """The JSON body of ``response``, after checking its status."""
    assert response.status_code == status, response.text
    return response.json()


def assert_error(response: Any, status: int, code: str) -> None:
    """An error response: ``status`` and ``{"error": code, "detail": str}``."""
    payload = body(response, status)
    assert set(payload) == {"error", "detail"}
    assert payload["error"] == code
    assert isinstance(payload["detail"], str)
    assert payload["detail"]


def create_model(client: TestClient, **fields: Any) -> JSON:
    """A model in the catalog (gpt-4o at 2.50 / 10 USD per million tokens by default)."""
    data = {
        "provider": "openai",
        "name": "gpt-4o",
        "input_price_per_million": "2.50",
        "output_price_per_million": "10",
        **fields,
    }
    created: JSON = body(client.post(f"{API}/models", json=data), 201)
    return created


def create_chat(client: TestClient, **fields: Any) -> JSON:
    """A chat of the client's user."""
    created: JSON = body(client.post(f"{API}/chats", json=fields), 201)
    return created


def add_message(client: TestClient, chat_id: str, **fields: Any) -> JSON:
    """A message added to a chat."""
    added: JSON = body(client.post(f"{API}/chats/{chat_id}/messages", json=fields), 201)
    return added


def parse_sse(text: str) -> list[tuple[str, JSON]]:
    """The ``(event, data)`` pairs of a Server-Sent Events body."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def words(text: str) -> int:
    """The echo model's token count: words."""
    return len(text.split())


# ------------------------------------------------------------------------------- health


def test_health_reports_the_database(client: TestClient) -> None:
    report = body(client.get(f"{API}/health"), 200)
    assert report["status"] == "healthy"
    assert report["version"]
    assert report["uptime"] >= 0
    assert report["timestamp"].endswith("Z") or "+00:00" in report["timestamp"]
    database = report["database"]
    assert database["status"] == "healthy"
    assert database["revision"] == database["head"] == head_revision()
    assert database["error"] is None


def unreachable_url(backend: str, tmp_path: Path) -> str:
    """A database URL that cannot be opened on ``backend``."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}"
    return "postgresql://postgres@127.0.0.1:1/unreachable"


@pytest.mark.parametrize("environment", ["local", "production"])
def test_unreachable_database_is_503(backend: str, tmp_path: Path, environment: str) -> None:
    url = unreachable_url(backend, tmp_path)
    settings = make_settings(url, tmp_path / "logs", ENVIRONMENT=environment)
    with TestClient(create_app(settings), headers=ALICE) as client:
        report = body(client.get(f"{API}/health"), 503)
        assert report["status"] == "unhealthy"
        assert report["database"]["status"] == "unhealthy"
        assert report["database"]["revision"] is None
        error = report["database"]["error"]
        if environment == "production":
            assert error == "database check failed"
        else:
            assert error
        assert_error(client.get(f"{API}/chats"), 503, "database_unavailable")
        assert_error(client.post(f"{API}/models", json={}), 422, "invalid_request")
    log = (tmp_path / "logs" / LOG_FILE_NAME).read_text()
    assert "database unreachable at start-up" in log


def test_a_synergia_given_to_the_app_is_used_and_left_open(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    sy = AsyncSynergia(settings.SYNERGIA_DATABASE_URL)
    close = sy.close
    closed: list[bool] = []

    async def record_close() -> None:
        closed.append(True)

    monkeypatch.setattr(sy, "close", record_close)
    with TestClient(create_app(settings, synergia=sy), headers=ALICE) as client:
        assert client.portal is not None
        chat = create_chat(client, title="shared")
        seen = client.portal.call(lambda: sy.chats.get(chat["id"], user_id="alice"))
        assert seen.title == "shared"
        client.portal.call(close)  # on the loop its connections belong to
    assert closed == []  # the app left it to its owner


# --------------------------------------------------------------------------------- auth


def test_every_route_but_health_needs_a_user(client: TestClient) -> None:
    schema = client.get(f"{API}/openapi.json").json()
    some_id = str(uuid.uuid4())
    checked = 0
    for path, operations in schema["paths"].items():
        for method in operations:
            url = path.replace("{model_id}", some_id)
            url = url.replace("{chat_id}", some_id).replace("{message_id}", some_id)
            if path == f"{API}/health":
                assert client.request(method, url, headers={"X-User-Id": ""}).status_code == 200
                continue
            for headers in ({"X-User-Id": ""}, {"X-User-Id": "   "}):
                response = client.request(method, url, headers=headers)
                assert_error(response, 401, "unauthorized")
            checked += 1
    assert checked == 27


def test_users_see_only_their_own_chats(client: TestClient) -> None:
    chat = create_chat(client, title="alice's")
    message = add_message(client, chat["id"], role="user", content="hi")
    chat_url = f"{API}/chats/{chat['id']}"
    assert_error(client.get(chat_url, headers=BOB), 404, "chat_not_found")
    assert_error(client.patch(chat_url, json={"title": "x"}, headers=BOB), 404, "chat_not_found")
    assert_error(client.delete(chat_url, headers=BOB), 404, "chat_not_found")
    assert_error(client.post(f"{chat_url}/purge", headers=BOB), 404, "chat_not_found")
    assert_error(
        client.post(f"{chat_url}/messages", json={"role": "user", "content": "x"}, headers=BOB),
        404,
        "chat_not_found",
    )
    assert_error(
        client.get(f"{API}/messages/{message['id']}", headers=BOB), 404, "message_not_found"
    )
    assert body(client.get(f"{API}/chats", headers=BOB), 200) == {"items": [], "next_cursor": None}
    assert body(client.get(chat_url), 200)["title"] == "alice's"


# ------------------------------------------------------------------------------- models


def test_models_crud(client: TestClient) -> None:
    gpt = create_model(client, cache_read_price_per_million="1.25", context_window=128_000)
    assert gpt["input_price_per_million"] == "2.50"
    assert gpt["cache_read_price_per_million"] == "1.25"
    assert gpt["is_enabled"] is True
    shorthand = {"provider": "anthropic", "name": "claude-sonnet-4", "price_per_million_tokens": 3}
    claude = body(client.post(f"{API}/models", json=shorthand), 201)
    assert claude["input_price_per_million"] == claude["output_price_per_million"] == "3"
    assert_error(
        client.post(
            f"{API}/models",
            json={"provider": "openai", "name": "gpt-4o", "price_per_million_tokens": 1},
        ),
        409,
        "model_already_exists",
    )

    listed = body(client.get(f"{API}/models"), 200)
    assert {m["name"] for m in listed} == {"gpt-4o", "claude-sonnet-4"}
    only_openai = body(client.get(f"{API}/models", params={"provider": "openai"}), 200)
    assert [m["id"] for m in only_openai] == [gpt["id"]]

    url = f"{API}/models/{gpt['id']}"
    assert body(client.get(url), 200) == gpt
    updated = body(client.patch(url, json={"output_price_per_million": "12"}), 200)
    assert updated["output_price_per_million"] == "12"
    assert updated["input_price_per_million"] == "2.50"

    assert body(client.post(f"{url}/disable"), 200)["is_enabled"] is False
    enabled = body(client.get(f"{API}/models", params={"enabled_only": True}), 200)
    assert [m["id"] for m in enabled] == [claude["id"]]
    assert body(client.post(f"{url}/enable"), 200)["is_enabled"] is True

    assert client.delete(url).status_code == 204
    assert_error(client.get(url), 404, "model_not_found")
    assert_error(client.delete(url), 404, "model_not_found")
    assert_error(client.patch(url, json={"name": "x"}), 404, "model_not_found")
    assert_error(client.post(f"{url}/enable"), 404, "model_not_found")
    assert [m["id"] for m in body(client.get(f"{API}/models"), 200)] == [claude["id"]]
    # The name of a deleted model can be used again.
    create_model(client)


@pytest.mark.parametrize(
    "data",
    [
        {"provider": "openai", "name": "x"},  # no price
        {"provider": "openai", "name": "x", "price_per_million_tokens": "-1"},
        {"provider": "", "name": "x", "price_per_million_tokens": "1"},
        {"provider": "openai", "name": "x", "price_per_million_tokens": "1", "extra": 1},
        {"provider": "o", "name": "x", "price_per_million_tokens": "1e400"},
        {
            "provider": "o",
            "name": "x",
            "price_per_million_tokens": "1",
            "context_window": 10,
            "max_output_tokens": 20,
        },
        [1, 2],
    ],
)
def test_invalid_models_are_422(client: TestClient, data: Any) -> None:
    assert_error(client.post(f"{API}/models", json=data), 422, "invalid_request")


def test_malformed_requests_are_422(client: TestClient) -> None:
    gpt = create_model(client)
    assert_error(client.get(f"{API}/models/not-a-uuid"), 422, "invalid_request")
    assert_error(client.get(f"{API}/chats/123"), 422, "invalid_request")
    assert_error(
        client.patch(f"{API}/models/{gpt['id']}", json={"name": None}), 422, "invalid_request"
    )
    assert_error(
        client.post(
            f"{API}/models", content=b"{not json", headers={"Content-Type": "application/json"}
        ),
        422,
        "invalid_request",
    )
    assert_error(client.get(f"{API}/chats", params={"limit": 0}), 422, "invalid_request")
    assert_error(client.get(f"{API}/chats", params={"cursor": "tampered"}), 422, "invalid_input")
    # Built from request data inside the route: the library schema refuses it.
    assert_error(client.post(f"{API}/chats", json={"title": "x" * 501}), 422, "invalid_request")
    assert_error(client.get(f"{API}/chats", headers={"X-User-Id": "u" * 256}), 422, "invalid_input")
    assert_error(client.get(f"{API}/chats", params={"cursor": "a\x00b"}), 422, "invalid_input")


# -------------------------------------------------------------------------------- chats


def test_chats_crud(client: TestClient) -> None:
    gpt = create_model(client)
    chat = create_chat(client, title="Rome", model_id=gpt["id"], system_prompt="Be brief.")
    assert chat["user_id"] == "alice"
    assert chat["model_id"] == gpt["id"]
    url = f"{API}/chats/{chat['id']}"
    assert body(client.get(url), 200) == chat

    updated = body(client.patch(url, json={"title": "Paris", "is_pinned": True}), 200)
    assert (updated["title"], updated["is_pinned"]) == ("Paris", True)
    pinned = body(client.get(f"{API}/chats", params={"pinned": True}), 200)
    assert [c["id"] for c in pinned["items"]] == [chat["id"]]
    body(client.patch(url, json={"is_archived": True}), 200)
    assert body(client.get(f"{API}/chats"), 200)["items"] == []
    archived = body(client.get(f"{API}/chats", params={"include_archived": True}), 200)
    assert len(archived["items"]) == 1
    assert_error(client.patch(url, json={"is_pinned": None}), 422, "invalid_request")

    assert client.delete(url).status_code == 204
    assert_error(client.get(url), 404, "chat_not_found")
    restored = body(client.post(f"{url}/restore"), 200)
    assert restored["id"] == chat["id"]
    assert body(client.post(f"{url}/restore"), 200)["id"] == chat["id"]  # live: a no-op

    assert client.post(f"{url}/purge").status_code == 204
    assert_error(client.post(f"{url}/restore"), 404, "chat_not_found")
    assert_error(client.post(f"{url}/purge"), 404, "chat_not_found")


def test_chats_with_unusable_models(client: TestClient) -> None:
    gpt = create_model(client)
    body(client.post(f"{API}/models/{gpt['id']}/disable"), 200)
    assert_error(
        client.post(f"{API}/chats", json={"model_id": gpt["id"]}), 409, "model_unavailable"
    )
    missing = str(uuid.uuid4())
    assert_error(client.post(f"{API}/chats", json={"model_id": missing}), 404, "model_not_found")


def test_chats_are_paginated(client: TestClient) -> None:
    created = [create_chat(client, title=f"chat {i}")["id"] for i in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        page = body(client.get(f"{API}/chats", params=params), 200)
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == created[::-1]  # most recent activity first


# ----------------------------------------------------------------------------- messages


def test_messages_add_list_thread_and_branches(client: TestClient) -> None:
    gpt = create_model(client)
    chat = create_chat(client, model_id=gpt["id"])
    question = add_message(client, chat["id"], role="user", content="Plan 3 days in Rome")
    usage = {"input_tokens": 12, "output_tokens": 420}
    answer = add_message(
        client, chat["id"], role="assistant", content="Day 1 ...", model_id=gpt["id"], usage=usage
    )
    assert answer["parent_id"] == question["id"]
    assert Decimal(answer["cost"]) == Decimal("0.00423")
    assert body(client.get(f"{API}/messages/{answer['id']}"), 200) == answer

    first = body(client.get(f"{API}/chats/{chat['id']}/messages", params={"limit": 1}), 200)
    assert [m["id"] for m in first["items"]] == [answer["id"]]
    older = body(
        client.get(
            f"{API}/chats/{chat['id']}/messages",
            params={"limit": 1, "cursor": first["next_cursor"]},
        ),
        200,
    )
    assert [m["id"] for m in older["items"]] == [question["id"]]
    assert older["next_cursor"] is None

    edited = body(
        client.post(f"{API}/messages/{question['id']}/edit", json={"content": "4 days"}), 201
    )
    assert edited["parent_id"] is None
    assert edited["content"] == "4 days"
    thread = body(client.get(f"{API}/chats/{chat['id']}/thread"), 200)
    assert [m["id"] for m in thread] == [edited["id"]]
    siblings = body(client.get(f"{API}/messages/{question['id']}/siblings"), 200)
    assert [m["id"] for m in siblings] == [question["id"], edited["id"]]

    selected = body(client.post(f"{API}/messages/{question['id']}/select"), 200)
    assert selected["current_message_id"] == answer["id"]
    thread = body(client.get(f"{API}/chats/{chat['id']}/thread"), 200)
    assert [m["id"] for m in thread] == [question["id"], answer["id"]]
    last = body(client.get(f"{API}/chats/{chat['id']}/thread", params={"limit": 1}), 200)
    assert [m["id"] for m in last] == [answer["id"]]
    to_question = body(
        client.get(f"{API}/chats/{chat['id']}/thread", params={"leaf_id": question["id"]}), 200
    )
    assert [m["id"] for m in to_question] == [question["id"]]
    assert body(client.get(f"{API}/chats/{chat['id']}"), 200)["message_count"] == 3


def test_message_errors(client: TestClient) -> None:
    chat = create_chat(client)
    other = create_chat(client)
    message = add_message(client, chat["id"], role="user", content="hi")
    missing = str(uuid.uuid4())
    assert_error(client.get(f"{API}/messages/{missing}"), 404, "message_not_found")
    assert_error(client.get(f"{API}/chats/{missing}/messages"), 404, "chat_not_found")
    assert_error(client.get(f"{API}/chats/{missing}/thread"), 404, "chat_not_found")
    assert_error(
        client.post(f"{API}/messages/{missing}/edit", json={"content": "x"}),
        404,
        "message_not_found",
    )
    assert_error(client.post(f"{API}/messages/{missing}/select"), 404, "message_not_found")
    assert_error(client.get(f"{API}/messages/{missing}/siblings"), 404, "message_not_found")
    url = f"{API}/chats/{chat['id']}/messages"
    assert_error(client.post(url, json={"role": "tool", "content": "x"}), 422, "invalid_request")
    assert_error(client.post(url, json={"role": "user", "content": "a\x00b"}), 422, "invalid_input")
    assert_error(
        client.post(url, json={"role": "user", "content": "x", "parent_id": missing}),
        404,
        "message_not_found",
    )
    assert_error(
        client.post(
            f"{API}/chats/{other['id']}/messages",
            json={"role": "user", "content": "x", "parent_id": message["id"]},
        ),
        422,
        "invalid_input",
    )
    assert_error(
        client.post(url, json={"role": "assistant", "content": "x", "model_id": missing}),
        404,
        "model_not_found",
    )
    client.delete(f"{API}/chats/{chat['id']}")
    assert_error(client.post(url, json={"role": "user", "content": "x"}), 404, "chat_not_found")


# ---------------------------------------------------------------------- streamed replies


def test_streamed_reply(client: TestClient) -> None:
    gpt = create_model(client)
    chat = create_chat(client, model_id=gpt["id"], system_prompt="You echo.")
    question = add_message(client, chat["id"], role="user", content="Plan  three days\nin Rome")

    with client.stream("POST", f"{API}/chats/{chat['id']}/replies") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        events = parse_sse(response.read().decode())

    names = [name for name, _ in events]
    assert names == ["start", "delta", "delta", "delta", "delta", "delta", "done"]
    start, done = events[0][1], events[-1][1]
    assert start["status"] == "streaming"
    assert start["content"] == ""
    assert start["parent_id"] == question["id"]
    assert "".join(data["content"] for name, data in events if name == "delta") == (
        "Plan three days in Rome"
    )
    assert done["id"] == start["id"]
    assert done["status"] == "complete"
    assert done["content"] == "Plan three days in Rome"
    prompt_words = words("You echo.") + words(question["content"])
    assert (done["input_tokens"], done["output_tokens"]) == (prompt_words, 5)
    expected_cost = (Decimal(prompt_words) * Decimal("2.50") + 5 * Decimal(10)) / 1_000_000
    assert Decimal(done["cost"]) == expected_cost

    assert body(client.get(f"{API}/messages/{done['id']}"), 200) == done
    thread = body(client.get(f"{API}/chats/{chat['id']}/thread"), 200)
    assert [m["id"] for m in thread] == [question["id"], done["id"]]
    totals = body(client.get(f"{API}/usage"), 200)
    assert Decimal(totals["cost"]) == expected_cost


def test_reply_model_choice_and_errors(client: TestClient) -> None:
    gpt = create_model(client)
    chat = create_chat(client)
    url = f"{API}/chats/{chat['id']}/replies"
    assert_error(client.post(url), 422, "invalid_input")  # the chat has no model
    events = parse_sse(client.post(url, json={"model_id": gpt["id"]}).text)
    assert events[-1][0] == "done"
    assert events[-1][1]["content"] == NOTHING_TO_ECHO
    assert events[-1][1]["model_id"] == gpt["id"]

    missing = str(uuid.uuid4())
    assert_error(client.post(f"{API}/chats/{missing}/replies"), 404, "chat_not_found")
    assert_error(client.post(url, json={"model_id": missing}), 404, "model_not_found")
    body(client.post(f"{API}/models/{gpt['id']}/disable"), 200)
    assert_error(client.post(url, json={"model_id": gpt["id"]}), 409, "model_unavailable")
    assert_error(client.post(url, json={"model_id": "x"}), 422, "invalid_request")


def test_regenerate(client: TestClient) -> None:
    gpt = create_model(client)
    chat = create_chat(client, model_id=gpt["id"])
    question = add_message(client, chat["id"], role="user", content="one two")
    first = parse_sse(client.post(f"{API}/chats/{chat['id']}/replies").text)[-1][1]

    with client.stream("POST", f"{API}/messages/{first['id']}/regenerate") as response:
        assert response.status_code == 200
        events = parse_sse(response.read().decode())
    assert [name for name, _ in events] == ["start", "delta", "delta", "done"]
    second = events[-1][1]
    assert second["id"] != first["id"]
    assert second["parent_id"] == question["id"]
    assert (second["content"], second["status"]) == ("one two", "complete")
    siblings = body(client.get(f"{API}/messages/{first['id']}/siblings"), 200)
    assert [m["id"] for m in siblings] == [first["id"], second["id"]]

    regenerate = f"{API}/messages/{question['id']}/regenerate"
    assert_error(client.post(regenerate), 422, "invalid_input")  # not an assistant message
    missing = str(uuid.uuid4())
    assert_error(client.post(f"{API}/messages/{missing}/regenerate"), 404, "message_not_found")


def test_conversation_is_the_thread_with_siblings(client: TestClient) -> None:
    gpt = create_model(client)
    chat = create_chat(client, model_id=gpt["id"], title="Rome")
    url = f"{API}/chats/{chat['id']}/conversation"
    assert body(client.get(url), 200) == {"chat": chat, "messages": []}

    question = add_message(client, chat["id"], role="user", content="one two")
    first = parse_sse(client.post(f"{API}/chats/{chat['id']}/replies").text)[-1][1]
    view = body(client.get(url), 200)  # no branches: no sibling queries, same answer
    assert view["chat"]["message_count"] == 2
    assert [(e["message"]["id"], e["sibling_ids"]) for e in view["messages"]] == [
        (question["id"], [question["id"]]),
        (first["id"], [first["id"]]),
    ]
    assert view["messages"][1]["message"] == first

    second = parse_sse(client.post(f"{API}/messages/{first['id']}/regenerate").text)[-1][1]
    edited = body(client.post(f"{API}/messages/{question['id']}/edit", json={"content": "3"}), 201)
    view = body(client.get(url), 200)
    assert [(e["message"]["id"], e["sibling_ids"]) for e in view["messages"]] == [
        (edited["id"], [question["id"], edited["id"]]),
    ]
    body(client.post(f"{API}/messages/{question['id']}/select"), 200)
    view = body(client.get(url), 200)
    assert view["chat"]["current_message_id"] == second["id"]
    assert [(e["message"]["id"], e["sibling_ids"]) for e in view["messages"]] == [
        (question["id"], [question["id"], edited["id"]]),
        (second["id"], [first["id"], second["id"]]),
    ]

    assert_error(client.get(url, headers=BOB), 404, "chat_not_found")
    assert_error(client.get(f"{API}/chats/{uuid.uuid4()}/conversation"), 404, "chat_not_found")
    client.delete(f"{API}/chats/{chat['id']}")
    assert_error(client.get(url), 404, "chat_not_found")


def test_cancel_stops_a_streaming_reply(client: TestClient, settings: Settings) -> None:
    gpt = create_model(client)
    chat = create_chat(client, model_id=gpt["id"])
    add_message(client, chat["id"], role="user", content="a b c")
    with Synergia(settings.SYNERGIA_DATABASE_URL) as sy:  # a reply being written elsewhere
        reply = sy.messages.start(chat["id"], user_id="alice")
        sy.messages.append(reply.id, "a", user_id="alice")
    url = f"{API}/messages/{reply.id}/cancel"
    assert_error(client.post(url, headers=BOB), 404, "message_not_found")
    cancelled = body(client.post(url), 200)
    assert (cancelled["id"], cancelled["status"], cancelled["content"]) == (
        str(reply.id),
        "cancelled",
        "a",
    )
    assert body(client.get(f"{API}/messages/{reply.id}"), 200) == cancelled
    assert_error(client.post(url), 409, "invalid_state")  # not streaming any more
    assert_error(client.post(f"{API}/messages/{uuid.uuid4()}/cancel"), 404, "message_not_found")


def test_a_reply_cancelled_meanwhile_ends_with_a_cancelled_event(db_url: str) -> None:
    async def scenario() -> None:
        async with AsyncSynergia(db_url) as sy:
            reply, prompt = await start_reply(sy)
            events = reply_events(sy, reply, prompt, EchoModel(), "alice")
            seen = [await anext(events), await anext(events)]  # start, then "a"
            await sy.messages.cancel(reply.id, user_id="alice")  # the stop button
            seen += [event async for event in events]
            names = [name for name, _ in parse_sse("".join(seen))]
            assert names == ["start", "delta", "cancelled"]
            stopped = parse_sse(seen[-1])[0][1]
            assert (stopped["status"], stopped["content"]) == ("cancelled", "a")
            stored = await sy.messages.get(reply.id, user_id="alice")
            assert (stored.status, stored.content) == (MessageStatus.cancelled, "a")

    asyncio.run(scenario())


class RefusedChunkModel(EchoModel):
    """Streams a chunk, then one the library refuses (a NUL character)."""

    async def stream(self, prompt: Sequence[Mapping[str, Any]]) -> AsyncIterator[str]:
        yield "partial"
        yield " bad\x00chunk"


class CrashingModel(EchoModel):
    """Streams a chunk, then fails like a provider call can."""

    async def stream(self, prompt: Sequence[Mapping[str, Any]]) -> AsyncIterator[str]:
        yield "partial"
        raise RuntimeError("the provider hung up")


@pytest.mark.parametrize(
    ("model", "code", "stored_error"),
    [
        (RefusedChunkModel(), "invalid_input", "NUL character"),
        (CrashingModel(), "internal_error", "internal server error"),
    ],
)
def test_a_reply_that_fails_midway_ends_with_an_error_event(
    client: TestClient, app: FastAPI, model: EchoModel, code: str, stored_error: str
) -> None:
    app.state.reply_model = model
    gpt = create_model(client)
    chat = create_chat(client, model_id=gpt["id"])
    add_message(client, chat["id"], role="user", content="hi")
    events = parse_sse(client.post(f"{API}/chats/{chat['id']}/replies").text)
    assert [name for name, _ in events] == ["start", "delta", "error"]
    assert events[-1][1]["error"] == code
    failed = body(client.get(f"{API}/messages/{events[0][1]['id']}"), 200)
    assert failed["status"] == "failed"
    assert failed["content"] == "partial"
    assert stored_error in failed["error"]


async def start_reply(sy: AsyncSynergia) -> tuple[MessageRead, list[dict[str, Any]]]:
    """A reply started in a new chat whose question is ``a b c d``, and its prompt."""
    model = await sy.models.create(
        ModelCreate(provider="p", name="m", price_per_million_tokens=Decimal(1))
    )
    chat = await sy.chats.create(ChatCreate(user_id="alice", model_id=model.id))
    question = MessageCreate(role="user", content="a b c d")
    await sy.messages.add(chat.id, question, user_id="alice")
    prompt = await sy.messages.context(chat.id, user_id="alice")
    reply = await sy.messages.start(chat.id, user_id="alice", model_id=model.id)
    return reply, prompt


@pytest.mark.parametrize(("events_read", "content"), [(1, ""), (2, "a")])
def test_a_reply_closed_early_is_cancelled(db_url: str, events_read: int, content: str) -> None:
    async def scenario() -> None:
        async with AsyncSynergia(db_url) as sy:
            reply, prompt = await start_reply(sy)
            events = reply_events(sy, reply, prompt, EchoModel(), "alice")
            for _ in range(events_read):
                await anext(events)
            await events.aclose()
            cancelled = await sy.messages.get(reply.id, user_id="alice")
            assert (cancelled.status, cancelled.content) == (MessageStatus.cancelled, content)

    asyncio.run(scenario())


def test_a_reply_whose_client_goes_away_is_cancelled(db_url: str) -> None:
    async def scenario() -> None:
        async with AsyncSynergia(db_url) as sy:
            reply, prompt = await start_reply(sy)
            response = reply_stream(sy, reply, prompt, EchoModel(), "alice")
            sent: list[Mapping[str, Any]] = []

            async def send(message: MutableMapping[str, Any]) -> None:
                if len(sent) == 3:  # the response start, then two events
                    raise OSError("the client went away")
                sent.append(message)

            async def receive() -> MutableMapping[str, Any]:
                return {"type": "http.request", "body": b""}

            scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}}
            with pytest.raises(ClientDisconnect):
                await response(scope, receive, send)
            cancelled = await sy.messages.get(reply.id, user_id="alice")
            assert cancelled.status is MessageStatus.cancelled
            assert cancelled.content == "a b"

    asyncio.run(scenario())


# -------------------------------------------------------------------------------- usage


def test_usage_totals_and_breakdowns(client: TestClient) -> None:
    gpt = create_model(client)
    claude = create_model(
        client,
        provider="anthropic",
        name="claude",
        input_price_per_million="3",
        output_price_per_million="3",
    )
    rome = create_chat(client, title="Rome")
    paris = create_chat(client, title="Paris")
    for chat, model, tokens in ((rome, gpt, 100), (rome, claude, 200), (paris, gpt, 1000)):
        add_message(client, chat["id"], role="user", content="q")
        usage = {"input_tokens": tokens, "output_tokens": tokens}
        add_message(
            client, chat["id"], role="assistant", content="a", model_id=model["id"], usage=usage
        )
    bob_chat = body(client.post(f"{API}/chats", json={}, headers=BOB), 201)
    bob_usage = {"input_tokens": 5, "output_tokens": 5}
    bob_message = {"role": "assistant", "content": "x", "model_id": gpt["id"], "usage": bob_usage}
    url = f"{API}/chats/{bob_chat['id']}/messages"
    body(client.post(url, json=bob_message, headers=BOB), 201)  # never in alice's reports

    totals = body(client.get(f"{API}/usage"), 200)
    assert totals["message_count"] == 6
    assert totals["input_tokens"] == totals["output_tokens"] == 1300
    gpt_cost = Decimal(1100) * Decimal("12.5") / 1_000_000
    claude_cost = Decimal(200) * Decimal(6) / 1_000_000
    assert Decimal(totals["cost"]) == gpt_cost + claude_cost
    in_rome = body(client.get(f"{API}/usage", params={"chat_id": rome["id"]}), 200)
    assert in_rome["message_count"] == 4
    with_claude = body(client.get(f"{API}/usage", params={"model_id": claude["id"]}), 200)
    assert Decimal(with_claude["cost"]) == claude_cost
    future = body(client.get(f"{API}/usage", params={"since": "2999-01-01T00:00:00Z"}), 200)
    assert future["message_count"] == 0
    assert Decimal(future["cost"]) == 0
    assert_error(
        client.get(f"{API}/usage", params={"since": "2026-01-01T00:00:00"}), 422, "invalid_input"
    )

    def breakdown(by: str) -> dict[Any, JSON]:
        rows = body(client.get(f"{API}/usage/breakdown", params={"by": by}), 200)
        return {row["key"]: row for row in rows}

    by_model = breakdown("model")
    assert set(by_model) == {gpt["id"], claude["id"], None}
    assert Decimal(by_model[gpt["id"]]["cost"]) == gpt_cost
    assert by_model[None]["message_count"] == 3  # the user messages
    assert list(breakdown("user")) == ["alice"]
    by_chat = breakdown("chat")
    assert by_chat[rome["id"]]["input_tokens"] == 300
    assert by_chat[paris["id"]]["input_tokens"] == 1000
    (day,) = breakdown("day").values()
    assert day["message_count"] == 6
    assert_error(
        client.get(f"{API}/usage/breakdown", params={"by": "week"}), 422, "invalid_request"
    )
    assert_error(client.get(f"{API}/usage/breakdown"), 422, "invalid_request")


# ---------------------------------------------------------------------------- chat page


def names_another_site(text: str) -> bool:
    """Whether a file of the page refers to another site (the SVG namespace aside)."""
    text = text.replace("http://www.w3.org/2000/svg", "")
    return "http://" in text or "https://" in text or "//cdn" in text


def test_the_chat_page_is_served_with_its_files(client: TestClient) -> None:
    page = client.get("/", headers={"X-User-Id": ""})  # the page asks for the user itself
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>Synergia chat</title>" in page.text
    assert not names_another_site(page.text)
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self';" in policy  # no inline script, nothing from elsewhere
    for name, kind in (
        ("app.js", "javascript"),
        ("api.js", "javascript"),
        ("chart.js", "javascript"),
        ("app.css", "text/css"),
        ("favicon.svg", "image/svg+xml"),
    ):
        asset = client.get(f"/static/{name}")
        assert asset.status_code == 200, name
        assert kind in asset.headers["content-type"], name
        assert asset.headers["cache-control"] == "no-cache"
        assert f"static/{name}" in page.text or name in {"api.js", "chart.js"}
        assert not names_another_site(asset.text), name
    assert_error(client.get("/static/nothing.js"), 404, "not_found")
    schema = client.get(f"{API}/openapi.json").json()
    assert "/" not in schema["paths"]
    assert not any(path.startswith("/static") for path in schema["paths"])


# ------------------------------------------------------------------------ error mapping

ERRORS: list[tuple[Exception, int, str]] = [
    (ModelNotFound(uuid.uuid4()), 404, "model_not_found"),
    (ChatNotFound(uuid.uuid4()), 404, "chat_not_found"),
    (MessageNotFound(uuid.uuid4()), 404, "message_not_found"),
    (ModelAlreadyExists("openai", "gpt-4o"), 409, "model_already_exists"),
    (InvalidStateError("message", uuid.uuid4(), "complete"), 409, "invalid_state"),
    (ConcurrentUpdateError("chat", uuid.uuid4()), 409, "concurrent_update"),
    (ModelUnavailableError(uuid.uuid4(), "disabled"), 409, "model_unavailable"),
    (InvalidInputError("bad", field="x"), 422, "invalid_input"),
    (DatabaseUnavailableError("down"), 503, "database_unavailable"),
    (SchemaOutOfDateError("0001", "0002"), 503, "schema_out_of_date"),
    (SynergiaError("unknown"), 500, "synergia"),
    (RuntimeError("a bug"), 500, "internal_error"),
]


def raiser(error: Exception) -> Callable[[], Awaitable[None]]:
    """A route that raises ``error``."""

    async def fail() -> None:
        raise error

    return fail


def test_error_mapping(app: FastAPI) -> None:
    for index, (error, _, _) in enumerate(ERRORS):
        app.add_api_route(f"/boom/{index}", raiser(error))

    class Strict(BaseModel):
        n: int

    async def build_from_request() -> None:
        Strict.model_validate({"n": "not a number"})

    app.add_api_route("/boom/validation", build_from_request)

    with TestClient(app, raise_server_exceptions=False) as client:
        for index, (error, status, code) in enumerate(ERRORS):
            response = client.get(f"/boom/{index}")
            assert_error(response, status, code)
            if isinstance(error, SynergiaError):
                assert response.json()["detail"] == error.message
        assert_error(client.get("/boom/validation"), 422, "invalid_request")
        assert_error(client.get("/nowhere"), 404, "not_found")
        assert_error(client.put(f"{API}/health"), 405, "method_not_allowed")


# ---------------------------------------------------------------- CORS, docs, logging


def test_cors_allows_only_the_configured_origins(client: TestClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-user-id",
    }
    for origin in (ALLOWED_ORIGIN, "https://admin.example.com", FRONTEND):
        response = client.options(f"{API}/chats", headers={"Origin": origin, **preflight})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == origin
        simple = client.get(f"{API}/chats", headers={"Origin": origin})
        assert simple.headers["access-control-allow-origin"] == origin
    evil = "https://evil.example.net"
    response = client.options(f"{API}/chats", headers={"Origin": evil, **preflight})
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    simple = client.get(f"{API}/chats", headers={"Origin": evil})
    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers


@pytest.mark.parametrize(
    ("environment", "served"), [("local", True), ("staging", True), ("production", False)]
)
def test_docs_are_off_in_production(
    db_url: str, tmp_path: Path, environment: str, served: bool
) -> None:
    settings = make_settings(db_url, tmp_path, ENVIRONMENT=environment)
    with TestClient(create_app(settings)) as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            response = client.get(f"{API}{path}")
            assert response.status_code == (200 if served else 404), path
        assert client.get(f"{API}/health").status_code == 200


def test_logging_is_configured_while_the_app_runs(app: FastAPI, settings: Settings) -> None:
    root = logging.getLogger()
    handlers_before = list(root.handlers)
    level_before = logging.getLogger("uvicorn.access").level
    with TestClient(app):
        assert logging.getLogger("uvicorn.access").level == logging.WARNING
        assert logging.getLogger("alembic").level == logging.WARNING
        # uvicorn's start-up lines say where the app is served: not held back.
        assert logging.getLogger("uvicorn.error").level != logging.WARNING
        added = [h for h in root.handlers if h not in handlers_before]
        assert len(added) == 2
        logging.getLogger("examples.test").info("hello from the test")
    assert root.handlers == handlers_before
    assert logging.getLogger("uvicorn.access").level == level_before
    log = (settings.LOG_DIR / LOG_FILE_NAME).read_text()
    assert "examples.fastapi_app.app - INFO - synergia-core" in log
    assert "examples.test - INFO - hello from the test" in log


def test_each_request_is_logged(app: FastAPI, settings: Settings) -> None:
    with TestClient(app) as client:
        assert client.get(f"{API}/health").status_code == 200
        assert client.get(f"{API}/chats?limit=2", headers=ALICE).status_code == 200
        assert client.get(f"{API}/chats").status_code == 401
        chat = body(client.post(f"{API}/chats", json={"title": "t"}, headers=ALICE), 201)
        assert client.get(f"{API}/chats/{chat['id']}/nope", headers=ALICE).status_code == 404
    lines = [
        line.split(" - ", 3)[3]
        for line in (settings.LOG_DIR / LOG_FILE_NAME).read_text().splitlines()
        if " - examples.fastapi_app.access - INFO - " in line
    ]
    expected = [
        f'"GET {API}/health HTTP/1.1" 200',
        f'"GET {API}/chats?limit=2 HTTP/1.1" 200',
        f'"GET {API}/chats HTTP/1.1" 401',
        f'"POST {API}/chats HTTP/1.1" 201',
        f'"GET {API}/chats/{chat["id"]}/nope HTTP/1.1" 404',
    ]
    assert len(lines) == len(expected)
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(f"testclient:50000 - {start} ("), line
        assert line.endswith(" ms)"), line


# ------------------------------------------------------------------ settings, echo model


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("BACKEND_CORS_ORIGINS", "https://a.example, https://b.example/ ,")
    monkeypatch.setenv("FRONTEND_HOST", "https://a.example")
    monkeypatch.setenv("SYNERGIA_DATABASE_URL", "postgresql://u@db/app")
    settings = Settings(_env_file=None)
    assert settings.ENVIRONMENT == "production"
    assert settings.docs_enabled is False
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.SYNERGIA_DATABASE_URL == "postgresql://u@db/app"
    env_file = tmp_path / ".env"
    env_file.write_text("LOG_LEVEL=DEBUG\nECHO_DELAY_SECONDS=0.5\n")
    from_file = Settings(_env_file=env_file)
    assert (from_file.LOG_LEVEL, from_file.ECHO_DELAY_SECONDS) == ("DEBUG", 0.5)


def test_echo_model() -> None:
    model = EchoModel()
    prompt: list[dict[str, Any]] = [
        {"role": "system", "content": "be kind"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "x"}},
            ],
        },
        {"role": "assistant", "content": "at what?"},
    ]
    assert model.answer(prompt) == "look"
    assert model.answer([{"role": "system", "content": "hi"}]) == NOTHING_TO_ECHO
    usage = model.usage(prompt, "look")
    assert (usage.input_tokens, usage.output_tokens) == (5, 1)

    async def chunks() -> list[str]:
        return [
            chunk
            async for chunk in EchoModel(delay=0.001).stream(
                [*prompt, {"role": "user", "content": " many   words here "}]
            )
        ]

    assert asyncio.run(chunks()) == ["many", " words", " here"]


# -------------------------------------------------------- property-based: schemathesis

SCHEMATHESIS_CONFIG = {
    # The security scheme the app declares for X-User-Id: schemathesis sends it.
    "auth": {"openapi": {"UserId": {"api_key": "schemathesis"}}},
}
Operation = schemathesis.APIOperation[Any, Any, Any, Any]
Case = schemathesis.Case[Any]
NEGATIVE = GenerationMode("negative")  # a StrEnum, which mypy --python-version 3.10 cannot see
POSITIVE_EXAMPLES = 4  # per operation, on rows that exist
NEGATIVE_EXAMPLES = 3  # per operation that takes input, with generated ids
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def seed(url: str, user_id: str) -> dict[str, str]:
    """A model, a chat and a question with its answer, for generated requests to act on.

    Returns:
        Path parameters naming them: ``model_id``, ``chat_id``, ``message_id``.
    """
    with Synergia(url) as sy:
        model = sy.models.create(
            ModelCreate(provider="echo", name="echo", price_per_million_tokens=Decimal(1))
        )
        chat = sy.chats.create(ChatCreate(user_id=user_id, model_id=model.id))
        sy.messages.add(chat.id, MessageCreate(role="user", content="hello"), user_id=user_id)
        answer = sy.messages.add(
            chat.id,
            MessageCreate(role="assistant", content="hello", model_id=model.id),
            user_id=user_id,
        )
    return {"model_id": str(model.id), "chat_id": str(chat.id), "message_id": str(answer.id)}


def destroys(operation: Operation) -> bool:
    """Whether ``operation`` deletes what it names (run those last)."""
    return operation.method.upper() == "DELETE" or operation.path.endswith("/purge")


def takes_input(operation: Operation) -> bool:
    """Whether invalid requests can be made for ``operation``."""
    return bool(list(operation.iter_parameters())) or bool(operation.body)


def run_cases(strategy: SearchStrategy[Case], examples: int, sent: list[str]) -> None:
    """Send ``examples`` generated cases; fail on a 5xx or a response off the schema."""

    @hypothesis.given(case=strategy)
    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    def check(case: Case) -> None:
        sent.append(case.operation.label)
        case.call_and_validate(checks=CHECKS)

    check()


def test_the_api_keeps_its_schema(settings: Settings) -> None:
    """Generated requests to every operation: never a 5xx, always a documented response.

    Built on ``APIOperation.as_strategy`` rather than ``schemathesis.pytest``'s
    lazy loader, whose fixture support breaks on pytest 9 (``request.node._nodeid``).
    """
    user = SCHEMATHESIS_CONFIG["auth"]["openapi"]["UserId"]["api_key"]
    existing = seed(settings.SYNERGIA_DATABASE_URL, user)
    config = schemathesis.Config.from_dict(SCHEMATHESIS_CONFIG)
    sent: list[str] = []
    try:
        # Loading the schema starts the app's lifespan in schemathesis' event loop thread.
        schema = schemathesis.openapi.from_asgi(
            f"{API}/openapi.json", create_app(settings), config=config
        )
        operations: list[Operation] = []
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), result
            operations.append(result.ok())
        operations.sort(key=destroys)
        for operation in operations:
            names = {parameter.name for parameter in operation.path_parameters}
            on_existing = {name: existing[name] for name in names}
            run_cases(operation.as_strategy(path_parameters=on_existing), POSITIVE_EXAMPLES, sent)
            if takes_input(operation):
                negative = operation.as_strategy(generation_mode=NEGATIVE)
                run_cases(negative, NEGATIVE_EXAMPLES, sent)
    finally:
        shutdown_lifespans()
    assert len(operations) == 28
    assert set(sent) == {operation.label for operation in operations}
    assert 150 <= len(sent) <= 200, len(sent)

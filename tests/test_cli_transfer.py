"""``synergia-core export`` and ``synergia-core import`` (in tests/test_cli.py's style)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synergia_core import ChatCreate, MessageCreate, Synergia
from synergia_core.cli import main

CHATGPT = Path(__file__).parent / "data" / "chatgpt_conversations.json"


def _alice(url: str) -> None:
    with Synergia(url) as sy:
        chat = sy.chats.create(ChatCreate(user_id="alice", title="Rome"))
        question = sy.messages.add(
            chat.id, MessageCreate(role="user", content="hi"), user_id="alice"
        )
        sy.messages.edit(question.id, "hello", user_id="alice")


def test_export_then_import(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _alice(db_url)
    out = tmp_path / "alice.jsonl"
    assert main(["export", "--user", "alice", "-o", str(out), "--url", db_url]) == 0
    assert capsys.readouterr().out == f"exported 1 chats, 2 messages, 0 models to {out}\n"
    first = out.read_bytes()
    assert json.loads(first.splitlines()[0])["format"] == "synergia-chats"
    assert main(["import", str(out), "--url", db_url]) == 0
    assert (
        capsys.readouterr().out
        == "imported 0 chats, 0 messages, 0 models (1 chats already there)\n"
    )
    assert main(["import", str(out), "--user", "bob", "--new-ids", "--url", db_url]) == 0
    assert capsys.readouterr().out.startswith("imported 1 chats, 2 messages")
    with Synergia(db_url) as sy:
        (chat,) = sy.chats.list(user_id="bob").items
        assert [m.content for m in sy.messages.thread(chat.id, user_id="bob")] == ["hello"]


def test_export_to_standard_output(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _alice(db_url)
    assert main(["--url", db_url, "export", "--user", "alice", "-o", "-"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 5  # header, chat, 2 messages, end
    assert "exported 1 chats, 2 messages, 0 models to standard output" in captured.err


def test_import_chatgpt(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(CHATGPT), "--chatgpt", "--user", "carol", "--url", db_url]) == 0
    assert (
        capsys.readouterr().out
        == "imported 2 chats, 14 messages, 0 models (0 chats already there)\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["import", "{data}", "--chatgpt"], "error: user_id is required"),
        (["import", "{missing}"], "error: no file at"),
        (
            ["import", "{data}"],
            "error: line 1: not JSON: expected a synergia-chats header (a ChatGPT",
        ),
    ],
)
def test_import_errors_are_one_line(
    db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    paths = {"{data}": str(CHATGPT), "{missing}": str(tmp_path / "nope.json")}
    assert main([paths.get(part, part) for part in argv] + ["--url", db_url]) == 1
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert len(err.strip().splitlines()) == 1


def test_export_needs_a_user_and_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["export", "-o", str(tmp_path / "x.jsonl")])
    assert caught.value.code == 2
    missing = tmp_path / "missing.db"
    assert main(["export", "--user", "a", "-o", "-", "--url", f"sqlite:///{missing}"]) == 1
    assert "no database at" in capsys.readouterr().err
    assert not missing.exists()

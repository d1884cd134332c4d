"""The command line: synergia-core db upgrade|downgrade|current|history, models sync."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from synergia_core import Synergia, current_revision, head_revision, migrate
from synergia_core._migration import history
from synergia_core.cli import main
from synergia_core.db import URL_ENV_VAR
from synergia_core.pricing import genai_prices


def test_upgrade_current_history_downgrade(
    fresh_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    head = head_revision()
    assert main(["db", "upgrade", "--url", fresh_url]) == 0
    assert f"-> {head}" in capsys.readouterr().out
    assert main(["db", "upgrade", "--url", fresh_url]) == 0
    assert "nothing to do" in capsys.readouterr().out

    assert main(["db", "current", "--url", fresh_url]) == 0
    assert capsys.readouterr().out.strip() == f"{head} (head)"

    assert main(["db", "history"]) == 0
    assert f"{head} (head)" in capsys.readouterr().out

    assert main(["db", "downgrade", "base", "--url", fresh_url]) == 0
    assert capsys.readouterr().out == f"downgraded {head} -> <none>\n"
    assert current_revision(fresh_url) is None
    assert main(["db", "current", "--url", fresh_url]) == 0
    assert "<none> (not migrated" in capsys.readouterr().out


def test_current_on_a_database_never_migrated(
    fresh_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if fresh_url.startswith("sqlite"):
        sqlite3.connect(fresh_url.removeprefix("sqlite:///")).close()  # an empty file
    assert main(["db", "current", "--url", fresh_url]) == 0
    assert capsys.readouterr().out == "<none> (not migrated; run `synergia-core db upgrade`)\n"


def test_url_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv(URL_ENV_VAR, url)
    assert main(["db", "upgrade"]) == 0
    assert current_revision(url) == head_revision()


def test_errors_are_one_line_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["db", "current", "--url", "postgresql://postgres@127.0.0.1:1/nowhere"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_unknown_revision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade", "nope", "--url", f"sqlite:///{tmp_path / 'x.db'}"]) == 1
    assert capsys.readouterr().err.startswith("error: ")


def test_runs_as_a_module(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    upgrade = subprocess.run(
        [sys.executable, "-m", "synergia_core", "db", "upgrade", "--url", url],
        capture_output=True,
        text=True,
        check=False,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    current = subprocess.run(
        [sys.executable, "-m", "synergia_core", "db", "current", "--url", url],
        capture_output=True,
        text=True,
        check=True,
    )
    assert current.stdout.strip() == f"{head_revision()} (head)"


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["db"])
    assert caught.value.code == 2


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run a command that must fail as a usage error; return its one line of stderr."""
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    return err


@pytest.mark.parametrize(
    "argv",
    [
        ["--url", "{url}", "db", "upgrade"],
        ["db", "--url", "{url}", "upgrade"],
        ["db", "upgrade", "--url", "{url}"],
        ["db", "upgrade", "head", "--url", "{url}"],
        ["--url", "sqlite:///elsewhere.db", "db", "upgrade", "--url", "{url}"],
    ],
)
def test_url_before_or_after_the_subcommand(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'chats.db'}"
    assert main([part.replace("{url}", url) for part in argv]) == 0
    assert current_revision(url) == head_revision()
    assert not (tmp_path / "elsewhere.db").exists()  # the last --url wins


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["db", "upgrade", "sqlite:///x.db"], "db upgrade"),
        (["db", "downgrade", "sqlite:///x.db"], "db downgrade"),
        (["db", "upgrade", "head", "sqlite:///x.db"], "db upgrade"),
        (["db", "current", "sqlite:///x.db"], "db current"),
        (["db", "history", "postgresql://u@h/d"], "db history"),
        (["models", "sync", "--source", "genai-prices", "sqlite:///x.db"], "models sync"),
    ],
)
def test_a_positional_url_is_named_as_the_mistake(
    argv: list[str],
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    err = _usage_error(argv, capsys)
    assert f"{argv[-1]!r} is a database URL" in err
    assert "pass it with --url URL" in err
    assert f"see `synergia-core {command} --help`" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["db", "current", "--url", "{url}"],
        ["--url", "{url}", "db", "current"],
        ["db", "history", "--url", "{url}"],
        ["db", "downgrade", "base", "--url", "{url}"],
    ],
)
def test_reading_never_creates_a_database(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "typo.db"
    status = main([part.replace("{url}", f"sqlite:///{typo}") for part in argv])
    assert status == 1
    assert capsys.readouterr().err == f"error: no database at {typo}\n"
    assert list(tmp_path.iterdir()) == []


def test_a_relative_sqlite_path_is_shown_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(URL_ENV_VAR, "sqlite:///typo.db")
    assert main(["db", "current"]) == 1
    assert capsys.readouterr().err == f"error: no database at {tmp_path.resolve() / 'typo.db'}\n"
    assert main(["db", "history"]) == 0  # no --url: the history alone, no database read
    assert list(tmp_path.iterdir()) == []


def test_history_marks_the_database_revision(
    fresh_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first = history()[-1].revision
    migrate(fresh_url, first)
    assert main(["db", "history", "--url", fresh_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if "(current)" in line] == [
        f"<base> -> {first} (current), {history()[-1].message}"
    ]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg2://postgres@127.0.0.1/test",
        "postgresql+asyncpg://postgres@127.0.0.1/test",
        "mysql://root@127.0.0.1/test",
    ],
)
@pytest.mark.parametrize("command", ["upgrade", "current", "history"])
def test_a_wrong_driver_names_the_supported_ones(
    url: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", command, "--url", url]) == 1
    err = capsys.readouterr().err
    scheme = url.split("://")[0]
    assert err.startswith(f"error: unsupported database URL scheme '{scheme}://': ")
    assert "sqlite://, sqlite+pysqlite://, postgresql:// and postgresql+psycopg://" in err
    assert "pip install" not in err
    assert err.count("\n") == 1


def test_verbose_logs_the_sql_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert main(["db", "upgrade", "--url", url]) == 0
    assert capsys.readouterr().err == ""

    for argv in (
        ["-v", "db", "current", "--url", url],
        ["db", "current", "--verbose", "--url", url],
    ):
        assert main(argv) == 0
        captured = capsys.readouterr()
        assert captured.out == f"{head_revision()} (head)\n"
        assert "sqlalchemy.engine.Engine: SELECT version_num FROM synergia_alembic_version" in (
            captured.err
        )
    # The CLI puts the loggers back as they were.
    assert logging.getLogger("sqlalchemy.engine").level == logging.NOTSET
    assert logging.getLogger("sqlalchemy.engine").handlers == []

    other = f"sqlite:///{tmp_path / 'y.db'}"
    assert main(["db", "upgrade", "--url", other, "-v"]) == 0
    assert "alembic.runtime.migration: Running upgrade" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["db"], "the following arguments are required: DB_COMMAND"),
        (["db", "downgrade"], "the following arguments are required: REVISION"),
        (["db", "current", "--nope"], "unrecognized arguments: --nope"),
        (["db", "upgrade", "a", "b"], "unrecognized arguments: b"),
        (["models"], "the following arguments are required: MODELS_COMMAND"),
        (["models", "sync"], "the following arguments are required: --source"),
        (["models", "sync", "--source", "litellm"], "argument --source: invalid choice"),
        (["models", "sync", "--source", "genai-prices", "x"], "unrecognized arguments: x"),
    ],
)
def test_usage_errors_are_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert message in _usage_error(argv, capsys)


# ------------------------------------------------------------------ models sync

SYNC = ["models", "sync", "--source", "genai-prices"]


def summary(created: int = 0, updated: int = 0, unchanged: int = 0, skipped: int = 0) -> str:
    total = created + updated + unchanged
    return (
        f"synced {total} models: {created} created, {updated} updated, "
        f"{unchanged} unchanged ({skipped} skipped)\n"
    )


def test_models_sync(fresh_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade", "--url", fresh_url]) == 0
    capsys.readouterr()
    expected = genai_prices(["openai", "anthropic"])
    count, skipped = len(expected), len(expected.skipped)

    argv = [*SYNC, "--provider", "openai", "--provider", "anthropic"]
    assert main([*argv, "--url", fresh_url]) == 0
    captured = capsys.readouterr()
    assert captured.out == summary(created=count, skipped=skipped)
    assert "syncing models" in captured.err  # the progress bar
    assert f"{count}/{count}" in captured.err

    assert main(["--url", fresh_url, *argv]) == 0  # --url before the command
    assert capsys.readouterr().out == summary(unchanged=count, skipped=skipped)

    with Synergia(fresh_url) as sy:
        assert {model.provider for model in sy.models.list()} == {"anthropic", "openai"}
        assert sy.models.get_by_name("openai", "gpt-4o-2024-08-06").name == "gpt-4o"


def test_models_sync_without_rich_prints_plain_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    migrate(url)
    monkeypatch.setitem(sys.modules, "rich.console", None)
    monkeypatch.setitem(sys.modules, "rich.progress", None)
    count = len(genai_prices(["openai"]))
    assert main([*SYNC, "--provider", "openai", "--url", url]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert 2 <= len(lines) <= 11
    assert all(line.startswith("syncing models: ") for line in lines)
    assert lines[-1] == f"syncing models: {count}/{count}"


def test_models_sync_verbose_names_what_it_skips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    migrate(url)
    expected = genai_prices(["openai"])
    assert main(["-v", *SYNC, "--provider", "openai", "--url", url]) == 0
    err = capsys.readouterr().err
    assert f"synergia_core.pricing: genai-prices: converted {len(expected)} model(s)" in err
    for item in expected.skipped:
        assert f"openai/{item.model} ({item.reason})" in err


def test_models_sync_errors_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    missing = tmp_path / "typo.db"
    assert main([*SYNC, "--url", f"sqlite:///{missing}"]) == 1
    assert capsys.readouterr().err == f"error: no database at {missing}\n"
    assert not missing.exists()

    sqlite3.connect(tmp_path / "x.db").close()  # a database never migrated
    assert main([*SYNC, "--provider", "openai", "--url", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: database schema is at revision <none>")
    assert err.count("\n") == 1

    migrate(url)
    assert main([*SYNC, "--provider", "opnai", "--url", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unknown provider 'opnai' (genai-prices has: ")
    assert err.count("\n") == 1

    monkeypatch.setitem(sys.modules, "genai_prices", None)
    assert main([*SYNC, "--url", url]) == 1
    assert capsys.readouterr().err == (
        "error: synergia_core.pricing needs the genai-prices package: "
        "pip install 'synergia-core[pricing]'\n"
    )

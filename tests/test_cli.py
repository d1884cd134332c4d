"""The command line: synergia-core db upgrade|downgrade|current|history."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from synergia_core import current_revision, head_revision
from synergia_core.cli import main
from synergia_core.db import URL_ENV_VAR


def test_upgrade_current_history_downgrade(
    fresh_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    head = head_revision()
    assert main(["db", "current", "--url", fresh_url]) == 0
    assert "<none>" in capsys.readouterr().out

    assert main(["db", "upgrade", "--url", fresh_url]) == 0
    assert f"-> {head}" in capsys.readouterr().out
    assert main(["db", "upgrade", "--url", fresh_url]) == 0
    assert "nothing to do" in capsys.readouterr().out

    assert main(["db", "current", "--url", fresh_url]) == 0
    assert capsys.readouterr().out.strip() == f"{head} (head)"

    assert main(["db", "history"]) == 0
    assert f"{head} (head)" in capsys.readouterr().out

    assert main(["db", "downgrade", "base", "--url", fresh_url]) == 0
    assert current_revision(fresh_url) is None


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

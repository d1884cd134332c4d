"""The examples run as part of the suite."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_quickstart(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    namespace = runpy.run_path(str(EXAMPLES / "quickstart.py"))
    namespace["main"](db_url)
    out = capsys.readouterr().out
    assert "total spent: $0.010835" in out
    assert "Three days in Rome" in out

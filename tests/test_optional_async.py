"""The sync API works without the 'async' extra; the async names say what to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def _run_without_greenlet(code: str) -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["greenlet"] = None  # as if the 'async' extra were not installed
        """
    ) + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120
    )


def test_sync_api_without_greenlet(tmp_path: Path) -> None:
    result = _run_without_greenlet(
        f"""
        import synergia_core
        from synergia_core import ChatCreate, Synergia
        from synergia_core.cli import main
        with Synergia("sqlite:///{tmp_path / "x.db"}", auto_migrate=True) as sy:
            chat = sy.chats.create(ChatCreate(user_id="a"))
            assert sy.chats.get(chat.id, user_id="a").id == chat.id
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_async_names_explain_the_missing_extra() -> None:
    result = _run_without_greenlet(
        """
        import synergia_core
        try:
            synergia_core.AsyncSynergia
        except ImportError as exc:
            print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'synergia-core[async]'" in result.stdout

"""The examples run as part of the suite."""

from __future__ import annotations

import os
import runpy
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def test_quickstart(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    namespace = runpy.run_path(str(EXAMPLES / "quickstart.py"))
    namespace["main"](db_url)
    out = capsys.readouterr().out
    assert "total spent: $0.010835" in out
    assert "Three days in Rome" in out


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(path: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> str:
    """The content of ``path`` once it contains ``text`` (fails if the process ends first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text(errors="replace")
        if text in content:
            return content
        if process.poll() is not None:
            break
        time.sleep(0.1)
    pytest.fail(f"{text!r} never came; the output was:\n{path.read_text(errors='replace')}")


def test_make_serve_says_where_it_serves_and_logs_each_request(tmp_path: Path) -> None:
    port = _free_port()
    output = tmp_path / "serve.log"
    env = {
        **os.environ,
        "SYNERGIA_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "LOG_DIR": str(tmp_path / "logs"),
        "MAKEFLAGS": "",
    }
    # -o: never reinstall the virtualenv from here; PY: this interpreter.
    command = ["make", "--no-print-directory", "-o", ".venv/.installed-dev", "serve"]
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [*command, f"PORT={port}", f"PY={sys.executable}"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: make and uvicorn stop together
        )
    try:
        address = f"http://127.0.0.1:{port}"
        printed = _wait_for(output, f"Uvicorn running on {address}", process, timeout=60)
        assert f"Chat page: {address}/" in printed
        with urllib.request.urlopen(f"{address}/api/v1/health", timeout=10) as response:
            assert response.status == 200
        _wait_for(output, '"GET /api/v1/health HTTP/1.1" 200 (', process, timeout=10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

"""The benchmark harness runs (tiny sizes): `make bench` keeps working.

Not a timed test: the figures are not looked at here, see docs/performance.md.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load() -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("synergia_bench_run", BENCHMARKS / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_benchmark_harness_runs(backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    run = _load()
    assert run.main(["--smoke", "--backend", backend]) == 0
    out = capsys.readouterr().out
    for workload in (
        "W1 append",
        "W2 newest 50",
        "W3 all",
        "W4 chat list",
        "W5 one append",
        "W6 breakdown",
        "async W1",
        "async W2",
    ):
        assert workload in out, workload
    assert "ratio" in out

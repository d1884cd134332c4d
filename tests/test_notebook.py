"""``examples/notebook.ipynb`` runs, top to bottom, in a real Jupyter kernel,
twice on one database (its cells re-run), and is saved without outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from synergia_core.db import URL_ENV_VAR

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "notebook.ipynb"
DATABASE = "tour.db"  # what the notebook's URL names, in its working directory


def read() -> Any:
    return nbformat.read(NOTEBOOK, as_version=nbformat.NO_CONVERT)  # type: ignore[no-untyped-call]


def code_cells(notebook: Any) -> list[Any]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_the_notebook_is_valid_and_saved_without_outputs() -> None:
    notebook = read()
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    for cell in code_cells(notebook):
        assert cell.outputs == [], f"a saved output in cell {cell.id}: clear the outputs"
        assert cell.execution_count is None, f"cell {cell.id} was saved executed"


def execute(directory: Path) -> Any:
    """The notebook, executed in ``directory`` by this interpreter's kernel."""
    notebook = read()
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(directory)}},
    )
    client.execute()  # raises CellExecutionError, with the traceback, if a cell fails
    return notebook


def plain(cell: Any) -> str:
    """The text a cell showed: its printed lines and its result's text."""
    shown = []
    for output in cell.outputs:
        shown.append(output.get("text", "") or output.get("data", {}).get("text/plain", ""))
    return "\n".join(shown)


def cell_with(notebook: Any, code: str) -> Any:
    (cell,) = [cell for cell in code_cells(notebook) if code in cell.source]
    return cell


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # jupyter_client's, not ours
def test_the_notebook_runs_and_runs_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")  # the chart is drawn, in no window
    monkeypatch.delenv(URL_ENV_VAR, raising=False)
    first = execute(tmp_path)
    assert (tmp_path / DATABASE).is_file()  # a fresh SQLite file, in the temp dir
    for cell in code_cells(first):
        assert all(output.output_type != "error" for output in cell.outputs)

    catalog = plain(cell_with(first, "catalog = pd.DataFrame"))
    assert "GPT-4o" in catalog
    assert "Claude Sonnet 4" in catalog
    versions = plain(cell_with(first, "versions = sy.messages.siblings"))
    assert "0.003835" in versions  # 14 x 2.50 + 380 x 10, per million
    assert "0.006192" in versions  # 14 x 3 + 410 x 15, per million
    by_model = plain(cell_with(first, 'by_model = sy.usage.frame("model")'))
    assert "GPT-4o" in by_model
    daily = cell_with(first, "daily = pd.concat")
    assert "text/html" in daily.outputs[0].data  # a DataFrame, shown as a table
    assert len(plain(daily).splitlines()) == 1 + 7  # the models, then seven days
    assert "decimal[" in plain(cell_with(first, 'library="polars"'))

    second = execute(tmp_path)  # every cell again, on the same database
    assert "1 of alice's chats" in plain(cell_with(first, "page = sy.chats.list"))
    assert "2 of alice's chats" in plain(cell_with(second, "page = sy.chats.list"))
    assert plain(cell_with(second, "catalog = pd.DataFrame")) == catalog  # upserted, not doubled

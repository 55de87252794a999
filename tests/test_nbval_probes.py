"""The nbval path the lesson tests take: checked outputs compared, timings sanitized, failures reported, outputs stored."""
from __future__ import annotations

import subprocess

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from grader.course import ROOT
from tests.support import notebooks as nbs
from tests.support.nbval_probes import CHECK_TAG


def _checked(source: str, printed: str, count: int):
    cell = new_code_cell(source, metadata={"tags": [CHECK_TAG]}, execution_count=count)
    cell.outputs = [new_output("stream", name="stdout", text=printed)]
    return cell


def _drawing():
    """A cell that shows a figure and prints, stored as `make outputs` stores it (no image)."""
    cell = _checked("display({'image/png': 'iVBORw0KGgo=', 'text/plain': '<Figure>'}, raw=True); print('drawn')", "drawn\n", 6)
    cell.outputs.insert(0, new_output("display_data", data={"text/plain": "<Figure>"}))
    return cell


def _notebook(tmp_path):
    nb = new_notebook(cells=[
        _checked("print(f'loss {0.25 + 0.25:.4f}')", "loss 0.5000\n", 1),
        _checked("print('loss 0.7500')", "loss 0.5000\n", 2),                    # a stale figure
        _checked("print('one epoch took 1.23 s at 0x7f3a2b1c')", "one epoch took 0.42 s at 0x7fffe000\n", 3),
        new_code_cell("print('not checked', 123)"),
        new_code_cell("1 / 0"),
        _drawing(),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    path = tmp_path / "lesson.ipynb"
    nbformat.write(nb, path)
    return path


def test_nbval_compares_checked_cells_after_sanitizing_and_reports_failures(tmp_path):
    run = nbs.run_with_probes(_notebook(tmp_path))
    assert sorted(run.errors) == [1, 4], run.errors
    assert "Cell outputs differ" in run.errors[1] and "loss 0.7500" in run.errors[1] and "loss 0.5000" in run.errors[1]
    assert "ZeroDivisionError" in run.errors[4]
    assert nbs.printed_cell(run.executed.cells[3]) == "not checked 123\n", "unchecked cells run and keep their outputs"
    assert run.probes == [] and run.arguments == {}


def test_stored_outputs_are_the_checked_cells_only_without_images(tmp_path):
    path = _notebook(tmp_path)
    nb = nbformat.read(path, as_version=4)
    nb.cells[4].source = "x = 1"
    nbformat.write(nb, path)
    command = nbs.nbval_command([path], "--lesson-store-outputs")
    subprocess.run(command, cwd=ROOT, env=nbs.kernel_env(), capture_output=True, check=False)
    stored = nbformat.read(path, as_version=4)
    assert [nbs.printed_cell(c) for c in stored.cells if c.cell_type == "code"] == [
        "loss 0.5000\n", "loss 0.7500\n", "one epoch took 1.23 s at 0x7f3a2b1c\n", "", "", "drawn\n"]
    assert [c.execution_count for c in stored.cells] == [1, 2, 3, None, None, 6]
    assert all("image/png" not in o.get("data", {}) for c in stored.cells for o in c.outputs)
    assert nbs.run_with_probes(path).errors == {}, "the stored outputs are what the next run prints"

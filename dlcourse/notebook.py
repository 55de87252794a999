"""A lesson notebook as the course's tools read it: the file, and its cells told apart by the
nbgrader metadata every lesson carries (answer cells, test cells, answers written in prose),
with what each exercise must not use (the course's own metadata, ``metadata.dlcourse``).

The student's validator and the instructor's grader both read notebooks through here, so a
broken file gets the same clear sentence from either.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import nbformat
from nbformat.validator import MissingIDFieldWarning


class NotebookError(ValueError):
    """A file that cannot be read as a notebook; the message says why and what to do."""


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a Jupyter notebook (any nbformat version) as version 4, every cell with an id.

    Args:
        path: the ``.ipynb`` file.

    Raises:
        NotebookError: the file is missing, empty, not text, not JSON, or JSON that is not a
            notebook; the message names the file and says what to do.
    """
    path = Path(path)
    if not path.exists():
        raise NotebookError(f"{path} does not exist")
    if not path.is_file():
        raise NotebookError(f"{path} is a folder, not a notebook")
    raw = path.read_bytes()
    if not raw.strip():
        raise NotebookError(f"{path.name} is empty: save the notebook in Jupyter and try again")
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except UnicodeDecodeError:
        raise NotebookError(f"{path.name} is not a text file, so it cannot be a notebook") from None
    except json.JSONDecodeError as error:
        raise NotebookError(f"{path.name} is not valid JSON ({error}); it may have been cut short "
                            "or edited by hand") from None
    if not isinstance(data, dict) or not ({"cells", "worksheets"} & set(data)):
        raise NotebookError(f"{path.name} is JSON but not a Jupyter notebook (it has no cells)")
    try:
        with warnings.catch_warnings():  # old formats have no cell ids; they get them below
            warnings.simplefilter("ignore", MissingIDFieldWarning)
            nb = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises several types for a document that is not a notebook
        raise NotebookError(f"{path.name} is not a Jupyter notebook ({type(error).__name__}: "
                            f"{str(error)[:200]})") from None
    give_ids(nb)
    return nb


def give_ids(nb) -> None:
    """Give every cell without an id (old formats, cells nbgrader restored) a unique one."""
    taken = {cell.get("id") for cell in nb.cells}
    for position, cell in enumerate(nb.cells):
        if not cell.get("id"):
            cell["id"] = next(f"cell-{position}-{n}" for n in range(len(nb.cells) + 1)
                              if f"cell-{position}-{n}" not in taken)
            taken.add(cell["id"])


def nbgrader_meta(cell) -> dict:
    """The cell's nbgrader metadata (``grade_id``, ``solution``, ``grade``, ``points``...), or {}."""
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_test_cell(cell) -> bool:
    """An autograded test cell: code with points that the student does not write."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_answer_cell(cell) -> bool:
    """An exercise's answer: a code cell the student writes."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("solution"))


def is_written_answer(cell) -> bool:
    """A question answered in prose (a markdown cell the student writes, graded by hand)."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "markdown" and bool(meta.get("solution"))


def forbidden_by(answer_cell) -> tuple[str, ...]:
    """What an answer cell's exercise must not use: ``metadata.dlcourse.forbidden`` (dotted names,
    sorted; see :mod:`dlcourse.policy`)."""
    names = answer_cell.get("metadata", {}).get("dlcourse", {}).get("forbidden", [])
    return tuple(sorted(str(n) for n in names))

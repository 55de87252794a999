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
        NotebookError: the file is missing or is not a notebook (see :func:`parse_notebook`).
    """
    path = Path(path)
    if not path.exists():
        raise NotebookError(f"{path} does not exist")
    if not path.is_file():
        raise NotebookError(f"{path} is a folder, not a notebook")
    return parse_notebook(path.name, path.read_bytes())


class TooManyCells(NotebookError):
    """A notebook with more cells than the reader accepts (``cells`` says how many)."""

    def __init__(self, message: str, cells: int):
        super().__init__(message)
        self.cells = cells


def _cell_count(data: dict) -> int:
    cells = data.get("cells")
    if isinstance(cells, list):
        return len(cells)
    worksheets = data.get("worksheets")
    return sum(len(w.get("cells") or []) for w in worksheets if isinstance(w, dict)) \
        if isinstance(worksheets, list) else 0


def parse_notebook(name: str, raw: bytes, *, max_cells: int | None = None) -> nbformat.NotebookNode:
    """Parse a notebook file's bytes (any nbformat version) as version 4, every cell with an id.

    Args:
        name: the file's name, for messages (which start with fixed words, not with it).
        raw: the file's bytes.
        max_cells: refuse a notebook with more cells, before nbformat builds it.

    Raises:
        NotebookError: the bytes are empty, not text, not JSON (or JSON nested too deeply), or
            JSON that is not a notebook; :class:`TooManyCells` past ``max_cells``. The message
            names the file and says what to do.
    """
    if not raw.strip():
        raise NotebookError(f"the notebook {name} is empty: save it in Jupyter and try again")
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except UnicodeDecodeError:
        raise NotebookError(f"the notebook {name} is not a text file, so it cannot be a notebook") from None
    except json.JSONDecodeError as error:
        raise NotebookError(f"the notebook {name} is not valid JSON ({error}); it may have been cut short "
                            "or edited by hand") from None
    except RecursionError:
        raise NotebookError(f"the notebook {name} is JSON nested too deeply to be a notebook") from None
    if not isinstance(data, dict) or not ({"cells", "worksheets"} & set(data)):
        raise NotebookError(f"the notebook {name} is JSON but not a Jupyter notebook (it has no cells)")
    cells = _cell_count(data)
    if max_cells is not None and cells > max_cells:
        raise TooManyCells(f"the notebook {name} has {cells:,} cells, more than the {max_cells:,} accepted", cells)
    del data    # a notebook near a size cap parses to many times its size; nbformat parses the text again
    try:
        with warnings.catch_warnings():  # old formats have no cell ids; they get them below
            warnings.simplefilter("ignore", MissingIDFieldWarning)
            nb = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises several types for a document that is not a notebook
        raise NotebookError(f"the notebook {name} is not a Jupyter notebook ({type(error).__name__}: "
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

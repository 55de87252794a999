"""Autograde: grade every student's submission of one lesson with nbgrader, one process per batch."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import nbformat

from grader.course import CourseError, check_lesson, nbgrader_api, nbgrader_config, source_notebooks, test_cells
from grader.results import Row, status_for, write_csv

log = logging.getLogger(__name__)
MESSAGE_LIMIT = 500


def _first_error(cell: nbformat.NotebookNode) -> str:
    """A one-line description of why a graded test cell lost its points."""
    outputs = cell.get("outputs", [])
    for output in outputs:
        if output.output_type == "error":
            detail = output.evalue or "the answer still raises it: the exercise is not done yet" \
                if output.ename == "NotImplementedError" else output.evalue
            return f"{output.ename}: {detail}"[:MESSAGE_LIMIT]
    for output in outputs:
        if output.output_type == "stream" and output.name == "stderr":
            return f"the cell wrote to stderr: {output.text.strip()}"[:MESSAGE_LIMIT]
    return ""


def inspect_submission(path: Path, grade_ids: set[str]) -> tuple[str, str] | None:
    """Why a submitted notebook cannot be graded, as ``(status, message)``, or None if it can.

    Args:
        path: the submitted ``.ipynb`` file.
        grade_ids: grade ids of the lesson's test cells; a notebook holding none of them is
            not this lesson's notebook.
    """
    if not path.exists():
        others = sorted(p.name for p in path.parent.glob("*.ipynb")) if path.parent.is_dir() else []
        hint = f" (found {', '.join(others)}: was it renamed?)" if others else ""
        return "missing", f"no {path.name} was submitted{hint}"
    try:
        raw = path.read_bytes()
        if not raw.strip():
            return "invalid", f"{path.name} is empty: save the notebook in Jupyter and submit it again"
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except UnicodeDecodeError:
        return "invalid", f"{path.name} is not a text file, so it cannot be a notebook"
    except json.JSONDecodeError as error:
        return "invalid", f"{path.name} is not valid JSON ({error}); it may have been cut short or edited by hand"
    except Exception as error:  # nbformat raises several types for a non-notebook document
        return "invalid", f"{path.name} is not a Jupyter notebook ({type(error).__name__}: {error})"
    found = {cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells}
    if not found & grade_ids:
        return "invalid", f"{path.name} holds none of this lesson's exercises: is it another lesson's notebook?"
    return None


def autograde(lesson: str, submissions: Path, out: Path = Path("graded")) -> list[Row]:
    """Grade every submission of ``lesson`` in ``submissions`` and write the results to ``out``.

    Args:
        lesson: lesson id, e.g. ``"07_cross_entropy"``.
        submissions: folder in nbgrader's layout ``<student>/<lesson>/<notebook>.ipynb``.
        out: output folder; receives ``grades.csv``, ``feedback/<student>/<lesson>/<notebook>.html``,
            nbgrader's ``autograded/`` copies and ``gradebook.db``.

    Returns:
        One :class:`Row` per student, notebook and graded test cell, also written to
        ``out/grades.csv``. A submission that cannot be graded still gets its rows, with a
        status other than ``ok`` and a message saying why. Submitted files are not modified.

    Raises:
        CourseError: the lesson is unknown or ``submissions`` is not a folder.
    """
    lesson = check_lesson(lesson)
    submissions, out = Path(submissions).resolve(), Path(out).resolve()
    if not submissions.is_dir():
        raise CourseError(f"{submissions} is not a folder of submissions (<student>/{lesson}/<notebook>.ipynb).")
    out.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{out / 'gradebook.db'}"
    api = nbgrader_api(nbgrader_config(
        submitted_directory=str(submissions), autograded_directory=str(out / "autograded"),
        feedback_directory=str(out / "feedback"), release_directory=str(out / ".release"), db_url=db_url))
    registered = api.generate_assignment(lesson, force=True, create=True)
    if not registered["success"]:
        raise CourseError(f"nbgrader could not record {lesson} in {db_url}:\n{registered.get('error', '')}")

    tests = {nb.stem: [cell.metadata.nbgrader for cell in test_cells(nb)] for nb in source_notebooks(lesson)}
    students = sorted(p.name for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    rows: list[Row] = []
    for student in students:
        for notebook, cells in tests.items():
            rows += _grade_notebook(api, db_url, lesson, student, notebook, cells, submissions, out)
    write_csv(rows, out / "grades.csv")
    return rows


def _grade_notebook(api, db_url: str, lesson: str, student: str, notebook: str, cells: list,
                    submissions: Path, out: Path) -> list[Row]:
    def rows_with(status: str, message: str) -> list[Row]:
        return [Row(student, lesson, notebook, c["grade_id"], 0.0, float(c["points"]), status, message)
                for c in cells]

    problem = inspect_submission(submissions / student / lesson / f"{notebook}.ipynb",
                                 {c["grade_id"] for c in cells})
    if problem:
        return rows_with(*problem)
    api.coursedir.notebook_id = notebook
    result = api.autograde(lesson, student, force=True, create=True)
    if not result["success"]:
        reason = (result.get("error") or "").strip().splitlines()[-1:] or ["unknown error"]
        log.warning("nbgrader could not grade %s/%s: %s", student, notebook, result.get("log", ""))
        return rows_with("error", f"nbgrader could not grade the notebook: {reason[0][:MESSAGE_LIMIT]}")
    api.generate_feedback(lesson, student, force=True)

    from nbgrader.api import Gradebook

    graded = nbformat.read(out / "autograded" / student / lesson / f"{notebook}.ipynb", as_version=4)
    messages = {cell.metadata["nbgrader"]["grade_id"]: _first_error(cell) for cell in test_cells(graded)}
    rows = []
    with Gradebook(db_url) as gb:
        for c in cells:
            grade = gb.find_grade(c["grade_id"], notebook, lesson, student)
            score, max_score = float(grade.score or 0.0), float(grade.max_score)
            rows.append(Row(student, lesson, notebook, c["grade_id"], score, max_score,
                            status_for(score, max_score), messages.get(c["grade_id"], "")))
    return rows

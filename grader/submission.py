"""From a submitted file to the job the sandbox runs: check it, sanitize it, plan it.

The folder is read by :mod:`grader.student_files` (no links, regular files only, bounded),
and a notebook larger than ``c.Submission.max_notebook_mb`` or with more cells than
``c.Submission.max_cells`` is refused before nbformat or nbgrader look at it.
Sanitizing uses nbgrader's own preprocessors (as ``nbgrader autograde`` does): duplicated
grade ids are dropped, cells of the wrong type are retyped, locked and test cells are restored
from the gradebook and deleted ones added back. On top of that the grader puts every test
cell back right after its exercise, records what the student changed in protected cells, and
chooses the cells to run (:mod:`dlcourse.plan`).
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

import nbformat
from traitlets import Integer
from traitlets.config import Configurable

from dlcourse.notebook import NotebookError, TooManyCells, give_ids, is_test_cell, nbgrader_meta, parse_notebook
from dlcourse.plan import planned_cells as plan_cells
from grader.execute import ExecutionJob
from grader.lesson import LessonNotebook
from grader.sandbox import Limits
from grader.student_files import Caps, FolderContents


class Submission(Configurable):
    """What the grader accepts of one submission, set as ``c.Submission.<name>`` in nbgrader_config.py."""

    max_notebook_mb = Integer(64, help="Largest notebook file (MB) the grader reads; a larger one is invalid.").tag(
        config=True)
    max_cells = Integer(2000, help="Most cells a notebook may have; one with more is invalid.").tag(config=True)
    max_extra_files_mb = Integer(20, help="Other files of the folder copied beside the notebook, in MB "
                                          "together; files beyond that are not copied.").tag(config=True)
    max_files = Integer(500, help="Most entries the lesson folder may hold; one with more is invalid.").tag(
        config=True)

    def caps(self) -> Caps:
        """The configured limits, as plain data."""
        return Caps(notebook_bytes=self.max_notebook_mb << 20, cells=self.max_cells,
                    extra_bytes=self.max_extra_files_mb << 20, files=self.max_files)


class Ungradable(Exception):
    """A submission that cannot be graded; ``status`` is ``invalid`` or ``missing``."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class OtherLesson(Ungradable):
    """A valid notebook, but none of its exercises belongs to the lesson being graded."""


def read_submission(name: str, raw: bytes | None, notebook: LessonNotebook, caps: Caps,
                    others: list[str] | tuple = ()) -> nbformat.NotebookNode:
    """Parse a submitted notebook's bytes, or raise :class:`Ungradable` saying why it cannot be graded.

    Args:
        name: the file's name, for messages.
        raw: its bytes (at most ``caps.notebook_bytes``), or None when nothing was submitted.
        notebook: the lesson notebook it should answer.
        caps: the size and cell-count limits.
        others: other notebooks found in the folder (named in the message when ``raw`` is None).
    """
    if raw is None:
        hint = f" (found {', '.join(others)}: was it renamed?)" if others else ""
        raise Ungradable("missing", f"no {name} was submitted{hint}")
    try:
        nb = parse_notebook(name, raw, max_cells=caps.cells)
    except TooManyCells as error:
        raise Ungradable("invalid", f"the notebook {name} has {error.cells:,} cells, more than the {caps.cells:,} the "
                                    "grader accepts (c.Submission.max_cells)") from None
    except NotebookError as error:
        raise Ungradable("invalid", str(error)) from None
    ids = {t.grade_id for t in notebook.tests}
    found = {nbgrader_meta(c).get("grade_id") for c in nb.cells}
    if not found & (ids | set(notebook.answers)):
        raise OtherLesson("invalid", f"the notebook {name} holds none of this lesson's exercises: "
                                     "is it another lesson's notebook?")
    return nb


def protected_changes(nb, release: nbformat.NotebookNode) -> list[str]:
    """Locked and test cells the student deleted, duplicated, retyped or edited (by grade id)."""
    expected = {nbgrader_meta(c)["grade_id"]: c for c in release.cells if nbgrader_meta(c).get("locked")}
    seen: dict[str, int] = {}
    changes = []
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in expected:
            seen[grade_id] = seen.get(grade_id, 0) + 1
            original = expected[grade_id]
            if cell.cell_type != original.cell_type:
                changes.append(f"{grade_id} was turned into a {cell.cell_type} cell")
            elif cell.source.strip() != original.source.strip():
                changes.append(f"{grade_id} was edited")
    changes += [f"{g} was deleted" for g in expected if g not in seen]
    changes += [f"{g} appears {n} times" for g, n in seen.items() if n > 1]
    return changes


def sanitize(nb, resources: dict, config) -> nbformat.NotebookNode:
    """Apply nbgrader's autograde sanitizing preprocessors (with the course's configuration)."""
    from nbgrader.preprocessors import (CheckCellMetadata, ClearOutput, DeduplicateIds, OverwriteCells,
                                        OverwriteKernelspec)

    nb = copy.deepcopy(nb)
    for preprocessor in (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata):
        nb, resources = preprocessor(config=config).preprocess(nb, resources)
        if preprocessor is DeduplicateIds:
            # DeduplicateIds leaves an empty "nbgrader" dict on duplicates, on which
            # OverwriteCells.add_missing_task_cells raises KeyError (nbgrader 0.9.6).
            for cell in nb.cells:
                if cell.metadata.get("nbgrader") == {}:
                    del cell.metadata["nbgrader"]
    give_ids(nb)
    return nb


def restore_test_positions(nb, release) -> bool:
    """Put test cells the student moved back after their exercises, keeping the student's own cells.

    When the graded cells (answers, tests, written answers) come in the release's order, nothing
    moves: every cell the student added runs where the student put it. Otherwise each test cell
    goes back right after the graded cell that precedes it in the release, after the cells the
    student added right behind that one (a helper written between an answer and its test still
    runs before the test).

    Returns:
        True when some test cell had to move.
    """
    order = [nbgrader_meta(c).get("grade_id") for c in release.cells]
    graded = [g for g in (nbgrader_meta(c).get("grade_id") for c in nb.cells) if g]
    if graded == [g for g in order if g in set(graded)]:
        return False
    released = {c.get("id") for c in release.cells}
    tests = {nbgrader_meta(c)["grade_id"]: c for c in nb.cells if is_test_cell(c)}
    cells = [c for c in nb.cells if not is_test_cell(c)]
    for grade_id in [g for g in order if g in tests]:
        position = 0
        for previous in reversed(order[:order.index(grade_id)]):
            anchors = [i for i, c in enumerate(cells) if previous and nbgrader_meta(c).get("grade_id") == previous]
            if anchors:
                position = anchors[0] + 1
                break
        while position < len(cells) and cells[position].get("id") not in released \
                and not nbgrader_meta(cells[position]).get("grade_id"):
            position += 1
        cells.insert(position, tests[grade_id])
    nb.cells = cells
    return True


@dataclass
class Prepared:
    """A sanitized submission and the job that runs it."""
    student: str
    notebook: LessonNotebook
    sanitized: nbformat.NotebookNode       # what the student submitted, made gradable
    job: ExecutionJob
    evidence: list[str] = field(default_factory=list)   # protected cells the student changed
    notes: list[str] = field(default_factory=list)      # things worth telling (moved cells...)


def planned_cells(nb, release) -> list[int]:
    """Indices of the code cells grading runs (see :mod:`dlcourse.plan`).

    Required: the first code cell, answers, tests, and every cell that differs from the
    released lesson (by cell id and source); the rest only if a required cell needs it.
    """
    released = {c.get("id"): c.source for c in release.cells if c.cell_type == "code"}
    return plan_cells(nb, also=lambda cell: released.get(cell.get("id")) != cell.source)


def plan_job(key: str, nb, release, notebook: LessonNotebook, files: dict[str, bytes],
             limits: Limits) -> ExecutionJob:
    """Build the job: test cells rewritten to report, and the cells grading needs."""
    executed = copy.deepcopy(nb)
    tests = []
    for i, cell in enumerate(executed.cells):
        if is_test_cell(cell):
            cell.source = notebook.test(nbgrader_meta(cell)["grade_id"]).rewritten
            tests.append(i)
    return ExecutionJob(key, json.loads(json.dumps(executed)), planned_cells(nb, release), tests, files, limits,
                        notebook.setup)


def prepare(student: str, contents: FolderContents, notebook: LessonNotebook, release, resources: dict, config,
            files: dict[str, bytes], limits: Limits, caps: Caps) -> Prepared:
    """Parse, sanitize and plan one submission read by :func:`grader.student_files.read_lesson_folder`.

    Raises:
        Ungradable: the folder was refused, or the notebook is missing, not a notebook, too
            large, or another lesson's.
    """
    if contents.problem is not None:
        raise Ungradable("invalid", contents.problem.message)
    submitted = read_submission(contents.notebook_name, contents.notebook, notebook, caps, contents.others)
    evidence = protected_changes(submitted, release)
    try:
        nb = sanitize(submitted, resources, config)
    except Exception as error:  # nbgrader refuses notebooks whose grading metadata is broken
        raise Ungradable("invalid", f"the notebook's grading metadata is damaged ({type(error).__name__}: "
                                    f"{str(error)[:200]}); start again from the released lesson") from None
    notes = []
    if restore_test_positions(nb, release):
        notes.append("test cells were moved back after their exercises")
    if contents.notebook_name != f"{notebook.name}.ipynb":
        notes.append(f"graded {contents.notebook_name} as {notebook.name}.ipynb")
    if contents.skipped:
        notes.append(f"not copied beside the notebook (over {caps.extra_bytes >> 20} MB of files): "
                     + ", ".join(contents.skipped))
    job = plan_job(f"{student}/{notebook.name}", nb, release, notebook, {**contents.extra, **files}, limits)
    return Prepared(student, notebook, nb, job, evidence, notes)

"""Validate: run the visible tests of a student's notebook and say, exercise by exercise, how it went.

Unlike ``nbgrader validate``, the result is a line per exercise and an exit status a script
can use: 0 only when every visible test passes. The student's own code runs on their own
machine, unsandboxed, and only the cells the tests need (as when grading).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.course import CourseError, LESSONS, lesson_ids, nbgrader_config
from grader.execute import ExecutionJob, run_job
from grader.lesson import LessonNotebook, is_answer_cell, is_test_cell, load_lesson, nbgrader_meta
from grader.sandbox import Sandbox
from grader.student_files import FolderContents, read_notebook_folder
from grader.submission import OtherLesson, Submission, Ungradable, planned_cells, read_submission

CHECK_CALLS = ("expect_close(", "expect_equal(")


@dataclass(frozen=True)
class ExerciseCheck:
    """How one exercise did on its visible tests."""
    exercise: str          # the answer cell's grade id without "_answer"
    passed: bool
    message: str           # the first failing check's message, or ""


def read_course_notebook(path: Path) -> tuple[LessonNotebook, nbformat.NotebookNode, FolderContents]:
    """Read a notebook (and the files beside it) and find the lesson whose exercises it holds.

    Raises:
        CourseError: the file is not a readable notebook, or holds none of the course's exercises.
    """
    caps = Submission(config=nbgrader_config()).caps()
    contents = read_notebook_folder(Path(path), caps)
    if contents.problem is not None:
        raise CourseError(contents.problem.message)
    if contents.notebook is None:
        raise CourseError(f"{path} does not exist")
    for lesson in lesson_ids():
        for notebook in load_lesson(lesson):
            try:
                return notebook, read_submission(contents.notebook_name, contents.notebook, notebook, caps), contents
            except OtherLesson:
                continue
            except Ungradable as problem:
                raise CourseError(problem.message) from None
    raise CourseError(f"{Path(path).name} holds none of the course's exercises")


def validate(path: Path) -> tuple[LessonNotebook, list[ExerciseCheck]]:
    """Run the visible tests of the notebook at ``path``.

    Returns:
        The lesson notebook it belongs to, and one :class:`ExerciseCheck` per exercise.

    Raises:
        CourseError: the file is not a notebook of the course.
    """
    path = Path(path)
    lesson, nb, contents = read_course_notebook(path)
    release = LESSONS / lesson.lesson / f"{lesson.name}.ipynb"
    run = planned_cells(nb, nbformat.read(release, as_version=4) if release.exists() else nbformat.v4.new_notebook())
    limits = Sandbox(config=nbgrader_config()).limits(sandbox=False)
    result = run_job(ExecutionJob(str(path), json.loads(json.dumps(nb)), run, [], contents.extra, limits))

    checks, exercise, state = [], None, {}
    for index, cell in enumerate(nb.cells):
        if is_answer_cell(cell):
            exercise = nbgrader_meta(cell)["grade_id"].removesuffix("_answer")
            checks.append(exercise)
            state[exercise] = ""
        elif is_test_cell(cell) and exercise and any(call in cell.source for call in CHECK_CALLS):
            outcome = result.cells.get(index)
            if outcome is not None and outcome.status != "ok" and not state[exercise]:
                error = outcome.error or outcome.status
                if error.startswith("NotImplementedError"):
                    error = "not done yet (the answer still raises NotImplementedError)"
                state[exercise] = error
    return lesson, [ExerciseCheck(e, not state[e], state[e]) for e in checks]

"""dlcourse.validate, the students' self-check: what it runs, what it says, and what it survives.

(`python -m grader validate`, which delegates to it, is tested in tests/grader/test_validate.py.)
"""
from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import nbformat
import pytest

from dlcourse.notebook import NotebookError, forbidden_by
from dlcourse.validate import FORBIDDEN, ExerciseCheck, Validation, check, notebooks_in, report_lines, validate
from grader.course import LESSONS, lesson_ids
from tests.support import notebooks as nbs
from tests.support.submissions import answered, answered_with, released

LESSON = "02_cross_entropy"


def _lesson_folder(tmp_path: Path, nb) -> Path:
    shutil.copytree(LESSONS / LESSON, tmp_path / LESSON)
    path = tmp_path / LESSON / "work.ipynb"
    nbformat.write(nb, path)
    return path


def _insert_after_first_code_cell(nb, *sources: str):
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    for offset, source in enumerate(sources, start=1):
        nb.cells.insert(first + offset, nbformat.v4.new_code_cell(source))
    return nb


def test_report_has_a_line_per_exercise():
    result = Validation(Path("work.ipynb"), [
        ExerciseCheck("ex02_1_softmax", True),
        ExerciseCheck("ex02_2_log_softmax", False, "AssertionError: rows of [1, 2]: 2 of 3 values differ"),
        ExerciseCheck("ex02_3_nll_loss", True, "no visible test: hidden tests check it when your work is graded"),
    ], problems=['the lesson cell "data = load()" raised DataError: offline'], unwritten=["ex02_q12"])
    assert report_lines(result) == [
        'problem: the lesson cell "data = load()" raised DataError: offline',
        "ex02_1_softmax      passed",
        "ex02_2_log_softmax  FAILED: AssertionError: rows of [1, 2]: 2 of 3 values differ",
        "ex02_3_nll_loss     passed (no visible test: hidden tests check it when your work is graded)",
        "still to answer in writing (graded by hand): ex02_q12",
        "work.ipynb: 2 of 3 exercises pass their visible tests; hidden tests run when your work is graded",
    ]
    assert not result.passed


def test_files_that_are_not_lesson_notebooks_are_refused(tmp_path):
    plain = tmp_path / "plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), plain)
    with pytest.raises(NotebookError, match="holds no exercise"):
        validate(plain)
    (tmp_path / "cut.ipynb").write_text('{"cells": [')
    err = io.StringIO()
    assert check([tmp_path / "cut.ipynb", tmp_path / "absent.ipynb"], out=io.StringIO(), err=err) == 2
    assert "cut.ipynb is not valid JSON" in err.getvalue() and "absent.ipynb does not exist" in err.getvalue()


def test_a_folder_stands_for_its_notebooks_without_checkpoints(tmp_path):
    for name in ("b/two.ipynb", "a/one.ipynb", "a/.ipynb_checkpoints/one-checkpoint.ipynb", "a/notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    assert notebooks_in([tmp_path]) == [tmp_path / "a/one.ipynb", tmp_path / "b/two.ipynb"]


@pytest.mark.slow
def test_only_what_the_tests_need_runs_and_the_file_is_untouched(tmp_path):
    """A failing demonstration the tests do not need is skipped; a failing lesson cell an answer
    reads is run, reported, and fails that answer's exercise only."""
    nb = _insert_after_first_code_cell(answered(LESSON, {"ex02_1_softmax_answer": (
        "def softmax(logits):\n    shifted = (logits - logits.max(axis=-1, keepdims=True)) * SCALE\n"
        "    exps = np.exp(shifted)\n    return exps / exps.sum(axis=-1, keepdims=True)\n")}),
        "raise RuntimeError('a demonstration nobody needs')", "SCALE = 1 / 0")
    path = _lesson_folder(tmp_path, nb)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    result = validate(path)
    assert result.problems == ['the lesson cell "SCALE = 1 / 0" raised ZeroDivisionError: division by zero']
    verdicts = {c.exercise: (c.passed, c.message) for c in result.exercises}
    assert verdicts["ex02_1_softmax"] == (False, "NameError: name 'SCALE' is not defined")
    assert verdicts["ex02_3_nll_loss"] == (True, "")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


@pytest.mark.slow
def test_a_loop_is_interrupted_and_a_dying_kernel_is_said(tmp_path):
    loops = answered(LESSON, {"ex02_5_cross_entropy_grad_answer": "def cross_entropy_grad(logits, targets):\n"
                                                                   "    while True:\n        pass\n"})
    path = _lesson_folder(tmp_path, loops)
    result = validate(path, timeout=30)
    verdicts = {c.exercise: (c.passed, c.message) for c in result.exercises}
    assert verdicts.pop("ex02_5_cross_entropy_grad") == (False, "the test cell ran longer than 30 s and was interrupted")
    assert all(passed for passed, _ in verdicts.values()), "the run went on after the interrupt"

    dies = answered(LESSON, {"ex02_3_nll_loss_answer": "import os\nos._exit(1)"})
    nbformat.write(dies, path)
    verdicts = {c.exercise: (c.passed, c.message) for c in validate(path).exercises}
    assert verdicts["ex02_2_log_softmax"] == (True, "")
    assert verdicts["ex02_3_nll_loss"][1].startswith("the answer cell made the kernel die")
    assert verdicts["ex02_4_cross_entropy"] == (False, "the answer cell was not run: the kernel died in an earlier cell")


def _exercise(grade_id: str, answer: str, test: str, forbidden: list[str]) -> list:
    """An answer cell whose exercise must not use ``forbidden``, and its test cell."""
    answer_cell = nbformat.v4.new_code_cell(answer, metadata={
        "nbgrader": {"grade_id": f"{grade_id}_answer", "solution": True, "grade": False},
        "dlcourse": {"forbidden": forbidden}})
    test_cell = nbformat.v4.new_code_cell(test, metadata={
        "nbgrader": {"grade_id": f"{grade_id}_test", "solution": False, "grade": True, "points": 1}})
    return [answer_cell, test_cell]


def _policed(tmp_path: Path, spaced: str, total: str) -> dict[str, tuple[bool, str]]:
    """Validate a notebook of two exercises: ``spaced`` must not use numpy.geomspace (its test
    calls it, to build the expected values), ``total`` must not use numpy.sum."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy as np\nfrom dlcourse.checks import expect_close"),
        *_exercise("spaced", spaced, "expect_close(spaced(1.0, 100.0, 3), np.geomspace(1.0, 100.0, 3))",
                   ["numpy.geomspace"]),
        *_exercise("total", total, "expect_close(total(np.arange(4.0)), 6.0)", ["numpy.sum"]),
    ])
    path = tmp_path / "policed.ipynb"
    nbformat.write(nb, path)
    result = validate(path)
    assert result.problems == []
    return {c.exercise: (c.passed, c.message) for c in result.exercises}


BY_HAND = "def spaced(a, b, n):\n    return a * (b / a) ** (np.arange(n) / (n - 1))"


@pytest.mark.slow
def test_an_answer_calling_what_its_exercise_forbids_fails_before_grading(tmp_path):
    """However the answer reaches the routine, the exercise fails as grading will score it; the
    test's own use of it, and a routine another exercise forbids, are not held against it."""
    assert _policed(tmp_path, BY_HAND, "def total(x):\n    return np.cumsum(np.geomspace(1, 1, 1) * x)[-1]") == {
        "spaced": (True, ""), "total": (True, "")}
    verdicts = _policed(tmp_path, "g = getattr(np, 'geom' + 'space')\ndef spaced(a, b, n):\n    return g(a, b, n)",
                        "def total(x):\n    return np.sum(x)")
    assert verdicts == {
        "spaced": (False, FORBIDDEN.format("numpy.geomspace")),
        "total": (False, FORBIDDEN.format("numpy.sum")),
    }
    assert FORBIDDEN.format("numpy.geomspace") == ("calls numpy.geomspace, which this exercise must not use "
                                                   "(see its 'Not allowed' line): grading scores it 0")


POLICED = [lesson for lesson in lesson_ids() if nbs.forbidden_answers(lesson)]


@pytest.mark.slow
@pytest.mark.parametrize("lesson", POLICED)
def test_the_lessons_forbidden_answers_fail_and_their_honest_answers_pass(lesson, tmp_path):
    """The self-check says "forbidden" where grading does (the answers tests/lessons keep for it),
    naming only routines of that exercise's "Not allowed" line; honest answers written
    differently (the first of each exercise, the reference answers elsewhere) pass."""
    policies = {nbs.grade_id(c).removesuffix("_answer"): forbidden_by(c)
                for c in released(lesson).cells if nbs.is_answer(c)}
    first = lambda answers: {answer: next(iter(labels.values())) for answer, labels in answers.items() if labels}  # noqa: E731
    forbidden = first(nbs.forbidden_answers(lesson))
    shutil.copytree(LESSONS / lesson, tmp_path / lesson)
    for name, nb in (("honest", answered_with(lesson, first(nbs.honest_answers(lesson)))),
                     ("forbidden", answered_with(lesson, forbidden))):
        nbformat.write(nb, tmp_path / lesson / f"{name}.ipynb")
    honest = validate(tmp_path / lesson / "honest.ipynb")
    assert honest.passed and honest.problems == [], report_lines(honest)
    result = validate(tmp_path / lesson / "forbidden.ipynb")
    assert result.problems == [], result.problems
    for check in result.exercises:
        if f"{check.exercise}_answer" not in forbidden:
            assert check.passed, (check.exercise, check.message)
            continue
        assert not check.passed and check.message.startswith("calls "), (check.exercise, check.message)
        named = check.message.removeprefix("calls ").split(", which")[0].split(", ")
        assert set(named) <= set(policies[check.exercise]), (check.exercise, named)

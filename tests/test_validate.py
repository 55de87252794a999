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

from dlcourse.notebook import NotebookError
from dlcourse.validate import ExerciseCheck, Validation, check, notebooks_in, report_lines, validate
from grader.course import LESSONS
from tests.support.submissions import answered

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


def test_report_has_a_line_per_exercise_and_one_per_warning():
    result = Validation(Path("work.ipynb"), [
        ExerciseCheck("ex02_1_softmax", True),
        ExerciseCheck("ex02_2_log_softmax", False, "AssertionError: rows of [1, 2]: 2 of 3 values differ",
                      ("calls torch.log_softmax, which this exercise re-implements",)),
    ], problems=['the lesson cell "data = load()" raised DataError: offline'], unwritten=["ex02_q12"])
    assert report_lines(result) == [
        'problem: the lesson cell "data = load()" raised DataError: offline',
        "ex02_1_softmax      passed",
        "ex02_2_log_softmax  FAILED: AssertionError: rows of [1, 2]: 2 of 3 values differ",
        "                    warning: calls torch.log_softmax, which this exercise re-implements",
        "still to answer in writing (graded by hand): ex02_q12",
        "work.ipynb: 1 of 2 exercises pass their visible tests; hidden tests run when your work is graded",
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

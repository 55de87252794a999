"""python -m grader validate: one line per exercise, exit 0 only when every visible test passes."""
from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from grader.course import LESSONS, ROOT
from tests.grader.attacks import WRONG
from tests.support.submissions import answered, released

LESSON = "02_cross_entropy"


def _validate(tmp_path, nb):
    folder = tmp_path / LESSON
    folder.mkdir(exist_ok=True)
    for other in (LESSONS / LESSON).iterdir():
        if other.suffix != ".ipynb":
            (folder / other.name).write_bytes(other.read_bytes())
    path = folder / "my copy.ipynb"
    nbformat.write(nb, path) if not isinstance(nb, bytes) else path.write_bytes(nb)
    return subprocess.run([sys.executable, "-m", "grader", "validate", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_finished_work_passes(tmp_path):
    done = _validate(tmp_path, answered(LESSON))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len([l for l in lines if l.endswith("passed")]) == 7
    assert "7 of 7 exercises pass their visible tests" in lines[-1]


@pytest.mark.slow
def test_unfinished_work_fails_with_a_line_per_exercise(tmp_path):
    done = _validate(tmp_path, released(LESSON))
    assert done.returncode == 1
    assert done.stdout.count("FAILED: not done yet") == 7


@pytest.mark.slow
def test_a_failing_check_is_quoted(tmp_path):
    nb = answered(LESSON, {"ex02_3_nll_loss_answer": WRONG["ex02_3_nll_loss_answer"]})
    done = _validate(tmp_path, nb)
    assert done.returncode == 1
    line = next(l for l in done.stdout.splitlines() if l.startswith("ex02_3_nll_loss"))
    assert "FAILED: AssertionError: two rows, targets [0, 1]" in line and "expected 0.458" in line
    assert "ex02_4_cross_entropy       FAILED" in done.stdout, "cross_entropy calls nll_loss"
    assert "5 of 7 exercises" in done.stdout


def test_a_file_that_is_not_a_course_notebook_is_refused(tmp_path):
    done = _validate(tmp_path, b"not json")
    assert done.returncode == 2 and "not valid JSON" in done.stderr

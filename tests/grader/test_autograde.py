"""python -m grader autograde on lesson 02: scores, statuses, messages, feedback, untouched submissions."""
from __future__ import annotations

import csv
import subprocess
import sys

import nbformat
import pytest

from grader.results import COLUMNS
from tests.support import notebooks as nbs
from tests.support.submissions import answered, digest_tree, released, write_submissions
from tests.lessons.wrong_answers.wrong_02_cross_entropy import WRONG_ANSWERS

LESSON = "02_cross_entropy"
VISIBLE_POINTS, HIDDEN_POINTS = 6.0, 10.0


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    submissions = write_submissions(root / "submissions", LESSON, {
        "correct": answered(LESSON),
        "untouched": released(LESSON),
        "softmax_without_max_shift": answered(
            LESSON, {"ex02_1_softmax_answer": WRONG_ANSWERS["ex02_1_softmax_answer"]["no max shift"]}),
        "corrupt_json": b'{"cells": [{"cell_type": "code", "source": "x = ',
        "empty_file": b"",
        "not_this_lesson": nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('lesson 05')")]),
        "no_notebook": None,
    })
    before = digest_tree(submissions)
    out = root / "graded"
    result = subprocess.run([sys.executable, "-m", "grader", "autograde", LESSON, str(submissions), "--out", str(out)],
                            capture_output=True, text=True, timeout=600)
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return result, rows, out, before, digest_tree(submissions)


def _by_student(rows):
    table = {}
    for row in rows:
        table.setdefault(row["student"], []).append(row)
    return table


def _score(rows):
    return sum(float(r["score"]) for r in rows)


@pytest.mark.slow
def test_batch_completes_and_every_student_gets_every_row(graded):
    result, rows, out, _, _ = graded
    assert result.returncode == 0, result.stderr
    assert list(rows[0]) == COLUMNS
    tests = [nbs.grade_id(c) for c in nbs.read(nbs.solution_path(LESSON)).cells if nbs.is_test(c)]
    by_student = _by_student(rows)
    assert set(by_student) == {"correct", "untouched", "softmax_without_max_shift", "corrupt_json",
                               "empty_file", "not_this_lesson", "no_notebook"}
    for student, student_rows in by_student.items():
        assert [r["exercise"] for r in student_rows] == tests, student
        assert all(r["lesson"] == LESSON and r["notebook"] == LESSON for r in student_rows)


@pytest.mark.slow
def test_reference_answers_score_full_marks(graded):
    rows = _by_student(graded[1])["correct"]
    assert all(r["status"] == "ok" and r["score"] == r["max_score"] for r in rows)
    assert _score(rows) == VISIBLE_POINTS + HIDDEN_POINTS


@pytest.mark.slow
def test_untouched_release_scores_zero_and_says_why(graded):
    rows = _by_student(graded[1])["untouched"]
    assert _score(rows) == 0
    assert all(r["status"] == "failed" and "NotImplementedError" in r["message"] for r in rows)


@pytest.mark.slow
def test_softmax_without_max_shift_keeps_visible_points_and_loses_hidden_ones(graded):
    rows = {r["exercise"]: r for r in _by_student(graded[1])["softmax_without_max_shift"]}
    assert rows["ex02_1_softmax_small_cases"]["status"] == "ok"
    hidden = rows["ex02_1_softmax_matches_reference"]
    assert hidden["status"] == "failed" and float(hidden["score"]) == 0
    assert "±1e4" in hidden["message"] and "nan" in hidden["message"]
    visible = [r for gid, r in rows.items() if gid.endswith("_small_cases")]
    assert all(r["status"] == "ok" for r in visible), "every visible test still passes"
    independent = [r for gid, r in rows.items() if gid.startswith(("ex02_2_", "ex02_3_", "ex02_4_"))]
    assert all(r["status"] == "ok" for r in independent), "exercises that do not call softmax keep their points"
    assert rows["ex02_5_cross_entropy_grad_matches_autograd"]["status"] == "failed", \
        "the gradient is built on softmax, so it inherits the overflow"


@pytest.mark.slow
@pytest.mark.parametrize("student, status, words", [
    ("corrupt_json", "invalid", "is not valid JSON"),
    ("empty_file", "invalid", "is empty"),
    ("not_this_lesson", "invalid", "none of this lesson's exercises"),
    ("no_notebook", "missing", "no 02_cross_entropy.ipynb was submitted"),
])
def test_ungradable_submissions_get_rows_with_a_reason(graded, student, status, words):
    rows = _by_student(graded[1])[student]
    assert all(r["status"] == status and words in r["message"] and float(r["score"]) == 0 for r in rows)


@pytest.mark.slow
def test_submitted_files_are_not_modified(graded):
    _, _, _, before, after = graded
    assert before == after


@pytest.mark.slow
def test_feedback_shows_scores_but_not_hidden_tests(graded):
    out = graded[2]
    html = (out / "feedback" / "softmax_without_max_shift" / LESSON / f"{LESSON}.html").read_text()
    assert "Score" in html
    assert "BEGIN HIDDEN TESTS" not in html and "torch.softmax(torch.from_numpy(z)" not in html
    assert "random logits, seed {seed}" not in html, "no hidden test source, not even in a traceback"
    assert (out / "feedback" / "correct" / LESSON / f"{LESSON}.html").exists()


def test_unknown_lesson_is_a_usage_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "grader", "autograde", "99_nothing", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "choose one of" in result.stderr

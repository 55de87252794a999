"""Cells a student adds (helpers) run where the student put them, before the tests that follow them."""
from __future__ import annotations

import copy

import nbformat
import pytest

from tests.support import notebooks as nbs
from tests.support.grading import grade_batch, total
from tests.support.submissions import answered

LESSON = "02_cross_entropy"
LOG_SOFTMAX = "ex02_2_log_softmax"
CROSS_ENTROPY = "ex02_4_cross_entropy"
# log_softmax and cross_entropy written with helpers that live in cells of their own
USES_HELPER = {f"{LOG_SOFTMAX}_answer": "def log_softmax(logits):\n    return _stable_log_softmax(logits)",
               f"{CROSS_ENTROPY}_answer": "def cross_entropy(logits, targets):\n"
                                          "    return _mean_nll(_stable_log_softmax(logits), targets)"}
HELPER = ("import numpy as np\n\ndef _stable_log_softmax(z):\n    shifted = z - z.max(axis=-1, keepdims=True)\n"
          "    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))\n")
MEAN_NLL = "def _mean_nll(log_probs, targets):\n    return -log_probs[np.arange(len(targets)), targets].mean()\n"


def _index(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells) if nbs.nbgrader_meta(c).get("grade_id") == grade_id)


def _last_test_of(nb, exercise):
    return max(i for i, c in enumerate(nb.cells) if nbs.is_test(c) and nbs.grade_id(c).startswith(exercise))


def _with_helpers(place):
    """The reference answers, log_softmax and cross_entropy via helpers placed by ``place(nb) -> index``."""
    nb = answered(LESSON, USES_HELPER)
    index = place(nb)
    nb.cells[index:index] = [nbformat.v4.new_code_cell(HELPER), nbformat.v4.new_code_cell(MEAN_NLL)]
    return nb


def _tests_first(nb):
    tests = [c for c in nb.cells if nbs.is_test(c)]
    nb.cells = tests + [c for c in nb.cells if c not in tests]
    return nb


def _helpers_after_log_softmax_tests():
    """cross_entropy alone uses the helpers, defined after log_softmax's tests (before its own)."""
    nb = answered(LESSON, {f"{CROSS_ENTROPY}_answer": USES_HELPER[f"{CROSS_ENTROPY}_answer"]})
    index = _last_test_of(nb, LOG_SOFTMAX) + 1
    nb.cells[index:index] = [nbformat.v4.new_code_cell(HELPER), nbformat.v4.new_code_cell(MEAN_NLL)]
    return nb


SCENARIOS = {
    "helpers_before_the_answer": _with_helpers(lambda nb: _index(nb, f"{LOG_SOFTMAX}_answer")),
    "helpers_between_answer_and_tests": _with_helpers(lambda nb: _index(nb, f"{LOG_SOFTMAX}_answer") + 1),
    "helpers_after_the_tests_they_do_not_serve": _helpers_after_log_softmax_tests(),
    "helpers_between_and_tests_moved_to_the_top": _tests_first(
        _with_helpers(lambda nb: _index(nb, f"{LOG_SOFTMAX}_answer") + 1)),
}


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    return grade_batch(tmp_path_factory.mktemp("student_cells"), LESSON,
                       {"reference": answered(LESSON), **SCENARIOS})


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(SCENARIOS))
def test_helpers_in_cells_of_their_own_keep_full_marks(rows, student):
    full = total(rows["reference"])
    assert full == sum(r.max_score for r in rows["reference"])
    assert total(rows[student]) == full, [(r.exercise, r.status, r.message) for r in rows[student] if r.score == 0]


def test_tests_in_place_stay_and_moved_tests_go_back_behind_the_students_helpers():
    from grader.submission import restore_test_positions

    release = nbs.read(nbs.release_path(LESSON))
    in_place = copy.deepcopy(SCENARIOS["helpers_between_answer_and_tests"])
    order = [c.get("id") for c in in_place.cells]
    assert restore_test_positions(in_place, release) is False and [c.get("id") for c in in_place.cells] == order
    moved = copy.deepcopy(SCENARIOS["helpers_between_and_tests_moved_to_the_top"])
    assert restore_test_positions(moved, release) is True
    answer = _index(moved, f"{LOG_SOFTMAX}_answer")
    assert [nbs.nbgrader_meta(c).get("grade_id") for c in moved.cells[answer + 1:answer + 4]] == \
        [None, None, f"{LOG_SOFTMAX}_small_cases"], "the helpers stay between the answer and its tests"

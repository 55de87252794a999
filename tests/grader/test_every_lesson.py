"""Every lesson grades through the sandboxed judge: the reference scores full marks, the release
scores nothing, and the first wrong answer of every exercise loses that exercise's hidden tests."""
from __future__ import annotations

import pytest

from grader.course import lesson_ids
from tests.support import notebooks as nbs
from tests.support.grading import grade_batch
from tests.support.submissions import answered, released


@pytest.fixture(scope="module", params=lesson_ids())
def graded(request, tmp_path_factory):
    lesson = request.param
    wrong = {answer: next(iter(versions.values())) for answer, versions in nbs.wrong_answers(lesson).items()}
    rows = grade_batch(tmp_path_factory.mktemp(lesson), lesson, {
        "reference": answered(lesson), "untouched": released(lesson), "wrong": answered(lesson, wrong)})
    return lesson, rows


@pytest.mark.slow
def test_reference_answers_score_full_marks_in_the_sandbox(graded):
    lesson, rows = graded
    assert all(r.status == "ok" for r in rows["reference"]), [(r.exercise, r.status, r.message) for r in rows["reference"]
                                                               if r.status != "ok"]


@pytest.mark.slow
def test_released_lesson_scores_nothing(graded):
    lesson, rows = graded
    assert all(r.score == 0 for r in rows["untouched"]), [r.exercise for r in rows["untouched"] if r.score]


@pytest.mark.slow
def test_every_exercise_loses_its_hidden_points_to_a_wrong_answer(graded):
    lesson, rows = graded
    nb = nbs.read(nbs.solution_path(lesson))
    hidden = {nbs.grade_id(t) for tests in nbs.exercises(nb).values() for t in tests if nbs.is_hidden_test(t)}
    kept = [r.exercise for r in rows["wrong"] if r.exercise in hidden and r.score > 0]
    assert not kept, f"hidden tests passed by wrong answers: {kept}"

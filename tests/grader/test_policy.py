"""The built-in policy, graded: answers that call what their exercise forbids score 0 as
``forbidden``; honest answers written differently (loops, helpers in cells of their own) keep
full marks. Both corpora live beside the wrong answers (tests/lessons/wrong_answers/)."""
from __future__ import annotations

import pytest

from grader.course import lesson_ids
from grader.lesson import load_lesson
from tests.support import notebooks as nbs
from tests.support.grading import grade_batch, total
from tests.support.submissions import answered_with


def _honest_rounds(lesson: str) -> list[dict[str, str]]:
    """Submissions that together try every honest answer: round k holds each exercise's k-th one."""
    honest = nbs.honest_answers(lesson)
    rounds = max((len(v) for v in honest.values()), default=0)
    return [{answer: list(versions.values())[k] for answer, versions in honest.items() if k < len(versions)}
            for k in range(rounds)]


@pytest.fixture(scope="module", params=lesson_ids())
def graded(request, tmp_path_factory):
    lesson = request.param
    forbidden = {answer: next(iter(v.values())) for answer, v in nbs.forbidden_answers(lesson).items() if v}
    entries = {f"honest_{k}": answered_with(lesson, variants) for k, variants in enumerate(_honest_rounds(lesson))}
    entries["forbidden"] = answered_with(lesson, forbidden)
    return lesson, forbidden, grade_batch(tmp_path_factory.mktemp(lesson), lesson, entries)


@pytest.mark.slow
def test_honest_answers_keep_full_marks_when_graded(graded):
    lesson, _, rows = graded
    honest = [student for student in rows if student.startswith("honest_")]
    assert honest, f"{lesson} has no HONEST_ANSWERS"
    for student in honest:
        lost = [(r.exercise, r.status, r.message) for r in rows[student] if r.score < r.max_score]
        assert not lost, f"{lesson}, {student}: {lost}"


@pytest.mark.slow
def test_calling_a_forbidden_routine_scores_zero_as_forbidden(graded):
    lesson, forbidden, rows = graded
    assert forbidden, f"{lesson} has no FORBIDDEN_ANSWERS"
    notebook = load_lesson(lesson)[0]
    tests_of = {answer: [nbs.grade_id(t) for t in tests] for answer, tests in
                nbs.exercises(nbs.read(nbs.solution_path(lesson))).items()}
    by_test = {r.exercise: r for r in rows["forbidden"]}
    for answer in forbidden:
        for grade_id in tests_of[answer]:
            row, policy = by_test[grade_id], notebook.test(grade_id).forbidden
            assert (row.status, row.score) == ("forbidden", 0), (grade_id, row.status, row.message)
            assert any(name in row.message for name in policy), row.message
    assert total(rows["forbidden"]) < sum(r.max_score for r in rows["forbidden"])

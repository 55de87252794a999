"""Every lesson: the solution runs cleanly, is shaped as COURSE_STYLE.md says, and its hidden tests have teeth.

One kernel per lesson runs the solution notebook in order and, after each exercise, tries
the plausible wrong answers of ``wrong_answers/wrong_<lesson>.py`` against that exercise's
test cells (see ``tests.support.notebooks.run_with_probes``).
"""
from __future__ import annotations

import ast
import re

import pytest

from grader.course import lesson_ids
from tests.support import notebooks as nbs

LESSONS = lesson_ids()


@pytest.fixture(scope="module", params=LESSONS)
def lesson_run(request):
    lesson = request.param
    return lesson, nbs.run_with_probes(lesson, nbs.wrong_answers(lesson))


@pytest.mark.slow
def test_solution_notebook_runs_cleanly_and_passes_its_tests(lesson_run):
    lesson, run = lesson_run
    assert run.errors == {}, f"{lesson}: cells raised errors: {run.errors}"


@pytest.mark.slow
def test_hidden_tests_reject_every_wrong_answer(lesson_run):
    lesson, run = lesson_run
    assert run.probes, f"{lesson}: no wrong answers were probed"
    passed = [f"{p.answer} / {p.label}" for p in run.probes if not any(p.hidden.values())]
    assert not passed, f"{lesson}: hidden tests accept these wrong answers: {passed}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_exercise_has_a_wrong_answer_visible_and_hidden_tests(lesson):
    nb = nbs.read(nbs.solution_path(lesson))
    wrong = nbs.wrong_answers(lesson)
    for answer, tests in nbs.exercises(nb).items():
        assert wrong.get(answer), f"{lesson}: no plausible wrong answer for {answer} in tests/lessons/wrong_answers"
        assert any(not nbs.is_hidden_test(t) for t in tests), f"{lesson}: {answer} has no visible test cell"
        assert any(nbs.is_hidden_test(t) for t in tests), f"{lesson}: {answer} has no hidden test cell"
    assert set(wrong) <= set(nbs.exercises(nb)), f"{lesson}: wrong answers for unknown exercises"


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_is_shaped_as_the_course_style_says(lesson):
    nb = nbs.read(nbs.solution_path(lesson))
    opening = nb.cells[0].source
    assert opening.startswith("# Lesson "), "the opening cell starts with the lesson's title"
    for part in ("You will learn", "You should already know", "Time:"):
        assert part in opening, f"the opening cell says '{part}'"
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "## Check your understanding" in markdown and "## Further reading" in markdown
    questions = re.findall(r"^\d+\. ", markdown.split("## Check your understanding")[1], re.M)
    assert 8 <= len(questions) + 1 <= 15, f"8 to 15 questions, found {len(questions)} numbered ones"
    assert any(c.cell_type == "markdown" and nbs.nbgrader_meta(c).get("solution") and nbs.nbgrader_meta(c).get("grade")
               for c in nb.cells), "at least one question is answered in a manually graded cell"
    exercises = nbs.exercises(nb)
    assert len(exercises) >= 3
    for number, answer in enumerate(exercises, start=1):
        assert f"Exercise {lesson[:2].lstrip('0')}.{number}" in markdown, f"exercise {answer} is announced"


@pytest.mark.parametrize("lesson", LESSONS)
def test_answer_cells_have_documented_functions(lesson):
    for cell in nbs.read(nbs.solution_path(lesson)).cells:
        if not nbs.is_answer(cell):
            continue
        definitions = [n for n in ast.parse(cell.source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        assert definitions, f"{nbs.grade_id(cell)} defines a function or class"
        for node in definitions:
            doc = ast.get_docstring(node) or ""
            assert "Returns" in doc or "Args" in doc, f"{node.name} has a docstring with its arguments and result"

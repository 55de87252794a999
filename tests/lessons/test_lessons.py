"""Every lesson: the solution runs cleanly, is shaped as COURSE_STYLE.md says, and its hidden tests have teeth.

nbval runs the solution notebook in order in one kernel per lesson, comparing the outputs of
the cells tagged ``nbval-check-output`` with those ``make outputs`` stored, and after each
exercise the plugin ``tests.support.nbval_probes`` tries the plausible wrong answers of
``wrong_answers/wrong_<lesson>.py`` against that exercise's test cells (see
``tests.support.notebooks.run_with_probes``). The course-wide contracts of an
exercise (points, policy, honest answers, arguments, prose figures) are in ``test_contracts.py``.
"""
from __future__ import annotations

import ast
import re

import pytest

from grader.course import lesson_ids
from tests.support import notebooks as nbs
from tests.support.nbval_probes import CHECK_TAG, is_checked

LESSONS = lesson_ids()


@pytest.mark.slow
def test_solution_notebook_runs_cleanly_and_passes_its_tests(lesson_run):
    lesson, run = lesson_run
    failed = "\n\n".join(f"cell {index} (id {run.executed.cells[index].get('id')}), {message}"
                         for index, message in run.errors.items())
    assert not run.errors, (f"{lesson}: nbval failed on these cells (a cell raised, or the output of a cell tagged "
                            f"{CHECK_TAG} differs from the one `make outputs` stored):\n{failed}")


@pytest.mark.parametrize("lesson", LESSONS)
def test_checked_cells_store_their_outputs_and_no_other_cell_does(lesson):
    """nbval compares a tagged cell only if it stores an execution count (else it is "unrun" and
    silently passes); other cells store nothing, so solutions/ diffs stay small."""
    code = [c for c in nbs.read(nbs.solution_path(lesson)).cells if c.cell_type == "code"]
    checked = [c for c in code if is_checked(c)]
    assert checked, f"{lesson}: no cell is tagged {CHECK_TAG}: nbval checks none of its figures"
    for cell in checked:
        assert not nbs.is_answer(cell) and not nbs.is_test(cell), f"{nbs.grade_id(cell)}: answers and tests are not checked by nbval"
        assert cell.execution_count is not None and cell.outputs, f"{lesson}: cell {cell.id} stores no outputs: run `make outputs`"
    stored = [c.id for c in code if not is_checked(c) and (c.outputs or c.execution_count is not None)]
    assert not stored, f"{lesson}: cells not tagged {CHECK_TAG} store outputs: run `make outputs`: {stored}"


@pytest.mark.slow
def test_hidden_tests_reject_every_wrong_answer(lesson_run):
    lesson, run = lesson_run
    assert run.wrong(), f"{lesson}: no wrong answers were probed"
    passed = [f"{p.answer} / {p.label}" for p in run.wrong() if not any(p.hidden.values())]
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
    drawing = [c for c in nb.cells if c.cell_type == "code" and ("plt." in c.source or ".plot(" in c.source)]
    assert len(drawing) >= 3, "plots a learner would rather look at than read"
    exercises = nbs.exercises(nb)
    assert len(exercises) >= 3
    for number, answer in enumerate(exercises, start=1):
        assert f"Exercise {lesson[:2].lstrip('0')}.{number}" in markdown, f"exercise {answer} is announced"


@pytest.mark.parametrize("lesson", LESSONS)
def test_test_cells_do_not_clobber_what_the_lesson_uses_later(lesson):
    """A name the lesson defines, a test cell reassigns, and a later lesson cell reads is a bug
    waiting to happen: the later cell sees the test's value (and grading, which skips some
    lesson cells, may see another)."""
    from dlcourse.plan import _names

    cells = [c for c in nbs.read(nbs.solution_path(lesson)).cells if c.cell_type == "code"]
    problems = []
    for i, test in enumerate(cells):
        if not nbs.is_test(test):
            continue
        imported = {(a.asname or a.name).split(".")[0] for node in ast.walk(ast.parse(test.source))
                    if isinstance(node, (ast.Import, ast.ImportFrom)) for a in node.names}
        clobbered = _names(test.source)[1] - imported  # re-importing a module changes nothing
        defined_before = set().union(*[_names(c.source)[1] for c in cells[:i] if not nbs.is_test(c)])
        for later in cells[i + 1:]:
            if nbs.is_test(later):
                continue
            reads, assigned, _ = _names(later.source)
            hit = clobbered & defined_before & reads
            if hit:
                problems.append(f"{nbs.grade_id(test)} reassigns {sorted(hit)}, read later by a lesson cell")
                clobbered -= hit
            clobbered -= assigned
    assert not problems, problems


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

"""Course-wide contracts of the lessons and their exercises.

Points that say how hard an exercise is, a policy every exercise declares, visible tests that
stand on their own, honest answers that keep full marks, hidden tests that pass every argument
off its default, a Summary in every lesson, prerequisites that come earlier, and prose whose
figures come from the run. The static contracts read the solution notebooks; the others use the
one probed execution of each lesson (``tests.support.notebooks.lesson_run``).
"""
from __future__ import annotations

import importlib
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from grader.course import lesson_ids
from dlcourse.plan import _names
from tests.support import notebooks as nbs
from tests.support.nbval_probes import RECORDER

LESSONS = lesson_ids()
ROOT = Path(__file__).resolve().parents[2]
HEADING = re.compile(r"^###\s+Exercise\s+(\d+)\.(\d+)\s+[—–-]\s+.+?\((\d+(?:\.\d+)?)\s+(points?)\)\s*$", re.M)
NOT_ALLOWED = re.compile(r"^\*\*Not allowed:\*\*(.*)$", re.M)


def _exercises_in_order(lesson: str) -> list[dict]:
    """Each exercise of ``lesson`` in order: its heading match, the markdown from the heading to the
    answer, the answer cell, and its test cells."""
    nb = nbs.read(nbs.solution_path(lesson))
    tests_of = nbs.exercises(nb)
    found, heading, text = [], None, []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            matches = list(HEADING.finditer(cell.source))
            if matches:
                heading, text = matches[-1], []
            text.append(cell.source)
        elif nbs.is_answer(cell):
            found.append({"heading": heading, "text": "\n".join(text), "answer": cell,
                          "tests": tests_of[nbs.grade_id(cell)]})
            heading, text = None, []
    return found


def _points(exercise: dict) -> float:
    return sum(float(nbs.nbgrader_meta(t)["points"]) for t in exercise["tests"])


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_exercise_heading_states_its_points(lesson):
    for number, exercise in enumerate(_exercises_in_order(lesson), start=1):
        answer = nbs.grade_id(exercise["answer"])
        heading = exercise["heading"]
        assert heading, f"{answer}: no '### Exercise {int(lesson[:2])}.{number} — name (P points)' heading before it"
        assert (int(heading.group(1)), int(heading.group(2))) == (int(lesson[:2]), number), heading.group(0)
        points = _points(exercise)
        assert float(heading.group(3)) == points, f"{heading.group(0)}: its test cells are worth {points:g}"
        assert (heading.group(4) == "point") == (points == 1), f"{heading.group(0)}: 1 point, N points"
        assert 1 <= points <= 6, f"{answer}: an exercise is worth 1 to 6 points"


def test_the_course_has_enough_exercises_and_points_follow_difficulty():
    points = {nbs.grade_id(e["answer"]): _points(e) for lesson in LESSONS for e in _exercises_in_order(lesson)}
    assert len(points) >= 50, f"{len(points)} autograded exercises; the course needs at least 50"
    deep = sorted(answer for answer, p in points.items() if p >= 4)
    assert len(deep) >= 8, f"only {len(deep)} exercises are worth 4 points or more: {deep}"
    assert len(set(points.values())) >= 3, "points follow difficulty: not every exercise is worth the same"


@pytest.mark.parametrize("lesson", LESSONS)
def test_grade_ids_carry_the_lessons_number(lesson):
    for cell in nbs.read(nbs.solution_path(lesson)).cells:
        grade_id = nbs.nbgrader_meta(cell).get("grade_id")
        if grade_id:
            assert grade_id.startswith(f"ex{lesson[:2]}_"), f"{lesson}: grade id {grade_id}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_ends_with_a_summary_before_the_questions(lesson):
    markdown = "\n".join(c.source for c in nbs.read(nbs.solution_path(lesson)).cells if c.cell_type == "markdown")
    summary = markdown.find("\n## Summary")
    assert summary >= 0, f"{lesson} has no '## Summary' section"
    assert summary < markdown.find("## Check your understanding"), "the Summary comes before the questions"


def _lesson_mentions(text: str) -> list[int]:
    return [int(n) for group in re.findall(r"\b[Ll]essons? ((?:\d\d(?:, | and | or )?)+)", text)
            for n in re.findall(r"\d\d", group)]


@pytest.mark.parametrize("lesson", LESSONS)
def test_prerequisites_are_earlier_lessons(lesson):
    opening = nbs.read(nbs.solution_path(lesson)).cells[0].source
    known = opening.split("You should already know", 1)[1].split("\n\n", 1)[0]
    for sentence in re.split(r"(?<=[.;])\s", known):
        later = [n for n in _lesson_mentions(sentence) if n >= int(lesson[:2])]
        assert not later or "later" in sentence, \
            f"{lesson}: 'You should already know' names lesson(s) {later} that come after it: {sentence!r}"


def test_nothing_points_at_a_lesson_that_does_not_exist():
    ids, numbers = set(LESSONS), {int(lesson[:2]) for lesson in LESSONS}
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    problems = []
    for name in tracked:
        if Path(name).suffix not in (".py", ".md", ".ipynb", ".toml", ".yml", ".cfg") or "wrong_answers" in name:
            continue
        text = (ROOT / name).read_text(errors="replace")
        for token in set(re.findall(r"(?<![0-9A-Za-z])(0[1-9]_[a-z]+(?:_[a-z]+)*)", text)):
            if not any(token == i or token.startswith(i + "_") for i in ids):
                problems.append(f"{name}: {token}")
        problems += [f"{name}: lesson {n:02d}" for n in set(_lesson_mentions(text)) - numbers]
    assert not problems, problems


@pytest.mark.parametrize("lesson", LESSONS)
def test_visible_tests_call_nothing_an_earlier_exercise_defines(lesson):
    earlier: dict[str, str] = {}
    problems = []
    for exercise in _exercises_in_order(lesson):
        answer = nbs.grade_id(exercise["answer"])
        own = _names(exercise["answer"].source)[1]
        for test in exercise["tests"]:
            if not nbs.is_hidden_test(test):
                used = sorted((_names(test.source)[0] & set(earlier)) - own)
                problems += [f"{nbs.grade_id(test)} calls {name} of {earlier[name]}" for name in used]
        earlier.update({name: answer for name in nbs.exercise_callables(exercise["answer"].source)})
    assert not problems, f"{lesson}: a student stuck on one exercise would fail the next one's visible tests: {problems}"


def _resolve(path: str):
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            obj = getattr(obj, attribute)
        return obj
    raise ImportError(path)


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_exercise_declares_what_it_must_not_use(lesson):
    forbidden_answers = nbs.forbidden_answers(lesson)
    for exercise in _exercises_in_order(lesson):
        answer = nbs.grade_id(exercise["answer"])
        policy = exercise["answer"].metadata.get("dlcourse", {}).get("forbidden")
        assert isinstance(policy, list) and all(isinstance(p, str) for p in policy), \
            f"{answer}: metadata.dlcourse.forbidden is a list of dotted names"
        for path in policy:
            assert callable(_resolve(path)), f"{answer}: {path} is not a callable"
        if not policy:
            continue
        line = NOT_ALLOWED.search(exercise["text"])
        assert line, f"{answer}: its text says what it must not use in a '**Not allowed:** ...' line"
        missing = [p for p in policy if p.rsplit(".", 1)[-1] not in line.group(1)]
        assert not missing, f"{answer}: the 'Not allowed' line does not name {missing}"
        assert forbidden_answers.get(answer), f"{answer}: no answer in FORBIDDEN_ANSWERS calls what its policy forbids"


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_exercise_has_honest_answers_written_differently(lesson):
    honest = nbs.honest_answers(lesson)
    answers = [nbs.grade_id(e["answer"]) for e in _exercises_in_order(lesson)]
    assert not [a for a in answers if not honest.get(a)], f"{lesson}: exercises without an honest answer"
    assert set(honest) <= set(answers), f"{lesson}: honest answers for unknown exercises"
    with_helpers = [label for versions in honest.values() for label, source in versions.items()
                    if len(nbs.answer_cells(source)) > 1]
    assert len(with_helpers) >= 2, f"{lesson}: at least two honest answers put a helper in a cell of its own"


@pytest.mark.slow
def test_honest_answers_keep_full_marks(lesson_run):
    lesson, run = lesson_run
    failed = [f"{p.answer} / {p.label}: {error}" for p in run.honest()
              for error in [*p.visible.values(), *p.hidden.values()] if error]
    assert not failed, f"{lesson}: tests reject honest answers: {failed}"


@pytest.mark.slow
def test_hidden_tests_pass_every_argument_off_its_default(lesson_run):
    lesson, run = lesson_run
    nb = nbs.read(nbs.solution_path(lesson))
    problems = []
    for answer in nbs.exercises(nb):
        recorded = run.arguments.get(answer, {})
        if not recorded:
            problems.append(f"{answer}: its hidden tests never call it")
        for name, parameters in recorded.items():
            never = [p for p, off_default in parameters.items() if not off_default]
            if never:
                problems.append(f"{answer}: the hidden tests never pass {name}() a non-default {', '.join(never)}")
    assert not problems, problems


# A figure in the prose: a decimal number, a percentage, or an integer with thousands separators,
# not part of a version, a section or an exercise number.
FIGURE = re.compile(r"(?<![\w.,^])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+|\d+(?=\s?%))(\s?%)?(?![\w^]|\.\d|,\d{3})")
NOT_A_FIGURE = re.compile(r"(Exercises?|[Ss]ections?|§|[Cc]hapters?|ch\.|Python|[Vv]ersion|v|Table|Figure|"
                          r"[Qq]uestions?|[Ll]essons?|[Ss]teps?|arXiv:?)\s*$")
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def prose_figures(markdown: str) -> list[str]:
    """The figures a lesson's prose quotes (links and math left out)."""
    text = re.sub(r"\]\([^)]*\)", "]", markdown)                  # link targets
    text = re.sub(r"\$\$.*?\$\$|\$[^$\n]*\$", " ", text, flags=re.S)  # LaTeX
    return [m.group(0) for m in FIGURE.finditer(text) if not NOT_A_FIGURE.search(text[max(0, m.start() - 12):m.start()])]


def run_numbers(nb) -> np.ndarray:
    """Every number in the code and the text outputs of an executed notebook, as sorted absolute values."""
    chunks = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        chunks.append(cell.source)
        for output in cell.get("outputs", []):
            chunks.append(output.get("text", ""))
            chunks.append(output.get("data", {}).get("text/plain", ""))
    text = "\n".join(chunks)
    text += "\n" + re.sub(r"(?<=\d)[_,](?=\d{3})", "", text)
    return np.sort(np.abs(np.array([float(n) for n in NUMBER.findall(text)], dtype=np.float64)))


def figure_in_run(figure: str, numbers: np.ndarray) -> bool:
    """Whether some number of the run rounds to ``figure`` (a percentage may also be a fraction)."""
    digits = figure.rstrip("% ").replace(",", "")
    value = float(digits)
    half = 0.5 * 10.0 ** -(len(digits.split(".")[1]) if "." in digits else 0) * (1 + 1e-9)
    windows = [(value, half)] + ([(value / 100, half / 100)] if figure.endswith("%") else [])
    return any(np.searchsorted(numbers, v + h, side="right") > np.searchsorted(numbers, v - h, side="left")
               for v, h in windows)


@pytest.mark.slow
def test_figures_in_the_prose_come_from_the_run(lesson_run):
    lesson, run = lesson_run
    elsewhere = getattr(importlib.import_module(f"tests.lessons.test_{lesson}"), "FIGURES_FROM_ELSEWHERE", {})
    numbers = run_numbers(run.executed)
    markdown = "\n".join(c.source for c in run.executed.cells if c.cell_type == "markdown"
                         and not nbs.nbgrader_meta(c).get("solution"))
    missing = sorted({f for f in prose_figures(markdown) if f.strip() not in elsewhere and not figure_in_run(f, numbers)})
    assert not missing, (f"{lesson}: the prose quotes figures the run does not print (print them, or list a figure "
                         f"from a paper or another course in FIGURES_FROM_ELSEWHERE of tests/lessons/test_{lesson}.py): "
                         f"{missing}")


def test_prose_figures_and_their_matching():
    text = ("The loss fell from 2.30 to 0.31 (96.35 % accuracy, 50,000 images) in Exercise 3.2, section 4.1, "
            "with Python 3.11 and torch 2.13.0; see [the paper](https://x.org/1.5) and $0.9 x$.")
    assert prose_figures(text) == ["2.30", "0.31", "96.35 %", "50,000"]
    numbers = run_numbers(nbs.nbformat.v4.new_notebook(cells=[nbs.nbformat.v4.new_code_cell(
        "print(2.3041, 0.9635, 50_000)", outputs=[{"output_type": "stream", "name": "stdout",
                                                   "text": "loss 0.3149\n"}])]))
    assert all(figure_in_run(f, numbers) for f in ["2.30", "0.31", "96.35 %", "50,000", "2.3"])
    assert not any(figure_in_run(f, numbers) for f in ["2.31", "0.32", "96.5 %", "51,000"])


def test_the_argument_recorder_sees_defaults_and_methods():
    namespace: dict = {}
    exec(RECORDER, namespace)
    exec("def f(a, b=1, c=None, *rest, **options):\n    return a\n"
         "class M:\n    def __init__(self, width=3):\n        self.width = width\n"
         "    def forward(self, x, scale=1.0):\n        return x * scale", namespace)
    namespace["__dlcourse_wrap__"](["f", "M"])
    namespace["f"](1, b=1)
    namespace["f"](2, 5)
    namespace["M"]().forward(2.0)
    assert namespace["__dlcourse_arguments__"] == {
        "f": {"a": True, "b": True, "c": False}, "M.__init__": {"width": False},
        "M.forward": {"x": True, "scale": False}}

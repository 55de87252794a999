"""Reading, editing and running the course's notebooks in tests."""
from __future__ import annotations

import copy
import functools
import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from grader.course import LESSONS, SOLUTIONS

HIDDEN_MARKER = "BEGIN HIDDEN TESTS"
# Names every answer cell may use without importing them (the lessons' first cell imports them).
ANSWER_GLOBALS = "import math\nimport numpy as np\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"


def solution_path(lesson: str) -> Path:
    return SOLUTIONS / lesson / f"{lesson}.ipynb"


def release_path(lesson: str) -> Path:
    return LESSONS / lesson / f"{lesson}.ipynb"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def is_answer(cell) -> bool:
    """An autograded answer cell: code the student writes."""
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("solution")) and not meta.get("grade")


def is_test(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_hidden_test(cell) -> bool:
    return is_test(cell) and HIDDEN_MARKER in cell.source


def grade_id(cell) -> str:
    return nbgrader_meta(cell)["grade_id"]


def exercises(nb) -> dict[str, list]:
    """``{answer grade_id: [its test cells]}``: the test cells between an answer and the next one."""
    found: dict[str, list] = {}
    current = None
    for cell in nb.cells:
        if is_answer(cell):
            current = grade_id(cell)
            found[current] = []
        elif is_test(cell) and current is not None:
            found[current].append(cell)
    return found


def reference_answers(lesson: str) -> dict[str, str]:
    """``{grade_id: source}`` of every solution cell (code and written) of the solution notebook."""
    return {grade_id(c): c.source for c in read(solution_path(lesson)).cells if nbgrader_meta(c).get("solution")}


def with_answers(nb, answers: dict[str, str]):
    """A copy of ``nb`` whose solution cells named in ``answers`` hold the given sources."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade_id") in answers and nbgrader_meta(cell).get("solution"):
            cell.source = answers[grade_id(cell)]
    return nb


def reference_namespace(lesson: str) -> dict:
    """Run the reference answers of ``lesson`` (only the answer cells) and return their namespace."""
    namespace: dict = {}
    exec(ANSWER_GLOBALS, namespace)
    for cell in read(solution_path(lesson)).cells:
        if is_answer(cell):
            exec(compile(cell.source, f"<{lesson}:{grade_id(cell)}>", "exec"), namespace)
    return namespace


def wrong_answers(lesson: str) -> dict[str, dict[str, str]]:
    """``{answer grade_id: {label: source}}`` from ``tests/lessons/wrong_answers/wrong_<lesson>.py``."""
    module = importlib.import_module(f"tests.lessons.wrong_answers.wrong_{lesson}")
    return module.WRONG_ANSWERS


def kernel_env() -> dict[str, str]:
    """The environment of kernels the tests start: quiet, no GUI, and OpenMP threads that sleep
    instead of spinning while they wait (torch slows down many times over on a busy machine otherwise)."""
    return {**os.environ, "DLCOURSE_QUIET": "1", "MPLBACKEND": "Agg", "OMP_WAIT_POLICY": "PASSIVE"}


def error_of(cell) -> str | None:
    """``"Name: message"`` of the first error output of an executed cell, or None."""
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            return f"{output.ename}: {output.evalue}"
    return None


@dataclass
class Probe:
    """What the test cells of one exercise said about one wrong answer."""
    answer: str
    label: str
    visible: dict[str, str | None] = field(default_factory=dict)   # test grade_id -> error or None
    hidden: dict[str, str | None] = field(default_factory=dict)


@dataclass
class LessonRun:
    """One execution of a solution notebook with wrong answers probed after each exercise."""
    errors: dict[int, str]                 # cell index -> error, for cells of the plain run
    probes: list[Probe]
    executed: nbformat.NotebookNode


@functools.lru_cache(maxsize=None)
def lesson_run(lesson: str) -> LessonRun:
    """The one execution of a lesson per test session, probed with its wrong answers (cached)."""
    return run_with_probes(lesson, wrong_answers(lesson))


def printed(nb) -> str:
    """Everything an executed notebook printed (stream outputs), in order."""
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if o.get("output_type") == "stream")


def run_with_probes(lesson: str, wrong: dict[str, dict[str, str]], timeout: int = 300) -> LessonRun:
    """Execute the solution notebook in order; after each answer cell, try its wrong answers.

    For every wrong answer of an exercise, the wrong source is executed, then each of the
    exercise's test cells; then the reference answer is executed again and the notebook
    goes on. So every wrong answer meets its own exercise's tests with every other
    function correct, in a single kernel.

    Returns:
        The errors of the notebook's own cells (none for a good lesson) and the probes.
    """
    nb = read(solution_path(lesson))
    tests_of = exercises(nb)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(solution_path(lesson).parent)}})
    errors: dict[int, str] = {}
    probes: list[Probe] = []
    with client.setup_kernel(env=kernel_env()):
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            client.execute_cell(cell, index)
            if error_of(cell):
                errors[index] = error_of(cell)
            if not is_answer(cell):
                continue
            for label, source in wrong.get(grade_id(cell), {}).items():
                probe = Probe(grade_id(cell), label)
                client.execute_cell(new_code_cell(source), index)
                for test in tests_of[grade_id(cell)]:
                    trial = client.execute_cell(copy.deepcopy(test), index)
                    (probe.hidden if is_hidden_test(test) else probe.visible)[grade_id(test)] = error_of(trial)
                probes.append(probe)
                client.execute_cell(copy.deepcopy(cell), index)
    return LessonRun(errors, probes, nb)

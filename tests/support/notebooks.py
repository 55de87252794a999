"""Reading, editing and running the course's notebooks in tests."""
from __future__ import annotations

import ast
import copy
import functools
import importlib
import json
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


def _answers_module(lesson: str):
    return importlib.import_module(f"tests.lessons.wrong_answers.wrong_{lesson}")


def wrong_answers(lesson: str) -> dict[str, dict[str, str]]:
    """``{answer grade_id: {label: source}}`` of plausible wrong answers, from
    ``tests/lessons/wrong_answers/wrong_<lesson>.py``: each must fail its exercise's hidden tests."""
    return _answers_module(lesson).WRONG_ANSWERS


def honest_answers(lesson: str) -> dict[str, dict[str, str]]:
    """``{answer grade_id: {label: source}}`` of correct answers written differently from the
    reference (``HONEST_ANSWERS``): each must keep full marks. See :func:`answer_cells`."""
    return getattr(_answers_module(lesson), "HONEST_ANSWERS", {})


def forbidden_answers(lesson: str) -> dict[str, dict[str, str]]:
    """``{answer grade_id: {label: source}}`` of correct-valued answers that call a routine the
    exercise's policy forbids (``FORBIDDEN_ANSWERS``): the grader must score them ``forbidden``."""
    return getattr(_answers_module(lesson), "FORBIDDEN_ANSWERS", {})


NEW_CELL = "# --- new cell ---"


def answer_cells(source: str) -> list[str]:
    """An answer as cells: the first replaces the answer cell, the others are cells the student
    added right after it. Cells are separated by a line that is exactly :data:`NEW_CELL`."""
    cells, current = [], []
    for line in source.splitlines():
        if line.strip() == NEW_CELL:
            cells.append("\n".join(current))
            current = []
        else:
            current.append(line)
    return [c.strip("\n") for c in cells + ["\n".join(current)]]


def exercise_callables(answer_source: str) -> list[str]:
    """The public functions and classes an answer cell defines (what its tests call)."""
    return [node.name for node in ast.parse(answer_source).body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")]


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
    """What the test cells of one exercise said about one wrong or honest answer."""
    answer: str
    label: str
    kind: str = "wrong"                                             # "wrong" or "honest"
    visible: dict[str, str | None] = field(default_factory=dict)   # test grade_id -> error or None
    hidden: dict[str, str | None] = field(default_factory=dict)


@dataclass
class LessonRun:
    """One execution of a solution notebook with wrong and honest answers probed after each exercise."""
    errors: dict[int, str]                 # cell index -> error, for cells of the plain run
    probes: list[Probe]
    executed: nbformat.NotebookNode
    # answer grade_id -> {callable (or Class.method) -> {parameter -> passed a non-default value
    # by the exercise's hidden tests}}
    arguments: dict[str, dict[str, dict[str, bool]]] = field(default_factory=dict)

    def wrong(self) -> list[Probe]:
        return [p for p in self.probes if p.kind == "wrong"]

    def honest(self) -> list[Probe]:
        return [p for p in self.probes if p.kind == "honest"]


# Kernel-side recorder of the arguments an exercise's hidden tests pass (see run_with_probes).
_RECORDER = """
import functools as __functools, inspect as __inspect, json as __json
__dlcourse_arguments__ = {}

def __dlcourse_differs__(value, default):
    if default is __inspect.Parameter.empty:
        return True
    if value is default:
        return False
    try:
        same = value == default
    except Exception:
        return True
    return not same if isinstance(same, bool) else True

def __dlcourse_record__(name, fn, method):
    signature = __inspect.signature(fn)
    params = [p for p in signature.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    params = params[1:] if method else params
    seen = __dlcourse_arguments__.setdefault(name, {p.name: False for p in params})

    @__functools.wraps(fn)
    def recorded(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs).arguments
        except TypeError:
            bound = {}
        for p in params:
            if p.name in bound and __dlcourse_differs__(bound[p.name], p.default):
                seen[p.name] = True
        return fn(*args, **kwargs)
    return recorded

def __dlcourse_wrap__(names):
    for name in names:
        obj = globals()[name]
        if isinstance(obj, type):
            for method in ("__init__", "forward", "__call__"):
                if __inspect.isfunction(obj.__dict__.get(method)):
                    setattr(obj, method, __dlcourse_record__(f"{name}.{method}", obj.__dict__[method], True))
        elif callable(obj):
            globals()[name] = __dlcourse_record__(name, obj, False)
"""


@functools.lru_cache(maxsize=None)
def lesson_run(lesson: str) -> LessonRun:
    """The one execution of a lesson per test session, probed with its wrong answers (cached)."""
    return run_with_probes(lesson, wrong_answers(lesson), honest_answers(lesson))


def printed(nb) -> str:
    """Everything an executed notebook printed (stream outputs), in order."""
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if o.get("output_type") == "stream")


def run_with_probes(lesson: str, wrong: dict[str, dict[str, str]], honest: dict[str, dict[str, str]] | None = None,
                    timeout: int = 300) -> LessonRun:
    """Execute the solution notebook in order; after each answer cell, probe that exercise.

    Right after an answer cell runs, its hidden tests run once more with the answer's
    functions wrapped to record which arguments they pass off their defaults; then every
    wrong and every honest answer of the exercise is executed (an honest answer's extra cells
    too, see :func:`answer_cells`), followed by each of the exercise's test cells, and the
    reference answer is executed again before the notebook goes on. So every probe meets its
    own exercise's tests with every other function correct, in a single kernel.

    Returns:
        The errors of the notebook's own cells (none for a good lesson), the probes and the
        recorded arguments.
    """
    nb = read(solution_path(lesson))
    tests_of = exercises(nb)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(solution_path(lesson).parent)}})
    errors: dict[int, str] = {}
    probes: list[Probe] = []
    arguments: dict[str, dict[str, dict[str, bool]]] = {}
    with client.setup_kernel(env=kernel_env()):
        client.execute_cell(new_code_cell(_RECORDER), 0)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            client.execute_cell(cell, index)
            if error_of(cell):
                errors[index] = error_of(cell)
            if not is_answer(cell):
                continue
            answer, tests = grade_id(cell), tests_of[grade_id(cell)]
            arguments[answer] = _recorded_arguments(client, index, cell, [t for t in tests if is_hidden_test(t)])
            variants = [("wrong", label, source) for label, source in wrong.get(answer, {}).items()]
            variants += [("honest", label, source) for label, source in (honest or {}).get(answer, {}).items()]
            for kind, label, source in variants:
                probe = Probe(answer, label, kind)
                for part in answer_cells(source):
                    client.execute_cell(new_code_cell(part), index)
                for test in tests:
                    trial = client.execute_cell(copy.deepcopy(test), index)
                    (probe.hidden if is_hidden_test(test) else probe.visible)[grade_id(test)] = error_of(trial)
                probes.append(probe)
                client.execute_cell(copy.deepcopy(cell), index)
    return LessonRun(errors, probes, nb, arguments)


def _recorded_arguments(client: NotebookClient, index: int, answer, hidden_tests: list) -> dict[str, dict[str, bool]]:
    """Run ``hidden_tests`` with the answer's callables wrapped; which arguments did they pass off default?"""
    names = exercise_callables(answer.source)
    client.execute_cell(new_code_cell(f"__dlcourse_arguments__.clear()\n__dlcourse_wrap__({names!r})"), index)
    for test in hidden_tests:
        client.execute_cell(copy.deepcopy(test), index)
    report = client.execute_cell(new_code_cell("print(__json.dumps(__dlcourse_arguments__))"), index)
    client.execute_cell(copy.deepcopy(answer), index)
    return json.loads(printed_cell(report) or "{}")


def printed_cell(cell) -> str:
    """What one executed cell printed on stdout."""
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")

"""Reading, editing and running the course's notebooks in tests."""
from __future__ import annotations

import ast
import copy
import functools
import importlib
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.course import LESSONS, ROOT, SOLUTIONS

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
    errors: dict[int, str]                 # cell index -> nbval's message, for cells of the plain run
    probes: list[Probe]
    executed: nbformat.NotebookNode
    # answer grade_id -> {callable (or Class.method) -> {parameter -> passed a non-default value
    # by the exercise's hidden tests}}
    arguments: dict[str, dict[str, dict[str, bool]]] = field(default_factory=dict)

    def wrong(self) -> list[Probe]:
        return [p for p in self.probes if p.kind == "wrong"]

    def honest(self) -> list[Probe]:
        return [p for p in self.probes if p.kind == "honest"]


@functools.lru_cache(maxsize=None)
def lesson_run(lesson: str) -> LessonRun:
    """The one execution of a lesson per test session, probed with its wrong answers (cached)."""
    return run_with_probes(solution_path(lesson))


def printed(nb) -> str:
    """Everything an executed notebook printed (stream outputs), in order."""
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if o.get("output_type") == "stream")


def printed_cell(cell) -> str:
    """What one executed cell printed on stdout."""
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
CELL_TIMEOUT = 300  # seconds


def nbval_command(notebooks: list[Path], *options: str) -> list[str]:
    """The pytest command that runs ``notebooks`` through nbval (``--nbval-lax``: only the cells
    tagged ``nbval-check-output`` are compared, after ``tests/nbval_sanitize.cfg``) with the plugin
    ``tests.support.nbval_probes`` and its ``options``; run it from the repository with :func:`kernel_env`."""
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "-q", "--color=no",
            "-o", "verbosity_assertions=2",  # nbval's whole output diff in a failure's message
            "--nbval-lax", "--nbval-current-env", f"--nbval-cell-timeout={CELL_TIMEOUT}",
            f"--nbval-sanitize-with={SANITIZE}", "-p", "tests.support.nbval_probes",
            *options, *map(str, notebooks)]


def store_outputs(lessons: list[str]) -> int:
    """Store in the solution notebooks of ``lessons`` the outputs of their tagged cells, from one run
    each (``make outputs``); the other cells' outputs are cleared. Returns pytest's exit code."""
    command = nbval_command([solution_path(lesson) for lesson in lessons], "--lesson-store-outputs")
    return subprocess.run(command, cwd=ROOT, env=kernel_env()).returncode


def run_with_probes(notebook: Path) -> LessonRun:
    """Execute a lesson's notebook with nbval, probing each exercise right after its answer cell.

    One pytest process runs the notebook through nbval in one kernel with the plugin
    :mod:`tests.support.nbval_probes`, which tries every wrong and honest answer of the exercise
    against its test cells and records the arguments its hidden tests pass (see there).

    Returns:
        nbval's failing items (a cell that raised, a checked output that differs), the probes,
        the executed notebook and the recorded arguments.

    Raises:
        RuntimeError: pytest wrote no report (it could not collect or run the notebook); its log.
    """
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        done = subprocess.run(nbval_command([notebook], f"--lesson-report={report}"), cwd=ROOT, env=kernel_env(),
                              capture_output=True, text=True)
        if not report.exists():
            raise RuntimeError(f"nbval did not run {notebook} (exit {done.returncode}):\n{done.stdout[-5000:]}{done.stderr[-5000:]}")
        found = json.loads(report.read_text())
    return LessonRun({int(i): message for i, message in found["failures"].items()},
                     [Probe(**p) for p in found["probes"]], nbformat.from_dict(found["executed"]), found["arguments"])


if __name__ == "__main__":  # make outputs
    from grader.course import lesson_ids

    sys.exit(store_outputs(sys.argv[1:] or lesson_ids()))

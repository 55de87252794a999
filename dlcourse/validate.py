"""Check your work: run the visible tests of a lesson notebook and say, exercise by exercise, how it went.

``python -m dlcourse validate NOTEBOOK`` runs the notebook's own test cells in a fresh kernel
of the Python that runs it (the course's environment), in the notebook's folder so that the
lesson's spreadsheets are found. It runs only what the tests need (:mod:`dlcourse.plan`): the
first code cell, the answers, the test cells and the cells they read, not the lesson's
training runs and plots. It needs nothing but the notebook: the hidden tests are not in it,
they run when the work is graded.

It prints one line per exercise (passed, the failing check's message, or "not done yet" while
the answer still raises ``NotImplementedError``) and exits 0 only when every visible test passes.

An exercise whose answer calls a routine the exercise must not use (its "Not allowed" line,
``metadata.dlcourse.forbidden`` of its answer cell) fails here, whatever its values: grading
scores it 0 as ``forbidden``, and the self-check says so before the work is handed in. The
routines are watched exactly as grading watches them (:mod:`dlcourse.policy`).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, TextIO

from dlcourse.notebook import (NotebookError, forbidden_by, is_answer_cell, is_test_cell, is_written_answer,
                               nbgrader_meta, read_notebook)
from dlcourse.plan import planned_cells
from dlcourse.policy import guard_test_cell, kernel_setup, reported_calls

# As long as grading lets a cell run (c.Sandbox.cell_timeout in the instructor's
# nbgrader_config.py; a test keeps the two equal), so what passes here does not time out there.
DEFAULT_TIMEOUT = 60
CHECK_CALLS = ("expect_close(", "expect_equal(")
NOT_DONE = "not done yet (the answer, or one it calls, still raises NotImplementedError)"
FORBIDDEN = "calls {}, which this exercise must not use (see its 'Not allowed' line): grading scores it 0"
UNWRITTEN = ("", "YOUR ANSWER HERE")   # nbgrader's stub of an answer written in prose
MAX_MESSAGE = 1000
INTERRUPT_GRACE = 10   # seconds an interrupted cell gets to stop


@dataclass(frozen=True)
class ExerciseCheck:
    """How one exercise did on its visible tests."""
    exercise: str                 # the answer cell's grade id without "_answer"
    passed: bool
    message: str = ""             # why it failed, or a remark on a pass ("no visible test")


@dataclass
class Validation:
    """What :func:`validate` found in one notebook."""
    path: Path
    exercises: list[ExerciseCheck]
    problems: list[str] = field(default_factory=list)   # lesson cells the tests needed that failed
    unwritten: list[str] = field(default_factory=list)  # questions answered in prose, still empty

    @property
    def passed(self) -> bool:
        """True when every exercise passes its visible tests."""
        return all(check.passed for check in self.exercises)


def _error(cell) -> str | None:
    """``"Name: message"`` of the first error a cell's run left in its outputs, or None."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"[:MAX_MESSAGE]
    return None


def _first_line(source: str) -> str:
    lines = [l.strip() for l in source.splitlines() if l.strip()]
    line = next((l for l in lines if not l.startswith("#")), lines[0] if lines else "")
    return line if len(line) <= 60 else line[:57] + "..."


def _kernel_environment() -> dict[str, str]:
    """The kernel imports the ``dlcourse`` this validator belongs to, and draws no progress bars."""
    package_root = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "DLCOURSE_QUIET": "1"}


# What happened to a cell that did not simply run, said so that "the answer cell ..." reads.
RAISED = "raised "
NOT_RUN = "was not run: "


def _guard_tests(nb) -> tuple[str, ...]:
    """Put every test cell of an exercise that forbids routines inside a policy window for them
    (:func:`dlcourse.policy.guard_test_cell`, in place); every routine forbidden anywhere, sorted.
    A test cell that is not Python (edited by hand) is left as it is: it fails on its own."""
    names: set[str] = set()
    forbidden: tuple[str, ...] = ()
    for cell in nb.cells:
        if is_answer_cell(cell):
            forbidden = forbidden_by(cell)
            names.update(forbidden)
        elif is_test_cell(cell) and forbidden:
            try:
                cell.source = guard_test_cell(cell.source, forbidden)
            except SyntaxError:
                pass
    return tuple(sorted(names))


def _run(nb, cells: list[int], folder: Path, timeout: float, setup: str = "") -> dict[int, str]:
    """Run ``cells`` of ``nb`` (in place) in a fresh kernel of this Python, in ``folder``,
    after ``setup`` (a cell of the validator's own, run first when given).

    A cell that runs out of time is interrupted and the run goes on once the kernel is
    free again; a kernel that dies, or ignores the interrupt, ends the run.

    Returns:
        ``{cell index: what happened}`` for every cell that did not run cleanly:
        ``"raised Name: message"``, ``"ran longer than ..."``, ``"was not run: ..."``...
        (under the key -1, what ``setup`` raised).
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError
    from nbformat.v4 import new_code_cell

    def aside(source: str, index: int, seconds: float):
        """Run a cell of ours; nbclient stores the cell it ran at the index it is given: put ours back."""
        client.timeout, kept = seconds, nb.cells[index]
        try:
            return client.execute_cell(new_code_cell(source), index)
        finally:
            client.timeout, nb.cells[index] = timeout, kept

    errors: dict[int, str] = {}
    with tempfile.TemporaryDirectory(prefix="dlcourse-kernel-") as sockets:
        # No kernel directories: the native kernel, i.e. this very interpreter, whatever other
        # kernels the machine has registered under the notebook's kernel name. Local sockets
        # (ipc), not TCP ports.
        km = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]),
                                transport="ipc", connection_file=str(Path(sockets) / "kernel.json"))
        km.ip = str(Path(sockets) / "k")
        client = NotebookClient(nb, km=km, timeout=timeout, allow_errors=True, interrupt_on_timeout=True,
                                error_on_timeout={"ename": "TimeoutError", "evalue": "", "traceback": []},
                                shutdown_kernel="immediate", resources={"metadata": {"path": str(folder)}})
        log_path = Path(sockets) / "kernel.log"
        # The kernel's own log (not the cells' output, which comes back as messages).
        with open(log_path, "wb") as log, client.setup_kernel(env=_kernel_environment(), stdout=log, stderr=log):
            if setup and cells and _error(ran := aside(setup, cells[0], timeout)):
                errors[-1] = _error(ran)
            for position, index in enumerate(cells):
                started = time.monotonic()
                try:
                    client.execute_cell(nb.cells[index], index)
                    if time.monotonic() - started < timeout:
                        if _error(nb.cells[index]):
                            errors[index] = RAISED + _error(nb.cells[index])
                        continue
                    errors[index] = f"ran longer than {timeout:g} s and was interrupted"
                    # Requests queue up in the kernel: wait until the interrupted cell is over.
                    aside("pass", index, INTERRUPT_GRACE)
                    if time.monotonic() - started < timeout + INTERRUPT_GRACE:
                        continue
                    reason = "an earlier cell ran out of time and ignored the interrupt"
                except DeadKernelError:
                    last = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()][-1:]
                    errors[index] = ("made the kernel die (a crash, or out of memory)"
                                     + (f": {last[0][:300]}" if last else ""))
                    reason = "the kernel died in an earlier cell"
                errors.update({later: NOT_RUN + reason for later in cells[position + 1:]})
                break
    return errors


def _checks(nb, errors: dict[int, str]) -> tuple[list[ExerciseCheck], list[str]]:
    """One :class:`ExerciseCheck` per answer cell, from what happened to the cells that ran;
    and what went wrong in the other cells (not answers, not tests) the tests needed."""
    def failure(error: str, cell_kind: str) -> str:
        if error.startswith(RAISED + "NotImplementedError"):
            return NOT_DONE
        if error.startswith(RAISED) and cell_kind == "test":
            return error.removeprefix(RAISED)      # the failing check's own message
        return f"the {cell_kind} cell {error}"

    answers: list[str] = []                # the exercises, in order
    failures: dict[str, str] = {}          # exercise -> its first failure
    used: dict[str, list[str]] = {}        # exercise -> the forbidden routines its answer called
    tested: set[str] = set()
    problems = [f"watching for the routines the exercises must not use failed: {errors[-1]}"] if -1 in errors else []
    exercise, forbidden = None, ()
    for index, cell in enumerate(nb.cells):
        error = errors.get(index)
        if is_answer_cell(cell):
            exercise = nbgrader_meta(cell).get("grade_id", f"cell {index}").removesuffix("_answer")
            forbidden = forbidden_by(cell)
            answers.append(exercise)
            if error:
                failures[exercise] = failure(error, "answer")
        elif is_test_cell(cell) and exercise is not None:
            called = reported_calls(cell.get("outputs", [])) or []
            used.setdefault(exercise, []).extend(n for n in forbidden if n in called and n not in used[exercise])
            if any(c in cell.source for c in CHECK_CALLS):
                tested.add(exercise)
                if error and exercise not in failures:
                    failures[exercise] = failure(error, "test")
        elif error and cell.cell_type == "code" and not error.startswith(NOT_RUN):
            problems.append(f'the lesson cell "{_first_line(cell.source)}" {error}')
    checks = []
    for name in answers:
        if used.get(name):     # what grading says first, whatever the values
            checks.append(ExerciseCheck(name, False, FORBIDDEN.format(", ".join(used[name]))))
        elif name in failures:
            checks.append(ExerciseCheck(name, False, failures[name]))
        else:
            remark = "" if name in tested else "no visible test: hidden tests check it when your work is graded"
            checks.append(ExerciseCheck(name, True, remark))
    return checks, problems


def validate(path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> Validation:
    """Run the visible tests of the notebook at ``path`` (the file itself is not changed).

    Args:
        path: a lesson notebook, as released or as the student left it (any name).
        timeout: seconds a cell may run before it is interrupted.

    Returns:
        A :class:`Validation`: one :class:`ExerciseCheck` per exercise, the lesson cells
        that failed, and the questions to answer in prose that are still empty.

    Raises:
        NotebookError: the file is not a notebook, or holds no exercise.
    """
    path = Path(path)
    nb = read_notebook(path)
    if not any(is_answer_cell(c) for c in nb.cells):
        raise NotebookError(f"{path.name} holds no exercise (no cell is marked as an answer): "
                            "is it one of the course's lesson notebooks?")
    cells = planned_cells(nb)
    forbidden = _guard_tests(nb)
    errors = _run(nb, cells, path.resolve().parent, timeout, kernel_setup(forbidden) if forbidden else "")
    checks, problems = _checks(nb, errors)
    unwritten = [nbgrader_meta(c).get("grade_id", "") for c in nb.cells
                 if is_written_answer(c) and c.source.strip() in UNWRITTEN]
    return Validation(path, checks, problems, unwritten)


def report_lines(result: Validation) -> list[str]:
    """What the command line prints for one notebook: its problems, a line per exercise, the
    questions still to answer, and a summary line."""
    lines = [f"problem: {p}" for p in result.problems]
    width = max((len(c.exercise) for c in result.exercises), default=0)
    for check in result.exercises:
        verdict = "passed" if check.passed else "FAILED: " + check.message
        lines.append(f"{check.exercise:{width}s}  {verdict}" + (f" ({check.message})" if check.passed and check.message else ""))
    if result.unwritten:
        lines.append(f"still to answer in writing (graded by hand): {', '.join(result.unwritten)}")
    passed = sum(c.passed for c in result.exercises)
    lines.append(f"{result.path}: {passed} of {len(result.exercises)} exercises pass their visible tests"
                 "; hidden tests run when your work is graded")
    return lines


def notebooks_in(paths: Iterable[Path]) -> list[Path]:
    """The notebooks named, a folder standing for every notebook under it (checkpoints skipped)."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb")
                            if not any(part.startswith(".") for part in p.relative_to(path).parts))
        else:
            found.append(path)
    return found


def check(paths: Iterable[Path], *, timeout: float = DEFAULT_TIMEOUT, out: TextIO = sys.stdout,
          err: TextIO = sys.stderr) -> int:
    """Validate notebooks (or folders of them), print the report of each, return an exit status.

    Returns:
        0 when every notebook passes every visible test, 1 when some test fails, 2 when a
        file is not a lesson notebook (said on ``err``; the others are still validated).
    """
    notebooks = notebooks_in(paths)
    if not notebooks:
        print("error: no notebook found", file=err)
        return 2
    status, passed = 0, 0
    for number, path in enumerate(notebooks):
        try:
            result = validate(path, timeout=timeout)
        except NotebookError as error:
            print(f"error: {error}", file=err)
            status = 2
            continue
        print(("\n" if number else "") + "\n".join(report_lines(result)), file=out, flush=True)
        passed += result.passed
        status = status or (0 if result.passed else 1)
    if len(notebooks) > 1:
        print(f"\n{passed} of {len(notebooks)} notebooks pass all their visible tests", file=out)
    return status


def main(argv: list[str] | None = None) -> int:
    """``python -m dlcourse validate NOTEBOOK...``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m dlcourse", description="Tools for the course's students.")
    verbs = parser.add_subparsers(dest="verb", required=True)
    v = verbs.add_parser("validate", help="run the visible tests of lesson notebooks, one line per exercise")
    v.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK",
                   help="a lesson notebook, or a folder: every notebook under it")
    v.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                   help=f"seconds a cell may run before it is interrupted (default {DEFAULT_TIMEOUT})")
    args = parser.parse_args(argv)
    return check(args.notebooks, timeout=args.timeout)

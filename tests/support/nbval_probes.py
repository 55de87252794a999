"""A pytest plugin over nbval: probe each exercise in the lesson's own kernel, report the run.

``pytest --nbval-lax -p tests.support.nbval_probes solutions/<lesson>/<lesson>.ipynb`` lets nbval
execute the solution notebook cell by cell in one kernel and compare the outputs of the cells
tagged ``nbval-check-output`` with the outputs stored in the notebook. This plugin adds what
nbval cannot do, in that same kernel, right after each answer cell's item:

- the exercise's hidden tests run once more with the answer's functions wrapped to record which
  arguments they pass off their defaults;
- every wrong and every honest answer of ``tests/lessons/wrong_answers/wrong_<lesson>.py`` is
  executed (an honest answer's extra cells too, see ``notebooks.answer_cells``), followed by each
  of the exercise's test cells;
- the reference answer is executed again before nbval goes on.

So every probe meets its own exercise's tests with every other function correct, and the
notebook runs once. Options:

``--lesson-report PATH``
    probe as above, and write to PATH (JSON) what nbval's items printed, the items that failed
    with nbval's message, the probes and the recorded arguments (``notebooks.lesson_run`` reads it);
``--lesson-store-outputs``
    no comparison and no probes: write the outputs of the tagged cells into the notebook, and
    clear every other cell's (``make outputs``); nothing is written if a cell fails.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell
from nbval.plugin import IPyNbCell, IPyNbFile, NbCellError

from tests.support import notebooks as nbs

CHECK_TAG = "nbval-check-output"
NOT_COMPARED = ("image/png", "image/jpeg")  # nbval's IPyNbFile.skip_compare without --nbdime

# Kernel-side recorder of the arguments an exercise's hidden tests pass (see _recorded_arguments).
RECORDER = """
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


def pytest_addoption(parser):
    group = parser.getgroup("lesson", "Probes of the course's lessons (tests/support/nbval_probes.py)")
    group.addoption("--lesson-report", default=None,
                    help="probe every exercise after its answer cell and write the run's report (JSON) here")
    group.addoption("--lesson-store-outputs", action="store_true",
                    help=f"write the outputs of the cells tagged {CHECK_TAG} into the notebook, clear the others'")


def pytest_configure(config):
    if config.option.lesson_report or config.option.lesson_store_outputs:
        config.pluginmanager.register(LessonRecorder(config), "lesson-recorder")


def is_checked(cell) -> bool:
    """Whether nbval compares this cell's outputs under ``--nbval-lax`` (the cell is tagged)."""
    return CHECK_TAG in cell.get("metadata", {}).get("tags", [])


def _index(item: IPyNbCell) -> int:
    """The index of an nbval item's cell among all the notebook's cells (nbval counts code cells)."""
    return next(i for i, cell in enumerate(item.parent.nb.cells) if cell is item.cell)


def _lesson(notebook: IPyNbFile) -> str:
    return Path(str(notebook.fspath)).stem


def _run(item: IPyNbCell, source: str) -> list:
    """Execute ``source`` in the kernel of ``item``'s notebook with nbval's own item; its outputs."""
    probe = IPyNbCell.from_parent(item.parent, name=f"{item.name} probe", cell_num=item.cell_num,
                                  cell=new_code_cell(source), options={"check": False, "skip": False,
                                                                       "check_exception": True})
    try:
        probe.runtest()
    except NbCellError as error:  # a timeout: the kernel is stopped, nbval's next item says so
        return [nbformat.from_dict({"output_type": "error", "ename": "NbCellError", "evalue": str(error),
                                    "traceback": []})]
    return probe.test_outputs


class LessonRecorder:
    """Collects, per notebook, nbval's outputs and failures and (with a report) the probes."""

    def __init__(self, config):
        self.config = config
        self.store = config.option.lesson_store_outputs
        self.report_path = config.option.lesson_report
        # path -> {"file": IPyNbFile, "failures": {cell index: message}, "recorder": defined in its kernel}
        self.notebooks: dict[str, dict] = {}
        self.probes: list[dict] = []
        self.arguments: dict[str, dict] = {}

    def _entry(self, item: IPyNbCell) -> dict:
        return self.notebooks.setdefault(str(item.parent.fspath), {"file": item.parent, "failures": {}})

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        if self.store:  # outputs are being refreshed: nothing to compare them with
            for item in items:
                if isinstance(item, IPyNbCell):
                    item.options["check"] = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item, nextitem):
        """Probe an exercise right after its answer cell ran (before nbval may stop the kernel)."""
        if not isinstance(item, IPyNbCell):
            return
        entry = self._entry(item)
        if self.store or not nbs.is_answer(item.cell) or not item.parent.kernel.is_alive():
            return
        lesson = _lesson(item.parent)
        answer = nbs.grade_id(item.cell)
        if not entry.get("recorder"):
            _run(item, RECORDER)
            entry["recorder"] = True
        tests = nbs.exercises(item.parent.nb)[answer]
        self.arguments[answer] = self._recorded_arguments(item, [t for t in tests if nbs.is_hidden_test(t)])
        variants = [("wrong", label, source) for label, source in nbs.wrong_answers(lesson).get(answer, {}).items()]
        variants += [("honest", label, source) for label, source in nbs.honest_answers(lesson).get(answer, {}).items()]
        for kind, label, source in variants:
            probe = {"answer": answer, "label": label, "kind": kind, "visible": {}, "hidden": {}}
            for part in nbs.answer_cells(source):
                _run(item, part)
            for test in tests:
                probe["hidden" if nbs.is_hidden_test(test) else "visible"][nbs.grade_id(test)] = nbs.error_of({"outputs": _run(item, test.source)})
            self.probes.append(probe)
            _run(item, item.cell.source)

    def _recorded_arguments(self, item: IPyNbCell, hidden_tests: list) -> dict[str, dict[str, bool]]:
        """Run ``hidden_tests`` with the answer's callables wrapped; which arguments did they pass off default?"""
        names = nbs.exercise_callables(item.cell.source)
        _run(item, f"__dlcourse_arguments__.clear()\n__dlcourse_wrap__({names!r})")
        for test in hidden_tests:
            _run(item, test.source)
        report = _run(item, "print(__json.dumps(__dlcourse_arguments__))")
        _run(item, item.cell.source)
        return json.loads(nbs.printed_cell({"outputs": report}) or "{}")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = (yield).get_result()
        if report.failed and isinstance(item, IPyNbCell):
            self._entry(item)["failures"][_index(item)] = f"{report.when}: {report.longreprtext}"

    def pytest_sessionfinish(self, session):
        if self.report_path and len(self.notebooks) > 1:
            raise pytest.UsageError(f"--lesson-report reports one notebook, not {len(self.notebooks)}")
        for path, entry in self.notebooks.items():
            executed = self._executed(session, entry["file"])
            if self.store and not entry["failures"]:
                nbformat.write(self._stored(entry["file"], executed), path)
            if self.report_path:
                Path(self.report_path).write_text(json.dumps({
                    "executed": executed, "failures": entry["failures"],
                    "probes": self.probes, "arguments": self.arguments}))

    @staticmethod
    def _executed(session, notebook: IPyNbFile) -> nbformat.NotebookNode:
        """The notebook with each code cell's outputs as nbval's item got them."""
        executed = copy.deepcopy(notebook.nb)
        for item in session.items:
            if isinstance(item, IPyNbCell) and item.parent is notebook:
                executed.cells[_index(item)].outputs = item.test_outputs or []
        return executed

    @staticmethod
    def _stored(notebook: IPyNbFile, executed) -> nbformat.NotebookNode:
        """The source notebook with outputs (and a counter) only in the cells nbval checks."""
        stored = nbformat.read(str(notebook.fspath), as_version=4)
        code = 0
        for cell, ran in zip(stored.cells, executed.cells):
            if cell.cell_type != "code":
                continue
            code += 1
            cell.outputs = [_storable(o, code) for o in ran.outputs] if is_checked(cell) else []
            cell.execution_count = code if is_checked(cell) else None
        return stored


def _storable(output, count: int):
    """An nbval output as the notebook stores it: ``execute_result`` carries the cell's counter, and
    images are left out (nbval compares them only under ``--nbdime``; they would swell the diffs)."""
    output = nbformat.from_dict(copy.deepcopy(output))
    if output.output_type == "execute_result":
        output.execution_count = count
    for image in NOT_COMPARED:
        output.get("data", {}).pop(image, None)
    return output

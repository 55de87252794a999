"""Bad input gets a clear status, the honest parts are still graded, nothing is lost or modified."""
from __future__ import annotations

import copy

import nbformat
import pytest

from tests.support import notebooks as nbs
from grader.autograde import autograde
from tests.support.grading import by_student, short_limits, total
from tests.support.submissions import answered, digest_tree, write_submissions

LESSON = "02_cross_entropy"
FULL = 16.0
EX = {1: "ex02_1_softmax", 2: "ex02_2_log_softmax", 3: "ex02_3_nll_loss", 4: "ex02_4_cross_entropy",
      5: "ex02_5_cross_entropy_grad"}


def _cells(nb, predicate):
    return [c for c in nb.cells if predicate(c)]


def _by_id(nb, grade_id):
    return next(c for c in nb.cells if nbs.nbgrader_meta(c).get("grade_id") == grade_id)


def _with(answer_overrides=None, edit=None):
    nb = answered(LESSON, answer_overrides)
    if edit:
        edit(nb)
    return nb


def _delete(grade_id):
    return lambda nb: nb.cells.remove(_by_id(nb, grade_id))


def _duplicate(*grade_ids):
    def edit(nb):
        for grade_id in grade_ids:
            cell = _by_id(nb, grade_id)
            twin = copy.deepcopy(cell)
            twin["id"] = cell["id"] + "-copy"
            nb.cells.insert(nb.cells.index(cell) + 1, twin)
    return edit


def _retype(grade_id):
    def edit(nb):
        cell = _by_id(nb, grade_id)
        index = nb.cells.index(cell)
        markdown = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)
        markdown["id"] = cell["id"]
        nb.cells[index] = markdown
    return edit


def _tests_first(nb):
    tests = _cells(nb, nbs.is_test)
    nb.cells = tests + [c for c in nb.cells if c not in tests]


def _edit_source(grade_id, source):
    def edit(nb):
        _by_id(nb, grade_id).source = source
    return edit


def _extra_cell_reusing(grade_id):
    def edit(nb):
        fake = nbformat.v4.new_code_cell("print('free points')", metadata=copy.deepcopy(_by_id(nb, grade_id).metadata))
        nb.cells.insert(1, fake)
    return edit


def _v3(nb):
    return nbformat.writes(nbformat.convert(nb, 3)).encode()


def _answer(n: int, body: str) -> dict:
    name = EX[n].split("_", 2)[2]
    signature = {1: "logits", 2: "logits", 3: "log_probs, targets", 4: "logits, targets", 5: "logits, targets"}[n]
    return {f"{EX[n]}_answer": f"def {name}({signature}):\n" + "\n".join("    " + line for line in body.splitlines())}


WRONG_SOFTMAX = _answer(1, "exps = np.exp(logits)\nreturn exps / exps.sum(axis=-1, keepdims=True)")
NOISY = {gid: src.replace('    """', '    import sys, warnings\n    warnings.warn("deprecated!")\n'
                          '    print("debug", file=sys.stderr)\n    """', 1)
         for gid, src in nbs.reference_answers(LESSON).items() if gid.endswith("_answer")}
UNICODE_PRINT = {f"{EX[1]}_answer": nbs.reference_answers(LESSON)[f"{EX[1]}_answer"] + "\nprint('naïve ✓ 日本語 — ok')"}

SCENARIOS = {
    "corrupt_json": b'{"cells": [{"cell_type": "code", "source": "x = ',
    "png_file": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01",
    "json_not_notebook": b'{"name": "my homework", "answer": 42}',
    "nbformat_3": _v3(answered(LESSON)),
    "empty_file": b"",
    "another_lessons_notebook": nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "def adam_step(): pass", metadata={"nbgrader": {"grade": False, "grade_id": "ex04_6_adam_step_answer",
                                                        "locked": False, "schema_version": 3, "solution": True,
                                                        "task": False}})]),
    "no_notebook": None,
    "deleted_test_cell": _with(edit=_delete("ex02_1_softmax_small_cases")),
    "deleted_answer_cell": _with(edit=_delete("ex02_3_nll_loss_answer")),
    "duplicated_cells": _with(edit=_duplicate("ex02_2_log_softmax_answer", "ex02_2_log_softmax_small_cases")),
    "retyped_answer_cell": _with(edit=_retype("ex02_1_softmax_answer")),
    "reordered_cells": _with(edit=_tests_first),
    "edited_locked_cell": _with(WRONG_SOFTMAX, _edit_source("ex02_1_softmax_matches_reference", "pass")),
    "extra_cell_reusing_a_grade_id": _with(WRONG_SOFTMAX, _extra_cell_reusing("ex02_1_softmax_matches_reference")),
    "infinite_loop": _with(_answer(3, "while True:\n    pass")),
    "infinite_loop_ignoring_sigint": _with(_answer(3, "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                                      "while True:\n    pass")),
    "memory_bomb": _with(_answer(3, "blocks = []\nwhile True:\n    blocks.append(bytearray(100 * 2**20))")),
    "fork_bomb": _with(_answer(3, "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass")),
    "one_20mb_line": _with({f"{EX[2]}_answer": nbs.reference_answers(LESSON)[f"{EX[2]}_answer"] + "\nprint('x' * 20_000_000)"}),
    "200k_lines": _with({f"{EX[2]}_answer": nbs.reference_answers(LESSON)[f"{EX[2]}_answer"]
                         + "\nfor i in range(200_000):\n    print(i)"}),
    "warnings_on_stderr": _with(NOISY),
    "Zoë Łukasz 日本": _with(UNICODE_PRINT),
}


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    submissions = write_submissions(root / "submissions", LESSON, SCENARIOS)
    renamed = root / "submissions" / "renamed_notebook" / LESSON
    renamed.mkdir(parents=True)
    nbformat.write(answered(LESSON), renamed / "my work (final).ipynb")
    before = digest_tree(submissions)
    graded = by_student(autograde(LESSON, submissions, root / "graded", limits=short_limits(), workers=2))
    assert digest_tree(submissions) == before, "submitted files are never modified"
    return graded


def _status(rows, exercise_prefix=None):
    return {r.status for r in rows if exercise_prefix is None or r.exercise.startswith(exercise_prefix)}


def test_every_scenario_has_all_its_rows(rows):
    assert set(rows) == set(SCENARIOS) | {"renamed_notebook"}
    counts = {len(r) for r in rows.values()}
    assert counts == {15}, "one row per test cell, for every submission"


@pytest.mark.parametrize("student, status, words", [
    ("corrupt_json", "invalid", "is not valid JSON"),
    ("png_file", "invalid", "not a text file"),
    ("json_not_notebook", "invalid", "not a Jupyter notebook"),
    ("empty_file", "invalid", "is empty"),
    ("another_lessons_notebook", "invalid", "another lesson's notebook"),
    ("no_notebook", "missing", "no 02_cross_entropy.ipynb was submitted"),
])
def test_ungradable_files_are_reported(rows, student, status, words):
    assert all(r.status == status and words in r.message and r.score == 0 for r in rows[student])


@pytest.mark.parametrize("student", ["nbformat_3", "renamed_notebook", "retyped_answer_cell", "reordered_cells",
                                     "one_20mb_line", "200k_lines", "warnings_on_stderr", "Zoë Łukasz 日本"])
def test_recoverable_submissions_keep_full_marks(rows, student):
    assert total(rows[student]) == FULL, [(r.exercise, r.status, r.message) for r in rows[student] if r.status != "ok"]


def test_protected_cells_deleted_duplicated_or_edited_are_restored_and_flagged(rows):
    assert total(rows["deleted_test_cell"]) == FULL and _status(rows["deleted_test_cell"]) == {"tampered"}
    assert "was deleted" in rows["deleted_test_cell"][0].message
    assert total(rows["duplicated_cells"]) == FULL and "appears 2 times" in rows["duplicated_cells"][0].message
    for student in ("edited_locked_cell", "extra_cell_reusing_a_grade_id"):
        hidden = next(r for r in rows[student] if r.exercise == "ex02_1_softmax_matches_reference")
        assert hidden.score == 0 and hidden.status == "tampered", (student, hidden)
    assert "was edited" in rows["edited_locked_cell"][0].message


def test_a_deleted_answer_fails_its_tests_and_the_rest_is_graded(rows):
    graded = rows["deleted_answer_cell"]
    assert all(r.score == 0 and "nll_loss" in r.message for r in graded if r.exercise.startswith("ex02_3"))
    assert all(r.status == "ok" for r in graded if r.exercise.startswith(("ex02_1", "ex02_2", "ex02_5")))


@pytest.mark.parametrize("student, status", [("infinite_loop", "timeout"), ("infinite_loop_ignoring_sigint", "timeout"),
                                             ("memory_bomb", None), ("fork_bomb", None)])
def test_runaway_code_loses_only_its_own_exercise(rows, student, status):
    graded = rows[student]
    broken = [r for r in graded if r.exercise.startswith(("ex02_3", "ex02_4"))]
    assert all(r.score == 0 and r.message for r in broken)
    if status:
        assert all(r.status == status for r in broken if r.exercise.startswith("ex02_3"))
    assert all(r.status == "ok" for r in graded if r.exercise.startswith(("ex02_1", "ex02_2", "ex02_5"))), \
        [(r.exercise, r.status, r.message) for r in graded]

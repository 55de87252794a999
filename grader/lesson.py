"""What the grader knows about a lesson, read from its source in ``solutions/`` (trusted)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import nbformat

from dlcourse.notebook import forbidden_by, is_answer_cell, is_test_cell, nbgrader_meta
from grader.course import LESSONS, check_lesson, source_notebooks
from grader.rewrite import CheckSpec, guard_source, rewrite_test_cell, setup_source

HIDDEN_MARKER = "BEGIN HIDDEN TESTS"


@dataclass(frozen=True)
class TestCell:
    """An autograded test cell as the lesson's author wrote it."""
    __test__ = False  # not a pytest class
    grade_id: str
    points: float
    hidden: bool
    source: str                   # original, hidden tests included
    rewritten: str                # what the student's kernel runs (see grader.rewrite)
    specs: tuple[CheckSpec, ...]
    forbidden: tuple[str, ...] = ()   # what its exercise must not use (dlcourse.policy)


@dataclass(frozen=True)
class LessonNotebook:
    """One source notebook of a lesson."""
    lesson: str
    name: str                     # notebook id (file name without .ipynb)
    path: Path
    digest: str                   # sha256 of the source notebook
    tests: tuple[TestCell, ...]
    answers: tuple[str, ...]      # grade ids of the autograded answer cells
    forbidden: tuple[str, ...] = ()   # every routine an exercise of the notebook must not use

    @property
    def setup(self) -> str:
        """The first cell a grading kernel runs (see :func:`grader.rewrite.setup_source`)."""
        return setup_source(self.forbidden)

    def test(self, grade_id: str) -> TestCell:
        return next(t for t in self.tests if t.grade_id == grade_id)

    def read(self) -> nbformat.NotebookNode:
        return nbformat.read(self.path, as_version=4)


def load_notebook(lesson: str, path: Path) -> LessonNotebook:
    """Read a source notebook and prepare its test cells for judging."""
    raw = path.read_bytes()
    nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    tests, policy, everything = [], (), set()
    for cell in nb.cells:
        if is_answer_cell(cell):
            policy = forbidden_by(cell)
            everything.update(policy)
        elif is_test_cell(cell):
            meta = nbgrader_meta(cell)
            rewritten = rewrite_test_cell(cell.source, f"{lesson}/{meta['grade_id']}")
            tests.append(TestCell(meta["grade_id"], float(meta["points"]), HIDDEN_MARKER in cell.source,
                                  cell.source, guard_source(rewritten.source, policy), rewritten.specs, policy))
    answers = tuple(nbgrader_meta(c)["grade_id"] for c in nb.cells if is_answer_cell(c))
    return LessonNotebook(lesson, path.stem, path, hashlib.sha256(raw).hexdigest(), tuple(tests), answers,
                          tuple(sorted(everything)))


def load_lesson(lesson: str) -> list[LessonNotebook]:
    """Every source notebook of ``lesson``, prepared for judging."""
    return [load_notebook(lesson, path) for path in source_notebooks(check_lesson(lesson))]


def companion_files(lesson: str) -> dict[str, bytes]:
    """The lesson's released files other than notebooks (spreadsheets), name -> bytes."""
    folder = LESSONS / lesson
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.is_file() and p.suffix != ".ipynb"} if folder.is_dir() else {}

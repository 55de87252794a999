"""Build folders of student submissions in nbgrader's layout for grader tests."""
from __future__ import annotations

import hashlib
from pathlib import Path

import nbformat

from tests.support import notebooks as nbs


def released(lesson: str) -> nbformat.NotebookNode:
    """The student version of a lesson, as a student receives it."""
    return nbs.read(nbs.release_path(lesson))


def answered(lesson: str, overrides: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The student version with the reference answers filled in, then ``overrides`` applied."""
    return nbs.with_answers(released(lesson), {**nbs.reference_answers(lesson), **(overrides or {})})


def answered_with(lesson: str, variants: dict[str, str]) -> nbformat.NotebookNode:
    """The reference answers, with some answers replaced by variants written as cells
    (:func:`tests.support.notebooks.answer_cells`): the first cell replaces the answer cell, the
    others are inserted right after it, as cells the student added."""
    nb = answered(lesson)
    for answer, source in variants.items():
        index = next(i for i, c in enumerate(nb.cells) if nbs.nbgrader_meta(c).get("grade_id") == answer)
        first, *added = nbs.answer_cells(source)
        nb.cells[index].source = first
        nb.cells[index + 1:index + 1] = [nbformat.v4.new_code_cell(cell) for cell in added]
    return nb


def write_submissions(root: Path, lesson: str, entries: dict[str, object]) -> Path:
    """Write ``{student: notebook | bytes | None}`` as ``root/<student>/<lesson>/<lesson>.ipynb``.

    A notebook is written with nbformat, bytes are written as they are (corrupt files), and
    None makes the student's lesson folder without any notebook in it.
    """
    for student, content in entries.items():
        folder = root / student / lesson
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{lesson}.ipynb"
        if isinstance(content, bytes):
            target.write_bytes(content)
        elif content is not None:
            nbformat.write(content, target)
    return root


def digest_tree(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, to prove grading changed none of them."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}

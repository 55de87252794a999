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

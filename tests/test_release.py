"""lessons/ is exactly what `make lessons` generates from solutions/, and gives nothing away."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from grader.course import LESSONS, ROOT, SOLUTIONS, lesson_ids
from grader.release import release
from tests.support import notebooks as nbs


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True)


def _student_is_working_on(lesson: str) -> bool:
    """True when lessons/<lesson> has local edits but solutions/<lesson> has none (a student at work)."""
    if _git("rev-parse", "--verify", "-q", "HEAD").returncode != 0:
        return False
    lesson_changed = _git("diff", "--quiet", "HEAD", "--", f"lessons/{lesson}").returncode == 1
    source_changed = _git("diff", "--quiet", "HEAD", "--", f"solutions/{lesson}").returncode == 1
    return lesson_changed and not source_changed


def _committed_or_current(path: Path, lesson: str) -> bytes | None:
    if _student_is_working_on(lesson):
        shown = _git("show", f"HEAD:{path.relative_to(ROOT).as_posix()}")
        return shown.stdout if shown.returncode == 0 else None
    return path.read_bytes() if path.exists() else None


def _normalised(content: bytes, name: str):
    return json.loads(content) if name.endswith(".ipynb") else content


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    release(lesson_ids(), release_dir=out, db_url=f"sqlite:///{out / 'gradebook.db'}")
    return out


@pytest.mark.slow
@pytest.mark.parametrize("lesson", lesson_ids())
def test_lessons_folder_is_up_to_date(regenerated, lesson):
    fresh = {p.relative_to(regenerated / lesson) for p in (regenerated / lesson).rglob("*") if p.is_file()}
    current = {p.relative_to(LESSONS / lesson) for p in (LESSONS / lesson).rglob("*") if p.is_file()}
    if not _student_is_working_on(lesson):
        assert current == fresh, f"lessons/{lesson} has other files than the release: run `make lessons`"
    for rel in sorted(fresh):
        committed = _committed_or_current(LESSONS / lesson / rel, lesson)
        assert committed is not None, f"lessons/{lesson}/{rel} is missing: run `make lessons`"
        assert _normalised(committed, rel.name) == _normalised((regenerated / lesson / rel).read_bytes(), rel.name), \
            f"lessons/{lesson}/{rel} is stale: run `make lessons` and commit the result"


@pytest.mark.parametrize("lesson", lesson_ids())
def test_released_notebook_gives_no_answer_away(lesson):
    source = nbs.read(nbs.solution_path(lesson))
    released = nbs.read(nbs.release_path(lesson))
    text = json.dumps(released.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text, f"the student version of {lesson} contains {marker!r}"
    answers = {nbs.grade_id(c): c for c in released.cells if nbs.nbgrader_meta(c).get("solution")}
    for cell in source.cells:
        if nbs.nbgrader_meta(cell).get("solution"):
            stub = answers[nbs.grade_id(cell)].source
            assert "NotImplementedError" in stub or stub == "YOUR ANSWER HERE", nbs.grade_id(cell)
    assert not any(c.get("outputs") for c in released.cells), "outputs are cleared"


def test_every_lesson_folder_has_its_notebook():
    assert lesson_ids(), "at least one lesson"
    for lesson in lesson_ids():
        assert (SOLUTIONS / lesson / f"{lesson}.ipynb").exists()
        assert (LESSONS / lesson / f"{lesson}.ipynb").exists(), f"run `make lessons` to release {lesson}"

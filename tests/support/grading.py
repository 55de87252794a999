"""Grade a batch of scenario submissions through the grader's Python API, for tests."""
from __future__ import annotations

import os
from pathlib import Path

from grader.autograde import autograde
from grader.results import Row
from grader.sandbox import Sandbox
from tests.support.submissions import write_submissions

# Short limits so hostile scenarios (loops, bombs) finish quickly in tests. On a machine loaded by
# other work, DLCOURSE_TEST_TIME_SCALE (say 4) stretches the time limits instead of failing honest cells.
_SCALE = float(os.environ.get("DLCOURSE_TEST_TIME_SCALE", "1"))
TEST_LIMITS = dict(cell_timeout=8.0 * _SCALE, notebook_timeout=120.0 * _SCALE, memory_mb=1500, max_processes=64,
                   disk_mb=256, max_files=4000)


def short_limits(**overrides):
    return Sandbox().limits(**{**TEST_LIMITS, **overrides})


def by_student(rows: list[Row]) -> dict[str, list[Row]]:
    table: dict[str, list[Row]] = {}
    for row in rows:
        table.setdefault(row.student, []).append(row)
    return table


def total(rows: list[Row]) -> float:
    return sum(r.score for r in rows)


def grade_batch(root: Path, lesson: str, entries: dict[str, object], *, out: Path | None = None,
                **kwargs) -> dict[str, list[Row]]:
    """Write ``entries`` as submissions under ``root`` and grade them; rows grouped by student."""
    submissions = write_submissions(root / "submissions", lesson, entries)
    kwargs.setdefault("limits", short_limits())
    kwargs.setdefault("workers", 2)
    return by_student(autograde(lesson, submissions, out or root / "graded", **kwargs))

"""Grading results: one row per student, notebook and graded test cell, and the CSV they go to."""
from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, fields
from pathlib import Path

# What a row's status means; the message column says why in a sentence.
STATUSES = {
    "ok": "the test cell passed: full marks",
    "partial": "the test cell gave partial credit",
    "failed": "the test cell ran and a check failed",
    "error": "the notebook could not be run to the end (crash, dead kernel)",
    "invalid": "the file is not a gradable notebook of this lesson",
    "missing": "no notebook was submitted",
}


@dataclass(frozen=True)
class Row:
    """The result of one graded test cell of one student's notebook."""
    student: str
    lesson: str
    notebook: str
    exercise: str          # the test cell's nbgrader grade_id
    score: float
    max_score: float
    status: str            # a key of STATUSES
    message: str


COLUMNS = [f.name for f in fields(Row)]


def status_for(score: float, max_score: float) -> str:
    """``ok`` for full marks, ``failed`` for none, ``partial`` in between."""
    if score >= max_score:
        return "ok"
    return "failed" if score <= 0 else "partial"


def write_csv(rows: list[Row], path: Path) -> None:
    """Write ``rows`` to ``path`` with a header row, sorted by student, notebook and cell order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(asdict(row))


def read_csv(path: Path) -> list[Row]:
    """Read rows written by :func:`write_csv`."""
    with open(path, newline="", encoding="utf-8") as f:
        return [Row(**{**r, "score": float(r["score"]), "max_score": float(r["max_score"])})
                for r in csv.DictReader(f)]

"""Grading results: rows, their statuses, a transactional store, and the CSV written from it.

Every submission's rows are written in one SQLite transaction together with the digest of
what was graded; ``grades.csv`` is then rewritten from the store and swapped in whole. So a
grader killed in the middle of a batch loses only the submission it was working on, a second
run finishes the batch without a missing or duplicated row, and an unchanged submission is
recognised and skipped.

``grades.csv`` is safe to open in a spreadsheet: no field starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return (which a spreadsheet would run as a formula): such a field,
a student's folder name for instance, is written with a leading ``'`` (:func:`csv_safe`).
"""
from __future__ import annotations

import csv
import os
import sqlite3
from dataclasses import astuple, dataclass, fields
from pathlib import Path

# What a row's status means; the message column says why in a sentence.
STATUSES = {
    "ok": "the test cell passed: full marks",
    "failed": "the test cell ran and a check failed, or the code under test raised an error",
    "timeout": "the test cell, or the notebook, ran out of time",
    "error": "the kernel died or could not run the test cell (crash, memory limit), or the grader could not "
             "grade or write this submission (a full disk): the message says which",
    "tampered": "the submission interfered with grading or changed protected cells; see the message",
    "forbidden": "the answer calls a routine its exercise must not use (its 'Not allowed' line): 0 points",
    "invalid": "the file is not a gradable notebook of this lesson",
    "missing": "no notebook was submitted",
}
SANDBOXED = "bwrap"
UNSANDBOXED = "none (--no-sandbox)"


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
    sandbox: str = SANDBOXED


COLUMNS = [f.name for f in fields(Row)]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value):
    """A CSV field a spreadsheet shows as text: a string starting like a formula gets a leading ``'``."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def read_csv(path: Path) -> list[Row]:
    """Read rows written by :meth:`ResultStore.write_csv`."""
    with open(path, newline="", encoding="utf-8") as f:
        return [Row(**{**r, "score": float(r["score"]), "max_score": float(r["max_score"])})
                for r in csv.DictReader(f)]


class ResultStore:
    """The output folder's ``results.db``: rows per submission, and what was graded."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(path, isolation_level=None, timeout=60)
        self.db.executescript("""
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS rows (student TEXT, lesson TEXT, notebook TEXT, exercise TEXT,
                score REAL, max_score REAL, status TEXT, message TEXT, sandbox TEXT, position INTEGER,
                PRIMARY KEY (lesson, student, notebook, exercise));
            CREATE TABLE IF NOT EXISTS graded (lesson TEXT, student TEXT, notebook TEXT, digest TEXT,
                PRIMARY KEY (lesson, student, notebook));
        """)

    def digest(self, lesson: str, student: str, notebook: str) -> str | None:
        """The digest recorded when this submission was last graded, or None."""
        found = self.db.execute("SELECT digest FROM graded WHERE lesson=? AND student=? AND notebook=?",
                                (lesson, student, notebook)).fetchone()
        return found[0] if found else None

    def record(self, lesson: str, student: str, notebook: str, digest: str, rows: list[Row]) -> None:
        """Replace this submission's rows and digest, all in one transaction."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("DELETE FROM rows WHERE lesson=? AND student=? AND notebook=?", (lesson, student, notebook))
            self.db.executemany("INSERT INTO rows VALUES (?,?,?,?,?,?,?,?,?,?)",
                                [(*astuple(r), i) for i, r in enumerate(rows)])
            self.db.execute("INSERT OR REPLACE INTO graded VALUES (?,?,?,?)", (lesson, student, notebook, digest))

    def keep_only(self, lesson: str, students: set[str]) -> None:
        """Forget results of ``lesson`` for students no longer in the submissions folder."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            for table in ("rows", "graded"):
                stale = [s for (s,) in self.db.execute(f"SELECT DISTINCT student FROM {table} WHERE lesson=?", (lesson,))
                         if s not in students]
                self.db.executemany(f"DELETE FROM {table} WHERE lesson=? AND student=?", [(lesson, s) for s in stale])

    def rows(self, lesson: str | None = None, unrecorded: list[Row] = ()) -> list[Row]:
        """Every row (of one lesson), by lesson, student, notebook and cell order.

        ``unrecorded`` rows (that the store could not take) replace the stored rows of their
        submissions.
        """
        query = "SELECT student, lesson, notebook, exercise, score, max_score, status, message, sandbox FROM rows"
        args: tuple = ()
        if lesson:
            query, args = query + " WHERE lesson=?", (lesson,)
        stored = [Row(*r) for r in self.db.execute(query + " ORDER BY lesson, student, notebook, position", args)]
        if not unrecorded:
            return stored
        replaced = {(r.lesson, r.student, r.notebook) for r in unrecorded}
        kept = [r for r in stored if (r.lesson, r.student, r.notebook) not in replaced]
        extra = [r for r in unrecorded if lesson is None or r.lesson == lesson]
        return sorted(kept + extra, key=lambda r: (r.lesson, r.student, r.notebook))   # stable: cell order stays

    def write_csv(self, path: Path, unrecorded: list[Row] = ()) -> None:
        """Write every row (and ``unrecorded`` ones, see :meth:`rows`) to ``path`` atomically: a
        complete file or the previous one."""
        partial = path.with_name(f".{path.name}.part")
        try:
            # a student's folder name need not be UTF-8: escaped, never a reason to lose the class's file
            with open(partial, "w", newline="", encoding="utf-8", errors="backslashreplace") as f:
                writer = csv.writer(f)
                writer.writerow(COLUMNS)
                writer.writerows([csv_safe(v) for v in astuple(r)] for r in self.rows(None, unrecorded))
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def close(self) -> None:
        self.db.close()

"""The coordinator's cost per submission does not grow with the class: the benchmark's scaling
run at a small size, measured in database work (which the machine's load does not change)."""
from __future__ import annotations

import pytest

from grader.autograde import index_gradebook
from grader.bench import database_work, scaling


@pytest.mark.slow
def test_database_work_per_submission_stays_flat_as_the_batch_grows(tmp_path):
    small, large = scaling("02_cross_entropy", (2, 6), tmp_path, workers=2)
    assert small["statements"] > 0 and small["steps"] > 0, "the counter sees the gradebook and results.db"
    assert large["statements"] <= small["statements"] * 1.02, (small, large)
    # Without indexes each submission's lookups read every grade of the class: 6 submissions
    # then cost about 20 % more steps each than 2 do.
    assert large["steps"] <= small["steps"] * 1.06, (small, large)


def test_lookups_by_notebook_use_an_index_on_the_gradebook(tmp_path):
    import sqlite3

    path = tmp_path / "gradebook.db"
    with sqlite3.connect(path) as db:
        db.executescript("""CREATE TABLE submitted_notebook (id TEXT PRIMARY KEY);
            CREATE TABLE grade (id TEXT PRIMARY KEY, notebook_id TEXT REFERENCES submitted_notebook(id), score REAL);""")
        db.executemany("INSERT INTO grade VALUES (?, ?, 1)", [(str(i), str(i % 500)) for i in range(5000)])
    query = "SELECT SUM(score) FROM grade WHERE notebook_id = '7'"

    def steps() -> int:
        with database_work() as work, sqlite3.connect(path) as db:
            db.execute(query).fetchall()
        return work["steps"]

    before = steps()
    index_gradebook(path)
    index_gradebook(path)           # a second call changes nothing
    assert steps() * 20 < before, "a lookup by notebook reads its grades only, not the class's"

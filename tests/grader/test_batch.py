"""Batches: killed and resumed without losing or duplicating a row, skipping what is unchanged,
and the same results with one worker, several, or a Dask cluster."""
from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter

import pytest

from grader.course import ROOT
from tests.support.grading import by_student, grade_batch, short_limits
from tests.support.submissions import answered, released, write_submissions
from tests.grader.attacks import WRONG

LESSON = "02_cross_entropy"


def _cli(submissions, out, *extra):
    return [sys.executable, "-m", "grader", "autograde", LESSON, str(submissions), "--out", str(out),
            "--cell-timeout", "30", *extra]


def _recorded(out) -> int:
    try:
        with sqlite3.connect(out / "results.db", timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM graded").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_kill_nine_mid_batch_then_rerun_completes_without_missing_or_duplicate_rows(tmp_path):
    entries = {f"student_{i:02d}": (answered(LESSON) if i % 2 else released(LESSON)) for i in range(6)}
    submissions = write_submissions(tmp_path / "submissions", LESSON, entries)
    out = tmp_path / "graded"
    first = subprocess.Popen(_cli(submissions, out, "--workers", "1"), cwd=ROOT, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while _recorded(out) < 2 and time.time() < deadline and first.poll() is None:
        time.sleep(0.2)
    assert first.poll() is None, "the first run must still be busy when it is killed"
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    done_before = _recorded(out)
    assert 2 <= done_before < len(entries)

    second = subprocess.run(_cli(submissions, out, "--workers", "2"), cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("unchanged since it was graded, skipped") == done_before
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    keys = Counter((r["student"], r["exercise"]) for r in rows)
    assert len(keys) == len(entries) * 15 and set(keys.values()) == {1}, "no row missing, none duplicated"
    for r in rows:
        expected = "ok" if int(r["student"][-2:]) % 2 else "failed"
        assert r["status"] == expected, r


@pytest.mark.slow
def test_unchanged_submissions_are_skipped_unless_forced_and_changed_ones_regraded(tmp_path):
    entries = {"kept": answered(LESSON), "changed": released(LESSON)}
    first = grade_batch(tmp_path, LESSON, entries)
    assert sum(r.score for r in first["changed"]) == 0
    write_submissions(tmp_path / "submissions", LESSON, {"changed": answered(LESSON)})
    messages = []
    second = grade_batch(tmp_path, LESSON, {}, report=messages.append)
    assert any(m.startswith("kept: unchanged") for m in messages)
    assert not any(m.startswith("changed: unchanged") for m in messages)
    assert all(r.status == "ok" for r in second["changed"]), "the new version was graded"
    messages.clear()
    grade_batch(tmp_path, LESSON, {}, report=messages.append, force=True)
    assert not any("unchanged" in m for m in messages)


@pytest.fixture(scope="module")
def three_ways(tmp_path_factory):
    root = tmp_path_factory.mktemp("ways")
    entries = {"correct": answered(LESSON), "wrong": answered(LESSON, WRONG), "untouched": released(LESSON)}
    submissions = write_submissions(root / "submissions", LESSON, entries)
    from grader.autograde import autograde
    from distributed import LocalCluster

    results = {}
    results["one worker"] = autograde(LESSON, submissions, root / "one", limits=short_limits(), workers=1)
    results["two workers"] = autograde(LESSON, submissions, root / "two", limits=short_limits(), workers=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        results["dask"] = autograde(LESSON, submissions, root / "dask", limits=short_limits(), dask=cluster.scheduler_address)
    return results


@pytest.mark.slow
def test_same_results_with_one_worker_several_or_dask(three_ways):
    one = three_ways["one worker"]
    assert len(one) == 45 and by_student(one)["correct"][0].status == "ok"
    assert three_ways["two workers"] == one
    assert three_ways["dask"] == one

"""Batches: killed and resumed without losing or duplicating a row, skipping only what is really
unchanged, a full disk or a failure for one student never stopping the batch, and the same results
with one worker, several, or a Dask cluster."""
from __future__ import annotations

import csv
import errno
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from dlcourse.notebook import is_test_cell
from grader.course import ROOT
from tests.support.grading import by_student, grade_batch, short_limits
from tests.support.submissions import answered, released, write_submissions
from tests.grader.attacks import WRONG

LESSON = "02_cross_entropy"
ROWS = sum(map(is_test_cell, released(LESSON).cells))   # one row per test cell


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


HELPER_SOFTMAX = {"ex02_1_softmax_answer": "from helpers import softmax"}
RIGHT_HELPER = "import numpy as np\n\ndef softmax(z):\n    e = np.exp(z - z.max(axis=-1, keepdims=True))\n" \
               "    return e / e.sum(axis=-1, keepdims=True)\n"
WRONG_HELPER = "import numpy as np\n\ndef softmax(z):\n    e = np.exp(z)\n    return e / e.sum(axis=-1, keepdims=True)\n"


@pytest.mark.slow
def test_a_changed_helper_or_a_new_timestamp_alone_is_graded_again(tmp_path):
    """Skipping uses every file grading reads: the notebook, the files beside it, timestamp.txt."""
    entries = {"helper": answered(LESSON, HELPER_SOFTMAX), "stamped": answered(LESSON), "same": answered(LESSON)}
    submissions = write_submissions(tmp_path / "submissions", LESSON, entries)
    (submissions / "helper" / LESSON / "helpers.py").write_text(RIGHT_HELPER)
    (submissions / "stamped" / LESSON / "timestamp.txt").write_text("2026-11-20 10:00:00\n")
    first = grade_batch(tmp_path, LESSON, {})
    assert all(r.status == "ok" for r in first["helper"]), "the helper module is copied beside the notebook"
    (submissions / "helper" / LESSON / "helpers.py").write_text(WRONG_HELPER)
    (submissions / "stamped" / LESSON / "timestamp.txt").write_text("2026-11-22 10:00:00\n")
    messages = []
    second = grade_batch(tmp_path, LESSON, {}, report=messages.append)
    skipped = {m.split(":")[0] for m in messages if "unchanged since it was graded" in m}
    assert skipped == {"same"}, messages
    hidden = next(r for r in second["helper"] if r.exercise == "ex02_1_softmax_matches_reference")
    assert hidden.status == "failed", "the changed helper was graded, not its old score kept"
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{tmp_path / 'graded' / 'gradebook.db'}") as gb:
        stamp = gb.find_submission(LESSON, "stamped").timestamp
    assert stamp.day == 22, "the new timestamp reached nbgrader's gradebook"


def _refuse_for(student: str, real):
    def write(path, *args, **kwargs):
        if student in Path(path).parts:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, *args, **kwargs)
    return write


@pytest.mark.slow
def test_a_full_disk_for_one_student_never_stops_the_batch(tmp_path, monkeypatch):
    """Feedback, autograded notebook or result store failing for one student: rows for all, a CSV."""
    import grader.autograde
    from grader.results import ResultStore

    monkeypatch.setattr(grader.autograde, "write_text_atomically",
                        _refuse_for("no_feedback", grader.autograde.write_text_atomically))
    monkeypatch.setattr(grader.autograde, "_atomic_write", _refuse_for("no_notebook", grader.autograde._atomic_write))
    real_record = ResultStore.record

    def record(self, lesson, student, *args):
        if student == "no_store":
            raise sqlite3.OperationalError("database or disk is full")
        return real_record(self, lesson, student, *args)

    monkeypatch.setattr(ResultStore, "record", record)
    names = ("a_before", "no_feedback", "no_notebook", "no_store", "z_after")
    rows = grade_batch(tmp_path, LESSON, {name: answered(LESSON) for name in names})
    from grader.results import read_csv

    written = by_student(read_csv(tmp_path / "graded" / "grades.csv"))
    assert set(written) == set(names) and all(len(r) == ROWS for r in written.values()), "every student has rows"
    for name in ("a_before", "z_after", "no_store"):
        assert all(r.status == "ok" for r in written[name]), name
    for name in ("no_feedback", "no_notebook"):
        assert all(r.status == "error" and "could not write" in r.message and "No space left" in r.message
                   and "the verdict was: ok" in r.message for r in written[name]), written[name][0].message
    assert rows == written, "what autograde returns is what grades.csv holds"
    left = [p for p in (tmp_path / "graded").rglob("*.part")]
    assert not left, f"no partial file stays behind: {left}"
    monkeypatch.undo()
    messages = []
    grade_batch(tmp_path, LESSON, {}, report=messages.append)
    skipped = {m.split(":")[0] for m in messages if "unchanged since it was graded" in m}
    assert skipped == {"a_before", "z_after"}, "what was not written is graded again"


@pytest.mark.slow
def test_a_real_full_disk_leaves_every_row_and_the_csv(tmp_path):
    """The output folder on a 6 MB tmpfs; one student's outputs do not fit there."""
    if not shutil.which("unshare"):
        pytest.skip("needs unshare (util-linux) to mount a private tmpfs")
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            f"mount -t tmpfs -o size=1m tmpfs {tmp_path}"], capture_output=True)
    if probe.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {probe.stderr.decode().strip()}")
    big = answered(LESSON, {"ex02_1_softmax_answer": nbs_reference_softmax() + "\nprint('x' * 8_000_000)"})
    submissions = write_submissions(tmp_path / "submissions", LESSON,
                                    {"a_honest": answered(LESSON), "m_big_output": big, "z_honest": answered(LESSON)})
    out, kept = tmp_path / "out", tmp_path / "kept"
    out.mkdir()
    command = " ".join(_cli(submissions, out, "--workers", "1", "--max-output", "10000000"))
    script = (f'mount -t tmpfs -o size=6m tmpfs {out} && {command}; status=$?; '
              f'cp -a {out} {kept}; exit $status')
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    from grader.results import read_csv

    written = by_student(read_csv(kept / "grades.csv"))
    assert set(written) == {"a_honest", "m_big_output", "z_honest"} and all(len(r) == ROWS for r in written.values())
    assert all(r.status == "ok" for name in ("a_honest", "z_honest") for r in written[name])
    assert all(r.status == "error" and "No space left on device" in r.message for r in written["m_big_output"])
    assert (kept / "feedback" / "z_honest" / LESSON / f"{LESSON}.html").exists(), "the next student was written"
    assert not list(kept.rglob("*.part"))


def nbs_reference_softmax() -> str:
    from tests.support import notebooks as nbs

    return nbs.reference_answers(LESSON)["ex02_1_softmax_answer"]


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
    assert len(one) == 3 * ROWS and by_student(one)["correct"][0].status == "ok"
    assert three_ways["two workers"] == one
    assert three_ways["dask"] == one

"""Dask as a real cluster: a ``dask scheduler`` and two ``dask worker`` programs, one of them
killed in the middle of a batch; its submissions are graded by the other, nothing is lost and
nothing is duplicated, and the rows are those of a local run."""
from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from grader.course import ROOT
from tests.grader.attacks import WRONG
from tests.support.grading import TEST_LIMITS, short_limits
from tests.support.submissions import answered, released, write_submissions

LESSON = "02_cross_entropy"
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(argv: list[str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"})


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture()
def cluster(tmp_path):
    """``(address, [worker processes])``: a scheduler and two single-thread workers without nannies
    (a nanny would restart a killed worker), each a program of its own."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    scheduler = _start([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                        "--no-dashboard"], tmp_path / "scheduler.log")
    workers = []
    try:
        from distributed import Client

        workers = [_start([str(BIN / "dask"), "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                           "--name", f"w{i}", "--local-directory", str(tmp_path / f"w{i}")], tmp_path / f"w{i}.log")
                   for i in range(2)]
        deadline = time.monotonic() + 120
        with Client(address, timeout=120) as client:
            while len(client.scheduler_info()["workers"]) < 2:
                assert time.monotonic() < deadline, (tmp_path / "w0.log").read_text()[-2000:]
                time.sleep(0.5)
        yield address, workers
    finally:
        for process in [*workers, scheduler]:
            _stop(process)


def _recorded(out: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(out / "results.db", timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM graded").fetchone()[0]
    except sqlite3.Error:
        return 0


def _busy_worker_pid(address: str) -> int | None:
    """The pid of a worker running a grading task right now, or None."""
    from distributed import Client

    with Client(address, timeout=30) as client:
        processing = client.processing()
        pids = client.run(os.getpid)
    return next((pids[worker] for worker, keys in processing.items() if keys and worker in pids), None)


@pytest.mark.slow
def test_a_batch_on_a_dask_cluster_survives_a_killed_worker(tmp_path, cluster):
    address, workers = cluster
    entries = {f"s{i}": answered(LESSON) if i % 3 == 0 else answered(LESSON, WRONG) if i % 3 == 1
               else released(LESSON) for i in range(8)}
    submissions = write_submissions(tmp_path / "submissions", LESSON, entries)
    from grader.autograde import autograde

    local = autograde(LESSON, submissions, tmp_path / "local", limits=short_limits(), workers=2)

    out = tmp_path / "dask"
    shutil.copytree(tmp_path / "local" / "reference", out / "reference")    # the reference is run once
    limits = [f"--{flag.replace('_', '-')}={TEST_LIMITS[key]}" for flag, key in
              (("cell_timeout", "cell_timeout"), ("notebook_timeout", "notebook_timeout"), ("memory", "memory_mb"),
               ("max_processes", "max_processes"), ("disk", "disk_mb"), ("max_files", "max_files"))]
    coordinator = subprocess.Popen([sys.executable, "-m", "grader", "autograde", LESSON, str(submissions),
                                    "--out", str(out), "--dask", address, *limits],
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killed = None
    deadline = time.monotonic() + 600
    while killed is None and coordinator.poll() is None and time.monotonic() < deadline:
        if _recorded(out) >= 1:
            pid = _busy_worker_pid(address)
            victim = next((w for w in workers if w.pid == pid), None)
            if victim is not None:
                os.killpg(victim.pid, signal.SIGKILL)   # the worker and the sandboxes it runs
                victim.wait()
                killed = victim
                done_when_killed = _recorded(out)
        time.sleep(0.2)
    output, _ = coordinator.communicate(timeout=900)
    assert killed is not None, f"no worker was caught in the middle of a submission:\n{output[-3000:]}"
    assert done_when_killed < len(entries), "the worker was killed before the batch ended"
    assert coordinator.returncode == 0, output[-3000:]

    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    keys = Counter((r["student"], r["exercise"]) for r in rows)
    assert set(keys.values()) == {1} and len(keys) == len(local), "no row lost, none duplicated"
    graded = Counter(line.split(":")[0] for line in output.splitlines() if "(its cells" in line)
    assert graded == Counter(list(entries)), f"every submission graded once:\n{output[-3000:]}"
    from grader.results import read_csv

    assert read_csv(out / "grades.csv") == local, "the same rows as a local run"

"""The sandbox: what student code can see and do, and that nothing of it survives the run."""
from __future__ import annotations

import json

import nbformat
import pytest

import grader.sandbox
from grader.course import ROOT, CourseError
from grader.execute import ExecutionJob, run_job
from grader.processes import processes_of
from grader.sandbox import Limits, Sandbox, require_sandbox
from tests.support.grading import short_limits

PROBE = r"""
import json, os, socket
def can_connect(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False
def can_write(path):
    try:
        open(path, "w").write("x")
        return True
    except OSError:
        return False
print(json.dumps({
    "uid": os.getuid(),
    "repo": sorted(os.listdir(REPO)) if os.path.isdir(REPO) else None,
    "solutions": os.path.exists(os.path.join(REPO, "solutions")),
    "grader": os.path.exists(os.path.join(REPO, "grader")),
    "cwd_files": sorted(os.listdir(".")),
    "internet": can_connect("1.1.1.1", 80),
    "host_loopback_ssh": can_connect("127.0.0.1", 22),
    "write_cwd": can_write("mine.txt"),
    "write_tmp": can_write("/tmp/mine.txt"),
    "write_dlcourse": can_write(os.path.join(REPO, "dlcourse", "evil.py")),
    "write_etc": can_write("/etc/evil"),
    "env": sorted(os.environ),
}))
"""


def _run(source: str, limits: Limits, files=None):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    return run_job(ExecutionJob("probe", json.loads(json.dumps(nb)), [0], [], files or {}, limits))


def _printed(result) -> dict:
    cell = result.cells[0]
    assert cell.status == "ok", (cell.error, result.notes)
    return json.loads("".join(o["text"] for o in cell.outputs if o.get("name") == "stdout"))


@pytest.fixture(scope="module")
def seen():
    return _printed(_run(f"REPO = {str(ROOT)!r}\n" + PROBE, short_limits(), {"data.xlsx": b"123"}))


def test_student_code_sees_only_its_copy_and_the_course_package(seen):
    assert seen["solutions"] is False and seen["grader"] is False
    assert "dlcourse" in seen["repo"] and set(seen["repo"]) <= {"dlcourse", "data", ".venv"}
    assert seen["cwd_files"] == ["data.xlsx"], "a private copy of the submission's files, nothing else"


def test_student_code_has_no_network_and_runs_as_its_own_user(seen):
    assert seen["internet"] is False and seen["host_loopback_ssh"] is False
    assert seen["uid"] in grader.sandbox.UID_RANGE


def test_student_code_writes_only_its_own_folders(seen):
    assert seen["write_cwd"] and seen["write_tmp"]
    assert not seen["write_dlcourse"] and not seen["write_etc"]


def test_the_grader_environment_does_not_leak_in(seen):
    assert "NBGRADER_EXECUTION" not in seen["env"] and "COURSE_GRADER" not in seen["env"]
    assert not any(name.startswith(("PYTEST", "SSH_", "CI")) for name in seen["env"])


def test_every_process_is_gone_when_the_run_ends():
    code = "import os, time\nfor _ in range(3):\n    if os.fork() == 0:\n        time.sleep(600)\nprint(os.getuid())"
    result = _run(code, short_limits())
    uid = int(result.cells[0].outputs[0]["text"].split()[-1])
    assert processes_of(uid) == []


def test_unsandboxed_runs_are_possible_but_unconfined():
    probe = f"import json, os\nprint(json.dumps({{'solutions': os.path.exists({str(ROOT / 'solutions')!r})}}))"
    assert _printed(_run(probe, short_limits(sandbox=False)))["solutions"] is True, "without bubblewrap nothing is hidden"


def test_grading_refuses_to_run_unconfined_without_being_asked(monkeypatch):
    monkeypatch.setattr(grader.sandbox, "bwrap_path", lambda: None)
    with pytest.raises(CourseError, match="apt install bubblewrap.*--no-sandbox"):
        require_sandbox(short_limits())
    require_sandbox(short_limits(sandbox=False))


def test_limits_come_from_the_config_and_flags_override_them():
    from traitlets.config import Config

    config = Config()
    config.Sandbox.cell_timeout = 12.5
    limits = Sandbox(config=config).limits(memory_mb=999, notebook_timeout=None)
    assert limits.cell_timeout == 12.5 and limits.memory_mb == 999 and limits.notebook_timeout == 600.0
    from grader.cli import parser

    args = parser().parse_args(["autograde", "02_cross_entropy", "subs", "--cell-timeout", "3", "--no-sandbox",
                                "--workers", "3", "--max-processes", "9", "--disk", "64", "--max-files", "500"])
    assert (args.cell_timeout, args.no_sandbox, args.workers, args.max_processes) == (3.0, True, 3, 9)
    assert (args.disk, args.max_files) == (64, 500)
    config.Sandbox.disk_mb = 77
    assert Sandbox(config=config).limits(max_files=12).disk_mb == 77
    assert Sandbox(config=config).limits(max_files=12).max_files == 12

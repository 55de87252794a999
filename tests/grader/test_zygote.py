"""Kernels forked from the zygote: nothing of one student reaches the next, and each kernel is
confined and seeded like a freshly started one."""
from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat

from grader import sandbox
from grader.execute import ExecutionJob, run_job
from grader.sandbox import kernel_env, zygote_for
from tests.support.grading import short_limits

TAMPER = r"""
import builtins, json, os, sys
import numpy as np, torch, dlcourse.observe
torch.tensor = lambda *args, **kwargs: "tampered"
np.mean = lambda *args, **kwargs: -1.0
dlcourse.observe.observe = None
sys.modules["json"] = "tampered"
builtins.planted = "from A"
sys.path.insert(0, "/tmp")
for folder in (os.path.expanduser("~"), "/tmp", "/dev/shm", "."):
    open(os.path.join(folder, "planted.txt"), "w").write("A")
print("tampered", torch.tensor([1]), np.mean([1, 2]))
"""

LOOK = r"""
preimported = "torch" in sys.modules
import builtins, json, os
import numpy as np, torch, dlcourse.observe
print(json.dumps({
    "preimported": preimported,
    "tensor": str(torch.tensor([1.0, 2.0]).sum().item()),
    "mean": float(np.mean([1.0, 2.0])),
    "observe": callable(dlcourse.observe.observe),
    "json_module": type(sys.modules["json"]).__name__,
    "planted_builtin": hasattr(builtins, "planted"),
    "planted_global": "tampered_global" in globals(),
    "tmp_in_path": "/tmp" in sys.path,
    "files": [p for p in (os.path.expanduser("~/planted.txt"), "/tmp/planted.txt", "/dev/shm/planted.txt",
                          "planted.txt") if os.path.exists(p)],
}))
"""

FACTS = r"""
import json, os, numpy as np, torch
status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\t" in line)
print(json.dumps({
    "uid": os.getuid(), "pid": os.getpid(), "caps": status["CapEff"].strip(),
    "seccomp": status["Seccomp"].strip(), "no_new_privs": status["NoNewPrivs"].strip(),
    "numpy": float(np.random.rand()), "torch_seed": torch.initial_seed(), "cwd": os.getcwd(),
    "threads": torch.get_num_threads(),
}))
"""


def _job(key: str, sources: list[str], **limits) -> ExecutionJob:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    return ExecutionJob(key, json.loads(json.dumps(nb)), list(range(len(sources))), [], {},
                        short_limits(**limits))


def _printed(result, index: int = -1) -> dict:
    cell = result.cells[sorted(result.cells)[index]]
    assert cell.status == "ok", (cell.error, result.notes)
    return json.loads("".join(o["text"] for o in cell.outputs if o.get("name") == "stdout"))


def test_what_one_submission_changes_in_the_preimported_state_never_reaches_the_next():
    a = run_job(_job("a", ["import sys\ntampered_global = 1", TAMPER]))
    assert a.cells[1].status == "ok" and "tampered tampered -1.0" in a.cells[1].outputs[0]["text"], a.cells[1]
    b = _printed(run_job(_job("b", ["import sys", LOOK])))
    assert b == {"preimported": True, "tensor": "3.0", "mean": 1.5, "observe": True, "json_module": "module",
                 "planted_builtin": False, "planted_global": False, "tmp_in_path": False, "files": []}


def test_a_forked_kernel_is_confined_and_seeded_like_a_fresh_one():
    first, second = (_printed(run_job(_job(key, [FACTS]))) for key in ("one", "two"))
    for facts in (first, second):
        assert facts["uid"] in sandbox.UID_RANGE and facts["caps"] == "0000000000000000"
        assert facts["seccomp"] == "2" and facts["no_new_privs"] == "1"
        assert facts["pid"] < 10 and facts["cwd"] == str(sandbox.WORK_IN)     # its own PID namespace
    assert first["numpy"] != second["numpy"] and first["torch_seed"] != second["torch_seed"]
    assert first["threads"] == 1 and _printed(run_job(_job("two", [FACTS], threads=2)))["threads"] == 2


def test_a_forked_kernel_that_dies_is_restarted_with_its_definitions():
    result = run_job(_job("dies", ["x = 41", "import os; os._exit(3)", "print(x + 1)"]))
    assert result.cells[1].status == "died" and result.kernel_starts == 2
    assert result.cells[2].status == "ok" and result.cells[2].outputs[0]["text"] == "42\n"


def test_the_zygote_holds_only_the_kernels_environment_and_its_socket(monkeypatch):
    limits = short_limits()
    zygote = zygote_for(limits)
    assert zygote is not None
    pid = zygote.process.pid
    names = {entry.split("=", 1)[0] for entry in Path(f"/proc/{pid}/environ").read_text().split("\0") if entry}
    assert names <= set(kernel_env(limits, Path("/nowhere"))) | {"MPLCONFIGDIR", "OPENBLAS_NUM_THREADS"}
    fds = {int(fd): os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    assert [target for fd, target in fds.items() if fd > 2] == [fds[max(fds)]] and "socket:" in fds[max(fds)]


def test_a_dead_zygote_is_replaced_and_kernels_can_still_start_fresh():
    zygote = zygote_for(short_limits())
    zygote.process.kill()
    zygote.process.wait()
    assert _printed(run_job(_job("after", ["import sys", LOOK])))["preimported"] is True
    assert zygote_for(short_limits()) is not zygote
    fresh = _printed(run_job(_job("fresh", ["import sys", LOOK], preimported=False)))
    assert fresh["preimported"] is False and fresh["mean"] == 1.5

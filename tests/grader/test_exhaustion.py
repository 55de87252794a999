"""One submission cannot exhaust the host or reach past its sandbox.

Memory no process maps (memfd, /tmp, /dev/shm) is charged to the sandbox's control group; no
new user namespace can be made inside; what it writes is bounded in bytes and files; the
cleanup survives anything it left; the grader never connects to a path it could change; and
what the grader accepts from a kernel is bounded before it is read. Each attack gains
nothing, and the cells after it still run. The figures (before and after) come from
``python -m grader.bench --exhaustion``, which these tests share their attacks with.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil

import nbformat
import pytest

import grader.sandbox as sandbox
from dlcourse.checks import type_signature
from dlcourse.observe import encode
from dlcourse.policy import POLICY_SITE
from grader.bench import HOG_LOOP, HOG_MB, HOGS, display_message, grader_cost
from grader.execute import CellRun, ExecutionJob, _execute_cell, _Kernel, run_job
from grader.judge import judge
from grader.lesson import TestCell
from grader.rewrite import rewrite_test_cell
from grader.cgroups import CgroupLayout, ControlGroup, cgroup_layout, machine_cgroup_layout
from grader.processes import resident_mb
from grader.sandbox import FALLBACK_ENV, RUN_IN, confined, remove_tree
from tests.support.grading import short_limits

HAS_CGROUPS = machine_cgroup_layout() is not None
needs_cgroups = pytest.mark.skipif(not HAS_CGROUPS, reason="this machine cannot make control groups")


def _job(sources, limits, tests=(), max_reports=None, max_report_bytes=None):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    return ExecutionJob("exhaustion", json.loads(json.dumps(nb)), list(range(len(sources))), list(tests),
                        limits=limits, max_reports=max_reports or {}, max_report_bytes=max_report_bytes or {})


def _printed(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


def _held(cell) -> int:
    found = [int(line.split()[1]) for line in _printed(cell).splitlines() if line.startswith("held ")]
    return max(found, default=0)


@pytest.fixture
def fallback(monkeypatch):
    """A machine on which no control group and no tmpfs can be made."""
    monkeypatch.setenv(FALLBACK_ENV, "1")
    monkeypatch.setattr(sandbox, "_said", set())


@pytest.fixture
def made_folders(monkeypatch):
    """The host folders of every sandbox made during the test."""
    made = []
    create = sandbox.SandboxFolder.create.__func__

    def recording(cls, *args, **kwargs):
        folder = create(cls, *args, **kwargs)
        made.append(folder)
        return folder
    monkeypatch.setattr(sandbox.SandboxFolder, "create", classmethod(recording))
    return made


# --- memory ---------------------------------------------------------------------------------

@needs_cgroups
@pytest.mark.parametrize("hog", ["memfd", "sandbox /tmp", "/dev/shm"])
def test_memory_no_process_maps_counts_against_the_limit(hog):
    limits = short_limits(memory_mb=600, disk_mb=4096)
    hogging = HOG_LOOP.format(mb=HOG_MB, ceiling=3 * 600, setup=HOGS[hog])
    result = run_job(_job([hogging, "print('after')"], limits))
    cell = result.cells[0]
    assert cell.status == "memory" and "used more than 600 MB" in cell.error, (cell.status, cell.error, result.notes)
    assert _held(cell) <= 600, f"{hog}: held {_held(cell)} MB under a 600 MB limit"
    assert result.cells[1].status == "ok" and _printed(result.cells[1]) == "after\n", "the kernel was restarted"


@needs_cgroups
def test_the_control_group_charges_what_the_old_watchdog_missed():
    limits = short_limits(memory_mb=1000)
    hold = "import os\nfds = [os.memfd_create(f'h{i}') for i in range(5)]\nfor fd in fds:\n    os.write(fd, b'x' * (64 << 20))"

    async def held(confinement):
        kernel = _Kernel(confinement)
        await kernel.start()
        try:
            before = confinement.cgroup.usage_mb(), resident_mb(confinement.uid, None)
            run = CellRun(0)
            await _execute_cell(kernel, hold, run, False, 60)
            assert run.status == "ok", run.error
            return before, (confinement.cgroup.usage_mb(), resident_mb(confinement.uid, None))
        finally:
            await kernel.kill()

    with confined(limits, {}) as confinement:
        assert confinement.cgroup is not None and confinement.folder.mounted
        (before, pss_before), (after, pss_after) = asyncio.run(held(confinement))
    print(f"320 MB of memfd: control group {before:.0f} -> {after:.0f} MB; "
          f"the processes' PSS {pss_before:.0f} -> {pss_after:.0f} MB")
    assert after - before >= 300, "the control group charged the memfd pages"
    # (a kernel forked from the zygote shares its pages, which its PSS counts in part and the group does not)
    assert (after - before) - (pss_after - pss_before) >= 250, "summing the processes' memory misses them"


def test_without_control_groups_the_older_limits_hold_and_it_is_said_once(fallback, caplog, made_folders):
    limits = short_limits(memory_mb=600)
    bomb = "import time\nblocks = []\nwhile True:\n    blocks.append(bytearray(16 << 20))\n    time.sleep(0.02)"
    with caplog.at_level(logging.WARNING, logger="grader.sandbox"):
        first = run_job(_job([bomb, "print('after')"], limits))
        second = run_job(_job(["print('again')"], limits))
    bombed = first.cells[0]
    assert bombed.status == "memory" or "MemoryError" in bombed.error, (bombed.status, bombed.error)  # watchdog or rlimit
    assert first.cells[1].status == "ok", first.notes
    assert second.cells[0].status == "ok"
    said = [r.getMessage() for r in caplog.records]
    assert sum("no control group" in m for m in said) == 1 and sum("plain folders" in m for m in said) == 1, said
    assert not any(folder.mounted for folder in made_folders)
    with confined(limits, {}) as confinement:
        argv = confinement.argv(3, 4)
    assert confinement.cgroup is None and any(a.startswith("--as=") for a in argv), "prlimit bounds the address space"


def test_cgroup_v2_layout_and_limits_on_a_fake_hierarchy(tmp_path):
    root = tmp_path / "cgroup2"
    (root / "dlcourse-sandboxes").mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text("memory\n")
    (root / "dlcourse-sandboxes" / "cgroup.subtree_control").write_text("")
    mountinfo = f"30 23 0:26 / {root} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
    layout = cgroup_layout(mountinfo, "0::/user.slice/user-0.slice/session-1.scope\n")
    assert layout.version == 2 and layout.parents == {"unified": root / "dlcourse-sandboxes"}
    group = ControlGroup.create("dlcourse-61000-1", short_limits(memory_mb=700, max_processes=33, cpu_weight=50), layout)
    folder = root / "dlcourse-sandboxes" / "dlcourse-61000-1"
    assert group.folders == {"unified": folder}
    values = {name: (folder / name).read_text() for name in ("memory.max", "memory.swap.max", "pids.max", "cpu.weight")}
    assert values == {"memory.max": str(700 << 20), "memory.swap.max": "0", "pids.max": "33", "cpu.weight": "50"}
    assert (root / "cgroup.subtree_control").read_text() == "+cpu +pids"
    assert (root / "dlcourse-sandboxes" / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"
    assert group.join_argv()[-1] == str(folder / "cgroup.procs")


def test_cgroup_v1_layout_and_limits_on_a_fake_hierarchy(tmp_path):
    mounts = {c: tmp_path / c for c in ("memory", "pids", "cpu", "unified")}
    mountinfo = "".join(f"{30 + i} 23 0:{40 + i} / {path} rw - {'cgroup2' if c == 'unified' else 'cgroup'} cgroup rw,{c}\n"
                        for i, (c, path) in enumerate(mounts.items()))
    (mounts["unified"]).mkdir()
    (mounts["unified"] / "cgroup.controllers").write_text("")       # a hybrid machine: no v2 controllers
    (mounts["memory"] / "grader").mkdir(parents=True)
    for c in ("pids", "cpu"):
        mounts[c].mkdir()
    layout = cgroup_layout(mountinfo, "5:pids:/\n4:memory:/grader\n1:cpu:/\n0::/\n")
    assert layout == CgroupLayout(1, {"memory": mounts["memory"] / "grader", "pids": mounts["pids"],
                                              "cpu": mounts["cpu"]})
    ControlGroup.create("sandbox", short_limits(memory_mb=700, max_processes=33, cpu_weight=50), layout)
    assert (mounts["memory"] / "grader" / "sandbox" / "memory.limit_in_bytes").read_text() == str(700 << 20)
    assert (mounts["memory"] / "grader" / "sandbox" / "memory.memsw.limit_in_bytes").read_text() == str(700 << 20)
    assert (mounts["pids"] / "sandbox" / "pids.max").read_text() == "33"
    assert (mounts["cpu"] / "sandbox" / "cpu.shares").read_text() == "512"
    assert cgroup_layout(mountinfo.replace("rw,pids", "rw,freezer"), "4:memory:/grader\n") is None, "no pids controller"


@needs_cgroups
def test_the_control_group_and_the_disk_are_gone_after_the_run(made_folders):
    groups = []
    create = ControlGroup.create.__func__

    def recording(cls, *args):
        groups.append(create(cls, *args))
        return groups[-1]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ControlGroup, "create", classmethod(recording))
        result = run_job(_job(["import os\nif os.fork() == 0:\n    import time; time.sleep(600)", "print(1)"],
                              short_limits()))
    assert result.cells[1].status == "ok"
    assert groups and not any(folder.exists() for folder in groups[0].folders.values())
    mounts = open("/proc/self/mountinfo").read()
    assert made_folders and all(str(f.root) not in mounts and not f.root.exists() for f in made_folders)


# --- processes, threads and time -----------------------------------------------------------

TASKS_PROBE = r"""
import json, os, threading, time
release = threading.Event()
threads = []
try:
    while len(threads) < 1000:
        thread = threading.Thread(target=release.wait, daemon=True)
        thread.start()
        threads.append(thread)
except RuntimeError:
    pass
release.set()
for thread in threads:
    thread.join()
children, refused = [], None
try:
    while len(children) < 1000:
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        children.append(pid)
except OSError as error:
    refused = error.errno
for pid in children:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
print(json.dumps({"threads": len(threads), "children": len(children), "refused": refused}))
"""


@pytest.mark.parametrize("mode", ["cgroup", "fallback"])
def test_threads_and_processes_are_bounded_together(mode, monkeypatch):
    if mode == "fallback":
        monkeypatch.setenv(FALLBACK_ENV, "1")
    result = run_job(_job([TASKS_PROBE, "print('after')"], short_limits(max_processes=40, cell_timeout=120)))
    assert result.cells[0].status == "ok", (result.cells[0].error, result.notes)
    seen = json.loads(_printed(result.cells[0]))
    # The kernel's own threads count too: neither threads nor forked children reach the limit.
    assert 0 < seen["threads"] < 40 and 0 < seen["children"] < 40 and seen["refused"] == 11, seen  # EAGAIN
    assert _printed(result.cells[1]) == "after\n", "the kernel goes on once they are gone"


def test_the_notebook_timeout_bounds_the_wall_clock_whatever_the_cells_do():
    """A cell that sleeps, ignoring the interrupt, under a cell limit of an hour: the notebook's
    limit stops it, and the cells after it are not run."""
    sleeper = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(3600)"
    limits = short_limits(cell_timeout=3600, notebook_timeout=20)
    result = run_job(_job(["x = 1", sleeper, "print('never')"], limits))
    statuses = [c.status for c in result.cells.values()]
    assert statuses == ["ok", "timeout", "timeout"], (statuses, result.notes)
    assert "ignored the interrupt" in result.cells[1].error
    assert result.cells[2].error == "the notebook ran longer than 20 s" and not result.cells[2].outputs
    assert result.seconds < 20 + 3 + 15, f"{result.seconds:.1f} s: the deadline, the interrupt's grace and the kill"


# --- user namespaces ------------------------------------------------------------------------

USERNS_PROBE = r"""
import ctypes, json, os, subprocess, threading
libc = ctypes.CDLL(None, use_errno=True)
refused = libc.unshare(0x10000000) != 0 and ctypes.get_errno()
done = subprocess.run(["unshare", "-Urm", "sh", "-c", "mount -t tmpfs -o size=8g none /tmp && echo mounted"],
                      capture_output=True, text=True)
pid = os.fork()
if pid == 0:
    os._exit(7)
forked = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
box = []
thread = threading.Thread(target=box.append, args=(1,))
thread.start(); thread.join()
print(json.dumps({"unshare_errno": refused, "unshare_cmd": done.returncode, "mounted": "mounted" in done.stdout,
                  "forked": forked, "thread": box}))
"""


@pytest.mark.parametrize("mode", ["cgroup", "fallback"])
def test_no_new_user_namespace_inside_the_sandbox(mode, monkeypatch):
    if mode == "fallback":
        monkeypatch.setenv(FALLBACK_ENV, "1")
    cell = run_job(_job([USERNS_PROBE], short_limits())).cells[0]
    assert cell.status == "ok", cell.error
    seen = json.loads(_printed(cell))
    assert seen["unshare_errno"] == 1 and seen["unshare_cmd"] != 0 and not seen["mounted"], seen  # EPERM
    assert seen["forked"] == 7 and seen["thread"] == [1], "processes and threads still work"


# --- disk and files -------------------------------------------------------------------------

DISK_PROBE = """
import json, os
written, files, errors = 0, 0, []
try:
    while written < 1024:
        with open(f"big{written}", "wb") as f:
            f.write(b"x" * (8 << 20))
        written += 8
except OSError as error:
    errors.append(error.errno)
os.makedirs("/tmp/many", exist_ok=True)
try:
    while files < 100_000:
        open(f"/tmp/many/{files}", "w").close()
        files += 1
except OSError as error:
    errors.append(error.errno)
print(json.dumps({"mb": written, "files": files, "errors": errors}))
"""


@needs_cgroups
def test_what_a_submission_writes_is_bounded_in_bytes_and_files():
    limits = short_limits(disk_mb=64, max_files=500)
    result = run_job(_job([DISK_PROBE, "import os\nprint(len(os.listdir()))"], limits))
    assert result.cells[0].status == "ok", result.cells[0].error
    seen = json.loads(_printed(result.cells[0]))
    assert seen["mb"] <= 64 and seen["files"] <= 500 and seen["errors"] == [28, 28], seen  # ENOSPC twice
    assert result.cells[1].status == "ok" and int(_printed(result.cells[1])) >= 1, "the kernel goes on"
    with confined(limits, {}) as confinement:
        disk = os.statvfs(confinement.folder.disk)
    assert disk.f_blocks * disk.f_frsize == 64 << 20 and disk.f_files == 500


def test_without_a_tmpfs_files_are_still_limited_in_size(fallback):
    big = "open('big', 'wb').write(b'x' * (40 << 20))"
    cell = run_job(_job([big], short_limits(file_size_mb=16))).cells[0]
    assert cell.status == "error" and "File too large" in cell.error


# --- cleanup --------------------------------------------------------------------------------

def _nest(root, depth: int) -> None:
    """``root/d/d/d/...`` ``depth`` deep, made with folder descriptors (the path is longer than PATH_MAX)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        below = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = below
    open("leaf", "w", opener=lambda name, flags: os.open(name, flags, dir_fd=fd)).close()
    os.close(fd)


def test_remove_tree_deletes_what_rmtree_cannot(tmp_path):
    outside = tmp_path / "keep.txt"
    outside.write_text("not the sandbox's")
    tree = tmp_path / "tree"
    tree.mkdir()
    _nest(tree, 3000)
    (tree / "link").symlink_to(outside)
    (tree / "dirlink").symlink_to(tmp_path)
    (tree / "locked").mkdir()
    (tree / "locked" / "x").write_text("x")
    os.chmod(tree / "locked", 0)
    try:
        with pytest.raises(RecursionError):
            shutil.rmtree(tree)
    finally:    # what rmtree left would stop pytest's own cleanup of its temporary folders
        assert remove_tree(tree) and not tree.exists()
    assert outside.read_text() == "not the sandbox's", "links are removed, never followed"
    assert remove_tree(tmp_path / "nothing-here")


@pytest.mark.parametrize("mode", ["cgroup", "fallback"])
def test_a_deeply_nested_folder_costs_no_result_and_leaves_nothing(mode, monkeypatch, made_folders):
    if mode == "fallback":
        monkeypatch.setenv(FALLBACK_ENV, "1")
    nest = ("import os\nfd = os.open('.', os.O_RDONLY)\nfor _ in range(5000):\n    os.mkdir('d', dir_fd=fd)\n"
            "    fd = os.open('d', os.O_RDONLY, dir_fd=fd)\nprint('nested')")
    result = run_job(_job([nest, "print('after')"], short_limits(max_files=20_000)))
    assert [c.status for c in result.cells.values()] == ["ok", "ok"], result.notes
    assert made_folders and not made_folders[0].root.exists() and not result.notes


def test_a_failed_cleanup_is_noted_and_changes_no_result(monkeypatch):
    monkeypatch.setattr(sandbox, "remove_tree", lambda path: False)
    result = run_job(_job(["print('fine')"], short_limits()))
    assert result.cells[0].status == "ok" and _printed(result.cells[0]) == "fine\n"
    assert any("could not delete" in note for note in result.notes)


# --- the kernel's sockets -------------------------------------------------------------------

SWAP_SOCKETS = """
import os
TOKEN = "kept in the attacker's own kernel"
for name in os.listdir({run!r}):
    path = os.path.join({run!r}, name)
    if name.startswith("kernel-"):
        os.unlink(path)
        os.symlink({decoy!r}, path)
print(sorted(os.listdir({run!r})))
"""


def test_swapped_sockets_never_lead_the_grader_elsewhere(tmp_path):
    import zmq

    context = zmq.Context()
    decoy = context.socket(zmq.ROUTER)
    decoy.bind(f"ipc://{tmp_path / 'decoy'}")
    monitor = decoy.get_monitor_socket()
    swap = SWAP_SOCKETS.format(run=str(RUN_IN), decoy=str(tmp_path / "decoy"))
    reconnect = "get_ipython().kernel.iopub_socket.close()   # whoever listened must reconnect, by path"
    result = run_job(_job([swap, "print(TOKEN)", reconnect, "print('restarted')"], short_limits()))
    statuses = [c.status for c in result.cells.values()]
    assert statuses == ["ok", "ok", "timeout", "ok"], (statuses, result.notes)
    assert "kernel-1" in _printed(result.cells[0])
    assert _printed(result.cells[1]) == "kept in the attacker's own kernel\n", "the grader still talks to that kernel"
    events = []
    while monitor.poll(200):
        events.append(zmq.utils.monitor.recv_monitor_message(monitor)["event"])
    assert zmq.EVENT_ACCEPTED not in events, "nothing connected to the decoy"
    assert (tmp_path / "decoy").exists(), "cleanup removed the links, not what they point to"
    decoy.disable_monitor()
    context.destroy(linger=0)


# --- what the grader accepts ----------------------------------------------------------------

FORGED_ON_THE_CHANNEL = r"""
import gc, json, socket, struct
from dlcourse.relay import pack
channel = next(s for s in gc.get_objects() if isinstance(s, socket.socket) and s.fileno() >= 0 and s.family == socket.AF_UNIX
               and s.type == socket.SOCK_STREAM)        # the relay's end of the grader's channel
channel = socket.socket(fileno=channel.fileno())
parent = get_ipython().kernel.get_parent()["header"]
header = json.dumps({"msg_type": "stream", "msg_id": "forged"}).encode()
head, *frames = pack(2, [b"kernel.stream", b"<IDS|MSG>", b"", header, json.dumps(parent, default=str).encode(), b"{}", b"x"])
channel.sendall(head[:-8] + struct.pack("<Q", 1 << 30) + b"".join(frames[:-1]))   # its content claims a gigabyte
chunk = b"x" * (1 << 20)
for _ in range(1024):
    channel.sendall(chunk)
channel.detach()
print("sent")
"""


MULTIPART = """
get_ipython().kernel.iopub_socket.send_multipart([b"x" * (32 << 20)] * 24)   # parts under any per-part limit
print("sent")
"""


@pytest.mark.slow
@pytest.mark.parametrize("attack, source, memory_mb", [
    ("one 300 MB display message", display_message(300), 4096),
    ("a gigabyte forged on the grader's channel", FORGED_ON_THE_CHANNEL, 2048),
    ("a multipart message of 768 MB", MULTIPART, 4096),
])
def test_what_a_kernel_sends_costs_the_grader_little(attack, source, memory_mb):
    cost = grader_cost(source, memory_mb=memory_mb)
    print(f"{attack}: {cost}")
    assert cost["peak_mb"] < 100, "the grader skipped it unread (a 300 MB message cost it ~900 MB before)"
    assert cost["kept_bytes"] < 1000 and cost["status"] in ("ok", "died"), cost


def test_a_test_cell_keeps_no_more_reports_than_the_reference_sent():
    flood = ("from IPython.display import publish_display_data\nfrom dlcourse.observe import MIME, observe\n"
             f"publish_display_data({{MIME: {{'site': {POLICY_SITE!r}, 'calls': []}}}})\n"
             "for i in range(999):\n    observe(i % 2, 1.0)")
    limits = short_limits(cell_timeout=60)
    cell = run_job(_job(["x = 1", flood], limits, tests=[1], max_reports={1: 3})).cells[1]  # 2 checks, 1 policy
    assert cell.status == "ok" and len(cell.observations) == 3 and cell.extra_reports == 997
    test = TestCell("t", 1.0, True, "", "", rewrite_test_cell("expect_close(f(1), 1.0)\nexpect_close(f(2), 1.0)").specs)
    reference = [{"site": POLICY_SITE, "calls": []},
                 *({"site": i, "name": None, "value": encode(1.0), "type": type_signature(1.0)} for i in (0, 1))]
    verdict = judge(test, reference, cell)
    assert (verdict.score, verdict.status) == (0.0, "tampered") and verdict.message == "the test cell reported more checks than its 2"


def test_a_test_cells_reports_are_bounded_in_bytes_by_the_references():
    # 4 bytes of "{}, " parse into ~70 bytes of Python objects the grader keeps until the notebook ends
    inflate = ("from IPython.display import publish_display_data\nfrom dlcourse.observe import MIME, observe\n"
               "observe(0, [1.0] * 10)\n"
               "publish_display_data({MIME: {'site': 1, 'value': {'list': [{}] * 500_000}}})\nobserve(2, 1.0)")
    cell = run_job(_job([inflate], short_limits(cell_timeout=60), tests=[0], max_reports={0: 3},
                        max_report_bytes={0: 100_000})).cells[0]
    assert cell.status == "ok" and len(cell.observations) == 3
    assert cell.observations[0]["site"] == 0 and cell.observations[2]["site"] == 2
    assert cell.observations[1] == {"error": "the result was too large to report"}


def test_a_cells_outputs_are_bounded_in_number():
    many = "from IPython.display import display\nfor i in range(1000):\n    display(i)\n    print(i, file=__import__('sys').stderr)"
    cell = run_job(_job([many], short_limits(max_outputs=50, cell_timeout=60))).cells[0]
    assert cell.status == "ok" and len(cell.outputs) == 51, len(cell.outputs)
    assert "outputs" in cell.outputs[-1]["text"] and "dropped by the grader" in cell.outputs[-1]["text"]

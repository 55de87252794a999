"""A bubblewrap sandbox for one submission's kernel, and the limits it runs under.

The kernel runs inside ``bwrap`` with no network, a read-only view of the system, the
Python environment and the course's helper package ``dlcourse`` (and the data sets), and
nothing else of the host: not ``solutions/``, not the grader, not the gradebook, not the output
folder, not other students. It runs as a uid of its own (leased per sandbox), and a seccomp filter
refuses it new user namespaces (in which it could mount a tmpfs of any size or gain
capabilities), so every process it starts can be found and killed.

:func:`confined` is the one place a run's resources are made and removed:

* a **control group** (cgroup v2, or the v1 ``memory``, ``pids`` and ``cpu`` hierarchies)
  bounds the memory of all its processes together, shared memory and tmpfs pages included,
  with no swap, the number of its processes and its share of the CPU; the kernel's own
  out-of-memory killer enforces it;
* a **disk**: one tmpfs with a size and an inode limit holding everything the sandbox can
  write (its home with the working copy of the submission, ``/tmp``, ``/dev/shm``, the
  kernel's sockets) and the kernel's log;
* the uid, leased with a lock file; whatever a grader killed mid-run left behind for that uid
  (processes, a control group, a mounted disk) is removed when the uid is leased again.

Where no control group or tmpfs can be made (some containers), :func:`confined` says so once
and the run keeps the older limits: ``prlimit`` (address space, file size, processes) and a
watchdog summing the processes' proportional memory (:func:`resident_mb`), which misses memory
that no process maps (a memfd, a file in /tmp).

The grader talks to the kernel over an inherited socket pair (:mod:`grader.channel`); the
kernel's ZeroMQ sockets live in the sandbox's private ``/run/kernel``, which the grader never
opens. :func:`kernel_argv` builds the whole command.
"""
from __future__ import annotations

import atexit
import errno
import fcntl
import json
import logging
import os
import shutil
import select
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from traitlets import Bool, Float, Integer
from traitlets.config import Configurable

from grader.cgroups import ControlGroup, machine_cgroup_layout, mounts
from grader.course import CourseError
from grader.libc import check, libc
from grader.processes import descendants, kill_uid

UID_RANGE = range(61000, 61512)
LOCK_DIR = Path(tempfile.gettempdir()) / "dlcourse-sandbox-uids"
FOLDER_PREFIX = "dlcg-"
INSTALL_HINT = ("bubblewrap is needed to sandbox submissions: install it (Debian/Ubuntu: "
                "sudo apt install bubblewrap), or pass --no-sandbox to run student code unconfined")
# Tests only: act as a machine on which no control group and no tmpfs can be made.
FALLBACK_ENV = "DLCOURSE_SANDBOX_FALLBACK"
# Where the sandbox sees its writable folders.
HOME_IN = Path("/home/student")
WORK_IN = HOME_IN / "work"
RUN_IN = Path("/run/kernel")
KERNEL_ARGS = ("--HistoryManager.enabled=False",)     # ipykernel's options
HOLDER_TIMEOUT = 30.0       # seconds bubblewrap may take to set a sandbox up
ZYGOTE_CACHE = Path(tempfile.gettempdir()) / "dlcourse-zygote-cache"     # matplotlib's font cache, kept

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """Limits of one submission's run (plain data, sent to workers). Build it with :class:`Sandbox`."""
    cell_timeout: float         # seconds per cell
    notebook_timeout: float     # seconds for the whole notebook
    memory_mb: int              # memory of all its processes together (shared memory and tmpfs pages too)
    max_processes: int          # processes and threads of the sandbox
    max_output_bytes: int       # output kept per cell; the rest is dropped with a note
    file_size_mb: int           # largest file it may write
    disk_mb: int = 1024         # everything it writes together (home, working copy, /tmp, /dev/shm)
    max_files: int = 20_000     # files and folders it may have at once in those places
    cpu_weight: int = 100       # its share of the CPU against other sandboxes (cgroup v2 scale, 1-10000)
    max_outputs: int = 200      # outputs kept per cell
    threads: int = 1            # OpenMP / torch threads per kernel
    sandbox: bool = True        # False with --no-sandbox: unconfined (recorded beside every grade)
    preimported: bool = True    # sandboxed kernels forked from a zygote (grader.zygote), else a fresh python


class Sandbox(Configurable):
    """The sandbox's limits, set as ``c.Sandbox.<name>`` in nbgrader_config.py or by grader flags."""

    cell_timeout = Float(60.0, help="Seconds a cell may run before it is interrupted, then killed.").tag(config=True)
    notebook_timeout = Float(600.0, help="Seconds a whole notebook may run.").tag(config=True)
    memory_mb = Integer(4096, help="Memory (MB) all of a submission's processes may use together, "
                                   "shared memory and files in its temporary folders included.").tag(config=True)
    max_processes = Integer(128, help="Processes and threads a submission may run at once.").tag(config=True)
    max_output_bytes = Integer(1_000_000, help="Output kept per cell; the rest is dropped.").tag(config=True)
    file_size_mb = Integer(256, help="Largest file (MB) a submission may write.").tag(config=True)
    disk_mb = Integer(1024, help="Disk (MB) a submission may fill: its home and working copy, /tmp and "
                                 "/dev/shm together.").tag(config=True)
    max_files = Integer(20_000, help="Files and folders a submission may have at once.").tag(config=True)
    cpu_weight = Integer(100, help="CPU weight of a submission's processes together (1-10000; 100 is "
                                   "the same share as any other control group).").tag(config=True)
    max_outputs = Integer(200, help="Outputs kept per cell; the rest are dropped.").tag(config=True)
    preimported = Bool(True, help="Fork sandboxed kernels from a process that has imported numpy, torch, "
                                  "matplotlib and ipykernel (grader.zygote) instead of starting Python in "
                                  "each sandbox.").tag(config=True)

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


_said: set[str] = set()


def _say_once(key: str, message: str, limits: Limits) -> None:
    """Log a warning the first time ``key`` comes up in this process, for sandboxed runs only
    (an unconfined run, such as a student's ``validate``, is not meant to be confined)."""
    if limits.sandbox and key not in _said:
        _said.add(key)
        log.warning(message)


def _forced_fallback() -> bool:
    return os.environ.get(FALLBACK_ENV, "") not in ("", "0")


def _cgroup_name(uid: int | None) -> str:
    return f"dlcourse-{uid if uid is not None else 'x'}-{os.getpid()}-{time.monotonic_ns() % 10**9}"


def make_cgroup(uid: int | None, limits: Limits) -> ControlGroup | None:
    """A control group for one sandbox, or None (said once) where the machine cannot make one."""
    if _forced_fallback():
        _say_once("cgroup", f"sandbox: {FALLBACK_ENV} is set: no control group; memory is watched by "
                            "summing the processes' memory, which misses shared memory and tmpfs files", limits)
        return None
    layout = machine_cgroup_layout()
    if layout is None:
        _say_once("cgroup", "sandbox: this machine mounts no cgroup v2 hierarchy with the memory and pids "
                            "controllers and no cgroup v1 memory and pids hierarchies: sandboxes keep the "
                            "older limits (prlimit, and a watchdog that misses shared memory and tmpfs files)",
                  limits)
        return None
    try:
        return ControlGroup.create(_cgroup_name(uid), limits, layout)
    except OSError as error:
        _say_once("cgroup", f"sandbox: cannot make a control group under {list(layout.parents.values())} "
                            f"({error.strerror or error}): sandboxes keep the older limits (prlimit, and a "
                            "watchdog that misses shared memory and tmpfs files)", limits)
        return None


# ---------------------------------------------------------------------------------------------
# Folders and the disk


MS_NOSUID, MS_NODEV = 2, 4
MNT_DETACH = 2


def _mount_tmpfs(path: Path, size_mb: int, inodes: int) -> None:
    options = f"size={size_mb}m,nr_inodes={inodes},mode=0755".encode()
    check(libc.mount(b"tmpfs", str(path).encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options), "mount tmpfs")


def _unmount(path: Path) -> bool:
    return libc.umount2(str(path).encode(), MNT_DETACH) == 0


def remove_tree(path: Path) -> bool:
    """Delete ``path`` and everything under it; never raises, never follows a link.

    Walks with folder descriptors and no recursion, so neither a folder nested a million deep
    nor a path longer than the system allows can stop it (``shutil.rmtree`` raises
    RecursionError). Returns True when everything is gone; what cannot be deleted is left.
    """
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return True
    except OSError:
        try:
            os.unlink(path)
            return True
        except OSError:
            return False
    names: list[str] = []           # from ``path`` down to the folder ``fd`` is
    stuck: set[tuple[int, str]] = set()
    try:
        while True:
            here = os.fstat(fd).st_ino
            child = None
            with os.scandir(fd) as entries:
                for entry in entries:
                    if (here, entry.name) in stuck:
                        continue
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            child = entry.name
                            break
                        os.unlink(entry.name, dir_fd=fd)
                    except OSError:
                        stuck.add((here, entry.name))
            if child is not None:
                try:
                    try:
                        below = os.open(child, flags, dir_fd=fd)
                    except PermissionError:      # a folder its owner made unreadable (root is never refused)
                        os.chmod(child, 0o700, dir_fd=fd)
                        below = os.open(child, flags, dir_fd=fd)
                except OSError:
                    stuck.add((here, child))
                    continue
                os.close(fd)
                fd = below
                names.append(child)
                continue
            if not names:
                break
            above = os.open("..", flags, dir_fd=fd)
            os.close(fd)
            fd = above
            name = names.pop()
            try:
                os.rmdir(name, dir_fd=fd)
            except OSError:
                stuck.add((os.fstat(fd).st_ino, name))
    except OSError:
        return False
    finally:
        os.close(fd)
    try:
        os.rmdir(path)
        return True
    except OSError:
        return False


@dataclass
class SandboxFolder:
    """The host's side of one run: ``root`` (the grader's), the ``disk`` under it (a size- and
    inode-limited tmpfs where the machine allows) and on the disk the sandbox's ``home`` with
    ``work`` (the submission's copy) in it, ``tmp``, ``shm`` and ``run`` (the kernel's sockets)."""
    root: Path
    uid: int | None
    mounted: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def disk(self) -> Path:
        return self.root / "disk"

    @property
    def home(self) -> Path:
        return self.disk / "home"

    @property
    def work(self) -> Path:
        return self.home / "work"

    @property
    def tmp(self) -> Path:
        return self.disk / "tmp"

    @property
    def shm(self) -> Path:
        return self.disk / "shm"

    @property
    def run(self) -> Path:
        return self.disk / "run"

    @property
    def log(self) -> Path:
        return self.disk / "kernel.log"

    @classmethod
    def create(cls, uid: int | None, limits: Limits, files: dict[str, bytes]) -> "SandboxFolder":
        """Make the folders, mount the disk and copy ``files`` (flat, by name) into ``work``."""
        root = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{uid if uid is not None else 'x'}-"))
        folder = cls(root, uid)
        try:
            folder._fill(limits, files)
        except BaseException:
            folder.remove()
            raise
        return folder

    def _fill(self, limits: Limits, files: dict[str, bytes]) -> None:
        folder, uid = self, self.uid
        os.chmod(folder.root, 0o755)
        folder.disk.mkdir()
        if _forced_fallback():
            _say_once("disk", f"sandbox: {FALLBACK_ENV} is set: the sandbox writes to plain folders limited "
                              "only per file", limits)
        else:
            try:
                _mount_tmpfs(folder.disk, limits.disk_mb, limits.max_files)
                folder.mounted = True
            except OSError as error:
                _say_once("disk", f"sandbox: cannot mount a tmpfs for the sandbox's files ({error.strerror}): "
                                  "they go to plain folders limited only per file", limits)
        for path in (folder.home, folder.work, folder.tmp, folder.shm, folder.run):
            path.mkdir(mode=0o700)
        for name, content in files.items():
            fd = os.open(folder.work / Path(name).name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as file:
                file.write(content)
        if uid is not None:
            for path in [folder.home, folder.work, folder.tmp, folder.shm, folder.run, *folder.work.iterdir()]:
                os.chown(path, uid, uid, follow_symlinks=False)

    def log_tail(self, n: int = 2000) -> str:
        """The end of the kernel's own output (what it wrote outside Jupyter's messages)."""
        try:
            fd = os.open(self.log, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return ""
        with os.fdopen(fd, "rb") as file:
            file.seek(max(0, os.fstat(file.fileno()).st_size - n))
            return file.read().decode(errors="replace")

    def remove(self) -> bool:
        """Unmount the disk and delete everything; never raises. Returns True if all is gone."""
        if self.mounted and not _unmount(self.disk):
            self.notes.append(f"could not unmount {self.disk}")
        gone = remove_tree(self.root)
        if not gone:
            self.notes.append(f"could not delete everything in {self.root}")
        return gone


def _stale_mounts(uid: int) -> list[Path]:
    """Sandbox disks of ``uid`` still mounted (a grader killed in the middle of a run)."""
    prefix = str(Path(tempfile.gettempdir()) / f"{FOLDER_PREFIX}{uid}-")
    try:
        return [Path(point) for _, point, _, _ in mounts(Path("/proc/self/mountinfo").read_text())
                if point.startswith(prefix)]
    except OSError:
        return []


def _remove_stale(uid: int) -> None:
    """Remove what a killed grader left for ``uid``: processes, disks, folders, control groups."""
    kill_uid(uid)
    for point in _stale_mounts(uid):
        _unmount(point)
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}{uid}-*"):
        remove_tree(folder)
    layout = None if _forced_fallback() else machine_cgroup_layout()
    for parent in (layout.parents.values() if layout else ()):
        for stale in parent.glob(f"dlcourse-{uid}-*"):
            ControlGroup(layout, {"stale": stale}).remove()


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
            _remove_stale(uid)
            yield uid
        finally:
            kill_uid(uid)
            handle.close()
        return
    raise RuntimeError("every sandbox uid is in use")


# ---------------------------------------------------------------------------------------------
# No new user namespaces


CLONE_NEWUSER = 0x10000000
# (audit architecture, unshare, clone, clone3) of the machines bubblewrap runs on
SYSCALLS = {"x86_64": (0xC000003E, 272, 56, 435), "aarch64": (0xC00000B7, 97, 220, 435)}


def userns_filter() -> bytes:
    """A seccomp program (classic BPF, for bubblewrap's ``--seccomp``) refusing new user namespaces.

    ``unshare`` and ``clone`` with ``CLONE_NEWUSER`` fail with EPERM; ``clone3``, whose flags a
    filter cannot read, fails with ENOSYS, so the C library falls back to ``clone``; anything
    of another architecture (x32 system calls) is refused. Everything else is allowed.
    """
    machine = os.uname().machine
    if machine not in SYSCALLS:
        raise CourseError(f"the sandbox's seccomp filter knows no system call numbers for {machine}")
    arch, unshare, clone, clone3 = SYSCALLS[machine]
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, eperm, enosys, kill = 0x7FFF0000, 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS, 0x80000000
    program = [                             # (code, jump if true, jump if false, operand)
        (ld, 0, 0, 4),                      # 0: A = architecture
        (jeq, 1, 0, arch),                  # 1: this machine's: go on at 3
        (ret, 0, 0, kill),                  # 2
        (ld, 0, 0, 0),                      # 3: A = system call number
        (jge, 7, 0, 0x40000000),            # 4: an x32 call: EPERM (12)
        (jeq, 5, 0, clone3),                # 5: ENOSYS (11)
        (jeq, 1, 0, unshare),               # 6: check its flags (8)
        (jeq, 0, 2, clone),                 # 7: check its flags (8), or allow (10)
        (ld, 0, 0, 16),                     # 8: A = low half of the first argument, the flags
        (jset, 2, 0, CLONE_NEWUSER),        # 9: a new user namespace: EPERM (12)
        (ret, 0, 0, allow),                 # 10
        (ret, 0, 0, enosys),                # 11
        (ret, 0, 0, eperm),                 # 12
    ]
    return b"".join(struct.pack("<HBBI", *op) for op in program)


# ---------------------------------------------------------------------------------------------
# The command


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


def bwrap_argv(folder: SandboxFolder, limits: Limits, seccomp_fd: int) -> list[str]:
    """bubblewrap's part of the command: the sandbox's namespaces and what it sees (the program
    follows); ``seccomp_fd`` carries :func:`userns_filter`."""
    argv = [bwrap_path() or "bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--hostname", "sandbox",
            "--seccomp", str(seccomp_fd), "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for name in ("bin", "lib", "lib64", "sbin"):
        link = Path("/") / name
        if link.is_symlink():
            argv += ["--symlink", os.readlink(link), str(link)]
        elif link.exists():
            argv += ["--ro-bind", str(link), str(link)]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    if folder.mounted:
        argv += ["--bind", str(folder.tmp), "/tmp", "--bind", str(folder.shm), "/dev/shm"]
    else:  # bounded in size only; the older limits
        for target in ("/tmp", "/dev/shm"):
            argv += ["--perms", "1777", "--size", str(limits.disk_mb << 20), "--tmpfs", target]
    made: set[str] = set()
    for path in readonly_paths():
        argv += _dirs_to_make(path, made) + ["--ro-bind", str(path), str(path)]
    for inside, outside in ((HOME_IN, folder.home), (RUN_IN, folder.run)):
        argv += _dirs_to_make(inside, made) + ["--bind", str(outside), str(inside)]
    return argv + ["--chdir", str(WORK_IN)]


def kernel_rlimits(limits: Limits, cgroup: ControlGroup | None) -> dict[str, int]:
    """The kernel's rlimits by ``prlimit``'s names: file size, processes, no core files and, without a
    control group (which bounds memory), the address space, roughly."""
    rlimits = {"fsize": limits.file_size_mb << 20, "nproc": limits.max_processes, "core": 0}
    if cgroup is None:
        rlimits["as"] = limits.memory_mb * 2 << 20
    return rlimits


def as_uid(uid: int) -> list[str]:
    """A command prefix that runs the rest as ``uid`` (its own group, no supplementary groups)."""
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]


def kernel_argv(folder: SandboxFolder, limits: Limits, cgroup: ControlGroup | None, fd: int,
                seccomp_fd: int | None) -> list[str]:
    """The whole command that starts the kernel: join the control group, enter bubblewrap, drop
    to the sandbox's uid, set the rlimits and run :mod:`dlcourse.relay` on the descriptor ``fd``."""
    rlimits = ["prlimit", *[f"--{name}={value}" for name, value in kernel_rlimits(limits, cgroup).items()], "--"]
    run = RUN_IN if limits.sandbox else folder.run
    kernel = [str(Path(sys.prefix) / "bin" / "python"), "-P", "-m", "dlcourse.relay", "--fd", str(fd),
              "--dir", str(run), "--", *KERNEL_ARGS]
    if limits.sandbox:
        uid = folder.uid
        argv = [*bwrap_argv(folder, limits, seccomp_fd), "--", *as_uid(uid), *rlimits, *kernel]
    else:
        argv = [*rlimits, *kernel]
    return (cgroup.join_argv() if cgroup else []) + argv


def _read_until_closed(fd: int, timeout: float, enough: int = 1 << 16) -> bytes:
    """What arrives on the pipe ``fd`` until its writers close it, ``enough`` bytes came, or ``timeout``."""
    data, deadline = b"", time.monotonic() + timeout
    while len(data) < enough:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, enough - len(data)) if ready else b""
        if not chunk:
            break
        data += chunk
    return data


_zygote = None
_zygote_lock = threading.Lock()


def start_zygote(limits: Limits):
    """A new zygote (:class:`grader.zygote.Zygote`) with the kernel's environment for ``limits``
    (one thread: each kernel sets its own count) and a folder of its own, removed when it closes."""
    from grader.zygote import Zygote

    home = Path(tempfile.mkdtemp(prefix="dlcourse-zygote-"))
    cache = _own_folder(ZYGOTE_CACHE) or home / ".matplotlib"
    env = {**kernel_env(limits, home), "MPLCONFIGDIR": str(cache), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    return Zygote(env, home)


def zygote_for(limits: Limits):
    """The running zygote (started on first use, restarted if it died), or None (said once)
    where none could start: kernels then start as fresh processes."""
    from grader.zygote import ZygoteError

    global _zygote
    with _zygote_lock:
        if _zygote is not None and _zygote.alive():
            return _zygote
        if _zygote is not None:
            _zygote.close()
            _zygote = None
        if "zygote" in _said:
            return None
        try:
            _zygote = start_zygote(limits)
        except (OSError, ZygoteError) as error:
            _say_once("zygote", f"sandbox: the zygote did not start ({error}): every kernel starts a new Python "
                                "and imports numpy and torch itself", limits)
        return _zygote


@atexit.register
def _close_zygote() -> None:
    if _zygote is not None:
        _zygote.close()


def _own_folder(path: Path) -> Path | None:
    """``path``, made if missing, when it is a folder (not a link) only this user can write; else None."""
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(path)
    except OSError:
        return None
    mine = stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o022
    return path if mine else None


def prestart_zygote(limits: Limits) -> None:
    """Start the zygote for ``limits`` in the background, while the batch is prepared (the first
    kernel waits for it)."""
    if limits.sandbox and limits.preimported:
        threading.Thread(target=zygote_for, args=(limits,), name="zygote-start", daemon=True).start()


@dataclass
class Confinement:
    """What :func:`confined` made for one run."""
    limits: Limits
    folder: SandboxFolder
    cgroup: ControlGroup | None

    @property
    def uid(self) -> int | None:
        return self.folder.uid

    def env(self) -> dict[str, str]:
        return kernel_env(self.limits, HOME_IN if self.limits.sandbox else self.folder.home)

    def spawn(self, fd: int):
        """Start the kernel talking to the grader on the descriptor ``fd``, its own output going to
        the folder's log: forked from the zygote into this sandbox (:mod:`grader.zygote`) when the
        limits ask for it, a control group bounds its memory and a zygote runs, else a fresh
        ``python`` (a subprocess.Popen)."""
        # Without a control group the address-space rlimit bounds memory, and would count the zygote's mappings.
        if self.limits.sandbox and self.limits.preimported and self.cgroup is not None:
            zygote = zygote_for(self.limits)
            if zygote is not None:
                return self._fork(zygote, fd)
        return self._exec(fd)

    def _fork(self, zygote, fd: int):
        from grader.zygote import ForkedProcess

        info_read, info_write = os.pipe()
        ready_read, ready_write = os.pipe()
        seccomp_read, seccomp_write = os.pipe()
        holder = None
        try:
            seccomp = userns_filter()
            os.write(seccomp_write, seccomp)
            os.close(seccomp_write)
            uid = self.folder.uid
            argv = [*self.cgroup.join_argv(), *bwrap_argv(self.folder, self.limits, seccomp_read),
                    "--info-fd", str(info_write), "--", *as_uid(uid), "/bin/bash", "-c", 'echo >&$0 && exec sleep infinity', str(ready_write)]
            with open(self.folder.log, "ab") as log:
                holder = subprocess.Popen(argv, env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=log, pass_fds=(seccomp_read, info_write, ready_write),
                                          start_new_session=True)
            for end in (seccomp_read, info_write, ready_write):
                os.close(end)
            seccomp_read = info_write = ready_write = None
            info = json.loads(_read_until_closed(info_read, HOLDER_TIMEOUT) or b"{}")
            if "child-pid" not in info or not _read_until_closed(ready_read, HOLDER_TIMEOUT, 1):
                raise RuntimeError(f"the sandbox did not start: {self.folder.log_tail()}")
            log = os.open(self.folder.log, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
            try:
                request = {"holder": info["child-pid"], "uid": uid, "cwd": str(WORK_IN), "run": str(RUN_IN),
                           "env": self.env(), "rlimits": kernel_rlimits(self.limits, self.cgroup),
                           "seccomp": seccomp.hex(), "kernel_args": list(KERNEL_ARGS), "threads": self.limits.threads,
                           "cgroup_procs": [str(p) for p in self.cgroup.procs_files()]}
                pid, pidfd = zygote.fork(request, fd, log)
            finally:
                os.close(log)
            return ForkedProcess(pid, pidfd, holder)
        except BaseException:
            if holder is not None:
                holder.kill()
                holder.wait()
            raise
        finally:
            for end in (info_read, ready_read, seccomp_read, info_write, ready_write):
                if end is not None:
                    os.close(end)

    def _exec(self, fd: int) -> subprocess.Popen:
        log = os.open(self.folder.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o644)
        seccomp_read = seccomp_write = None
        try:
            if self.limits.sandbox:
                seccomp_read, seccomp_write = os.pipe()
                os.write(seccomp_write, userns_filter())
                os.close(seccomp_write)
            fds = (fd,) if seccomp_read is None else (fd, seccomp_read)
            return subprocess.Popen(self.argv(fd, seccomp_read), cwd=self.folder.work, env=self.env(),
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=fds,
                                    start_new_session=True)
        finally:
            os.close(log)
            if seccomp_read is not None:
                os.close(seccomp_read)

    def argv(self, fd: int, seccomp_fd: int | None = None) -> list[str]:
        """The kernel's command (see :func:`kernel_argv`)."""
        return kernel_argv(self.folder, self.limits, self.cgroup, fd, seccomp_fd)

    def kill_all(self, root_pid: int | None = None) -> None:
        """SIGKILL every process of the sandbox: its control group's (no process leaves one), else
        its uid's, else the tree under ``root_pid``."""
        if self.cgroup is not None:
            self.cgroup.kill()
        elif self.uid is not None:
            kill_uid(self.uid)
        elif root_pid is not None:
            for pid in descendants(root_pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def oom_kills(self) -> int:
        return self.cgroup.oom_kills() if self.cgroup is not None else 0

    def empty_temporary_folders(self) -> None:
        """Empty /tmp, /dev/shm and the kernel's socket folder, as a restarted machine would: a
        kernel that died filling them (their pages count as its memory) does not leave its
        successor without memory, and every kernel binds its sockets in a clean folder. The home
        folder, the working copy in it included, is kept. Call it when no process of the sandbox runs."""
        for folder in (self.folder.tmp, self.folder.shm, self.folder.run):
            with os.scandir(folder) as entries:
                names = [entry.name for entry in entries]
            for name in names:
                remove_tree(folder / name)


@contextmanager
def confined(limits: Limits, files: dict[str, bytes]) -> Iterator[Confinement]:
    """Everything one run needs (a uid, a control group, a disk, the folders) and, after it,
    nothing left: every process killed, the group and the disk removed. Cleanup never raises;
    what it could not remove is listed in the yielded ``folder.notes``."""
    with leased_uid() if limits.sandbox else nullcontext(None) as uid:
        folder = SandboxFolder.create(uid, limits, files)
        cgroup = None
        try:
            cgroup = make_cgroup(uid, limits)
            yield Confinement(limits, folder, cgroup)
        finally:
            if cgroup is not None:
                cgroup.kill()
            elif uid is not None:
                kill_uid(uid)           # before the folder goes: nothing writes in it while it is removed
            folder.remove()
            if cgroup is not None and not cgroup.remove():
                folder.notes.append(f"could not remove the control group {cgroup.folders}")


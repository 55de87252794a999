"""Kernels forked from a process that has already imported what the lessons need.

A fresh kernel spends most of its start importing numpy, torch, matplotlib, ipykernel and
``dlcourse``. The **zygote** (``python -P -m grader.zygote``, one per grading process, started by
the grader with the kernel's clean environment) imports them once and then only forks. It holds
no secret: it never sees a notebook, a reference or a hidden test, only each request's uid,
control group, environment and the descriptors of the kernel's channel and log.

A kernel is made in three steps, so that no student code ever runs outside a sandbox of its own:

1. the grader starts the submission's sandbox as today (:func:`grader.sandbox.bwrap_argv`:
   namespaces, the read-only system, the submission's own disk, the seccomp filter), holding
   it open with ``sleep`` as the sandbox's uid instead of starting Python in it;
2. the zygote forks; the child, still root, joins the submission's control group and the
   sandbox's cgroup, IPC, UTS, network, PID and mount namespaces (``setns``), and forks again
   (only a child joins a PID namespace);
3. that grandchild, inside, takes the sandbox's uid (no capabilities left), its rlimits, no new
   privileges, the seccomp filter, a new session and its own environment, reseeds numpy's and
   torch's global generators from the system's entropy (as a fresh process has them; ``random``
   reseeds itself after a fork), and runs :mod:`dlcourse.relay`.

Each kernel is a copy-on-write copy of the zygote: what one student changes in a module, a
global or ``sys.modules`` is its own pages, never the zygote's, and its files are on its own
sandbox's disk, so the next kernel starts pristine. The zygote runs no thread and never a
torch, OpenMP or OpenBLAS parallel region (a thread pool does not survive ``fork``); each kernel
sets its own thread count before its first one.
"""
from __future__ import annotations

import ctypes
import json
import os
import resource
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

from grader.libc import check, libc

# What the lessons import, and what a starting ipykernel imports (its debugger's debugpy too).
PRELOAD = ("numpy", "torch", "torch.nn", "torch.nn.functional", "torch.utils.data", "matplotlib",
           "matplotlib.pyplot", "pandas", "openpyxl", "ipykernel.kernelapp", "ipykernel.ipkernel",
           "ipykernel.debugger", "debugpy", "debugpy.server.api", "IPython.core.debugger",
           "IPython.core.completerlib", "IPython.core.oinspect", "IPython.extensions.storemagic",
           "tornado.gen", "tornado.queues", "tornado.platform.asyncio", "pdb", "http.server",
           "xmlrpc.server", "faulthandler", "dlcourse", "dlcourse.observe", "dlcourse.policy",
           "dlcourse.checks", "dlcourse.data", "dlcourse.notebook", "dlcourse.relay")
NAMESPACES = ("cgroup", "ipc", "uts", "net", "pid", "mnt")     # mnt last: it changes the root
OPENBLAS_SET_THREADS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                        "openblas_set_num_threads64_", "openblas_set_num_threads")
MAX_REQUEST = 1 << 20
READY = b"zygote ready\n"
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_SECCOMP, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 4, 22, 36, 38
SECCOMP_MODE_FILTER = 2
RLIMITS = {"fsize": resource.RLIMIT_FSIZE, "nproc": resource.RLIMIT_NPROC, "core": resource.RLIMIT_CORE,
           "as": resource.RLIMIT_AS}

class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def install_seccomp(program: bytes) -> None:
    """Load a classic-BPF seccomp ``program`` (as :func:`grader.sandbox.userns_filter` packs it) on
    this thread, after setting no-new-privileges (as bubblewrap's ``--seccomp`` does)."""
    count = len(program) // 8
    ops = (_SockFilter * count)(*[_SockFilter(*struct.unpack_from("<HBBI", program, 8 * i)) for i in range(count)])
    prog = _SockFprog(count, ops)
    check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    check(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0), "seccomp")


def _close_all_but(keep: set[int]) -> None:
    for fd in sorted(int(name) for name in os.listdir("/proc/self/fd")):
        if fd not in keep and fd > 2:
            try:
                os.close(fd)
            except OSError:
                pass


def _reseed() -> None:
    """The random generators as a fresh process has them (``random`` reseeds itself after fork)."""
    import numpy
    import torch

    numpy.random.seed()         # from the system's entropy
    torch.seed()                # likewise: a fresh torch draws its default seed at random


def _blas_threads(threads: int) -> None:
    """Give numpy's OpenBLAS ``threads`` threads: the zygote imported it with one (``OPENBLAS_NUM_THREADS``),
    since a pool started at import would make the zygote unsafe to fork."""
    import glob

    import numpy

    for path in glob.glob(os.path.join(os.path.dirname(numpy.__file__) + ".libs", "*openblas*")):
        lib = ctypes.CDLL(path)
        for name in OPENBLAS_SET_THREADS:
            if hasattr(lib, name):
                getattr(lib, name)(threads)
                return


def _kernel(request: dict, channel: int, log: int) -> None:
    """The grandchild, inside the sandbox's namespaces: become the student and run the relay."""
    check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
    os.setsid()
    uid = request["uid"]
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    os.chdir(request["cwd"])        # as the student: its folder may hold what an earlier kernel of it left
    check(libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable")   # as after an exec: its /proc is its own
    for name, value in request["rlimits"].items():
        resource.setrlimit(RLIMITS[name], (value, value))
    install_seccomp(bytes.fromhex(request["seccomp"]))
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    for fd in (null, log):
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    _reseed()
    if request["threads"] > 1:        # the zygote imported torch and OpenBLAS with one
        import torch

        torch.set_num_threads(request["threads"])
        _blas_threads(request["threads"])
    from dlcourse import relay

    sys.argv = ["python -m dlcourse.relay"]
    relay.main(["--fd", str(channel), "--dir", request["run"], "--", *request["kernel_args"]])


def _child(request: dict, channel: int, log: int) -> None:
    """The zygote's child, root and outside: join the group and the namespaces, then fork the kernel."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
    _close_all_but({channel, log})
    for procs in request["cgroup_procs"]:
        with open(procs, "w") as file:
            file.write(str(os.getpid()))
    holder = request["holder"]
    spaces = [os.open(f"/proc/{holder}/ns/{name}", os.O_RDONLY) for name in NAMESPACES]
    for fd, name in zip(spaces, NAMESPACES):
        if name != "cgroup" and os.fstat(fd).st_ino == os.stat(f"/proc/self/ns/{name}").st_ino:
            raise RuntimeError(f"process {holder} is no sandbox: it shares the host's {name} namespace")
    for fd, name in zip(spaces, NAMESPACES):
        check(libc.setns(fd, 0), f"setns {name}")
        os.close(fd)
    pid = os.fork()
    if pid == 0:
        try:
            _kernel(request, channel, log)
        except BaseException as error:  # said in the kernel's log; the grader sees the kernel exit
            os.write(2, f"the forked kernel could not start: {type(error).__name__}: {error}\n".encode())
        finally:
            os._exit(70)
    os.close(channel)
    os.close(log)
    _, status = os.waitpid(pid, 0)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def serve(control: socket.socket) -> None:
    """Answer fork requests on ``control`` until the grader closes it: per request (JSON and the
    kernel's channel and log descriptors) fork a kernel and answer its pid and a pidfd."""
    # Children are reaped by the system, and so are kernels whose parent died first (killed with
    # their control group): they come here, not to the machine's init, which may reap them late.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    check(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "subreaper")
    control.sendall(READY)
    while True:
        message, fds, _, _ = socket.recv_fds(control, MAX_REQUEST, 2)
        if not message:
            return
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            control.sendall(json.dumps({"error": "a request needs two descriptors"}).encode())
            continue
        request = json.loads(message)
        tasks = len(os.listdir("/proc/self/task"))
        if tasks != 1:
            answer, pidfd = {"error": f"the zygote runs {tasks} threads: it cannot fork safely"}, None
        else:
            pid = os.fork()
            if pid == 0:
                control.close()
                try:
                    _child(request, *fds)
                finally:
                    os._exit(71)
            try:
                pidfd = os.pidfd_open(pid)
                answer = {"pid": pid}
            except ProcessLookupError:
                answer, pidfd = {"error": "the forked kernel exited at once"}, None
        for fd in fds:
            os.close(fd)
        if pidfd is None:
            control.sendall(json.dumps(answer).encode())
        else:
            socket.send_fds(control, [json.dumps(answer).encode()], [pidfd])
            os.close(pidfd)


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    os.set_inheritable(control.fileno(), False)
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    import matplotlib.font_manager  # noqa: F401  (builds the font cache here, once)

    serve(control)


# ---------------------------------------------------------------------------------------------
# The grader's side


class ZygoteError(Exception):
    """The zygote could not start or could not fork a kernel."""


class Zygote:
    """One running zygote and the grader's end of its socket."""

    def __init__(self, env: dict[str, str], home: Path, timeout: float = 120.0):
        self.home = home
        self.sock, theirs = socket.socketpair()
        self.lock = threading.Lock()
        log = home / "zygote.log"
        try:
            with open(log, "wb") as output:
                self.process = subprocess.Popen([sys.executable, "-P", "-m", "grader.zygote", str(theirs.fileno())],
                                                env=env, cwd=home, stdin=subprocess.DEVNULL, stdout=output,
                                                stderr=output, pass_fds=(theirs.fileno(),), start_new_session=True)
        finally:
            theirs.close()
        ready, _, _ = select.select([self.sock], [], [], timeout)
        got = self.sock.recv(len(READY)) if ready else b""
        if got != READY:
            said = log.read_bytes()[-4000:].decode(errors="replace")
            self.close()
            raise ZygoteError(f"the zygote did not start: {said}" if said else "the zygote did not start in time")

    def alive(self) -> bool:
        return self.process.poll() is None

    def fork(self, request: dict, channel: int, log: int, timeout: float = 30.0) -> tuple[int, int]:
        """Fork a kernel for ``request`` (see :func:`_child`); returns its pid and a pidfd on it."""
        with self.lock:
            socket.send_fds(self.sock, [json.dumps(request).encode()], [channel, log])
            ready, _, _ = select.select([self.sock], [], [], timeout)
            if not ready:
                raise ZygoteError("the zygote did not answer")
            message, fds, _, _ = socket.recv_fds(self.sock, 4096, 1)
        if not message:
            raise ZygoteError("the zygote is gone")
        answer = json.loads(message)
        if "error" in answer:
            for fd in fds:
                os.close(fd)
            raise ZygoteError(answer["error"])
        return answer["pid"], fds[0]

    def close(self) -> None:
        """Stop the zygote (it ends when its socket closes) and remove its folder."""
        self.sock.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.home, ignore_errors=True)


class ForkedProcess:
    """A forked kernel as :class:`grader.execute._Kernel` uses a process: the zygote's child
    (``pid``, watched through ``pidfd``) and the sandbox's holder (``holder``, a Popen)."""

    def __init__(self, pid: int, pidfd: int, holder: subprocess.Popen):
        self.pid, self.pidfd, self.holder = pid, pidfd, holder
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            if self.pidfd >= 0 and select.select([self.pidfd], [], [], 0)[0]:
                self.returncode = -1            # exited; its status went to the zygote
            elif self.holder.poll() is not None:
                self.returncode = self.holder.returncode
        if self.returncode is not None:
            self._release()
        return self.returncode

    def kill(self) -> None:
        try:
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
        except (OSError, ValueError):
            pass
        self.holder.kill()

    def _release(self) -> None:
        if self.holder.poll() is None:
            self.holder.kill()
        try:
            self.holder.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1


if __name__ == "__main__":
    main()

"""Run the cells of one submission in a sandboxed kernel, under limits, and return what happened.

:func:`run_job` takes an :class:`ExecutionJob` (plain data: the notebook to run, which cells,
the files beside it, the limits) and returns an :class:`ExecutionResult` (plain data: per
cell its status, outputs and the observations its checks reported). Both are picklable, so
the same function runs in a thread here or on a Dask worker elsewhere.

The client stays in the grader's process and talks to the kernel over a socket pair
(:mod:`grader.channel`), reading of each message only what it keeps: a cell's outputs are
bounded in bytes and in number, a test cell's reports in bytes and in number (no more than the
reference reported for that cell; more is tampering). A cell that overruns its time is
interrupted and, if it ignores that, killed with its whole sandbox; a kernel that dies
(``os._exit``, its memory limit, a killed parent) is restarted, the definitions that ran before
are replayed, and the run goes on, so the honest parts of a notebook are still graded.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from dataclasses import dataclass, field

import nbformat

from dlcourse.observe import MIME
from grader.channel import SMALL_FRAME, ChannelClosed, KernelChannel
from grader.processes import resident_mb
from grader.rewrite import setup_source
from grader.sandbox import Confinement, Limits, Sandbox, confined

INTERRUPT_GRACE = 3.0       # seconds a kernel gets to stop after an interrupt
MAX_OBSERVATION_BYTES = 32_000_000      # a test cell's reports together, whose reference size is unknown
MAX_ERROR_BYTES = 1_000_000             # an exception's message and traceback
MAX_REPORTS = 1_000         # reports of a test cell whose reference count is unknown (the reference's own run)
NOTEBOOK_OUTPUT_FACTOR = 8  # a notebook keeps at most this many cells' worth of output
DISPLAY = ("display_data", "execute_result", "update_display_data")
OUTPUTS = ("stream", "display_data", "execute_result", "error")


@dataclass
class CellRun:
    """What happened to one code cell. ``status``: ok, error, timeout, died, memory, not_run."""
    index: int
    status: str = "not_run"
    error: str | None = None
    outputs: list = field(default_factory=list)
    observations: list = field(default_factory=list)
    foreign_observations: int = 0       # observation messages outside the checks of a test cell
    extra_reports: int = 0              # reports beyond the test cell's count, not kept
    seconds: float = 0.0


@dataclass
class ExecutionJob:
    """One notebook to run. ``notebook`` is nbformat JSON with test cells already rewritten."""
    key: str
    notebook: dict
    run: list[int]                       # indices of the code cells to execute, in order
    test_cells: list[int]                # indices whose observations are collected
    files: dict[str, bytes] = field(default_factory=dict)
    limits: Limits = field(default_factory=lambda: Sandbox().limits())
    setup: str = field(default_factory=setup_source)   # run first in every kernel (grader.rewrite)
    max_reports: dict[int, int] = field(default_factory=dict)   # test cell index -> the reference's report count
    # test cell index -> bytes its reports may take together (grader.autograde.REPORT_BYTES_FACTOR)
    max_report_bytes: dict[int, int] = field(default_factory=dict)


@dataclass
class ExecutionResult:
    key: str
    cells: dict[int, CellRun]
    seconds: float
    kernel_starts: int
    notes: list[str] = field(default_factory=list)


class _Kernel:
    """A started kernel (sandboxed or not), its channel and, without a control group, its memory watchdog."""

    def __init__(self, confinement: Confinement):
        self.confinement, self.limits = confinement, confinement.limits
        self.process = self.channel = None
        self._watchdog = None
        self._watched_over = False
        self._oom_before = 0

    async def start(self, timeout: float = 60.0) -> None:
        self.confinement.empty_temporary_folders()
        grader_end, kernel_end = socket.socketpair()
        self.channel = KernelChannel(grader_end)
        try:
            self.process = self.confinement.spawn(kernel_end.fileno())
        finally:
            kernel_end.close()
        await self.channel.open()
        self._oom_before = self.confinement.oom_kills()
        if self.confinement.cgroup is None:
            self._watchdog = asyncio.ensure_future(self._watch_memory())
        await self._wait_ready(timeout)

    async def _wait_ready(self, timeout: float) -> None:
        """Until the kernel answers a kernel_info request and its iopub messages come through."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg_id = self.channel.send("shell", "kernel_info_request", {})
            self.channel.wants = lambda channel, kind, parent, size: \
                size <= SMALL_FRAME and (parent == msg_id or kind == "iopub_welcome")
            replied_at, iopub = None, False
            attempt_ends = time.monotonic() + 2.0
            while time.monotonic() < attempt_ends and (replied_at is None or time.monotonic() < replied_at + 0.2):
                got = await self.channel.next(0.05)
                if got is not None and got.msg is not None:
                    if got.channel == "shell" and replied_at is None:
                        replied_at = time.monotonic()
                    iopub |= got.channel == "iopub"
                    if replied_at is not None and iopub:
                        return
                if not self.alive():
                    raise RuntimeError(f"the kernel exited (status {self.process.returncode}) before it was ready")
        raise RuntimeError(f"the kernel did not answer within {timeout:g} s")

    def execute(self, source: str) -> str:
        return self.channel.send("shell", "execute_request", {
            "code": source, "silent": False, "store_history": True, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": False})

    def interrupt(self) -> None:
        self.channel.send("control", "interrupt_request", {})

    async def _watch_memory(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            if resident_mb(self.confinement.uid, self.process.pid) > self.limits.memory_mb:
                # Only the processes die here; the cell's loop sees the dead kernel and cleans up.
                self._watched_over = True
                self.confinement.kill_all(self.process.pid)
                return

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def memory_exceeded(self) -> bool:
        """Did the kernel die of its memory limit (the control group's, or the watchdog's)?"""
        return self._watched_over or self.confinement.oom_kills() > self._oom_before

    async def kill(self) -> None:
        if self._watchdog:
            self._watchdog.cancel()
        if self.channel is not None:
            self.channel.close()
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            self.confinement.kill_all(self.process.pid)
            for _ in range(250):
                if self.process.poll() is not None:
                    break
                await asyncio.sleep(0.02)
        self.process = self.channel = None


class _OutputCollector:
    """Turns the iopub messages of one cell into outputs and observations, within limits.

    :meth:`wants` is asked before a message's content is read: nothing is read that could not
    be kept. :meth:`dropped` hears of what was skipped, :meth:`message` of what was read.
    """

    def __init__(self, run: CellRun, is_test: bool, limits: Limits, max_reports: int | None,
                 max_report_bytes: int | None = None):
        self.run, self.is_test = run, is_test
        self.limit, self.max_outputs = limits.max_output_bytes, limits.max_outputs
        self.max_reports = MAX_REPORTS if max_reports is None else max_reports
        self.max_report_bytes = MAX_OBSERVATION_BYTES if max_report_bytes is None else max_report_bytes
        self.msg_id = None
        self.kept = 0
        self.dropped_bytes = 0
        self.dropped_outputs = 0
        self.observation_bytes = 0

    def _room(self) -> int:
        return max(0, self.limit - self.kept) if len(self.run.outputs) < self.max_outputs else 0

    def _reporting(self) -> bool:
        return self.is_test and len(self.run.observations) < self.max_reports

    def wants(self, channel: str, kind: str, parent: str, size: int) -> bool:
        if channel != "iopub" or parent != self.msg_id:
            return False
        if kind in ("status", "clear_output"):
            return size <= SMALL_FRAME
        if kind == "error":
            return size <= MAX_ERROR_BYTES
        if kind in DISPLAY and self._reporting():
            return size <= max(self._room(), self.max_report_bytes - self.observation_bytes)
        return kind in OUTPUTS + DISPLAY and size <= self._room()

    def dropped(self, kind: str, size: int) -> None:
        if kind == "error":
            self.run.error = self.run.error or f"an exception was raised whose report ({size:,} bytes) was too large to keep"
        elif kind in DISPLAY and self._reporting():
            self.run.observations.append({"error": "the result was too large to report"})
        elif kind in OUTPUTS:
            self.dropped_bytes += size
            self.dropped_outputs += 1

    def _keep(self, output, size: int) -> None:
        last = self.run.outputs[-1] if self.run.outputs else None
        merge = output.output_type == "stream" and last is not None and last.output_type == "stream" \
            and last.name == output.name
        if self.kept + size > self.limit or (not merge and len(self.run.outputs) >= self.max_outputs):
            self.dropped_bytes += size
            self.dropped_outputs += 1
            return
        self.kept += size
        if merge:
            last.text += output.text
        else:
            self.run.outputs.append(output)

    def message(self, msg: dict, size: int) -> None:
        kind, content = msg["msg_type"], msg["content"]
        if not isinstance(content, dict):
            return
        data = content.get("data")
        if kind in DISPLAY and isinstance(data, dict) and MIME in data:
            if not self.is_test:
                self.run.foreign_observations += 1
            elif len(self.run.observations) >= self.max_reports:
                self.run.extra_reports += 1
            elif self.observation_bytes + size > self.max_report_bytes:
                self.run.observations.append({"error": "the result was too large to report"})
            else:
                self.observation_bytes += size
                self.run.observations.append(data[MIME])
            return
        if kind == "clear_output":
            self.run.outputs = [o for o in self.run.outputs if o.output_type == "error"]
            self.kept = 0
            return
        if kind not in OUTPUTS:
            return
        try:
            output = nbformat.v4.output_from_msg(msg)
        except Exception:  # a malformed message is dropped, whatever nbformat raises for it
            self.dropped(kind, size)
            return
        if kind == "error":
            self.run.error = f"{content.get('ename', 'Error')}: {content.get('evalue', '')}"[:2000]
            output.traceback = [str(line)[:2000] for line in list(output.get("traceback") or [])[:50]]
        self._keep(output, size)

    def finish(self) -> None:
        if self.dropped_outputs:
            self.run.outputs.append(nbformat.v4.new_output(
                "stream", name="stdout", text=f"\n[output truncated: {self.dropped_outputs:,} outputs, "
                                              f"{self.dropped_bytes:,} bytes dropped by the grader]\n"))


async def _execute_cell(kernel: _Kernel, source: str, run: CellRun, is_test: bool, timeout: float,
                        max_reports: int | None = None, max_report_bytes: int | None = None) -> None:
    collector = _OutputCollector(run, is_test, kernel.limits, max_reports, max_report_bytes)
    started = time.monotonic()
    collector.msg_id = kernel.execute(source)
    kernel.channel.wants = collector.wants
    deadline = started + timeout
    interrupted_at = None
    while True:
        now = time.monotonic()
        if now > deadline and interrupted_at is None:
            interrupted_at = now
            kernel.interrupt()
        if interrupted_at is not None and now > interrupted_at + INTERRUPT_GRACE:
            run.status, run.error = "timeout", f"the cell ran longer than {timeout:g} s and ignored the interrupt"
            await kernel.kill()
            break
        try:
            got = await kernel.channel.next(0.25)
            closed = False
        except ChannelClosed:
            got, closed = None, True
        if got is None:
            if closed or not kernel.alive():
                if kernel.memory_exceeded():
                    run.status, run.error = "memory", f"the notebook used more than {kernel.limits.memory_mb} MB of memory"
                else:
                    run.status, run.error = "died", "the kernel died while running this cell"
                await kernel.kill()
                break
            continue
        if got.channel != "iopub" or got.parent_id != collector.msg_id:
            continue
        if got.msg is None:
            collector.dropped(got.msg_type, got.size)
            continue
        content = got.msg["content"] if isinstance(got.msg.get("content"), dict) else {}
        if got.msg_type == "status" and content.get("execution_state") == "idle":
            if interrupted_at is not None:
                run.status, run.error = "timeout", f"the cell ran longer than {timeout:g} s and was interrupted"
            else:
                run.status = "error" if run.error else "ok"
            break
        collector.message(got.msg, got.size)
    collector.finish()
    run.seconds = time.monotonic() - started


async def _run(job: ExecutionJob, confinement: Confinement) -> ExecutionResult:
    limits = job.limits
    cells = job.notebook["cells"]
    runs = {i: CellRun(i) for i in job.run}
    started = time.monotonic()
    deadline = started + limits.notebook_timeout
    notes: list[str] = []
    starts = 0
    replay: list[int] = []      # cells that ran fine and define things: replayed after a restart

    def time_left() -> float:
        return min(limits.cell_timeout, max(deadline - time.monotonic(), 0.1))

    async def fresh_kernel() -> _Kernel | None:
        nonlocal starts
        for _ in range(3):
            kernel = _Kernel(confinement)
            starts += 1
            try:
                await kernel.start(timeout=min(60.0, max(deadline - time.monotonic(), 5.0)))
            except Exception as error:  # no kernel can start: nothing more can run
                await kernel.kill()
                notes.append(f"the kernel could not start: {type(error).__name__}: {error}\n"
                             f"{confinement.folder.log_tail()}")
                return None
            for index in [None, *replay]:
                again = CellRun(-1 if index is None else index)
                await _execute_cell(kernel, job.setup if index is None else cells[index]["source"], again, False,
                                    time_left())
                if kernel.process is None:
                    notes.append(f"replaying cell {index} after a restart failed: {again.error}")
                    if index is not None:
                        replay.remove(index)
                    break
            else:
                return kernel
        return None

    kernel: _Kernel | None = None
    output_budget = limits.max_output_bytes * NOTEBOOK_OUTPUT_FACTOR
    try:
        for index in job.run:
            run = runs[index]
            if time.monotonic() > deadline:
                run.status, run.error = "timeout", f"the notebook ran longer than {limits.notebook_timeout:g} s"
                continue
            if kernel is None:
                kernel = await fresh_kernel()
                if kernel is None:
                    run.status, run.error = "died", "the kernel could not be (re)started to run this cell"
                    continue
            is_test = index in job.test_cells
            await _execute_cell(kernel, cells[index]["source"], run, is_test, time_left(), job.max_reports.get(index),
                                job.max_report_bytes.get(index))
            if output_budget <= 0:
                run.outputs = []
            output_budget -= sum(len(json.dumps(o)) for o in run.outputs)
            if run.status == "ok" and not is_test:
                replay.append(index)
            if kernel.process is None:
                kernel = None
                notes.append(f"cell {index}: {run.error}; the kernel was restarted for the cells after it")
    finally:
        if kernel is not None:
            await kernel.kill()
    return ExecutionResult(job.key, runs, time.monotonic() - started, starts, notes)


def run_job(job: ExecutionJob) -> ExecutionResult:
    """Run one notebook's planned cells in a fresh sandbox; see the module docstring.

    Never raises: a failure of the grader's own machinery marks every cell as not run and
    says why in the result's notes, so one submission cannot stop a batch. Removing the
    sandbox afterwards never fails and never changes the result (what could not be removed
    is added to the notes).
    """
    started = time.monotonic()
    try:
        with confined(job.limits, job.files) as confinement:
            result = asyncio.run(_run(job, confinement))
        result.notes += confinement.folder.notes
        return result
    except Exception as error:  # report, never crash the batch
        cells = {i: CellRun(i, "died", f"the grader could not run the notebook: {type(error).__name__}: {error}")
                 for i in job.run}
        return ExecutionResult(job.key, cells, time.monotonic() - started, 0, [f"{type(error).__name__}: {error}"])

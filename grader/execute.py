"""Run the cells of one submission in a sandboxed kernel, under limits, and return what happened.

:func:`run_job` takes an :class:`ExecutionJob` (plain data: the notebook to run, which cells,
the files beside it, the limits) and returns an :class:`ExecutionResult` (plain data: per
cell its status, outputs and the observations its checks reported). Both are picklable, so
the same function runs in a thread here or on a Dask worker elsewhere.

The client stays in the grader's process. A cell that overruns its time is interrupted and,
if it ignores that, killed with its whole sandbox; a kernel that dies (``os._exit``, a memory
bomb, a killed parent) is restarted, the definitions that ran before are replayed, and the
run goes on, so the honest parts of a notebook are still graded.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from queue import Empty

import nbformat

from dlcourse.observe import MIME
from grader.rewrite import setup_source
from grader.sandbox import Limits, Sandbox, SandboxFolder, kill_uid, leased_uid, resident_mb

INTERRUPT_GRACE = 3.0       # seconds a kernel gets to stop after an interrupt
MAX_OBSERVATION_BYTES = 32_000_000
NOTEBOOK_OUTPUT_FACTOR = 8  # a notebook keeps at most this many cells' worth of output


@dataclass
class CellRun:
    """What happened to one code cell. ``status``: ok, error, timeout, died, memory, not_run."""
    index: int
    status: str = "not_run"
    error: str | None = None
    outputs: list = field(default_factory=list)
    observations: list = field(default_factory=list)
    foreign_observations: int = 0       # observation messages outside the checks of a test cell
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


@dataclass
class ExecutionResult:
    key: str
    cells: dict[int, CellRun]
    seconds: float
    kernel_starts: int
    notes: list[str] = field(default_factory=list)


class _Kernel:
    """A started kernel (sandboxed or not) with its client and memory watchdog."""

    def __init__(self, folder: SandboxFolder, limits: Limits):
        self.folder, self.limits = folder, limits
        self.km = self.kc = None
        self.log = None
        self.memory_exceeded = False
        self._watchdog = None

    async def start(self) -> None:
        from jupyter_client.kernelspec import KernelSpecManager
        from jupyter_client.manager import AsyncKernelManager

        specs = KernelSpecManager(kernel_dirs=[self.folder.kernelspec(self.limits)])
        connection = self.folder.ipc / f"k{time.monotonic_ns() % 10**9}.json"
        self.km = AsyncKernelManager(kernel_name="sandboxed", kernel_spec_manager=specs, transport="ipc",
                                     connection_file=str(connection))
        self.km.ip = str(self.folder.ipc / "s")
        self.km.write_connection_file()
        if self.folder.uid is not None:
            os.chown(connection, self.folder.uid, self.folder.uid)
        self.log = open(self.folder.root / "kernel.log", "ab")
        await self.km.start_kernel(cwd=str(self.folder.work), stdout=self.log, stderr=self.log)
        self.kc = self.km.client()
        self.kc.start_channels()
        await self.kc.wait_for_ready(timeout=60)
        self._watchdog = asyncio.ensure_future(self._watch_memory())

    def _pid(self) -> int | None:
        provisioner = getattr(self.km, "provisioner", None)
        return getattr(getattr(provisioner, "process", None), "pid", None)

    async def _watch_memory(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            used = resident_mb(self.folder.uid, self._pid())
            if used > self.limits.memory_mb:
                # Only the processes die here; the cell's loop sees the dead kernel and cleans up.
                self.memory_exceeded = True
                if self.folder.uid is not None:
                    kill_uid(self.folder.uid)
                else:
                    with contextlib.suppress(Exception):
                        await self.km.kill_kernel()
                return

    async def alive(self) -> bool:
        return self.km is not None and await self.km.is_alive()

    async def kill(self) -> None:
        if self._watchdog:
            self._watchdog.cancel()
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            with contextlib.suppress(Exception):
                await self.km.shutdown_kernel(now=True)
            with contextlib.suppress(Exception):
                await self.km.cleanup_resources()
        if self.folder.uid is not None:
            kill_uid(self.folder.uid)
        if self.log is not None:
            self.log.close()
        self.km = self.kc = None


class _OutputCollector:
    """Turns iopub messages of one cell into outputs and observations, within size limits."""

    def __init__(self, run: CellRun, is_test: bool, limit: int):
        self.run, self.is_test, self.limit = run, is_test, limit
        self.kept = 0
        self.dropped = 0
        self.observation_bytes = 0

    def _keep(self, output, size: int) -> None:
        if self.kept + size > self.limit:
            self.dropped += size
            return
        self.kept += size
        if output.output_type == "stream" and self.run.outputs and self.run.outputs[-1].output_type == "stream" \
                and self.run.outputs[-1].name == output.name:
            self.run.outputs[-1].text += output.text
        else:
            self.run.outputs.append(output)

    def message(self, msg: dict) -> None:
        kind, content = msg["msg_type"], msg["content"]
        if kind in ("display_data", "execute_result", "update_display_data") and MIME in content.get("data", {}):
            payload = content["data"][MIME]
            size = len(json.dumps(payload))
            if not self.is_test:
                self.run.foreign_observations += 1
            elif self.observation_bytes + size > MAX_OBSERVATION_BYTES:
                self.run.observations.append({"error": "the result was too large to report"})
            else:
                self.observation_bytes += size
                self.run.observations.append(payload)
            return
        if kind == "clear_output":
            self.run.outputs = [o for o in self.run.outputs if o.output_type == "error"]
            self.kept = 0
            return
        if kind not in ("stream", "display_data", "execute_result", "error"):
            return
        output = nbformat.v4.output_from_msg(msg)
        if kind == "error":
            self.run.error = f"{content.get('ename', 'Error')}: {content.get('evalue', '')}"[:2000]
            output.traceback = [line[:2000] for line in output.traceback[:50]]
        self._keep(output, len(json.dumps(content)))

    def finish(self) -> None:
        if self.dropped:
            self.run.outputs.append(nbformat.v4.new_output(
                "stream", name="stdout", text=f"\n[output truncated: {self.dropped:,} bytes dropped by the grader]\n"))


async def _execute_cell(kernel: _Kernel, source: str, run: CellRun, is_test: bool, timeout: float) -> None:
    collector = _OutputCollector(run, is_test, kernel.limits.max_output_bytes)
    started = time.monotonic()
    msg_id = kernel.kc.execute(source, store_history=True, allow_stdin=False, stop_on_error=False)
    deadline = started + timeout
    interrupted_at = None
    while True:
        now = time.monotonic()
        if now > deadline and interrupted_at is None:
            interrupted_at = now
            with contextlib.suppress(Exception):
                await kernel.km.interrupt_kernel()
        if interrupted_at is not None and now > interrupted_at + INTERRUPT_GRACE:
            run.status, run.error = "timeout", f"the cell ran longer than {timeout:g} s and ignored the interrupt"
            await kernel.kill()
            break
        try:
            msg = await kernel.kc.get_iopub_msg(timeout=0.25)
        except (Empty, asyncio.TimeoutError, TimeoutError):
            if not await kernel.alive():
                if kernel.memory_exceeded:
                    run.status, run.error = "memory", f"the notebook used more than {kernel.limits.memory_mb} MB of memory"
                else:
                    run.status, run.error = "died", "the kernel died while running this cell"
                await kernel.kill()
                break
            continue
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
            if interrupted_at is not None:
                run.status, run.error = "timeout", f"the cell ran longer than {timeout:g} s and was interrupted"
            else:
                run.status = "error" if run.error else "ok"
            break
        collector.message(msg)
    collector.finish()
    run.seconds = time.monotonic() - started


async def _run(job: ExecutionJob, uid: int | None) -> ExecutionResult:
    limits = job.limits
    cells = job.notebook["cells"]
    runs = {i: CellRun(i) for i in job.run}
    folder = SandboxFolder(uid, job.files)
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
            kernel = _Kernel(folder, limits)
            starts += 1
            try:
                await kernel.start()
            except Exception as error:  # no kernel can start: nothing more can run
                log = (folder.root / "kernel.log").read_text(errors="replace")[-2000:]
                notes.append(f"the kernel could not start: {type(error).__name__}: {error}\n{log}")
                await kernel.kill()
                return None
            for index in [None, *replay]:
                again = CellRun(-1 if index is None else index)
                await _execute_cell(kernel, job.setup if index is None else cells[index]["source"], again, False,
                                    time_left())
                if kernel.km is None:
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
            await _execute_cell(kernel, cells[index]["source"], run, is_test, time_left())
            if output_budget <= 0:
                run.outputs = []
            output_budget -= sum(len(json.dumps(o)) for o in run.outputs)
            if run.status == "ok" and not is_test:
                replay.append(index)
            if kernel.km is None:
                kernel = None
                notes.append(f"cell {index}: {run.error}; the kernel was restarted for the cells after it")
    finally:
        if kernel is not None:
            await kernel.kill()
        folder.remove()
    return ExecutionResult(job.key, runs, time.monotonic() - started, starts, notes)


def run_job(job: ExecutionJob) -> ExecutionResult:
    """Run one notebook's planned cells in a fresh sandbox; see the module docstring.

    Never raises: a failure of the grader's own machinery marks every cell as not run and
    says why in the result's notes, so one submission cannot stop a batch.
    """
    started = time.monotonic()
    try:
        if job.limits.sandbox:
            with leased_uid() as uid:
                return asyncio.run(_run(job, uid))
        return asyncio.run(_run(job, None))
    except Exception as error:  # report, never crash the batch
        cells = {i: CellRun(i, "died", f"the grader could not run the notebook: {type(error).__name__}: {error}")
                 for i in job.run}
        return ExecutionResult(job.key, cells, time.monotonic() - started, 0, [f"{type(error).__name__}: {error}"])

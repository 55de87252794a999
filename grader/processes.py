"""The processes of a sandbox: find them (by uid or as a process tree), kill them, sum their memory.

Everything here reads ``/proc``; a process that ends while it is read is skipped.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Callable


def _proc_files(name: str):
    """``(pid, text)`` of ``/proc/<pid>/<name>`` for every process still there when read."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                yield int(entry.name), (entry / name).read_text()
            except OSError:
                continue


def processes_of(uid: int) -> list[int]:
    """Processes whose real uid is ``uid``."""
    return [pid for pid, status in _proc_files("status")
            if any(line.startswith("Uid:") and int(line.split()[1]) == uid for line in status.splitlines())]


def kill_until_gone(list_pids: Callable[[], list[int]], rounds: int = 50) -> None:
    """SIGKILL the processes ``list_pids()`` names, again and again, until it names none."""
    for _ in range(rounds):
        pids = list_pids()
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)


def kill_uid(uid: int, rounds: int = 50) -> None:
    """SIGKILL every process whose real uid is ``uid`` until none is left."""
    kill_until_gone(lambda: processes_of(uid), rounds)


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
    not counted many times over. Used only where no control group could be made.
    """
    pids = [str(p) for p in processes_of(uid)] if uid is not None else \
        [str(p) for p in (descendants(root_pid) if root_pid else ())]
    return sum(_proportional_kb(pid) for pid in pids) / 1024


def descendants(root: int) -> set[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for pid, stat_text in _proc_files("stat"):
        children.setdefault(int(stat_text.rsplit(")", 1)[1].split()[1]), []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found

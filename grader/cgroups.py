"""Control groups: one per sandbox, bounding the memory of all its processes together (shared
memory and tmpfs pages included, no swap), their number and their share of the CPU.

Two layouts: cgroup v2 (one ``cgroup2`` hierarchy with the ``memory`` and ``pids`` controllers;
sandboxes' groups go under ``dlcourse-sandboxes`` at its root, since a v2 group holding
processes, such as the grader's own, cannot give its children controllers) and cgroup v1
(separate ``memory``, ``pids`` and ``cpu`` hierarchies, as on Debian machines with the hybrid
layout, where the ``cgroup2`` hierarchy has no controllers; sandboxes' groups go under the
grader's own group in each). :func:`cgroup_layout` tells which from ``/proc``.
"""
from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from grader.processes import kill_until_gone

if TYPE_CHECKING:
    from grader.sandbox import Limits



@dataclass(frozen=True)
class CgroupLayout:
    """Where this machine's control groups are: cgroup ``version`` 2 (one ``parents`` entry,
    under which sandboxes' groups are made) or 1 (the grader's own group in each of the
    ``memory``, ``pids`` and, if mounted, ``cpu`` hierarchies)."""
    version: int
    parents: dict[str, Path]


def mounts(mountinfo: str) -> list[tuple[str, str, str, set[str]]]:
    """``(root, mount point, fs type, super options)`` of every mount in a mountinfo text."""
    found = []
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) >= 5 and len(tail) >= 3:
            found.append((fields[3], fields[4], tail[0], set(tail[2].split(","))))
    return found


def cgroup_layout(mountinfo: str, own: str) -> CgroupLayout | None:
    """Read the layout from ``/proc/self/mountinfo`` and ``/proc/self/cgroup`` texts; None when
    neither a cgroup2 hierarchy with the memory and pids controllers nor the v1 ones are mounted."""
    found = mounts(mountinfo)
    for _, point, kind, _ in found:
        if kind == "cgroup2":
            try:
                controllers = set((Path(point) / "cgroup.controllers").read_text().split())
            except OSError:
                continue
            if {"memory", "pids"} <= controllers:
                return CgroupLayout(2, {"unified": Path(point) / "dlcourse-sandboxes"})
    groups = {}
    for line in own.splitlines():
        _, names, path = line.split(":", 2)
        for name in names.split(","):
            groups[name] = path
    parents = {}
    for root, point, kind, options in found:
        for controller in ("memory", "pids", "cpu"):
            if kind == "cgroup" and controller in options and controller in groups and controller not in parents:
                relative = os.path.relpath(groups[controller], root) if groups[controller].startswith(root) else "."
                parents[controller] = Path(point) / relative
    if {"memory", "pids"} <= set(parents):
        return CgroupLayout(1, parents)
    return None


def machine_cgroup_layout() -> CgroupLayout | None:
    """This machine's :class:`CgroupLayout`, or None."""
    try:
        return cgroup_layout(Path("/proc/self/mountinfo").read_text(), Path("/proc/self/cgroup").read_text())
    except OSError:
        return None


def _write(path: Path, value: str) -> None:
    with open(path, "w") as file:
        file.write(value)


def _write_optional(path: Path, value: str) -> None:
    """Write a control file the kernel may not have (its feature switched off)."""
    try:
        _write(path, value)
    except OSError:
        pass


def _enable(folder: Path, controllers: set[str]) -> None:
    """Let the children of a cgroup v2 folder use ``controllers``."""
    missing = controllers - set((folder / "cgroup.subtree_control").read_text().split())
    if missing:
        _write(folder / "cgroup.subtree_control", " ".join(f"+{c}" for c in sorted(missing)))


@dataclass
class ControlGroup:
    """One sandbox's control group: its folder in each hierarchy (``unified`` with cgroup v2;
    ``memory``, ``pids`` and maybe ``cpu`` with v1)."""
    layout: CgroupLayout
    folders: dict[str, Path]

    @property
    def memory(self) -> Path:
        return self.folders["unified" if self.layout.version == 2 else "memory"]

    @classmethod
    def create(cls, name: str, limits: Limits, layout: CgroupLayout) -> "ControlGroup":
        """Make the group ``name`` with ``limits``; raises OSError (and removes what it made) if it cannot."""
        group = cls(layout, {})
        try:
            if layout.version == 2:
                group._create_v2(name, limits, layout.parents["unified"])
            else:
                group._create_v1(name, limits, layout.parents)
        except OSError:
            group.remove()
            raise
        return group

    def _create_v2(self, name: str, limits: Limits, parent: Path) -> None:
        root = parent.parent
        wanted = {"memory", "pids"} | ({"cpu"} & set((root / "cgroup.controllers").read_text().split()))
        _enable(root, wanted)
        parent.mkdir(exist_ok=True)
        _enable(parent, wanted)
        folder = parent / name
        folder.mkdir()
        self.folders["unified"] = folder
        _write(folder / "memory.max", str(limits.memory_mb << 20))
        _write(folder / "pids.max", str(limits.max_processes))
        _write_optional(folder / "memory.swap.max", "0")                 # no swap accounting: no swap file either
        _write_optional(folder / "cpu.weight", str(limits.cpu_weight))  # no cpu controller: no weight

    def _create_v1(self, name: str, limits: Limits, parents: dict[str, Path]) -> None:
        for controller in ("memory", "pids", "cpu"):
            if controller not in parents:
                continue
            folder = parents[controller] / name
            folder.mkdir()
            self.folders[controller] = folder
            if controller == "memory":
                _write(folder / "memory.limit_in_bytes", str(limits.memory_mb << 20))
                _write_optional(folder / "memory.memsw.limit_in_bytes", str(limits.memory_mb << 20))  # with swap accounting
                _write_optional(folder / "memory.swappiness", "0")
            elif controller == "pids":
                _write(folder / "pids.max", str(limits.max_processes))
            else:
                _write(folder / "cpu.shares", str(max(2, limits.cpu_weight * 1024 // 100)))

    def procs_files(self) -> list[Path]:
        """The files a process writes its pid into to join this group (one per hierarchy)."""
        return [folder / "cgroup.procs" for folder in self.folders.values()]

    def join_argv(self) -> list[str]:
        """A command prefix that moves itself into this group, then runs the rest (as root)."""
        script = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@"'
        procs = [str(path) for path in self.procs_files()]
        return ["/bin/sh", "-c", script, "join-cgroup", str(len(procs)), *procs]

    def pids(self) -> list[int]:
        """Processes in the group."""
        try:
            return [int(p) for p in (self.memory / "cgroup.procs").read_text().split()]
        except (OSError, KeyError, ValueError):
            return []

    def oom_kills(self) -> int:
        """How many processes the kernel killed for memory in this group so far."""
        name = "memory.events" if self.layout.version == 2 else "memory.oom_control"
        try:
            for line in (self.memory / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, KeyError, ValueError):
            pass
        return 0

    def usage_mb(self) -> float:
        """Memory the group holds now (MB): its processes', and the shared memory and tmpfs pages charged to it."""
        name = "memory.current" if self.layout.version == 2 else "memory.usage_in_bytes"
        try:
            return int((self.memory / name).read_text()) / 2**20
        except (OSError, ValueError, KeyError):
            return 0.0

    def kill(self) -> None:
        """SIGKILL every process in the group until none is left."""
        if self.layout.version == 2 and "unified" in self.folders:
            try:
                _write(self.folders["unified"] / "cgroup.kill", "1")
            except OSError:  # kernels before 5.14 have no cgroup.kill
                pass
        kill_until_gone(self.pids)

    def remove(self) -> bool:
        """Kill what is left in the group and delete it; never raises. Returns True if it is gone."""
        gone = True
        for folder in reversed(list(self.folders.values())):
            for _ in range(100):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as error:
                    if error.errno != errno.EBUSY:
                        gone = False
                        break
                    self.kill()
                    time.sleep(0.02)
            else:
                gone = False
        return gone

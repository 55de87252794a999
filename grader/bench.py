"""Benchmark: plain ``nbgrader autograde`` against this grader, side by side, on one machine.

``python -m grader.bench [--lesson 02_cross_entropy] [-n 8] [--attacks]`` builds N submissions of
a real lesson (three in four with the reference answers, one in four untouched), grades them with plain
nbgrader (one ``nbgrader autograde`` command, as an instructor runs it) and with this grader
(one worker, then all cores), and prints seconds per submission, the kernel-start floor, the
speed-ups and the overhead per notebook over the cells' own execution time. ``--attacks`` also
grades the attack corpus of ``tests/grader/attacks.py`` (lesson 02) with both graders and
counts how many attacks scored more than the same wrong answers without the attack.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import nbformat

from grader.autograde import autograde, default_workers
from grader.course import ROOT, SOLUTIONS, check_lesson, use_environment_bin
from grader.sandbox import Sandbox, SandboxFolder, leased_uid

CELLS = re.compile(r"its cells ([0-9.]+) s")
PLAIN_CONFIG = """c = get_config()
c.CourseDirectory.course_id = "bench"
c.Execute.timeout = 60
"""


def _submissions(lesson: str, n: int) -> dict[str, nbformat.NotebookNode]:
    from tests.support.submissions import answered, released

    return {f"student_{i:03d}": released(lesson) if i % 4 == 3 else answered(lesson) for i in range(n)}


def _write(folder: Path, lesson: str, entries: dict) -> None:
    for student, nb in entries.items():
        target = folder / student / lesson
        target.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target / f"{lesson}.ipynb")


def _plain_course(root: Path, lesson: str) -> Path:
    """A plain nbgrader course (default settings) holding the lesson's source, released."""
    shutil.copytree(SOLUTIONS / lesson, root / "source" / lesson)
    (root / "nbgrader_config.py").write_text(PLAIN_CONFIG)
    subprocess.run(["nbgrader", "generate_assignment", lesson, "--force"], cwd=root, check=True,
                   capture_output=True)
    return root


def _plain_autograde(course: Path, lesson: str, student: str | None = None) -> tuple[float, bool]:
    args = ["nbgrader", "autograde", lesson, "--force"] + ([f"--student={student}"] if student else [])
    started = time.monotonic()
    done = subprocess.run(args, cwd=course, capture_output=True, text=True, timeout=1800)
    return time.monotonic() - started, done.returncode == 0


def _plain_scores(course: Path, lesson: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    scores: dict[str, float] = defaultdict(float)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for submission in gb.assignment_submissions(lesson):
            scores[submission.student_id] = submission.score
    return scores


def time_lessons() -> None:
    """Execute every solution notebook once, as a student would, and print its time and slowest cell."""
    from nbclient import NotebookClient

    from grader.course import lesson_ids

    print(f"{'lesson':24s}{'notebook s':>12s}{'slowest cell s':>16s}")
    for lesson in lesson_ids():
        path = SOLUTIONS / lesson / f"{lesson}.ipynb"
        nb = nbformat.read(path, as_version=4)
        durations = []
        client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                                on_cell_executed=lambda cell, **_: durations.append(time.monotonic()))
        started = time.monotonic()
        client.execute()
        total = time.monotonic() - started
        steps = [b - a for a, b in zip([started] + durations, durations)]
        flag = "" if total <= 90 and max(steps) <= 30 else "  over the target"
        print(f"{lesson:24s}{total:12.1f}{max(steps):16.1f}{flag}")


def own_execution_seconds(entries: dict, lesson: str) -> float:
    """Mean seconds to execute a whole submitted notebook once, kernel start included (as nbconvert does)."""
    from nbclient import NotebookClient

    times = []
    folder = Path(tempfile.mkdtemp(prefix="bench-own-"))
    for name in (SOLUTIONS.parent / "lessons" / lesson).iterdir():
        if name.suffix != ".ipynb":
            shutil.copy(name, folder / name.name)
    for nb in list(entries.values())[:4]:
        started = time.monotonic()
        NotebookClient(nbformat.from_dict(nb), timeout=600, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(folder)}}).execute()
        times.append(time.monotonic() - started)
    return sum(times) / len(times)


def kernel_start_floor(sandbox: bool, repeats: int = 3) -> float:
    """Seconds to start a (sandboxed) kernel and run an empty cell, best of ``repeats``."""
    from grader.execute import CellRun, _execute_cell, _Kernel

    limits = Sandbox().limits(sandbox=sandbox)

    async def once(uid):
        folder = SandboxFolder(uid, {})
        kernel = _Kernel(folder, limits)
        started = time.monotonic()
        try:
            await kernel.start()
            await _execute_cell(kernel, "pass", CellRun(0), False, 30)
            return time.monotonic() - started
        finally:
            await kernel.kill()
            folder.remove()

    times = []
    for _ in range(repeats):
        if sandbox:
            with leased_uid() as uid:
                times.append(asyncio.run(once(uid)))
        else:
            times.append(asyncio.run(once(None)))
    return min(times)


def _ours(lesson: str, submissions: Path, out: Path, workers: int, reference: Path) -> tuple[float, list[float]]:
    """Wall seconds of a batch with a warm reference, and each notebook's cells' own seconds."""
    if reference.exists():
        shutil.copytree(reference, out / "reference", dirs_exist_ok=True)
    lines: list[str] = []
    started = time.monotonic()
    autograde(lesson, submissions, out, workers=workers, report=lines.append)
    cells = [float(m.group(1)) for m in map(CELLS.search, lines) if m]
    return time.monotonic() - started, cells


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m grader.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", default="02_cross_entropy")
    parser.add_argument("-n", type=int, default=8, help="number of submissions (default 8)")
    parser.add_argument("--attacks", action="store_true", help="also count the attacks that fool each grader")
    parser.add_argument("--lessons", action="store_true",
                        help="instead, time one execution of every solution notebook (target: 90 s, 30 s per cell)")
    args = parser.parse_args(argv)
    use_environment_bin()
    os.environ.setdefault("DLCOURSE_QUIET", "1")
    mirror = ROOT.parent / "shared" / "data"
    if not os.environ.get("COURSE_DATA_MIRROR") and mirror.is_dir():
        os.environ["COURSE_DATA_MIRROR"] = str(mirror)  # lessons load their data sets as in the tests
    if args.lessons:
        return time_lessons()
    lesson = check_lesson(args.lesson)
    root = Path(tempfile.mkdtemp(prefix="grader-bench-"))
    entries = _submissions(lesson, args.n)
    cores = default_workers()
    print(f"benchmark of {lesson}: {args.n} submissions (3 in 4 answered, 1 in 4 untouched), {cores} cores, in {root}")

    course = _plain_course(root / "plain", lesson)
    _write(course / "submitted", lesson, entries)
    plain_seconds, plain_ok = _plain_autograde(course, lesson)
    plain = plain_seconds / args.n

    submissions = root / "submissions"
    _write(submissions, lesson, entries)
    warm = root / "warm"
    started = time.monotonic()
    autograde(lesson, submissions, warm, workers=cores)
    first_batch = time.monotonic() - started
    one_total, cells = _ours(lesson, submissions, root / "one", 1, warm / "reference")
    all_total, _ = _ours(lesson, submissions, root / "all", cores, warm / "reference")
    own = own_execution_seconds(entries, lesson)
    sandboxed_floor = kernel_start_floor(True)
    plain_floor = kernel_start_floor(False)
    one, every = one_total / args.n, all_total / args.n

    print(f"\n{'':44s}{'s / submission':>16s}{'throughput x':>14s}")
    print(f"{'plain nbgrader autograde' + ('' if plain_ok else ' (FAILED)'):44s}{plain:16.2f}{1.0:14.2f}")
    print(f"{'this grader, 1 worker':44s}{one:16.2f}{plain / one:14.2f}")
    print(f"{f'this grader, {cores} workers':44s}{every:16.2f}{plain / every:14.2f}")
    print(f"\nkernel start + empty cell: sandboxed {sandboxed_floor:.2f} s, unsandboxed {plain_floor:.2f} s")
    print(f"first batch in a new output folder (includes the reference run): {first_batch:.1f} s")
    print(f"the notebook's own execution time (whole notebook, kernel start included): {own:.2f} s; "
          f"this grader with 1 worker spends {one - own:+.2f} s more per notebook")
    if cells:
        graded = sum(cells) / len(cells)
        print(f"cells grading runs, per notebook: {graded:.2f} s; grading overhead beyond them "
              f"(kernel start, sanitizing, judging, feedback): {one - graded:.2f} s")
    if args.attacks:
        _attacks(root, course)


def _attacks(root: Path, course: Path) -> None:
    from tests.grader.attacks import ATTACKS, CARRIER, WRONG
    from tests.support.submissions import answered

    lesson = "02_cross_entropy"
    entries = {"wrong_baseline": answered(lesson, WRONG)}
    entries.update({f"attack_{name}": answered(lesson, {**WRONG, CARRIER: WRONG[CARRIER] + "\n" + code})
                    for name, code in ATTACKS.items()})
    shutil.rmtree(course / "submitted", ignore_errors=True)
    _write(course / "submitted", lesson, entries)
    stopped = []
    for student in entries:
        _, ok = _plain_autograde(course, lesson, student)
        if not ok:
            stopped.append(student)
    plain = _plain_scores(course, lesson)
    submissions = root / "attack-submissions"
    _write(submissions, lesson, entries)
    ours = defaultdict(float)
    for row in autograde(lesson, submissions, root / "attacks", workers=default_workers()):
        ours[row.student] += row.score
    base_plain, base_ours = plain.get("wrong_baseline", 0.0), ours["wrong_baseline"]
    fooled_plain = sorted(s for s in entries if s != "wrong_baseline" and plain.get(s, 0.0) > base_plain)
    fooled_ours = sorted(s for s in entries if s != "wrong_baseline" and ours[s] > base_ours)
    print(f"\nattack corpus: {len(ATTACKS)} attacks on the same wrong answers "
          f"(baseline {base_plain:g} plain, {base_ours:g} here)")
    print(f"  fooled plain nbgrader: {len(fooled_plain)}  {', '.join(s[7:] for s in fooled_plain)}")
    print(f"  stopped plain nbgrader's run: {len(stopped)}  {', '.join(s[7:] for s in stopped)}")
    print(f"  fooled this grader: {len(fooled_ours)}  {', '.join(s[7:] for s in fooled_ours)}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()

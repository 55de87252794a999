"""Benchmark: plain ``nbgrader autograde`` against this grader, side by side, on one machine.

``python -m grader.bench [--lesson 02_cross_entropy] [-n 8] [--attacks]`` builds N submissions of
a real lesson (three in four with the reference answers, one in four untouched), grades them with plain
nbgrader (one ``nbgrader autograde`` command, as an instructor runs it) and with this grader
(one worker, then all cores), and prints seconds per submission, the kernel-start floor, the
speed-ups and the overhead per notebook over the cells' own execution time. ``--attacks`` also
grades the attack corpus of ``tests/grader/attacks.py`` (lesson 02) with both graders and
counts how many attacks scored more than the same wrong answers without the attack.
``--scaling 8,32,128`` (the default) then grades batches of those sizes and prints, per size, the
seconds per submission and the coordinator's database work per submission (SQL statements and
SQLite steps, which do not depend on the machine's load): all three stay flat as the class grows.

``python -m grader.bench --exhaustion`` measures what one hostile submission can take from the
host under the sandbox's limits (:func:`exhaustion_figures`): memory held beyond ``--memory``
(memfd, the sandbox's /tmp, /dev/shm, a tmpfs in a new user namespace), bytes and files
written, the grader's own time and peak memory for one huge display message, and the time to
plan a 20,000-cell notebook. It uses only ``run_job`` and ``cells_to_run``, so copied into an
older checkout it measures the older grader the same way.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import nbformat

from grader.autograde import autograde, default_workers
from grader.course import ROOT, SOLUTIONS, check_lesson, use_environment_bin
from grader.sandbox import Sandbox

CELLS = re.compile(r"its cells ([0-9.]+) s")
PLAIN_CONFIG = """c = get_config()
c.CourseDirectory.course_id = "bench"
c.Execute.timeout = 60
"""


def _submissions(lesson: str, n: int) -> dict[str, nbformat.NotebookNode]:
    from tests.support.submissions import answered, released

    return {f"student_{i:03d}": released(lesson) if i % 4 == 3 else answered(lesson) for i in range(n)}


def _write(folder: Path, lesson: str, entries: dict) -> Path:
    for student, nb in entries.items():
        target = folder / student / lesson
        target.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target / f"{lesson}.ipynb")
    return folder


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


def kernel_start_floor(sandbox: bool, repeats: int = 3, preimported: bool = True) -> float:
    """Seconds to start a (sandboxed) kernel and run an empty cell, best of ``repeats``; a
    sandboxed kernel is forked from the zygote unless ``preimported`` is False."""
    from grader.execute import CellRun, _execute_cell, _Kernel
    from grader.sandbox import confined

    limits = Sandbox().limits(sandbox=sandbox, preimported=preimported)

    async def once(confinement):
        kernel = _Kernel(confinement)
        started = time.monotonic()
        try:
            await kernel.start()
            await _execute_cell(kernel, "pass", CellRun(0), False, 30)
            return time.monotonic() - started
        finally:
            await kernel.kill()

    times = []
    for _ in range(repeats):
        with confined(limits, {}) as confinement:
            times.append(asyncio.run(once(confinement)))
    return min(times)


def zygote_start_seconds() -> float:
    """Seconds to start a zygote (:mod:`grader.zygote`: one Python importing what the lessons and
    ipykernel need, once per grading process) until it can fork kernels."""
    from grader.sandbox import start_zygote

    started = time.monotonic()
    zygote = start_zygote(Sandbox().limits())
    seconds = time.monotonic() - started
    zygote.close()
    return seconds


def sandbox_setup_seconds(repeats: int = 5) -> float:
    """Seconds to make and remove one run's sandbox (uid, control group, disk, folders), best of ``repeats``."""
    from grader.sandbox import confined

    limits = Sandbox().limits()
    times = []
    for _ in range(repeats):
        started = time.monotonic()
        with confined(limits, {"a.txt": b"x"}):
            pass
        times.append(time.monotonic() - started)
    return min(times)


HOG_MB = 64  # memory and disk attacks take this much per step, up to a ceiling that keeps the host safe
# Each hog defines step(i) (hold HOG_MB more) and release() (give it all back, for a grader that did not stop it).
HOGS = {
    "memfd": """
import os
fds = []
def step(i):  # a new memfd each step: a per-file size limit does not stop it
    fds.append(os.memfd_create(f"hog{i}"))
    os.write(fds[-1], CHUNK)
def release():
    for fd in fds:
        os.close(fd)
""",
    "sandbox /tmp": """
import glob, os
def step(i):
    open(f"/tmp/hog{i}", "wb").write(CHUNK)
def release():
    for path in glob.glob("/tmp/hog*"):
        os.remove(path)
""",
    "/dev/shm": """
import glob, os
def step(i):
    open(f"/dev/shm/hog{i}", "wb").write(CHUNK)
def release():
    for path in glob.glob("/dev/shm/hog*"):
        os.remove(path)
""",
    "tmpfs in a new user namespace": """
import subprocess
script = ("mount -t tmpfs -o size=64g none /tmp || exit 3; i=0; while [ $i -lt %d ]; do "
          "head -c %d /dev/zero > /tmp/f$i || exit 4; i=$((i+1)); echo $i; done; sleep 60"
          % (CEILING * 2**20 // len(CHUNK), len(CHUNK)))
hog = subprocess.Popen(["unshare", "-Urm", "sh", "-c", script], stdout=subprocess.PIPE, text=True)
def step(i):
    if not hog.stdout.readline():
        raise OSError(f"unshare or mount refused (exit {hog.wait()})")
def release():  # the tmpfs goes with the last process of its namespace
    hog.kill()
""",
}
HOG_LOOP = """
import time
CHUNK, CEILING = b"x" * ({mb} << 20), {ceiling}
{setup}
held = 0
try:
    while held < CEILING:
        step(held // {mb})
        held += {mb}
        print("held", held, flush=True)
except (OSError, MemoryError) as error:
    print("refused:", type(error).__name__, str(error)[:80], flush=True)
time.sleep(1.5)  # long enough for a watchdog to notice
print("survived holding", held, flush=True)
release()
"""


def _run_cells(sources: list[str], limits, files: dict[str, bytes] | None = None):
    """Run code cells (none of them a test) in one sandbox; returns the ExecutionResult."""
    from grader.execute import ExecutionJob, run_job

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    return run_job(ExecutionJob("bench", json.loads(json.dumps(nb)), list(range(len(sources))), [],
                                files or {}, limits))


def _last_number(cell, word: str) -> int:
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    found = re.findall(rf"{word} (\d+)", text)
    return int(found[-1]) if found else 0


def memory_held(memory_mb: int = 512, ceiling_mb: int = 2048) -> dict[str, tuple[int, str]]:
    """``{hog: (MB it held at most, the cell's status and error)}`` under ``memory_mb`` of memory."""
    limits = Sandbox().limits(memory_mb=memory_mb, cell_timeout=120.0)
    figures = {}
    for name, setup in HOGS.items():
        result = _run_cells([HOG_LOOP.format(mb=HOG_MB, ceiling=ceiling_mb, setup=setup)], limits)
        cell = result.cells[0]
        refused = re.findall(r"refused: (.*)", "".join(o.get("text", "") for o in cell.outputs
                                                    if o.get("output_type") == "stream"))
        figures[name] = (_last_number(cell, "held"), " ".join([cell.status, cell.error or "", *refused[-1:]]).strip())
    return figures


DISK_HOG = """
import os
written = files = 0
try:
    while written < {ceiling_mb}:
        with open(f"big{{written}}", "wb") as f:
            f.write(b"x" * ({mb} << 20))
        written += {mb}
except OSError as error:
    print("bytes refused:", error)
print("written", written, flush=True)
os.makedirs("many", exist_ok=True)
try:
    while files < {ceiling_files}:
        open(f"many/{{files}}", "w").close()
        files += 1
except OSError as error:
    print("files refused:", error)
print("files", files, flush=True)
"""


def disk_written(ceiling_mb: int = 2048, ceiling_files: int = 200_000) -> tuple[int, int, str]:
    """(MB, files) one submission could write in its working folder, up to the ceilings; and the status."""
    limits = Sandbox().limits(memory_mb=4096, cell_timeout=300.0)
    result = _run_cells([DISK_HOG.format(mb=HOG_MB, ceiling_mb=ceiling_mb, ceiling_files=ceiling_files)], limits)
    cell = result.cells[0]
    return _last_number(cell, "written"), _last_number(cell, "files"), f"{cell.status} {cell.error or ''}".strip()


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def grader_cost_here(source: str, memory_mb: int = 4096) -> dict:
    """In this process: seconds and peak memory (MB beyond a warmed-up baseline) the grader spends
    running the cell ``source``, the cell's status and how many bytes of its outputs it kept."""
    limits = Sandbox().limits(memory_mb=memory_mb, cell_timeout=120.0)
    _run_cells(["print('warm')"], limits)
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak resident size
    baseline = _peak_rss_mb()
    started = time.monotonic()
    result = _run_cells(["x = 1", source], limits)
    seconds = time.monotonic() - started
    cell = result.cells[1]
    return {"seconds": round(seconds, 2), "peak_mb": round(_peak_rss_mb() - baseline), "status": cell.status,
            "error": cell.error, "kept_bytes": sum(len(json.dumps(o)) for o in cell.outputs)}


def grader_cost(source: str, memory_mb: int = 4096) -> dict:
    """:func:`grader_cost_here` in a fresh Python, so its peak memory is the grader's alone."""
    code = f"import json; from grader.bench import grader_cost_here; print(json.dumps(grader_cost_here({source!r}, {memory_mb})))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=900)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def display_message(mb: int) -> str:
    """A cell that sends one display message of ``mb`` MB."""
    return f"from IPython.display import publish_display_data\npublish_display_data({{'text/plain': 'x' * ({mb} << 20)}})"


def planning_notebook(n: int) -> tuple[list[str], list[bool]]:
    """Sources and required flags of an ``n``-cell notebook as an attacker would send it: a chain
    of cells each reading the one before, every other cell added by the student (so required)
    and the others the lesson's (so run only because the next cell reads them)."""
    return [f"v{i} = {f'v{i - 1}' if i else 0} + 1" for i in range(n)], [i % 2 == 0 for i in range(n)]


def plan_seconds(n: int = 20_000) -> float:
    """Seconds :func:`dlcourse.plan.cells_to_run` takes for :func:`planning_notebook` ``(n)`` (parsing included)."""
    from dlcourse.plan import cells_to_run

    sources, required = planning_notebook(n)
    started = time.monotonic()
    cells_to_run(sources, required)
    return time.monotonic() - started


def exhaustion_figures() -> None:
    """Print what one hostile submission can take from the host (see the module docstring)."""
    print("memory held under --memory 512 (MB held at most, ceiling 2048; the cell's status):")
    for name, (held, status) in memory_held().items():
        print(f"  {name:32s}{held:6d} MB   {status[:110]}")
    written, files, status = disk_written()
    print(f"disk: {written} MB and {files} files written in the working folder (ceilings 2048 MB, 200,000 files); "
          f"{status[:110]}")
    cost = grader_cost(display_message(300), memory_mb=4096)
    print(f"one 300 MB display message: {cost['seconds']} s, grader peak memory +{cost['peak_mb']} MB, "
          f"cell {cost['status']}, {cost['kept_bytes']:,} bytes of it kept")
    for n in (2_000, 20_000):
        print(f"planning a {n:,}-cell notebook: {plan_seconds(n):.2f} s")


def _ours(lesson: str, submissions: Path, out: Path, workers: int, reference: Path) -> tuple[float, list[float]]:
    """Wall seconds of a batch with a warm reference, and each notebook's cells' own seconds."""
    if reference.exists():
        shutil.copytree(reference, out / "reference", dirs_exist_ok=True)
    lines: list[str] = []
    started = time.monotonic()
    autograde(lesson, submissions, out, workers=workers, report=lines.append)
    cells = [float(m.group(1)) for m in map(CELLS.search, lines) if m]
    return time.monotonic() - started, cells


@contextmanager
def database_work() -> Iterator[Counter]:
    """Count, while inside, the SQL statements and the SQLite virtual machine's steps (in hundreds)
    of every SQLite database this process opens (the gradebook through SQLAlchemy, results.db).

    Unlike seconds, these do not depend on the machine's load, so a lookup that reads the whole
    class shows up even in a small batch."""
    import sqlite3
    import sqlite3.dbapi2

    work: Counter = Counter()
    original = sqlite3.connect

    def connect(*args, **kwargs):
        connection = original(*args, **kwargs)
        connection.set_trace_callback(lambda statement: work.update(statements=1))
        connection.set_progress_handler(lambda: work.update(steps=1) or 0, 100)
        return connection

    sqlite3.connect = sqlite3.dbapi2.connect = connect
    try:
        yield work
    finally:
        sqlite3.connect = sqlite3.dbapi2.connect = original


def scaling(lesson: str, sizes: Iterable[int], root: Path, workers: int | None = None) -> list[dict]:
    """Grade batches of ``sizes`` submissions (each in a new output folder, the reference run once
    beforehand and copied in) and return per size ``n``: ``seconds`` per submission, and the SQL
    ``statements`` and SQLite ``steps`` (hundreds) per submission (:func:`database_work`)."""
    warm = root / "scaling-reference"
    autograde(lesson, _write(root / "scaling-reference-submissions", lesson, _submissions(lesson, 1)), warm,
              workers=workers)
    figures = []
    for n in sizes:
        folder = root / f"scaling-{n}"
        submissions = _write(folder / "submissions", lesson, _submissions(lesson, n))
        shutil.copytree(warm / "reference", folder / "graded" / "reference")
        with database_work() as work:
            started = time.monotonic()
            autograde(lesson, submissions, folder / "graded", workers=workers)
            seconds = time.monotonic() - started
        figures.append({"n": n, "seconds": seconds / n, "statements": work["statements"] / n,
                        "steps": work["steps"] / n})
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m grader.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", default="02_cross_entropy")
    parser.add_argument("-n", type=int, default=8, help="number of submissions (default 8)")
    parser.add_argument("--attacks", action="store_true", help="also count the attacks that fool each grader")
    parser.add_argument("--scaling", default="8,32,128", metavar="N,N,...",
                        help="batch sizes whose cost per submission is printed (default 8,32,128; '' for none)")
    parser.add_argument("--exhaustion", action="store_true",
                        help="instead, measure what one hostile submission can take from the host")
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
    if args.exhaustion:
        return exhaustion_figures()
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
    executed_floor = kernel_start_floor(True, preimported=False)
    plain_floor = kernel_start_floor(False)
    one, every = one_total / args.n, all_total / args.n

    print(f"\n{'':44s}{'s / submission':>16s}{'throughput x':>14s}")
    print(f"{'plain nbgrader autograde' + ('' if plain_ok else ' (FAILED)'):44s}{plain:16.2f}{1.0:14.2f}")
    print(f"{'this grader, 1 worker':44s}{one:16.2f}{plain / one:14.2f}")
    print(f"{f'this grader, {cores} workers':44s}{every:16.2f}{plain / every:14.2f}")
    print(f"\nkernel start + empty cell: sandboxed {sandboxed_floor:.2f} s (forked from the zygote; "
          f"{executed_floor:.2f} s as a new Python), unsandboxed {plain_floor:.2f} s; "
          f"making and removing a sandbox: {sandbox_setup_seconds():.3f} s")
    print(f"starting the zygote kernels fork from (once per grading process, not per submission): "
          f"{zygote_start_seconds():.2f} s")
    print(f"first batch in a new output folder (includes the reference run): {first_batch:.1f} s")
    print(f"the notebook's own execution time (whole notebook, kernel start included): {own:.2f} s; "
          f"this grader with 1 worker takes {abs(one - own):.2f} s {'more' if one > own else 'less'} per notebook "
          "(it runs only the cells grading needs)")
    if cells:
        graded = sum(cells) / len(cells)
        print(f"cells grading runs, per notebook: {graded:.2f} s; grading overhead beyond them "
              f"(kernel start, sanitizing, judging, feedback): {one - graded:.2f} s")
    sizes = [int(n) for n in args.scaling.split(",") if n.strip()]
    if sizes:
        print(f"\ncost per submission by batch size ({cores} workers; SQLite steps in hundreds):")
        print(f"{'submissions':>12s}{'s / submission':>16s}{'SQL statements':>16s}{'SQLite steps':>14s}")
        for row in scaling(lesson, sizes, root):
            print(f"{row['n']:12d}{row['seconds']:16.2f}{row['statements']:16.1f}{row['steps']:14.1f}")
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

"""Thin command line over :mod:`grader.api`: parse arguments, call one verb, print a summary."""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from grader.course import CourseError


def _release(args: argparse.Namespace) -> int:
    from grader.release import release

    for folder in release(args.lessons or None):
        print(f"released {folder}")
    return 0


def _autograde(args: argparse.Namespace) -> int:
    from grader.autograde import autograde
    from grader.course import nbgrader_config
    from grader.sandbox import Sandbox

    limits = Sandbox(config=nbgrader_config()).limits(
        sandbox=not args.no_sandbox, cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
        memory_mb=args.memory, max_processes=args.max_processes, max_output_bytes=args.max_output,
        disk_mb=args.disk, max_files=args.max_files)
    rows = autograde(args.lesson, args.submissions, args.out, limits=limits, workers=args.workers,
                     dask=args.dask, force=args.force, report=print)
    totals: dict[str, list[float]] = {}
    for row in rows:
        total = totals.setdefault(row.student, [0.0, 0.0])
        total[0] += row.score
        total[1] += row.max_score
    for student, (score, max_score) in totals.items():
        statuses = Counter(r.status for r in rows if r.student == student)
        print(f"{student}: {score:g} / {max_score:g}  ({', '.join(f'{n} {s}' for s, n in sorted(statuses.items()))})")
    print(f"graded {len(totals)} submissions of {args.lesson}; results in {Path(args.out) / 'grades.csv'}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from dlcourse.validate import check
    from grader.course import nbgrader_config
    from grader.sandbox import Sandbox

    # The student's validator, with the course's own time limit per cell.
    return check(args.notebooks, timeout=Sandbox(config=nbgrader_config()).cell_timeout)


def _collect(args: argparse.Namespace) -> int:
    from grader.collect import collect

    done = collect(args.archive, args.lesson, args.submissions, args.pattern)
    print(f"collected {len(done.students)} submissions of {args.lesson} into {args.submissions}")
    for entry in done.unmatched:
        print(f"  unmatched (no student found in its name, not collected): {entry}")
    for student, entries in done.duplicates.items():
        print(f"  duplicate: {student} sent {len(entries) + 1} files; kept the newest, {done.students[student]}; "
              f"not used: {', '.join(entries)}")
    for entry in done.too_large:
        print(f"  too large, not collected: {entry}")
    for entry in done.special:
        print(f"  a symbolic link or special file, not collected: {entry}")
    for student, why in done.refused.items():
        print(f"  not written for {student}: {why}")
    for entry in done.ignored:
        print(f"  ignored system file: {entry}")
    return 0 if done.students else 1


def _report(args: argparse.Namespace) -> int:
    from grader.report import report

    page, book = report(args.graded, args.roster)
    print(f"wrote {page} and {book}")
    return 0


def _site(args: argparse.Namespace) -> int:
    from grader.website import build_site

    started = time.monotonic()
    out = build_site(args.out, args.lessons or None, report=print)
    print(f"wrote {out / 'index.html'} in {time.monotonic() - started:.0f} s")
    return 0


def _edition(args: argparse.Namespace) -> int:
    from grader.edition import edition

    out = edition(args.out, git=args.git)
    files = [p for p in out.rglob("*") if p.is_file() and ".git" not in p.relative_to(out).parts]
    size = sum(p.stat().st_size for p in files)
    print(f"wrote the student edition into {out}: {len(files)} files, {size / 1e6:.1f} MB"
          + (" (a git repository with one commit)" if args.git else ""))
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m grader``."""
    p = argparse.ArgumentParser(prog="python -m grader", description="Release and grade the course's lessons.")
    verbs = p.add_subparsers(dest="verb", required=True)

    r = verbs.add_parser("release", help="regenerate lessons/ (student versions) from solutions/")
    r.add_argument("lessons", nargs="*", help="lesson ids (default: all)")
    r.set_defaults(run=_release)

    a = verbs.add_parser("autograde", help="grade a folder of submissions of one lesson")
    a.add_argument("lesson", help="lesson id, e.g. 02_cross_entropy")
    a.add_argument("submissions", type=Path, help="folder laid out as <student>/<lesson>/<notebook>.ipynb")
    a.add_argument("--out", type=Path, default=Path("graded"),
                   help="output folder for grades.csv and feedback/ (default: graded/)")
    a.add_argument("--workers", type=int, help="submissions graded at once (default: the number of cores)")
    a.add_argument("--dask", metavar="ADDRESS", help="run the submissions on this dask.distributed scheduler")
    a.add_argument("--force", action="store_true", help="grade again submissions that are unchanged since graded")
    a.add_argument("--no-sandbox", action="store_true",
                   help="run student code without bubblewrap (recorded beside every grade)")
    limits = a.add_argument_group("limits (defaults: c.Sandbox in nbgrader_config.py)")
    limits.add_argument("--cell-timeout", type=float, metavar="S", help="seconds per cell")
    limits.add_argument("--notebook-timeout", type=float, metavar="S", help="seconds per notebook")
    limits.add_argument("--memory", type=int, metavar="MB", help="memory of a submission's processes")
    limits.add_argument("--max-processes", type=int, metavar="N", help="processes and threads of a submission")
    limits.add_argument("--max-output", type=int, metavar="BYTES", help="output kept per cell")
    limits.add_argument("--disk", type=int, metavar="MB",
                        help="what a submission may write (its home and working copy, /tmp, /dev/shm together)")
    limits.add_argument("--max-files", type=int, metavar="N", help="files and folders a submission may have at once")
    a.set_defaults(run=_autograde)

    v = verbs.add_parser("validate", help="run the visible tests of notebooks, one line per exercise "
                                          "(what students run as python -m dlcourse validate)")
    v.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK",
                   help="a lesson notebook, or a folder: every notebook under it")
    v.set_defaults(run=_validate)

    c = verbs.add_parser("collect", help="unpack a zip from a learning-management system into nbgrader's layout")
    c.add_argument("archive", type=Path)
    c.add_argument("lesson")
    c.add_argument("submissions", type=Path)
    c.add_argument("--pattern", action="append", metavar="REGEX",
                   help="regular expression with a (?P<student>...) group, matched on each entry's path; "
                        "repeat to try several (default: <student>/<file>.ipynb and <student>_<anything>.ipynb)")
    c.set_defaults(run=_collect)

    rp = verbs.add_parser("report", help="write report.html and class_gradebook.csv for a graded folder")
    rp.add_argument("graded", type=Path)
    rp.add_argument("--roster", type=Path, help="file listing every student (first column), to find who did not submit")
    rp.set_defaults(run=_report)

    s = verbs.add_parser("site", help="write the course website (student versions, demonstrations run) into a folder")
    s.add_argument("out", type=Path, nargs="?", default=Path("_site"), help="the site's folder (default: _site/)")
    s.add_argument("--lessons", nargs="+", metavar="LESSON", help="lesson ids (default: all)")
    s.set_defaults(run=_site)

    e = verbs.add_parser("edition", help="write the student edition: what a course publishes to its students")
    e.add_argument("out", type=Path, help="the folder to write (new, empty, or an edition built before)")
    e.add_argument("--git", action="store_true", help="also make it a git repository with one commit")
    e.set_defaults(run=_edition)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 on success, 2 on a usage error)."""
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

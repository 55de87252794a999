"""Collect: turn a zip downloaded from a learning-management system into nbgrader's layout.

Entries are matched to students by a regular expression with a named group ``student``;
the defaults accept ``<student>/<file>.ipynb`` and ``<student>_<anything>.ipynb`` (inside a
folder that wraps the whole archive, too). Nothing is dropped silently: entries that
match no pattern, and every submission but the newest of a student who sent several, are
reported. Each notebook lands in ``SUBMISSIONS/<student>/<LESSON>/<notebook>.ipynb`` with a
``timestamp.txt`` (the archive's date for the entry) for nbgrader's late penalties.

Entries that are symbolic links (or other special files) in the archive are not collected,
and nothing is written through a link already in the submissions folder: a student or
lesson folder that is a link is reported and left alone (:mod:`grader.student_files`).
"""
from __future__ import annotations

import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from grader.course import CourseError, check_lesson, source_notebooks
from grader.student_files import Refused, open_or_make_folder, write_regular_file

DEFAULT_PATTERNS = (r"^(?P<student>[^/]+)/[^/]+\.ipynb$", r"^(?P<student>[^/_]+)_[^/]*\.ipynb$")
MAX_ENTRY_BYTES = 100_000_000
IGNORED = ("__MACOSX/", ".DS_Store", "Thumbs.db")


@dataclass
class Collected:
    """What :func:`collect` did with every entry of the archive."""
    students: dict[str, str] = field(default_factory=dict)       # student -> archive entry used
    unmatched: list[str] = field(default_factory=list)           # entries no pattern matched
    duplicates: dict[str, list[str]] = field(default_factory=dict)  # student -> entries not used
    ignored: list[str] = field(default_factory=list)             # system files (__MACOSX, .DS_Store)
    too_large: list[str] = field(default_factory=list)
    special: list[str] = field(default_factory=list)             # links and other non-regular entries
    refused: dict[str, str] = field(default_factory=dict)        # student -> why nothing was written


def _student_id(raw: str) -> str:
    cleaned = re.sub(r"[\\/\x00-\x1f]", "_", raw).strip().strip(".")
    return cleaned


def _common_folder(names: list[str]) -> str:
    """The top-level folder every entry sits in (``"export/"``), or '' when there is none."""
    tops = {n.split("/", 1)[0] for n in names}
    return tops.pop() + "/" if len(tops) == 1 and all("/" in n for n in names) else ""


def collect(archive: Path, lesson: str, submissions: Path, patterns: list[str] | None = None) -> Collected:
    """Unpack the notebooks of ``archive`` into ``submissions`` in nbgrader's layout.

    Args:
        archive: a zip file of submissions.
        lesson: the lesson they answer (its notebook name is given to every file).
        submissions: the folder to fill (``<student>/<lesson>/<notebook>.ipynb``).
        patterns: regular expressions with a ``student`` group, tried in order on each entry's
            path inside the archive (default: :data:`DEFAULT_PATTERNS`).

    Returns:
        A :class:`Collected` report of every entry.

    Raises:
        CourseError: the archive is not a zip file, a pattern is invalid, or the lesson has
            several notebooks (which this layout cannot tell apart).
    """
    lesson = check_lesson(lesson)
    notebooks = source_notebooks(lesson)
    if len(notebooks) != 1:
        raise CourseError(f"{lesson} has {len(notebooks)} notebooks; collect handles one notebook per lesson")
    try:
        compiled = [re.compile(p) for p in (patterns or DEFAULT_PATTERNS)]
    except re.error as error:
        raise CourseError(f"invalid pattern: {error}") from None
    if any("student" not in p.groupindex for p in compiled):
        raise CourseError("every pattern needs a named group (?P<student>...)")
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as error:
        raise CourseError(f"{archive} is not a readable zip file ({error})") from None
    report = Collected()
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        wanted = [i for i in infos if not any(part in i.filename for part in IGNORED)]
        report.ignored = [i.filename for i in infos if i not in wanted]
        prefix = _common_folder([i.filename for i in wanted])
        chosen: dict[str, list[zipfile.ZipInfo]] = {}
        for info in wanted:
            # A folder wrapping the whole archive is tried without it first, then with it.
            names = dict.fromkeys([str(PurePosixPath(info.filename[len(prefix):])), info.filename])
            match = next((m for name in names for m in (p.match(name) for p in compiled) if m), None)
            student = _student_id(match.group("student")) if match else ""
            kind = stat.S_IFMT(info.external_attr >> 16)
            if not student:
                report.unmatched.append(info.filename)
            elif kind and kind != stat.S_IFREG:
                report.special.append(info.filename)
            elif info.file_size > MAX_ENTRY_BYTES:
                report.too_large.append(info.filename)
            else:
                chosen.setdefault(student, []).append(info)
        submissions.mkdir(parents=True, exist_ok=True)
        root = os.open(submissions, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            for student, entries in sorted(chosen.items()):
                entries.sort(key=lambda i: (i.date_time, i.filename))
                newest = entries[-1]
                if len(entries) > 1:
                    report.duplicates[student] = [i.filename for i in entries[:-1]]
                stamp = datetime(*newest.date_time).strftime("%Y-%m-%d %H:%M:%S")
                try:
                    with open_or_make_folder(student, root, "folder") as mine, \
                            open_or_make_folder(lesson, mine, "lesson folder") as folder:
                        write_regular_file(notebooks[0].name, folder, zf.read(newest))
                        write_regular_file("timestamp.txt", folder, (stamp + "\n").encode())
                except Refused as refused:
                    report.refused[student] = refused.message
                    continue
                report.students[student] = newest.filename
        finally:
            os.close(root)
    return report

"""Collect: turn a zip downloaded from a learning-management system into nbgrader's layout.

Entries are matched to students by a regular expression with a named group ``student``;
the defaults accept ``<student>/<file>.ipynb`` and ``<student>_<anything>.ipynb`` (inside a
folder that wraps the whole archive, too). Nothing is dropped silently: entries that
match no pattern, and every submission but the newest of a student who sent several, are
reported. Each notebook lands in ``SUBMISSIONS/<student>/<LESSON>/<notebook>.ipynb`` with a
``timestamp.txt`` (the archive's date for the entry) for nbgrader's late penalties.
"""
from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from grader.course import CourseError, check_lesson, source_notebooks

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
            if not student:
                report.unmatched.append(info.filename)
            elif info.file_size > MAX_ENTRY_BYTES:
                report.too_large.append(info.filename)
            else:
                chosen.setdefault(student, []).append(info)
        for student, entries in sorted(chosen.items()):
            entries.sort(key=lambda i: (i.date_time, i.filename))
            newest = entries[-1]
            if len(entries) > 1:
                report.duplicates[student] = [i.filename for i in entries[:-1]]
            folder = submissions / student / lesson
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / notebooks[0].name
            partial = folder / f".{target.name}.part"
            partial.write_bytes(zf.read(newest))
            os.replace(partial, target)
            stamp = datetime(*newest.date_time).strftime("%Y-%m-%d %H:%M:%S")
            (folder / "timestamp.txt").write_text(stamp + "\n")
            report.students[student] = newest.filename
    return report

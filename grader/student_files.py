"""Read (and, for ``collect``, write) a student's submission folder without following a single link.

A submission folder can arrive by git clone, tar, ``cp -a`` or ``rsync -a``, all of which keep
symbolic links, named pipes and device files. The grader runs as a user who can read much
more than the student (root in CI: the solutions, the reference reports, /etc/shadow), so it
opens every component itself, relative to an already opened folder, with ``O_NOFOLLOW``, and
checks what it opened with ``fstat`` on that descriptor: the student's folder, the lesson
folder and every file must be the real thing, regular files must be regular, and sizes are
bounded before anything is read. Anything else is :class:`Refused`, with a sentence that says
what to submit instead.
"""
from __future__ import annotations

import errno
import os
import stat
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

_NOFOLLOW = os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_RDONLY | _NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
_DIR_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_DIRECTORY", 0)
TIMESTAMP = "timestamp.txt"
MAX_TIMESTAMP_BYTES = 1000


class Refused(Exception):
    """Something in a submission folder the grader will not read; ``message`` says what and why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _kind(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"),
                       (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device")):
        if test(mode):
            return name
    return "not a regular file"


def _refuse_link(name: str, what: str) -> Refused:
    noun = "file" if what == "files" else what
    return Refused(f"the {noun} {name} is a symbolic link; the grader reads only the student's own {what}, "
                   f"never a link: submit the {noun} itself")


@contextmanager
def open_folder(name: str, dir_fd: int | None = None, what: str = "folder") -> Iterator[int]:
    """A descriptor of the folder ``name`` (relative to ``dir_fd``), refused if it is a link or not a folder."""
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            # O_NOFOLLOW | O_DIRECTORY refuses a link with ENOTDIR: lstat only picks the words.
            try:
                is_link = stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
            except OSError:
                is_link = error.errno == errno.ELOOP
            if is_link:
                raise _refuse_link(Path(name).name, what) from None
            raise Refused(f"the {what} {Path(name).name} is not a real folder") from None
        raise
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):    # O_DIRECTORY makes this impossible; be explicit anyway
            raise Refused(f"the {what} {Path(name).name} is not a real folder")
        yield fd
    finally:
        os.close(fd)


def read_regular_file(name: str, dir_fd: int, limit: int) -> bytes:
    """The bytes of the regular file ``name`` in the folder ``dir_fd``, at most ``limit`` of them.

    Raises:
        Refused: ``name`` is a link, a pipe, a device, a folder, or larger than ``limit``.
        FileNotFoundError: there is no ``name``.
    """
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _refuse_link(name, "file") from None
        if error.errno == errno.EISDIR:
            raise Refused(f"the file {name} is a folder, not a file") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"the file {name} is {_kind(info.st_mode)}, not a regular file; the grader reads only "
                          "regular files")
        if info.st_size > limit:
            raise Refused(f"the file {name} is {info.st_size:,} bytes, more than the {limit:,} the grader accepts")
        chunks, left = [], limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:   # it grew while we read it
            raise Refused(f"the file {name} is more than the {limit:,} bytes the grader accepts")
        return data
    finally:
        os.close(fd)


@contextmanager
def open_or_make_folder(name: str, dir_fd: int, what: str = "folder") -> Iterator[int]:
    """:func:`open_folder`, making the folder first if it does not exist (never through a link)."""
    try:
        os.mkdir(name, 0o755, dir_fd=dir_fd)
    except FileExistsError:
        pass
    with open_folder(name, dir_fd, what) as fd:
        yield fd


def write_regular_file(name: str, dir_fd: int, data: bytes) -> None:
    """Write ``data`` as the regular file ``name`` of the folder ``dir_fd``, atomically.

    A link already named ``name`` is replaced, never written through.
    """
    partial = f".{name}.part"
    try:
        os.unlink(partial, dir_fd=dir_fd)
    except FileNotFoundError:
        pass
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(partial, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(partial, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        raise


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str          # "file", "folder", or the words of :func:`_kind` for anything else
    size: int


def list_folder(dir_fd: int, max_entries: int) -> list[Entry]:
    """The entries of a folder, without following links, sorted by name.

    Raises:
        Refused: the folder holds more than ``max_entries`` entries.
    """
    entries = []
    with os.scandir(dir_fd) as scan:
        for item in scan:
            if len(entries) >= max_entries:
                raise Refused(f"the folder holds more than {max_entries:,} files; the grader accepts at most that many")
            info = item.stat(follow_symlinks=False)
            kind = "file" if stat.S_ISREG(info.st_mode) else "folder" if stat.S_ISDIR(info.st_mode) \
                else _kind(info.st_mode)
            entries.append(Entry(item.name, kind, info.st_size))
    return sorted(entries, key=lambda e: e.name)


@dataclass(frozen=True)
class Caps:
    """What the grader reads of one submission folder, at most (see ``c.Submission``)."""
    notebook_bytes: int
    cells: int
    extra_bytes: int          # all other files together
    files: int                # entries in the lesson folder


@dataclass
class FolderContents:
    """What a student's lesson folder holds, read safely (see :func:`read_lesson_folder`)."""
    notebook_name: str                       # the file graded (maybe a renamed notebook)
    notebook: bytes | None                   # None: nothing submitted under that name
    others: list[str] = field(default_factory=list)         # other notebooks seen (for messages)
    extra: dict[str, bytes] = field(default_factory=dict)   # files copied beside the notebook
    timestamp: bytes | None = None
    skipped: list[str] = field(default_factory=list)        # extra files over the size budget
    problem: Refused | None = None            # why the folder cannot be graded, if it cannot


def _refusal_of_entry(entry: Entry) -> Refused | None:
    if entry.kind == "file" or entry.kind == "folder":
        return None
    if entry.kind == "a symbolic link":
        return _refuse_link(entry.name, "files")
    return Refused(f"the file {entry.name} is {entry.kind}, not a regular file; the grader reads only regular "
                   "files: remove it and submit again")


def read_lesson_folder(submissions: Path, student: str, lesson: str, notebook: str, caps: Caps) -> FolderContents:
    """Read ``submissions/<student>/<lesson>`` for grading the notebook ``<notebook>.ipynb``.

    The submissions folder itself is the instructor's and is trusted; from there on nothing
    is followed. The notebook is ``<notebook>.ipynb`` or, failing that, the folder's only other
    ``.ipynb`` (a renamed notebook). Every other regular file is read, up to
    ``caps.extra_bytes`` in total, to be copied beside the notebook; sub-folders are not read.

    Returns:
        The contents; ``problem`` is set when the student's folder or the lesson folder is a
        link, or the lesson folder holds a link, a pipe, a device or a socket, too many
        files, a notebook that is too large or an oversized ``timestamp.txt``.
    """
    expected = f"{notebook}.ipynb"
    try:
        with ExitStack() as stack:
            root = os.open(submissions, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
            stack.callback(os.close, root)
            try:
                mine = stack.enter_context(open_folder(student, root, "folder"))
                folder = stack.enter_context(open_folder(lesson, mine, "lesson folder"))
            except FileNotFoundError:
                return FolderContents(expected, None)
            return _read(folder, expected, caps)
    except Refused as refused:
        return FolderContents(expected, None, problem=refused)


def read_notebook_folder(path: Path, caps: Caps) -> FolderContents:
    """Read the folder of the notebook at ``path`` (the folder is trusted, nothing in it is), for validate."""
    path = Path(path)
    fd = os.open(path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        return _read(fd, path.name, caps)
    except Refused as refused:
        return FolderContents(path.name, None, problem=refused)
    finally:
        os.close(fd)


def _read(fd: int, expected: str, caps: Caps) -> FolderContents:
    entries = list_folder(fd, caps.files)
    for entry in entries:
        refusal = _refusal_of_entry(entry)
        if refusal:
            return FolderContents(expected, None, problem=refusal)
    files = {e.name: e for e in entries if e.kind == "file"}
    notebooks = [n for n in files if n.endswith(".ipynb") and not n.startswith(".")]
    name = expected
    if expected not in files and expected not in {e.name for e in entries} and len(notebooks) == 1:
        name = notebooks[0]
    contents = FolderContents(name, None, others=sorted(n for n in notebooks if n != name))
    if any(e.name == name and e.kind == "folder" for e in entries):
        contents.problem = Refused(f"the file {name} is a folder, not a notebook")
        return contents
    if name in files:
        contents.notebook = read_regular_file(name, fd, caps.notebook_bytes)
    if TIMESTAMP in files:
        contents.timestamp = read_regular_file(TIMESTAMP, fd, MAX_TIMESTAMP_BYTES)
    budget = caps.extra_bytes
    for entry in files.values():
        if entry.name.endswith(".ipynb"):
            continue
        if entry.size > budget:
            contents.skipped.append(entry.name)
            continue
        data = read_regular_file(entry.name, fd, budget)
        contents.extra[entry.name] = data
        budget -= len(data)
    return contents

"""The grader reads only the student's own regular files: no link is followed, no pipe or device opened."""
from __future__ import annotations

import os
import stat
import threading
import zipfile

import pytest

from grader.collect import collect
from grader.student_files import Caps, Refused, read_lesson_folder, read_regular_file
from tests.support import notebooks as nbs

LESSON = "02_cross_entropy"
CAPS = Caps(notebook_bytes=1_000_000, cells=2000, extra_bytes=1000, files=20)


@pytest.fixture
def folder(tmp_path):
    """An honest submission: ``tmp_path/submissions/ann/02_cross_entropy`` with a notebook and a helper."""
    lesson = tmp_path / "submissions" / "ann" / LESSON
    lesson.mkdir(parents=True)
    (lesson / f"{LESSON}.ipynb").write_text('{"cells": []}')
    (lesson / "helper.py").write_text("X = 1\n")
    (lesson / "timestamp.txt").write_text("2026-11-20 10:00:00\n")
    (lesson / ".ipynb_checkpoints").mkdir()
    return lesson


def _read(tmp_path, caps=CAPS, student="ann"):
    return read_lesson_folder(tmp_path / "submissions", student, LESSON, LESSON, caps)


def test_an_honest_folder_is_read_whole(tmp_path, folder):
    contents = _read(tmp_path)
    assert contents.problem is None and contents.notebook == b'{"cells": []}'
    assert contents.extra == {"helper.py": b"X = 1\n", "timestamp.txt": b"2026-11-20 10:00:00\n"}
    assert contents.timestamp == b"2026-11-20 10:00:00\n"


def _refusal(tmp_path, *words):
    contents = _read(tmp_path)
    assert contents.problem is not None and contents.notebook is None and not contents.extra
    for word in words:
        assert word in contents.problem.message, contents.problem.message
    return contents.problem.message


def test_a_notebook_that_links_to_the_solution_is_refused(tmp_path, folder):
    (folder / f"{LESSON}.ipynb").unlink()
    os.symlink(nbs.solution_path(LESSON), folder / f"{LESSON}.ipynb")
    _refusal(tmp_path, f"{LESSON}.ipynb is a symbolic link", "never a link")


@pytest.mark.parametrize("target", ["reference reports", "a file only the grader may read"])
def test_an_extra_file_that_links_outside_the_folder_is_refused(tmp_path, folder, target):
    secret = tmp_path / "graded" / "reference" / "02--02--key.json" if target == "reference reports" \
        else tmp_path / "shadow"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text("root:$6$secret:19000:0:99999:7:::\n")
    os.chmod(secret, 0o600)
    os.symlink(secret, folder / "data.json")
    _refusal(tmp_path, "data.json is a symbolic link")


def test_a_link_to_a_file_inside_the_folder_is_refused_too(tmp_path, folder):
    os.symlink("helper.py", folder / "again.py")
    _refusal(tmp_path, "again.py is a symbolic link")


def test_a_directory_link_is_refused(tmp_path, folder):
    os.symlink("/", folder / "root")
    _refusal(tmp_path, "root is a symbolic link")


@pytest.mark.parametrize("level", ["student", "lesson"])
def test_a_student_or_lesson_folder_that_is_a_link_is_refused(tmp_path, folder, level):
    other = tmp_path / "submissions" / "bob" / LESSON
    other.mkdir(parents=True)
    (other / f"{LESSON}.ipynb").write_text('{"cells": ["bob"]}')
    if level == "student":
        os.symlink(tmp_path / "submissions" / "bob", tmp_path / "submissions" / "mallory")
        contents = _read(tmp_path, student="mallory")
        assert "mallory is a symbolic link" in contents.problem.message and contents.notebook is None
    else:
        (tmp_path / "submissions" / "mallory").mkdir()
        os.symlink(other, tmp_path / "submissions" / "mallory" / LESSON)
        contents = _read(tmp_path, student="mallory")
        assert f"{LESSON} is a symbolic link" in contents.problem.message and contents.notebook is None


def test_a_notebook_that_is_a_named_pipe_is_refused_without_blocking(tmp_path, folder):
    (folder / f"{LESSON}.ipynb").unlink()
    os.mkfifo(folder / f"{LESSON}.ipynb")
    result = {}
    reader = threading.Thread(target=lambda: result.update(contents=_read(tmp_path)), daemon=True)
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "reading a named pipe must not block the grader"
    assert "is a named pipe, not a regular file" in result["contents"].problem.message


def test_the_descriptor_is_checked_not_the_name(tmp_path):
    """read_regular_file decides on fstat of what it opened: a pipe opened by name is refused at once."""
    os.mkfifo(tmp_path / "pipe")
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        with pytest.raises(Refused, match="named pipe"):
            read_regular_file("pipe", fd, 100)
        os.symlink("/etc/passwd", tmp_path / "link")
        with pytest.raises(Refused, match="symbolic link"):
            read_regular_file("link", fd, 100)
    finally:
        os.close(fd)


def test_a_device_is_refused(tmp_path, folder):
    try:
        os.mknod(folder / "zero", stat.S_IFCHR | 0o644, os.makedev(1, 5))
    except PermissionError:
        pytest.skip("making a device file needs CAP_MKNOD")
    _refusal(tmp_path, "zero is a device, not a regular file")


def test_sizes_and_counts_are_bounded_before_reading(tmp_path, folder):
    (folder / f"{LESSON}.ipynb").write_bytes(b" " * 2000)
    contents = _read(tmp_path, Caps(notebook_bytes=1000, cells=10, extra_bytes=1000, files=20))
    assert "2,000 bytes, more than the 1,000" in contents.problem.message
    (folder / f"{LESSON}.ipynb").write_text('{"cells": []}')
    (folder / "big.bin").write_bytes(b"x" * 5000)
    contents = _read(tmp_path)
    assert contents.problem is None and contents.skipped == ["big.bin"] and "big.bin" not in contents.extra
    for i in range(25):
        (folder / f"f{i}.txt").write_text("x")
    assert "more than 20 files" in _read(tmp_path).problem.message
    for i in range(25):
        (folder / f"f{i}.txt").unlink()
    (folder / "timestamp.txt").write_text("x" * 5000)
    assert "timestamp.txt is 5,000 bytes" in _read(tmp_path).problem.message


def test_a_renamed_notebook_is_found_and_a_missing_one_reported(tmp_path, folder):
    (folder / f"{LESSON}.ipynb").rename(folder / "my work.ipynb")
    contents = _read(tmp_path)
    assert contents.notebook_name == "my work.ipynb" and contents.notebook == b'{"cells": []}'
    (folder / "second.ipynb").write_text("{}")
    contents = _read(tmp_path)
    assert contents.notebook is None and contents.others == ["my work.ipynb", "second.ipynb"]
    nobody = _read(tmp_path, student="nobody")
    assert nobody.notebook is None and nobody.problem is None, "no folder at all: nothing was submitted"


def _zip_with_link(path, link_name, target):
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo(link_name, date_time=(2026, 1, 1, 0, 0, 0))
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, target)
        zf.writestr(zipfile.ZipInfo("ann/hw.ipynb", date_time=(2026, 1, 1, 0, 0, 0)), b"{}")
    return path


def test_collect_does_not_unpack_links(tmp_path):
    archive = _zip_with_link(tmp_path / "lms.zip", "mallory/hw.ipynb", str(nbs.solution_path(LESSON)))
    done = collect(archive, LESSON, tmp_path / "s")
    assert done.special == ["mallory/hw.ipynb"] and sorted(done.students) == ["ann"]
    assert not (tmp_path / "s" / "mallory").exists()


def test_collect_never_writes_through_a_link_in_the_submissions_folder(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "timestamp.txt").write_text("precious\n")
    submissions = tmp_path / "s"
    (submissions / "ann").mkdir(parents=True)
    os.symlink(victim, submissions / "ann" / LESSON)           # planted before collect runs
    archive = _zip_with_link(tmp_path / "lms.zip", "x/y.ipynb", "/etc/passwd")
    done = collect(archive, LESSON, submissions)
    assert "ann" not in done.students and "is a symbolic link" in done.refused["ann"]
    assert (victim / "timestamp.txt").read_text() == "precious\n" and not (victim / f"{LESSON}.ipynb").exists()
    os.unlink(submissions / "ann" / LESSON)
    (submissions / "ann" / LESSON).mkdir()
    os.symlink(victim / "timestamp.txt", submissions / "ann" / LESSON / "timestamp.txt")
    done = collect(archive, LESSON, submissions)
    assert "ann" in done.students and (victim / "timestamp.txt").read_text() == "precious\n", \
        "a link named like the file is replaced, not written through"
    assert not os.path.islink(submissions / "ann" / LESSON / "timestamp.txt")

"""python -m grader collect: an LMS zip into nbgrader's layout, with nothing dropped silently."""
from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from grader.collect import collect
from grader.course import ROOT, CourseError

LESSON = "02_cross_entropy"


def _zip(path, entries):
    with zipfile.ZipFile(path, "w") as zf:
        for name, (content, when) in entries.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=when), content)
    return path


def test_default_patterns_duplicates_and_unmatched(tmp_path):
    archive = _zip(tmp_path / "lms.zip", {
        "alice/homework 7.ipynb": (b'{"alice": 1}', (2026, 11, 20, 10, 0, 0)),
        "bob_12345_02_cross_entropy.ipynb": (b'{"bob": 1}', (2026, 11, 20, 11, 0, 0)),
        "carol/first try.ipynb": (b'{"carol": 1}', (2026, 11, 19, 9, 0, 0)),
        "carol/final.ipynb": (b'{"carol": 2}', (2026, 11, 21, 9, 0, 0)),
        "readme.txt": (b"instructions", (2026, 11, 1, 0, 0, 0)),
        "notes.ipynb": (b"{}", (2026, 11, 1, 0, 0, 0)),
        "__MACOSX/alice/._homework 7.ipynb": (b"junk", (2026, 11, 1, 0, 0, 0)),
    })
    out = tmp_path / "submissions"
    done = collect(archive, LESSON, out)
    assert sorted(done.students) == ["alice", "bob", "carol"]
    assert (out / "alice" / LESSON / f"{LESSON}.ipynb").read_bytes() == b'{"alice": 1}'
    assert (out / "carol" / LESSON / f"{LESSON}.ipynb").read_bytes() == b'{"carol": 2}', "the newest is kept"
    assert done.duplicates == {"carol": ["carol/first try.ipynb"]}
    assert sorted(done.unmatched) == ["notes.ipynb", "readme.txt"]
    assert done.ignored == ["__MACOSX/alice/._homework 7.ipynb"]
    assert (out / "bob" / LESSON / "timestamp.txt").read_text().strip() == "2026-11-20 11:00:00"


def test_a_wrapping_folder_and_a_custom_pattern(tmp_path):
    archive = _zip(tmp_path / "moodle.zip", {
        "export/Ana Lima_1001_assignsubmission_file_/hw.ipynb": (b"{}", (2026, 1, 1, 0, 0, 0)),
        "export/Zoë Ng_1002_assignsubmission_file_/hw.ipynb": (b"{}", (2026, 1, 1, 0, 0, 0)),
    })
    done = collect(archive, LESSON, tmp_path / "s", [r"^(?P<student>[^_/]+)_\d+_assignsubmission_file_/.*\.ipynb$"])
    assert sorted(done.students) == ["Ana Lima", "Zoë Ng"] and not done.unmatched


def test_entries_cannot_escape_the_submissions_folder(tmp_path):
    archive = _zip(tmp_path / "evil.zip", {"../../etc/x.ipynb": (b"{}", (2026, 1, 1, 0, 0, 0)),
                                           "../mallory_hw.ipynb": (b"{}", (2026, 1, 1, 0, 0, 0))})
    done = collect(archive, LESSON, tmp_path / "s")
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix == ".ipynb"]
    assert all((tmp_path / "s") in p.parents for p in written)
    assert done.students == {"mallory": "../mallory_hw.ipynb"} and done.unmatched == ["../../etc/x.ipynb"]


def test_bad_archives_and_patterns_are_refused(tmp_path):
    (tmp_path / "not.zip").write_text("hello")
    with pytest.raises(CourseError, match="not a readable zip"):
        collect(tmp_path / "not.zip", LESSON, tmp_path / "s")
    archive = _zip(tmp_path / "ok.zip", {"a/x.ipynb": (b"{}", (2026, 1, 1, 0, 0, 0))})
    with pytest.raises(CourseError, match="named group"):
        collect(archive, LESSON, tmp_path / "s", [r"^(.*)\.ipynb$"])


def test_command_line_reports_everything(tmp_path):
    archive = _zip(tmp_path / "lms.zip", {"dan/a.ipynb": (b"{}", (2026, 1, 1, 0, 0, 0)),
                                          "dan/b.ipynb": (b"{}", (2026, 1, 2, 0, 0, 0)),
                                          "stray.pdf": (b"%PDF", (2026, 1, 1, 0, 0, 0))})
    done = subprocess.run([sys.executable, "-m", "grader", "collect", str(archive), LESSON, str(tmp_path / "s")],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0
    assert "collected 1 submissions" in done.stdout and "unmatched" in done.stdout and "stray.pdf" in done.stdout
    assert "duplicate: dan sent 2 files; kept the newest, dan/b.ipynb; not used: dan/a.ipynb" in done.stdout

"""python -m grader report: one self-contained page and a class gradebook CSV."""
from __future__ import annotations

import csv
import re
import subprocess
import sys

import pytest

from grader.course import ROOT
from grader.results import ResultStore, Row

ROWS = [
    Row("ann", "02_cross_entropy", "02_cross_entropy", "ex02_1_softmax_small_cases", 1, 1, "ok", ""),
    Row("ann", "02_cross_entropy", "02_cross_entropy", "ex02_1_softmax_matches_reference", 2, 2, "ok", ""),
    Row("ben", "02_cross_entropy", "02_cross_entropy", "ex02_1_softmax_small_cases", 1, 1, "ok", ""),
    Row("ben", "02_cross_entropy", "02_cross_entropy", "ex02_1_softmax_matches_reference", 0, 2, "failed", "nan"),
    Row("cat", "02_cross_entropy", "02_cross_entropy", "ex02_1_softmax_small_cases", 0, 1, "timeout", "too slow"),
    Row("cat", "02_cross_entropy", "02_cross_entropy", "ex02_1_softmax_matches_reference", 0, 2, "tampered", "forged"),
    Row("ann", "04_optimizers", "04_optimizers", "ex04_1_sgd_step_small_cases", 1, 1, "ok", ""),
    Row("dan <b>", "04_optimizers", "04_optimizers", "ex04_1_sgd_step_small_cases", 0, 1, "missing", "no file"),
]


@pytest.fixture
def graded(tmp_path):
    store = ResultStore(tmp_path / "results.db")
    for student in {r.student for r in ROWS}:
        for lesson in {r.lesson for r in ROWS}:
            mine = [r for r in ROWS if r.student == student and r.lesson == lesson]
            if mine:
                store.record(lesson, student, lesson, "digest", mine)
    store.write_csv(tmp_path / "grades.csv")
    (tmp_path / "roster.csv").write_text("student,email\nann,a@x\nben,b@x\ncat,c@x\ndan <b>,d@x\neve,e@x\n")
    return tmp_path


def test_report_page_and_class_gradebook(graded):
    done = subprocess.run([sys.executable, "-m", "grader", "report", str(graded), "--roster", str(graded / "roster.csv")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    page = (graded / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 4, "two plots per lesson, embedded"
    assert not re.search(r"""(src|href)=["'](?!data:)""", page), "self-contained: no external files"
    assert "Hardest test: <b>ex02_1_softmax_matches_reference</b> (33% of students pass it)" in page
    attention = page.split("Students needing attention")[1].split("<h2>")[0]
    for expected in ("cat", "timeout (1)", "tampered (1)", "dan &lt;b&gt;", "missing (1)", "eve", "not submitted"):
        assert expected in attention, expected
    assert "<td>ann</td>" not in attention and "<td>ben</td>" not in attention, "students with only scores are fine"
    assert "dan <b>" not in page, "names are escaped"
    with open(graded / "class_gradebook.csv", newline="") as f:
        book = {r["student"]: r for r in csv.DictReader(f)}
    assert list(next(iter(book.values()))) == ["student", "02_cross_entropy", "04_optimizers"]
    assert book["ann"]["02_cross_entropy"] == "3.0" and book["ann"]["04_optimizers"] == "1.0"
    assert book["ben"]["02_cross_entropy"] == "1.0" and book["ben"]["04_optimizers"] == ""
    assert book["eve"]["02_cross_entropy"] == "", "roster students without a submission get an empty cell"


def test_report_of_an_empty_folder_says_what_to_do(tmp_path):
    done = subprocess.run([sys.executable, "-m", "grader", "report", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "grade a batch" in done.stderr


@pytest.mark.slow
def test_report_renders_in_a_browser(graded):
    from grader.report import report
    from tests.support.browser import chromium_page

    page_path, _ = report(graded)
    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with chromium_page() as page:
        page.goto(page_path.as_uri())
        images = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
        page.screenshot(path=str(artifacts / "class-report.png"), full_page=True)
    assert len(images) == 4 and all(width > 100 for width in images), "every plot decodes and shows"

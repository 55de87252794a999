"""nbgrader's formgrader works on the course and on the grader's output (manual grading of written answers)."""
from __future__ import annotations

import json
import urllib.request

import pytest

from grader.course import ROOT, lesson_ids
from tests.support.grading import grade_batch
from tests.support.submissions import answered
from tests.test_lab import TOKEN, start_lab

LESSON = "02_cross_entropy"


def _api(base: str, path: str):
    request = urllib.request.Request(f"{base}/formgrader/api/{path}", headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def formgrader(tmp_path_factory):
    root = tmp_path_factory.mktemp("formgrader")
    grade_batch(root, LESSON, {"ann": answered(LESSON)})
    out = root / "graded"
    folders = {"COURSE_GRADED_DIR": str(out), "COURSE_SUBMISSIONS_DIR": str(root / "submissions")}
    with start_lab(ROOT, tmp_path_factory.mktemp("runtime"), folders) as base:
        yield base


@pytest.mark.slow
def test_formgrader_lists_every_lesson(formgrader):
    names = {a["name"] for a in _api(formgrader, "assignments")}
    assert set(lesson_ids()) <= names


@pytest.mark.slow
def test_formgrader_shows_the_graded_submission_awaiting_manual_grading(formgrader):
    submissions = _api(formgrader, f"submissions/{LESSON}")
    ann = next(s for s in submissions if s["student"] == "ann")
    assert ann["autograded"] and ann["needs_manual_grade"], ann
    assert ann["code_score"] == 16.0 and ann["max_written_score"] == 2.0

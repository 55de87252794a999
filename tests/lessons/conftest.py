"""Fixtures shared by the lesson tests."""
from __future__ import annotations

import pytest

from grader.course import lesson_ids
from tests.support import notebooks as nbs


@pytest.fixture(scope="module", params=lesson_ids())
def lesson_run(request):
    """``(lesson, its LessonRun)`` for every lesson: one execution per lesson per test session."""
    return request.param, nbs.lesson_run(request.param)

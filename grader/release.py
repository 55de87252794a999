"""Release: generate the student versions in ``lessons/`` from ``solutions/`` with nbgrader."""
from __future__ import annotations

from pathlib import Path

from grader.course import LESSONS, CourseError, check_lesson, lesson_ids, nbgrader_api, nbgrader_config


def release(lessons: list[str] | None = None, *, release_dir: Path = LESSONS,
            db_url: str | None = None) -> list[Path]:
    """Generate the student version of each lesson with nbgrader's ``generate_assignment``.

    Solutions are replaced by stubs, hidden tests removed, outputs cleared, and the lesson's
    other files (spreadsheets) copied. The lesson's cells are recorded in the gradebook.

    Args:
        lessons: lesson ids (default: every lesson in ``solutions/``).
        release_dir: where the student versions go (default ``lessons/``).
        db_url: gradebook to record the lessons in (default: the course's, under ``graded/``).

    Returns:
        The folders written, one per lesson.

    Raises:
        CourseError: a lesson is unknown or nbgrader refused it (its log is in the message).
    """
    overrides = {"release_directory": str(Path(release_dir).resolve())}
    if db_url:
        overrides["db_url"] = db_url
    api = nbgrader_api(nbgrader_config(**overrides))
    written = []
    for lesson in lessons or lesson_ids():
        result = api.generate_assignment(check_lesson(lesson), force=True, create=True)
        if not result["success"]:
            raise CourseError(f"nbgrader could not release {lesson}:\n{result.get('log', '')}{result.get('error', '')}")
        written.append(Path(release_dir) / lesson)
    return written

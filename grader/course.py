"""Where the course lives and how nbgrader is configured for it."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
LESSONS = ROOT / "lessons"
LESSON_ID = re.compile(r"^\d\d_[a-z0-9_]+$")


class CourseError(RuntimeError):
    """The course or a command's arguments are not as expected; the message says how."""


def lesson_ids() -> list[str]:
    """Ids of every lesson in ``solutions/`` (folders named ``NN_topic``), sorted."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and LESSON_ID.match(p.name))


def check_lesson(lesson: str) -> str:
    """Return ``lesson`` if ``solutions/<lesson>`` exists, else raise CourseError listing the lessons."""
    if lesson not in lesson_ids():
        raise CourseError(f"No lesson {lesson!r} in {SOLUTIONS}: choose one of {', '.join(lesson_ids())}.")
    return lesson


def source_notebooks(lesson: str) -> list[Path]:
    """The nbgrader source notebooks of a lesson (usually one, ``<lesson>.ipynb``)."""
    return sorted((SOLUTIONS / check_lesson(lesson)).glob("*.ipynb"))


def use_environment_bin() -> None:
    """Put this Python's ``bin`` folder first on PATH: nbgrader runs ``alembic`` as a program."""
    bin_dir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def nbgrader_config(**course_directory: str) -> Config:
    """The committed ``nbgrader_config.py``, with some ``CourseDirectory`` settings overridden.

    Args:
        course_directory: ``CourseDirectory`` traits to override, e.g.
            ``submitted_directory="/abs/path"`` or ``db_url="sqlite:////abs/gradebook.db"``.

    Returns:
        A traitlets Config for nbgrader's apps and API.
    """
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    for key, value in course_directory.items():
        config.CourseDirectory[key] = value
    return config


def nbgrader_api(config: Config):
    """An ``nbgrader.apps.NbGraderAPI`` for ``config`` (imported lazily: nbgrader is slow to import)."""
    use_environment_bin()
    import warnings

    from sqlalchemy.exc import SAWarning

    # nbgrader 0.9.6 creates submissions in a way SQLAlchemy 2 warns about; the rows are right.
    warnings.filterwarnings("ignore", message=".*not in session.*", category=SAWarning)
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=config)
    if coursedir.db_url.startswith("sqlite:///"):  # sqlite creates the file, not its folder
        Path(coursedir.db_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return NbGraderAPI(coursedir, config=config)

"""The grader's Python API: one function per verb of ``python -m grader``."""
from dlcourse.validate import validate
from grader.autograde import autograde
from grader.collect import collect
from grader.edition import edition
from grader.release import release
from grader.report import report
from grader.sandbox import Limits, Sandbox

__all__ = ["autograde", "collect", "edition", "release", "report", "validate", "Limits", "Sandbox"]

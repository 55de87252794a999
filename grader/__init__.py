"""The course's grading tool, built on nbgrader: release lessons, autograde a class, write grades.

Command line: ``python -m grader {release,autograde} ...``; Python: :mod:`grader.api`.
"""

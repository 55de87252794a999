"""Feedback for a submission nbgrader cannot render (nothing gradable was submitted)."""
from __future__ import annotations

import html
from pathlib import Path

from grader.results import STATUSES

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{lesson}: feedback for {student}</title>
<style>body{{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.5}}
.status{{display:inline-block;padding:.1em .6em;border-radius:.3em;background:#fde2e1;color:#8a1c1c}}</style></head>
<body><h1>{lesson} / {notebook}</h1><p>Student: <b>{student}</b></p>
<p>Score: <b>0</b>. Status: <span class="status">{status}</span> ({meaning}).</p>
<p>{message}</p></body></html>
"""


def write_problem_feedback(path: Path, student: str, lesson: str, notebook: str, status: str, message: str) -> None:
    """Write a small HTML page telling a student why their submission could not be graded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = {k: html.escape(v) for k, v in dict(student=student, lesson=lesson, notebook=notebook, status=status,
                                                  meaning=STATUSES[status], message=message).items()}
    path.write_text(PAGE.format(**fields), encoding="utf-8")

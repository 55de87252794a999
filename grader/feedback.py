"""Feedback pages for students: nbgrader's feedback template, rendered fast, with a summary on top.

nbgrader's ``generate_feedback`` builds a new exporter (and compiles its templates) for every
student, which costs most of a second; :class:`FeedbackWriter` keeps one exporter for the
batch and runs the same preprocessors nbgrader_config.py lists for ``GenerateFeedback``
(hidden tests and their tracebacks removed). A summary table of every exercise's score and
the grader's message opens the page.
"""
from __future__ import annotations

import copy
import html
import os
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from traitlets.config import Config

from grader.results import STATUSES, Row

PROBLEM_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{lesson}: feedback for {student}</title>
<style>body{{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.5}}
.status{{display:inline-block;padding:.1em .6em;border-radius:.3em;background:#fde2e1;color:#8a1c1c}}</style></head>
<body><h1>{lesson} / {notebook}</h1><p>Student: <b>{student}</b></p>
<p>Score: <b>0</b>. Status: <span class="status">{status}</span> ({meaning}).</p>
<p>{message}</p></body></html>
"""


def write_problem_feedback(path: Path, student: str, lesson: str, notebook: str, status: str, message: str) -> None:
    """Write a small page telling a student why their submission could not be graded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = {k: html.escape(v) for k, v in dict(student=student, lesson=lesson, notebook=notebook, status=status,
                                                  meaning=STATUSES[status], message=message).items()}
    path.write_text(PROBLEM_PAGE.format(**fields), encoding="utf-8")


def summary_cell(rows: list[Row]) -> nbformat.NotebookNode:
    """A markdown cell with one line per graded test: exercise, score, status, message."""
    def cell_text(text: str) -> str:
        return html.escape(text).replace("|", "&#124;").replace("\n", " ")

    lines = ["## Your results", "", "| test | score | status | what the grader saw |", "|---|---|---|---|"]
    for row in rows:
        lines.append(f"| `{row.exercise}` | {row.score:g} / {row.max_score:g} | {row.status} | "
                     f"{cell_text(row.message) or 'all checks passed'} |")
    total, best = sum(r.score for r in rows), sum(r.max_score for r in rows)
    lines += ["", f"**Autograded score: {total:g} / {best:g}.** Written answers are graded by hand."]
    return nbformat.v4.new_markdown_cell("\n".join(lines))


class FeedbackWriter:
    """Renders feedback HTML for many students with one exporter."""

    def __init__(self, config: Config):
        import nbgrader

        package = Path(nbgrader.__file__).parent
        settings = copy.deepcopy(config)
        settings.HTMLExporter.template_name = "feedback"
        settings.HTMLExporter.extra_template_basedirs = [str(package / "server_extensions" / "formgrader" / "templates")]
        settings.HTMLExporter.extra_template_paths = [
            str(package / "server_extensions" / "formgrader" / "static" / "node_modules" / "bootstrap" / "dist" / "css")]
        self.exporter = HTMLExporter(config=settings)
        self.exporter._preprocessors = []
        for preprocessor in config.GenerateFeedback.preprocessors:
            self.exporter.register_preprocessor(preprocessor, enabled=True)

    def write(self, graded: nbformat.NotebookNode, rows: list[Row], resources: dict, path: Path) -> None:
        """Render ``graded`` (an autograded notebook) with a summary of ``rows`` to ``path``, atomically.

        Args:
            graded: the autograded notebook (test cells hold the grader's verdicts).
            rows: the notebook's result rows, for the summary.
            resources: nbgrader resources (student, assignment, notebook, db_url) for the scores.
            path: the HTML file to write.
        """
        nb = nbformat.from_dict(graded)
        nb.cells.insert(0, summary_cell(rows))
        body, _ = self.exporter.from_notebook_node(nb, resources={**resources, "nbgrader": dict(resources["nbgrader"])})
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.part")
        partial.write_text(body, encoding="utf-8")
        os.replace(partial, path)

"""Feedback pages for students: nbgrader's feedback template, rendered fast, with a summary on top.

nbgrader's ``generate_feedback`` builds a new exporter (and compiles its templates) for every
student, which costs most of a second; :class:`FeedbackWriter` keeps one exporter for the
batch and runs the same preprocessors nbgrader_config.py lists for ``GenerateFeedback``
(hidden tests and their tracebacks removed). A summary table of every exercise's score and
the grader's message opens the page.

Pages are safe to open (:mod:`grader.pages`): student markdown and HTML outputs are
sanitized, JavaScript and widget outputs are not rendered, and a Content-Security-Policy
forbids every script and remote load (MathJax too: formulas show as their LaTeX source). A page that would still show a secret
(:meth:`grader.redact.Secrets.page_is_clean`) is replaced by the summary alone.
"""
from __future__ import annotations

import copy
import html
import json
import os
from pathlib import Path

import nbformat
from bs4 import BeautifulSoup
from jinja2 import pass_context
from nbconvert import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from traitlets.config import Config

from grader.pages import CSP_META, Memo, markup_budget, safe_html, with_csp
from grader.results import STATUSES, Row

PROBLEM_PAGE = """<!DOCTYPE html>
<html lang="en"><head>""" + CSP_META.replace("{", "{{").replace("}", "}}") + """<meta charset="utf-8">
<title>{lesson}: feedback for {student}</title>
<style>body{{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.5}}
.status{{display:inline-block;padding:.1em .6em;border-radius:.3em;background:#fde2e1;color:#8a1c1c}}</style></head>
<body><h1>{lesson} / {notebook}</h1><p>Student: <b>{student}</b></p>
<p>Score: <b>0</b>. Status: <span class="status">{status}</span> ({meaning}).</p>
<p>{message}</p></body></html>
"""


SUMMARY_PAGE = """<!DOCTYPE html>
<html lang="en"><head>""" + CSP_META.replace("{", "{{").replace("}", "}}") + """<meta charset="utf-8">
<title>{notebook}: feedback</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.5}}
td,th{{border:1px solid #ccc;padding:.2em .5em;text-align:left}}table{{border-collapse:collapse}}</style></head>
<body><h1>{notebook}</h1><p>{why}</p><table><tr><th>test</th><th>score</th><th>status</th>
<th>what the grader saw</th></tr>{rows}</table></body></html>
"""
WITHHELD_NOTE = ("Outputs are shown for the cells that ran before the first hidden test; later cells ran, "
                 "but their outputs are not shown, and checks that ran after a hidden test are described "
                 "briefly. `make check` (`python -m dlcourse validate`) on your notebook shows the visible "
                 "checks in full.")


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as a whole or not at all; a partial file never stays behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_problem_feedback(path: Path, student: str, lesson: str, notebook: str, status: str, message: str) -> None:
    """Write a small page telling a student why their submission could not be graded."""
    fields = {k: html.escape(v) for k, v in dict(student=student, lesson=lesson, notebook=notebook, status=status,
                                                  meaning=STATUSES[status], message=message).items()}
    write_text_atomically(path, PROBLEM_PAGE.format(**fields))


def write_summary_feedback(path: Path, notebook: str, rows: list[Row], why: str) -> None:
    """Write a page with only the table of results (when the full page cannot be shown)."""
    lines = "".join(f"<tr><td>{html.escape(r.exercise)}</td><td>{r.score:g} / {r.max_score:g}</td>"
                    f"<td>{html.escape(r.status)}</td><td>{html.escape(r.message) or 'all checks passed'}</td></tr>"
                    for r in rows)
    write_text_atomically(path, SUMMARY_PAGE.format(notebook=html.escape(notebook), why=html.escape(why), rows=lines))


def summary_cell(rows: list[Row], withheld: bool = False) -> nbformat.NotebookNode:
    """A markdown cell with one line per graded test: exercise, score, status, message.

    With ``withheld``, a note says that outputs after the first hidden test are not shown.
    """
    def cell_text(text: str) -> str:
        return html.escape(text).replace("|", "&#124;").replace("\n", " ")

    lines = ["## Your results", "", "| test | score | status | what the grader saw |", "|---|---|---|---|"]
    for row in rows:
        lines.append(f"| `{row.exercise}` | {row.score:g} / {row.max_score:g} | {row.status} | "
                     f"{cell_text(row.message) or 'all checks passed'} |")
    total, best = sum(r.score for r in rows), sum(r.max_score for r in rows)
    lines += ["", f"**Autograded score: {total:g} / {best:g}.** Written answers are graded by hand."]
    if withheld:
        lines += ["", WITHHELD_NOTE]
    return nbformat.v4.new_markdown_cell("\n".join(lines))


class SafeHTMLExporter(HTMLExporter):
    """nbconvert's HTML exporter with every piece of student markdown and HTML passed through
    :func:`grader.pages.safe_html` (nbgrader's feedback template renders markdown cells without
    nbconvert's ``clean_html``, and that filter's allowlist escapes paragraphs and headings)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Every student's page repeats the lesson's cells: each piece is rendered once per batch.
        # (The page's markup budget is charged for every piece, cached or not: see safe_html.)
        self._markdown, self._cleaned, self._highlighted = Memo(), Memo(), Memo()

    @pass_context
    def markdown2html(self, context, source):
        if context.get("cell", {}).get("attachments"):
            return safe_html(super().markdown2html(context, source))
        path = context.get("resources", {}).get("metadata", {}).get("path", "")
        rendered = self._markdown.get((source, path), lambda: super(SafeHTMLExporter, self).markdown2html(context, source))
        return safe_html(rendered, self._cleaned)

    def default_filters(self):
        for name, function in super().default_filters():
            yield name, (safe_html if name == "clean_html" else function)

    def from_notebook_node(self, nb, resources=None, **kw):
        """HTMLExporter's page, whose last pass parses the whole page with BeautifulSoup (half the
        time of a feedback page) to give images without one an alt text and JupyterLab's cells a
        tabindex: nbgrader's feedback template has no such cells, so the pass runs only on a page
        with images."""
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        highlight = self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))

        def highlight_code(source, language=None, metadata=None):
            key = (source, language, lexer, json.dumps(metadata, sort_keys=True, default=str))
            return self._highlighted.get(key, lambda: highlight(source, language, metadata))

        self.register_filter("highlight_code", highlight_code)
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type",
                             WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        if "<img" not in page:
            return page, resources
        soup = BeautifulSoup(page, features="html.parser")
        for image in soup.select("img:not([alt])"):
            image.attrs["alt"] = "No description has been provided for this image"
        return str(soup), resources


class FeedbackWriter:
    """Renders feedback HTML for many students with one exporter."""

    def __init__(self, config: Config):
        import nbgrader

        package = Path(nbgrader.__file__).parent
        settings = copy.deepcopy(config)
        for section in ("HTMLExporter", "SafeHTMLExporter"):
            settings[section].template_name = "feedback"
            settings[section].sanitize_html = True
            settings[section].extra_template_basedirs = [
                str(package / "server_extensions" / "formgrader" / "templates")]
            settings[section].extra_template_paths = [
                str(package / "server_extensions" / "formgrader" / "static" / "node_modules" / "bootstrap" / "dist"
                    / "css")]
        self.exporter = SafeHTMLExporter(config=settings)
        self.exporter._preprocessors = []
        for preprocessor in config.GenerateFeedback.preprocessors:
            self.exporter.register_preprocessor(preprocessor, enabled=True)

    def render(self, graded: nbformat.NotebookNode, rows: list[Row], resources: dict, withheld: bool = False) -> str:
        """The feedback page of ``graded`` (an autograded notebook) with a summary of ``rows``.

        Args:
            graded: the autograded notebook (test cells hold the grader's verdicts).
            rows: the notebook's result rows, for the summary.
            resources: nbgrader resources (student, assignment, notebook, db_url) for the scores.
            withheld: outputs after the first hidden test were withheld (the summary says so).
        """
        nb = nbformat.from_dict(graded)
        nb.cells.insert(0, summary_cell(rows, withheld))
        with markup_budget():
            body, _ = self.exporter.from_notebook_node(nb, resources={**resources, "nbgrader": dict(resources["nbgrader"])})
        return with_csp(body)

    def write(self, graded: nbformat.NotebookNode, rows: list[Row], resources: dict, path: Path,
              withheld: bool = False) -> None:
        """Render (see :meth:`render`) to ``path``, atomically."""
        write_text_atomically(path, self.render(graded, rows, resources, withheld))

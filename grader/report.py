"""Report: a class overview from ``grades.csv``, as one self-contained HTML page and a gradebook CSV.

``report.html`` holds, per lesson, the distribution of scores, the pass rate of every test
(hardest first), and the students who need attention (errors, timeouts, tampering, invalid
or missing notebooks, and roster students with no submission), with the plots embedded.
``class_gradebook.csv`` has one row per student and one column per lesson, ready to upload.
The page carries the grader's Content-Security-Policy (:mod:`grader.pages`) and escapes every
student-chosen string; the CSV writes names that start like a formula as text (:func:`grader.results.csv_safe`).
"""
from __future__ import annotations

import base64
import html
import io
from datetime import datetime
from pathlib import Path

import pandas as pd

from grader.course import CourseError
from grader.pages import CSP_META
from grader.results import STATUSES, csv_safe, read_csv

ATTENTION = ("error", "timeout", "tampered", "forbidden", "invalid", "missing")
STYLE = """body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;line-height:1.45;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#eef3f8}.bad{color:#8a1c1c}.note{color:#555}img{max-width:100%}"""


def _figure_html(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return f'<img alt="" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, escape=True, border=0)


def class_gradebook(grades: pd.DataFrame) -> pd.DataFrame:
    """One row per student, one column per lesson: the student's autograded score."""
    totals = grades.groupby(["student", "lesson"])["score"].sum().unstack("lesson")
    return totals.reset_index().rename_axis(columns=None)


def _lesson_section(lesson: str, rows: pd.DataFrame) -> str:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per_student = rows.groupby("student").agg(score=("score", "sum"), max_score=("max_score", "sum"))
    best = per_student["max_score"].max()
    fig, ax = plt.subplots(figsize=(6, 2.8))
    ax.hist(per_student["score"], bins=min(20, max(5, len(per_student))), range=(0, best), color="#4a7fb0")
    ax.set(xlabel=f"autograded score (out of {best:g})", ylabel="students", title=f"{lesson}: score distribution")
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    distribution = _figure_html(fig)

    rates = (rows.assign(passed=rows["status"].eq("ok"))
             .groupby("exercise", sort=False)["passed"].mean().sort_values())
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(rates) + 1))
    ax.barh(rates.index, rates.values * 100, color=["#c0504d" if r < 0.5 else "#4a7fb0" for r in rates.values])
    ax.set(xlabel="students passing (%)", xlim=(0, 100), title=f"{lesson}: pass rate per test (hardest at the top)")
    ax.invert_yaxis()
    passing = _figure_html(fig)

    summary = (f"<p>{len(per_student)} students; mean {per_student['score'].mean():.1f} / {best:g}, "
               f"median {per_student['score'].median():g}. Hardest test: <b>{html.escape(rates.index[0])}</b> "
               f"({rates.iloc[0]:.0%} of students pass it).</p>")
    table = _table(pd.DataFrame({"test": rates.index, "students passing": [f"{r:.0%}" for r in rates.values]}))
    return f"<h2>{html.escape(lesson)}</h2>{summary}{distribution}{passing}{table}"


def _attention(grades: pd.DataFrame, roster: list[str]) -> str:
    flagged = grades[grades["status"].isin(ATTENTION)]
    items = []
    for (student, lesson), group in flagged.groupby(["student", "lesson"]):
        statuses = ", ".join(f"{s} ({n})" for s, n in group["status"].value_counts().items())
        message = group["message"].iloc[0]
        items.append({"student": student, "lesson": lesson, "statuses": statuses, "first message": message})
    submitted = set(grades["student"])
    for student in roster:
        if student not in submitted:
            items.append({"student": student, "lesson": "(all)", "statuses": "not submitted",
                          "first message": "on the roster, but no submission was graded"})
    if not items:
        return "<h2>Students needing attention</h2><p>None: every submission ran to the end.</p>"
    legend = "".join(f"<li><b>{s}</b>: {html.escape(STATUSES[s])}</li>" for s in ATTENTION)
    return (f"<h2>Students needing attention</h2><p>{len(items)} to look at.</p>"
            f"{_table(pd.DataFrame(items))}<ul class='note'>{legend}</ul>")


def report(graded: Path, roster: Path | None = None) -> tuple[Path, Path]:
    """Write ``report.html`` and ``class_gradebook.csv`` into ``graded`` from its ``grades.csv``.

    Args:
        graded: an output folder of ``python -m grader autograde``.
        roster: optional text or CSV file whose first column lists every student of the class,
            so that students who submitted nothing are listed too.

    Returns:
        The paths of the HTML report and of the class gradebook.
    """
    source = Path(graded) / "grades.csv"
    if not source.exists():
        raise CourseError(f"{source} does not exist: grade a batch into {graded} first")
    grades = pd.DataFrame([r.__dict__ for r in read_csv(source)])
    if grades.empty:
        raise CourseError(f"{source} has no rows")
    names = []
    if roster:
        names = [line.split(",")[0].strip() for line in Path(roster).read_text(encoding="utf-8").splitlines()]
        names = [n for n in names if n and n.lower() not in ("student", "id", "student_id")]
    book = class_gradebook(grades)
    if names:
        book = book.set_index("student").reindex(sorted(set(book["student"]) | set(names))).reset_index()
    book_path = Path(graded) / "class_gradebook.csv"
    book.assign(student=book["student"].map(csv_safe)).to_csv(book_path, index=False)
    sections = "".join(_lesson_section(lesson, rows) for lesson, rows in grades.groupby("lesson"))
    page = (f"<!DOCTYPE html><html lang='en'><head>{CSP_META}<meta charset='utf-8'><title>Class report</title>"
            f"<style>{STYLE}</style></head><body><h1>Class report</h1>"
            f"<p class='note'>From {html.escape(str(source))}, {datetime.now():%Y-%m-%d %H:%M}. "
            f"{grades['student'].nunique()} students, {grades['lesson'].nunique()} lesson(s). "
            f"Per-student gradebook: class_gradebook.csv.</p>"
            f"{_attention(grades, names)}{sections}</body></html>")
    page_path = Path(graded) / "report.html"
    page_path.write_text(page, encoding="utf-8")
    return page_path, book_path

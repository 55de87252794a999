"""The reference solution's reports: what every check of every test cell must see.

The solution notebook runs once, through the same rewriting, plan and sandbox as a
submission, and its reports are kept in the output folder, keyed by everything that could
change them (the notebook, the wire format, the rewriting and the plan), so a batch that
is graded again does not run it again.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import dlcourse.checks
import dlcourse.notebook
import dlcourse.observe
import dlcourse.plan
import dlcourse.policy
import grader.rewrite
from dlcourse.observe import decode
from dlcourse.policy import POLICY_SITE
from grader.course import CourseError
from grader.execute import run_job
from grader.lesson import LessonNotebook
from grader.sandbox import Limits
from grader.submission import plan_job


def _modules_digest(seed: str, modules) -> str:
    digest = hashlib.sha256(seed.encode())
    for module in modules:
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


def reference_key(notebook: LessonNotebook) -> str:
    """A digest of the solution notebook and of the code that turns it into reports."""
    return _modules_digest(notebook.digest, (dlcourse.checks, dlcourse.notebook, dlcourse.observe, dlcourse.plan,
                                             dlcourse.policy, grader.rewrite))


def grading_key(notebook: LessonNotebook) -> str:
    """:func:`reference_key` and the grader's own judging code: what a grade depends on besides
    the submission (a submission graded under another key is graded again)."""
    import grader.autograde
    import grader.execute
    import grader.judge
    import grader.redact
    import grader.student_files
    import grader.submission

    return _modules_digest(reference_key(notebook), (grader.judge, grader.redact, grader.submission,
                                                     grader.student_files, grader.execute, grader.autograde))


def reference_reports(notebook: LessonNotebook, files: dict[str, bytes], limits: Limits,
                      cache: Path) -> dict[str, list[dict]]:
    """``{test grade id: [reports]}`` of the reference solution, from the cache or a fresh run.

    Raises:
        CourseError: the solution itself fails a test cell when graded (for example a test
            that reads a global which grading skips), so no submission could be judged.
    """
    key = reference_key(notebook)
    path = cache / f"{notebook.lesson}--{notebook.name}--{key[:20]}.json"
    if path.exists():
        return json.loads(path.read_text())
    source = notebook.read()
    job = plan_job(f"reference/{notebook.name}", source, source, notebook, files, limits)
    result = run_job(job)
    reports, problems = {}, []
    for index in job.test_cells:
        grade_id = source.cells[index].metadata.nbgrader["grade_id"]
        run = result.cells.get(index)
        if run is None or run.status != "ok" or not run.observations:
            problems.append(f"{grade_id}: {getattr(run, 'error', None) or 'no check reported'}")
            continue
        for report in run.observations:
            if "error" in report:
                problems.append(f"{grade_id}: {report['error']}")
            if report.get("site") == POLICY_SITE and report.get("calls"):
                problems.append(f"{grade_id}: the reference calls {report['calls']}, which its exercise forbids")
            decode(report.get("value"))
        reports[grade_id] = run.observations
    if problems:
        raise CourseError(f"the reference solution of {notebook.lesson}/{notebook.name} fails when graded:\n  "
                          + "\n  ".join(problems) + "\n" + "\n".join(result.notes))
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_text(json.dumps(reports))
    os.replace(partial, path)
    return reports

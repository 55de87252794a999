"""Autograde: grade every student's submission of one lesson, safely, in parallel.

The coordinator (this process) reads and sanitizes each submission with nbgrader's
preprocessors, sends a job per notebook to sandboxed kernels (threads here, or a Dask
cluster), judges what comes back against the reference solution's reports, and alone writes
the gradebook, the autograded notebooks, the feedback, the result store and ``grades.csv``.
"""
from __future__ import annotations

import copy
import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Callable, Iterable, Iterator

import nbformat

from dlcourse.notebook import is_test_cell, nbgrader_meta
from grader.course import CourseError, check_lesson, nbgrader_api, nbgrader_config
from grader.execute import CellRun, ExecutionJob, ExecutionResult, run_job
from grader.feedback import FeedbackWriter, write_problem_feedback
from grader.judge import Verdict, judge
from grader.lesson import LessonNotebook, companion_files, load_lesson
from grader.reference import reference_key, reference_reports
from grader.results import SANDBOXED, UNSANDBOXED, ResultStore, Row
from grader.sandbox import Limits, Sandbox, require_sandbox
from grader.submission import Prepared, Ungradable, find_submitted, prepare

TITLES = {"failed": "Failed", "timeout": "Timeout", "error": "Error", "tampered": "Tampered",
          "forbidden": "Forbidden"}


def default_workers() -> int:
    return os.cpu_count() or 1


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    partial.write_bytes(data)
    os.replace(partial, path)


class _LocalRunner:
    """Runs jobs in sandboxes on this machine, ``workers`` at a time (threads driving kernels)."""

    def __init__(self, workers: int):
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandbox")
        self.futures: set = set()

    def submit(self, job: ExecutionJob) -> None:
        self.futures.add(self.pool.submit(run_job, job))

    def results(self, wait: bool) -> Iterator[ExecutionResult]:
        """Results of finished jobs; with ``wait``, of every job, as they finish."""
        finished = as_completed(list(self.futures)) if wait else [f for f in list(self.futures) if f.done()]
        for future in finished:
            self.futures.discard(future)
            yield future.result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _DaskRunner:
    """Runs jobs on a ``dask.distributed`` cluster; only results come back here."""

    def __init__(self, address: str):
        from distributed import Client

        self.client = Client(address)
        self.futures = set()

    def submit(self, job: ExecutionJob) -> None:
        self.futures.add(self.client.submit(run_job, job, key=f"grade-{job.key}-{time.time_ns()}", pure=False))

    def results(self, wait: bool) -> Iterator[ExecutionResult]:
        from distributed import as_completed as dask_completed

        finished = dask_completed(list(self.futures)) if wait and self.futures else \
            [f for f in list(self.futures) if f.done()]
        for future in finished:
            self.futures.discard(future)
            yield future.result()

    def close(self) -> None:
        self.client.close()


class _Batch:
    """The coordinator's state for one ``autograde`` call."""

    def __init__(self, lesson: str, submissions: Path, out: Path, limits: Limits, force: bool,
                 report: Callable[[str], None]):
        self.lesson, self.submissions, self.out, self.limits, self.force, self.report = \
            lesson, submissions, out, limits, force, report
        self.db_url = f"sqlite:///{out / 'gradebook.db'}"
        self.config = nbgrader_config(
            submitted_directory=str(submissions), autograded_directory=str(out / "autograded"),
            feedback_directory=str(out / "feedback"), release_directory=str(out / ".release"), db_url=self.db_url)
        self.api = nbgrader_api(self.config)
        self.notebooks = load_lesson(lesson)
        self._register_lesson()
        self.files = companion_files(lesson)
        self.references = {nb.name: reference_reports(nb, self.files, limits, out / "reference")
                           for nb in self.notebooks}
        self.store = ResultStore(out / "results.db")
        self.feedback = FeedbackWriter(self.config)
        self.sandbox_label = SANDBOXED if limits.sandbox else UNSANDBOXED

    def _register_lesson(self) -> None:
        """Record the lesson in the output folder's gradebook (nbgrader generate_assignment), once per source."""
        stamp = self.out / ".release" / f"{self.lesson}.digest"
        digest = ",".join(nb.digest for nb in self.notebooks)
        if stamp.exists() and stamp.read_text() == digest:
            return
        result = self.api.generate_assignment(self.lesson, force=True, create=True)
        if not result["success"]:
            raise CourseError(f"nbgrader could not record {self.lesson} in {self.db_url}:\n{result.get('error', '')}")
        stamp.write_text(digest)

    def release_of(self, notebook: LessonNotebook) -> nbformat.NotebookNode:
        return nbformat.read(self.out / ".release" / self.lesson / f"{notebook.name}.ipynb", as_version=4)

    def digest(self, path: Path, notebook: LessonNotebook) -> str:
        content = path.read_bytes() if path.is_file() else b"<missing>"
        # Everything that could change a grade: the file, the reference, the limits (not the thread count).
        limits = {k: v for k, v in self.limits.__dict__.items() if k != "threads"}
        return hashlib.sha256(content + reference_key(notebook).encode() + repr(limits).encode()).hexdigest()

    def gradebook_submission(self, student: str) -> None:
        from nbgrader.api import Gradebook

        timestamp = self.api.coursedir.get_existing_timestamp(str(self.submissions / student / self.lesson))
        with Gradebook(self.db_url) as gb:
            gb.update_or_create_student(student)
            gb.update_or_create_submission(self.lesson, student, **({"timestamp": timestamp} if timestamp else {}))

    def resources(self, student: str, notebook: LessonNotebook) -> dict:
        return {"nbgrader": {"notebook": notebook.name, "assignment": self.lesson, "student": student,
                             "db_url": self.db_url}}

    def rows_for_problem(self, student: str, notebook: LessonNotebook, problem: Ungradable) -> list[Row]:
        from nbgrader.api import Gradebook

        with Gradebook(self.db_url) as gb:
            for grade in gb.find_submission_notebook(notebook.name, self.lesson, student).grades:
                grade.auto_score, grade.needs_manual_grade = 0, False
            gb.db.commit()
        write_problem_feedback(self.out / "feedback" / student / self.lesson / f"{notebook.name}.html",
                               student, self.lesson, notebook.name, problem.status, problem.message)
        return [Row(student, self.lesson, notebook.name, t.grade_id, 0.0, t.points, problem.status,
                    problem.message, self.sandbox_label) for t in notebook.tests]

    def finalize(self, prepared: Prepared, result: ExecutionResult) -> list[Row]:
        """Judge a finished run; write the autograded notebook, the gradebook and the feedback."""
        notebook, student = prepared.notebook, prepared.student
        reference = self.references[notebook.name]
        graded = copy.deepcopy(prepared.sanitized)
        foreign = sum(run.foreign_observations for run in result.cells.values())
        evidence = list(prepared.evidence)
        if foreign:
            evidence.append(f"{foreign} forged check report(s) came from cells that are not tests")
        rows = []
        for index, cell in enumerate(graded.cells):
            run: CellRun | None = result.cells.get(index)
            if not is_test_cell(cell):
                if cell.cell_type == "code":
                    cell.outputs = run.outputs if run else []
                    cell.execution_count = None
                continue
            test = notebook.test(nbgrader_meta(cell)["grade_id"])
            verdict = judge(test, reference[test.grade_id], run)
            if evidence and verdict.status == "ok":
                verdict = Verdict(verdict.score, "tampered", "passed, but " + "; ".join(evidence))
            elif evidence and verdict.status == "failed":
                verdict = Verdict(verdict.score, "tampered", f"{verdict.message}; also {'; '.join(evidence)}")
            cell.outputs = _verdict_outputs(verdict, prepared.notes)
            rows.append(Row(student, self.lesson, notebook.name, test.grade_id, verdict.score, test.points,
                            verdict.status, verdict.message, self.sandbox_label))
        autograded = self.out / "autograded" / student / self.lesson
        for name, content in self.files.items():
            _atomic_write(autograded / name, content)
        _atomic_write(autograded / f"{notebook.name}.ipynb", nbformat.writes(graded).encode())
        self._save_grades(graded, student, notebook)
        self.feedback.write(graded, rows, self.resources(student, notebook),
                            self.out / "feedback" / student / self.lesson / f"{notebook.name}.html")
        return rows

    def _save_grades(self, graded, student: str, notebook: LessonNotebook) -> None:
        from nbgrader.preprocessors import SaveAutoGrades

        SaveAutoGrades(config=self.config).preprocess(copy.deepcopy(graded), self.resources(student, notebook))


def _verdict_outputs(verdict: Verdict, notes: list[str]) -> list:
    """The outputs a graded test cell shows: nothing but a note when it passed, the verdict when not."""
    suffix = f" ({'; '.join(notes)})" if notes else ""
    if verdict.score > 0:
        text = "passed" if verdict.status == "ok" else verdict.message
        return [nbformat.v4.new_output("stream", name="stdout", text=f"{text}{suffix}\n")]
    title = TITLES.get(verdict.status, "Failed")
    message = f"{verdict.message}{suffix}"
    return [nbformat.v4.new_output("error", ename=title, evalue=message, traceback=[f"{title}: {message}"])]


def autograde(lesson: str, submissions: Path, out: Path = Path("graded"), *, limits: Limits | None = None,
              workers: int | None = None, dask: str | None = None, force: bool = False,
              report: Callable[[str], None] = lambda message: None) -> list[Row]:
    """Grade every submission of ``lesson`` in ``submissions`` and write the results to ``out``.

    Args:
        lesson: lesson id, e.g. ``"02_cross_entropy"``.
        submissions: folder in nbgrader's layout ``<student>/<lesson>/<notebook>.ipynb``.
        out: output folder: ``grades.csv``, ``feedback/<student>/<lesson>/<notebook>.html``,
            ``autograded/``, ``gradebook.db`` (nbgrader's), ``results.db`` and ``reference/``.
        limits: sandbox limits (default: ``c.Sandbox`` of nbgrader_config.py, sandboxed).
        workers: submissions graded at once on this machine (default: the number of cores).
        dask: address of a ``dask.distributed`` scheduler to run the submissions on instead.
        force: grade again submissions already graded and unchanged.
        report: called with one line per graded submission.

    Returns:
        Every row of ``lesson`` (one per student, notebook and test cell). A submission that
        cannot be graded still gets its rows, with a status other than ``ok`` and a message
        saying why. Submitted files are never modified.

    Raises:
        CourseError: unknown lesson, no submissions folder, bubblewrap missing without
            ``--no-sandbox``, or a reference solution that fails its own tests.
    """
    lesson = check_lesson(lesson)
    submissions, out = Path(submissions).resolve(), Path(out).resolve()
    if not submissions.is_dir():
        raise CourseError(f"{submissions} is not a folder of submissions (<student>/{lesson}/<notebook>.ipynb).")
    workers = workers or default_workers()
    limits = limits or Sandbox(config=nbgrader_config()).limits()
    if limits.threads == 1 and dask is None:
        limits = Limits(**{**limits.__dict__, "threads": max(1, default_workers() // workers)})
    require_sandbox(limits)
    out.mkdir(parents=True, exist_ok=True)
    batch = _Batch(lesson, submissions, out, limits, force, report)
    students = sorted(p.name for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    pending: dict[str, tuple[Prepared, str]] = {}
    runner = _DaskRunner(dask) if dask else _LocalRunner(workers)

    def finish(results: Iterable[ExecutionResult]) -> None:
        for result in results:
            prepared, digest = pending.pop(result.key)
            rows = batch.finalize(prepared, result)
            batch.store.record(lesson, prepared.student, prepared.notebook.name, digest, rows)
            score, total = sum(r.score for r in rows), sum(r.max_score for r in rows)
            cells = sum(run.seconds for run in result.cells.values())
            report(f"{prepared.student}: {score:g} / {total:g} in {result.seconds:.1f} s (its cells {cells:.2f} s)")

    try:
        for student in students:
            for notebook in batch.notebooks:
                path = find_submitted(submissions / student / lesson, notebook)
                digest = batch.digest(path, notebook)
                if not force and batch.store.digest(lesson, student, notebook.name) == digest:
                    report(f"{student}: unchanged since it was graded, skipped (use --force to grade it again)")
                    continue
                batch.gradebook_submission(student)
                try:
                    prepared = prepare(student, path, notebook, batch.release_of(notebook),
                                       batch.resources(student, notebook), batch.config, batch.files, limits)
                except Ungradable as problem:
                    batch.store.record(lesson, student, notebook.name, digest,
                                       batch.rows_for_problem(student, notebook, problem))
                    report(f"{student}: {problem.status}: {problem.message}")
                    continue
                pending[prepared.job.key] = (prepared, digest)
                runner.submit(prepared.job)     # runs while the next submissions are prepared
                finish(runner.results(wait=False))
        finish(runner.results(wait=True))
    finally:
        runner.close()
    batch.store.keep_only(lesson, set(students))
    batch.store.write_csv(out / "grades.csv")
    rows = batch.store.rows(lesson)
    batch.store.close()
    return rows

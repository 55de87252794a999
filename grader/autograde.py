"""Autograde: grade every student's submission of one lesson, safely, in parallel.

The coordinator (this process) reads each submission folder without following links
(:mod:`grader.student_files`), sanitizes it with nbgrader's preprocessors, sends a job per
notebook to sandboxed kernels (threads here, or a Dask cluster), judges what comes back
against the reference solution's reports, and alone writes the gradebook, the autograded
notebooks, the feedback, the result store and ``grades.csv``.

What a student gets back: the outputs of the cells that ran before the first hidden test
(after it, the kernel has seen a hidden test's source and inputs, so whatever it prints,
displays or raises is withheld), the verdicts in the words of :mod:`grader.judge`, and
nothing that :class:`grader.redact.Secrets` finds a secret in. A student whose results
cannot be written (a full disk, a bug) still gets rows, with status ``error``, and
``grades.csv`` is always written.
"""
from __future__ import annotations

import ast
import copy
import hashlib
import json
import os
import sqlite3
import stat
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator

import nbformat

from dlcourse.notebook import is_answer_cell, is_test_cell, nbgrader_meta
from grader.course import CourseError, check_lesson, nbgrader_api, nbgrader_config
from grader.execute import CellRun, ExecutionJob, ExecutionResult, run_job
from grader.feedback import FeedbackWriter, write_problem_feedback, write_summary_feedback, write_text_atomically
from grader.judge import Verdict, judge
from grader.lesson import LessonNotebook, companion_files, load_lesson
from grader.redact import Secrets
from grader.reference import grading_key, reference_reports
from grader.results import SANDBOXED, UNSANDBOXED, ResultStore, Row
from grader.sandbox import Limits, Sandbox, prestart_zygote, require_sandbox
from grader.student_files import FolderContents, read_lesson_folder
from grader.submission import Prepared, Submission, Ungradable, prepare

TITLES = {"failed": "Failed", "timeout": "Timeout", "error": "Error", "tampered": "Tampered",
          "forbidden": "Forbidden"}
# What a test cell's reports may take together, against the reference's: the grader keeps them
# parsed until the notebook ends, and parsed JSON can take 20 times its bytes.
REPORT_BYTES_FACTOR = 4
REPORT_BYTES_FLOOR = 65_536
PAGE_WITHHELD = ("The full page is not shown: it would have quoted a hidden test or an expected value. "
                 "Your results are below.")


def default_workers() -> int:
    return os.cpu_count() or 1


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _problem(error: BaseException) -> str:
    """An exception of the grader's own machinery, in a few words (never a kernel's)."""
    return f"{type(error).__name__}: {str(error)[:300]}"


def public_names(release: nbformat.NotebookNode) -> frozenset[str]:
    """Functions and classes the released lesson's answer cells define (their names are public)."""
    names = set()
    for cell in release.cells:
        if is_answer_cell(cell):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            names |= {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    return frozenset(names)


def _timestamp(contents: FolderContents) -> tuple[datetime | None, str | None]:
    """The submission time from ``timestamp.txt`` (nbgrader's format), and a note if it is unreadable."""
    from nbgrader.utils import parse_utc

    if not contents.timestamp or not contents.timestamp.strip():
        return None, None
    try:
        return parse_utc(contents.timestamp.decode("utf-8").strip()), None
    except (UnicodeDecodeError, ValueError, OverflowError):
        return None, "timestamp.txt holds no date nbgrader can read, so no late penalty was computed"


def create_gradebook(path: Path) -> None:
    """Make nbgrader's gradebook at ``path`` if there is none, as nbgrader would.

    nbgrader makes it on first use and runs ``alembic heads`` as a program (over a second) only
    to learn the migration version it records; the same head is read here from nbgrader's own
    migration scripts, in this process. nbgrader then finds the gradebook made.
    """
    if path.exists():
        return
    import nbgrader
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory
    from nbgrader.api import Base
    from sqlalchemy import create_engine, text

    settings = AlembicConfig()
    settings.set_main_option("script_location", str(Path(nbgrader.__file__).parent / "alembic"))
    head = ScriptDirectory.from_config(settings).get_current_head()
    engine = create_engine(f"sqlite:///{path}")
    try:
        Base.metadata.create_all(bind=engine)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:head)"), {"head": head})
    finally:
        engine.dispose()


def index_gradebook(path: Path) -> None:
    """Index every foreign key of nbgrader's gradebook at ``path`` (it declares none).

    nbgrader finds a notebook's grades, and sums its scores, by the notebook's id; without an
    index each of those lookups reads every grade of the class, so recording one submission
    would cost more the more submissions the gradebook holds. Extra indexes change nothing
    else for nbgrader (nor for its database migrations).
    """
    db = sqlite3.connect(path, timeout=60)
    try:
        with db:
            tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                for column in sorted({row[3] for row in db.execute(f'PRAGMA foreign_key_list("{table}")')}):
                    db.execute(f'CREATE INDEX IF NOT EXISTS "dlcourse_{table}_{column}" ON "{table}" ("{column}")')
    finally:
        db.close()


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
        create_gradebook(out / "gradebook.db")
        self.api = nbgrader_api(self.config)
        self.notebooks = load_lesson(lesson)
        self._register_lesson()
        index_gradebook(out / "gradebook.db")
        self.files = companion_files(lesson)
        self.references = {nb.name: reference_reports(nb, self.files, limits, out / "reference")
                           for nb in self.notebooks}
        self.releases = {nb.name: self.release_of(nb) for nb in self.notebooks}
        self.secrets = {nb.name: Secrets.of(nb, self.references[nb.name], self.releases[nb.name])
                        for nb in self.notebooks}
        self.public_names = {nb.name: public_names(self.releases[nb.name]) for nb in self.notebooks}
        self.caps = Submission(config=self.config).caps()
        self.store = ResultStore(out / "results.db")
        self.feedback = FeedbackWriter(self.config)
        self.sandbox_label = SANDBOXED if limits.sandbox else UNSANDBOXED
        self.unrecorded: list[Row] = []   # rows the result store could not take (a full disk)

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

    def read(self, student: str, notebook: LessonNotebook) -> FolderContents:
        """The student's lesson folder, read without following links (see :mod:`grader.student_files`)."""
        return read_lesson_folder(self.submissions, student, self.lesson, notebook.name, self.caps)

    def digest(self, contents: FolderContents, notebook: LessonNotebook) -> str:
        """What could change this submission's grade: every file grading reads (the notebook, the files
        copied beside it, ``timestamp.txt``), the reference and the grader's judging code, the limits
        (not the thread count)."""
        digest = hashlib.sha256()
        for part in (contents.notebook_name, contents.notebook, contents.timestamp,
                     contents.problem.message if contents.problem else None, *contents.others,
                     *[x for name, data in sorted(contents.extra.items()) for x in (name, data)],
                     *contents.skipped, grading_key(notebook),
                     repr({k: v for k, v in self.limits.__dict__.items() if k != "threads"}), repr(self.caps)):
            data = b"<none>" if part is None else part if isinstance(part, bytes) else str(part).encode()
            digest.update(len(data).to_bytes(8, "little") + data)
        return digest.hexdigest()

    def gradebook_submission(self, student: str, timestamp: datetime | None) -> None:
        from nbgrader.api import Gradebook

        with Gradebook(self.db_url) as gb:
            gb.update_or_create_student(student)
            gb.update_or_create_submission(self.lesson, student, **({"timestamp": timestamp} if timestamp else {}))

    def resources(self, student: str, notebook: LessonNotebook) -> dict:
        return {"nbgrader": {"notebook": notebook.name, "assignment": self.lesson, "student": student,
                             "db_url": self.db_url}}

    def feedback_path(self, student: str, notebook: LessonNotebook) -> Path:
        return self.out / "feedback" / student / self.lesson / f"{notebook.name}.html"

    def rows_for_problem(self, student: str, notebook: LessonNotebook, problem: Ungradable) -> list[Row]:
        from nbgrader.api import Gradebook

        rows = [Row(student, self.lesson, notebook.name, t.grade_id, 0.0, t.points, problem.status,
                    problem.message, self.sandbox_label) for t in notebook.tests]
        try:
            with Gradebook(self.db_url) as gb:
                for grade in gb.find_submission_notebook(notebook.name, self.lesson, student).grades:
                    grade.auto_score, grade.needs_manual_grade = 0, False
                gb.db.commit()
            write_problem_feedback(self.feedback_path(student, notebook), student, self.lesson, notebook.name,
                                   problem.status, problem.message)
        except Exception as error:  # a full disk, a locked gradebook: the rows still say why
            return _unwritten(rows, error)
        return rows

    def report_limits(self, prepared: Prepared) -> tuple[dict[int, int], dict[int, int]]:
        """Per test cell index: the reports the reference sent (a cell sending more is tampering),
        and the bytes they may take: :data:`REPORT_BYTES_FACTOR` times the reference's, and at
        least :data:`REPORT_BYTES_FLOOR` (a right answer may report in a wider dtype)."""
        reference = self.references[prepared.notebook.name]
        cells = prepared.job.notebook["cells"]
        sent = {i: reference.get(nbgrader_meta(cells[i]).get("grade_id"), []) for i in prepared.job.test_cells}
        return ({i: len(reports) for i, reports in sent.items()},
                {i: REPORT_BYTES_FLOOR + REPORT_BYTES_FACTOR * len(json.dumps(reports)) for i, reports in sent.items()})

    def rows_for_failure(self, student: str, notebook: LessonNotebook, error: BaseException, stage: str) -> list[Row]:
        """Rows for a submission the grader itself failed on (never the student's doing)."""
        message = f"the grader failed while {stage} this submission ({_problem(error)}); run autograde again"
        return [Row(student, self.lesson, notebook.name, t.grade_id, 0.0, t.points, "error", message,
                    self.sandbox_label) for t in notebook.tests]

    def judged(self, prepared: Prepared, result: ExecutionResult) -> tuple[nbformat.NotebookNode, list[Row]]:
        """Judge a finished run: the autograded notebook (student-visible parts filtered) and the rows."""
        notebook, student = prepared.notebook, prepared.student
        reference, secrets = self.references[notebook.name], self.secrets[notebook.name]
        graded = copy.deepcopy(prepared.sanitized)
        hidden = [i for i, c in enumerate(graded.cells)
                  if is_test_cell(c) and notebook.test(nbgrader_meta(c)["grade_id"]).hidden and i in result.cells]
        first_hidden = min(hidden, default=len(graded.cells))
        evidence = list(prepared.evidence)
        if any(run.foreign_observations for run in result.cells.values()):
            evidence.append("forged check reports came from cells that are not tests")
        rows = []
        for index, cell in enumerate(graded.cells):
            run: CellRun | None = result.cells.get(index)
            if not is_test_cell(cell):
                if cell.cell_type == "code":
                    # After a hidden test ran, the kernel knows its source and inputs: nothing it says is shown.
                    shown = run.outputs if run and index < first_hidden else []
                    cell.outputs = secrets.clean_outputs(shown)
                    cell.execution_count = None
                continue
            test = notebook.test(nbgrader_meta(cell)["grade_id"])
            verdict = judge(test, reference[test.grade_id], run, detailed=not test.hidden and index < first_hidden,
                            public_names=self.public_names[notebook.name])
            if evidence and verdict.status == "ok":
                verdict = Verdict(verdict.score, "tampered", "passed, but " + "; ".join(evidence))
            elif evidence and verdict.status == "failed":
                verdict = Verdict(verdict.score, "tampered", f"{verdict.message}; also {'; '.join(evidence)}")
            verdict = Verdict(verdict.score, verdict.status, secrets.clean_message(verdict.message))
            cell.outputs = _verdict_outputs(verdict, prepared.notes)
            rows.append(Row(student, self.lesson, notebook.name, test.grade_id, verdict.score, test.points,
                            verdict.status, verdict.message, self.sandbox_label))
        return graded, rows

    def finalize(self, prepared: Prepared, result: ExecutionResult) -> list[Row]:
        """Judge a finished run; write the autograded notebook, the gradebook and the feedback.

        Never raises for a failure to write: the rows then have status ``error`` and say so.
        """
        notebook, student = prepared.notebook, prepared.student
        try:
            graded, rows = self.judged(prepared, result)
        except Exception as error:  # a bug of the grader's must not stop the batch
            return self.rows_for_failure(student, notebook, error, "judging")
        try:
            autograded = self.out / "autograded" / student / self.lesson
            for name, content in self.files.items():
                _atomic_write(autograded / name, content)
            _atomic_write(autograded / f"{notebook.name}.ipynb", nbformat.writes(graded).encode())
            self._save_grades(graded, student, notebook)
            withheld = any(is_test_cell(c) and notebook.test(nbgrader_meta(c)["grade_id"]).hidden
                           for c in graded.cells)
            page = self.feedback.render(graded, rows, self.resources(student, notebook), withheld)
            if self.secrets[notebook.name].page_is_clean(page):
                write_text_atomically(self.feedback_path(student, notebook), page)
            else:
                write_summary_feedback(self.feedback_path(student, notebook), notebook.name, rows, PAGE_WITHHELD)
        except Exception as error:  # a full disk, an unwritable folder: the rows still tell
            return _unwritten(rows, error)
        return rows

    def record(self, student: str, notebook: LessonNotebook, digest: str, rows: list[Row]) -> None:
        """Keep a submission's rows in the store; rows it cannot take are kept for the CSV, and
        a submission whose results were not all written is recorded as not graded (so it is
        graded again next time)."""
        complete = not any(r.status == "error" and r.message.startswith(UNWRITTEN) for r in rows)
        try:
            self.store.record(self.lesson, student, notebook.name, digest if complete else "", rows)
        except Exception:  # the store's disk is full too: grades.csv still gets the rows
            self.unrecorded.extend(rows)

    def _save_grades(self, graded, student: str, notebook: LessonNotebook) -> None:
        from nbgrader.preprocessors import SaveAutoGrades

        SaveAutoGrades(config=self.config).preprocess(copy.deepcopy(graded), self.resources(student, notebook))


UNWRITTEN = "the grader could not write this student's results"


def _unwritten(rows: list[Row], error: BaseException) -> list[Row]:
    """``rows`` re-labelled ``error``: the verdicts stand, but the feedback or gradebook was not written."""
    reason = f"{UNWRITTEN} (feedback, autograded notebook or gradebook: {_problem(error)}); " \
             "free the disk or fix the folder and run autograde again"
    return [Row(r.student, r.lesson, r.notebook, r.exercise, r.score, r.max_score, "error",
                f"{reason}; the verdict was: {r.status}" + (f", {r.message}" if r.message else ""), r.sandbox)
            for r in rows]


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
    if dask is None:
        prestart_zygote(limits)
    out.mkdir(parents=True, exist_ok=True)
    batch = _Batch(lesson, submissions, out, limits, force, report)
    students = student_folders(submissions)
    pending: dict[str, tuple[Prepared, str]] = {}
    runner = _DaskRunner(dask) if dask else _LocalRunner(workers)

    def finish(results: Iterable[ExecutionResult]) -> None:
        for result in results:
            prepared, digest = pending.pop(result.key)
            rows = batch.finalize(prepared, result)
            batch.record(prepared.student, prepared.notebook, digest, rows)
            score, total = sum(r.score for r in rows), sum(r.max_score for r in rows)
            cells = sum(run.seconds for run in result.cells.values())
            report(f"{prepared.student}: {score:g} / {total:g} in {result.seconds:.1f} s (its cells {cells:.2f} s)")

    def start(student: str, notebook: LessonNotebook) -> None:
        """Read, check and prepare one submission; send it to run, or record why it cannot be graded."""
        try:
            contents = batch.read(student, notebook)
            digest = batch.digest(contents, notebook)
        except Exception as error:  # an unreadable folder (I/O error, permissions)
            batch.record(student, notebook, "", batch.rows_for_failure(student, notebook, error, "reading"))
            report(f"{student}: error: could not read the submission ({_problem(error)})")
            return
        if not force and batch.store.digest(lesson, student, notebook.name) == digest:
            report(f"{student}: unchanged since it was graded, skipped (use --force to grade it again)")
            return
        try:
            timestamp, late_note = _timestamp(contents)
            batch.gradebook_submission(student, timestamp)
            prepared = prepare(student, contents, notebook, batch.releases[notebook.name],
                               batch.resources(student, notebook), batch.config, batch.files, limits, batch.caps)
        except Ungradable as problem:
            batch.record(student, notebook, digest, batch.rows_for_problem(student, notebook, problem))
            report(f"{student}: {problem.status}: {problem.message}")
            return
        except Exception as error:  # nbgrader or the grader failed on this one: the others go on
            batch.record(student, notebook, "", batch.rows_for_failure(student, notebook, error, "preparing"))
            report(f"{student}: error: {_problem(error)}")
            return
        if late_note:
            prepared.notes.append(late_note)
        prepared.job.max_reports, prepared.job.max_report_bytes = batch.report_limits(prepared)
        pending[prepared.job.key] = (prepared, digest)
        runner.submit(prepared.job)     # runs while the next submissions are prepared

    try:
        for student in students:
            for notebook in batch.notebooks:
                start(student, notebook)
                finish(runner.results(wait=False))
        finish(runner.results(wait=True))
    finally:
        runner.close()
        batch.store.keep_only(lesson, set(students))
        batch.store.write_csv(out / "grades.csv", batch.unrecorded)
    rows = batch.store.rows(lesson, batch.unrecorded)
    batch.store.close()
    return rows


def student_folders(submissions: Path) -> list[str]:
    """Names of the students in ``submissions``: its folders, and its links (which are refused when
    read, so the student still gets rows saying why); files and hidden entries are not students."""
    names = []
    with os.scandir(submissions) as entries:
        for entry in entries:
            mode = entry.stat(follow_symlinks=False).st_mode
            if not entry.name.startswith(".") and (stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
                names.append(entry.name)
    return sorted(names)

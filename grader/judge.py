"""Judge a test cell in the grader's own process: the student's reports against the reference's.

The student's kernel sent data only (see :mod:`dlcourse.observe`); the tolerances come from
the test's source (:class:`grader.rewrite.CheckSpec`), the expected values from the reference
solution's run, and the comparison is :func:`dlcourse.checks.compare`, the same one the test
cells use in a notebook. Nothing the student's code did can change any of the three.
"""
from __future__ import annotations

from dataclasses import dataclass

from dlcourse.checks import as_data, compare, compare_types, type_signature
from dlcourse.observe import decode, decode_type
from dlcourse.policy import POLICY_SITE
from grader.execute import CellRun
from grader.lesson import TestCell
from grader.rewrite import NOT_A_LITERAL


@dataclass(frozen=True)
class Verdict:
    score: float
    status: str       # ok, failed, error, timeout, tampered, forbidden (see grader.results.STATUSES)
    message: str


def _label(index: int, total: int, name: str | None) -> str:
    return f"check {index + 1} of {total}" + (f" ({name})" if name else "")


def _error_text(error: str) -> str:
    if error.startswith("NotImplementedError") and error.rstrip().endswith(":"):
        return "NotImplementedError: the answer still raises it: the exercise is not done yet"
    return error


def _is_policy_report(report) -> bool:
    return isinstance(report, dict) and report.get("site") == POLICY_SITE


def _forbidden_calls(test: TestCell, reports: list) -> list[str] | None:
    """The routines the student's code called that the exercise forbids (the policy report's names
    that are in the test's policy: nothing the kernel sent is echoed), or None without a report."""
    policy = [r for r in reports if _is_policy_report(r)]
    if len(policy) != 1 or not isinstance(policy[0].get("calls"), list):
        return None
    called = {c for c in policy[0]["calls"] if isinstance(c, str)}
    return [name for name in test.forbidden if name in called]


def judge(test: TestCell, reference: list[dict], run: CellRun | None) -> Verdict:
    """Score one test cell.

    Args:
        test: the test cell as the lesson wrote it (points, hidden or not, check options).
        reference: the reference solution's reports for this cell, in order.
        run: what the student's kernel did with the cell (None if it never ran).

    Returns:
        Full points when every report matches the reference within the check's tolerance,
        the student's code called nothing the exercise forbids, and the cell raised nothing;
        else 0 with a status and a message that names the failing check (or the forbidden
        routine) without revealing a hidden test's source or expected values.
    """
    fail = lambda status, message: Verdict(0.0, status, message)  # noqa: E731
    if run is None or run.status == "not_run":
        return fail("error", "the test cell was not run")
    if run.status == "timeout":
        return fail("timeout", run.error or "the test cell ran out of time")
    if run.status in ("died", "memory"):
        return fail("error", run.error or "the kernel died while running the test cell")
    forbidden = _forbidden_calls(test, run.observations)
    if forbidden is None:
        return fail("tampered", "the test cell's policy report is missing or malformed: "
                                "the grader's check was replaced or bypassed")
    if forbidden:
        return fail("forbidden", f"the answer calls {', '.join(forbidden)}, which this exercise must not use "
                                 "(see its 'Not allowed' line)")
    reports = [r for r in run.observations if not _is_policy_report(r)]
    reference = [r for r in reference if not _is_policy_report(r)]
    total = len(reference)
    for i, expected in enumerate(reference):
        label = _label(i, total, expected.get("name"))
        if i >= len(reports):
            if run.error:
                done = f" after {i} of {total} checks passed" if i else ""
                return fail("failed", f"{_error_text(run.error)}{done}")
            return fail("tampered", f"the test cell reported {i} of its {total} checks and raised nothing: "
                                    "the grader's check was replaced or bypassed")
        report = reports[i]
        if not isinstance(report, dict) or report.get("site") != expected["site"]:
            return fail("tampered", f"{label}: the reports of the checks were forged or out of order")
        if "error" in report:
            return fail("failed", f"{label}: {str(report['error'])[:300]}")
        try:
            got = decode(report.get("value"))
        except (ValueError, TypeError) as error:
            return fail("tampered", f"{label}: the report is malformed ({error})")
        spec = test.specs[expected["site"]]
        # A visible check written against a literal is judged against what the student reads.
        written = not test.hidden and spec.literal is not NOT_A_LITERAL
        target = as_data(spec.literal) if written else decode(expected["value"])
        difference = compare(got, target, reveal=not test.hidden, **spec.compare_options())
        if not difference and spec.check_type:
            try:
                signature = decode_type(report.get("type"))
            except ValueError as error:
                return fail("tampered", f"{label}: the report is malformed ({error})")
            difference = compare_types(signature, type_signature(spec.literal) if written else expected["type"])
        if difference:
            return fail("failed", f"{label}: {difference}")
    if len(reports) > total:
        return fail("tampered", f"the test cell reported {len(reports)} checks, but it has {total}")
    if run.error:
        return fail("failed", f"{_error_text(run.error)} (after its checks)")
    return Verdict(test.points, "ok", "")

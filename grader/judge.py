"""Judge a test cell in the grader's own process: the student's reports against the reference's.

The student's kernel sent data only (see :mod:`dlcourse.observe`); the tolerances come from
the test's source (:class:`grader.rewrite.CheckSpec`), the expected values from the reference
solution's run, and the comparison is :func:`dlcourse.checks.compare`, the same one the test
cells use in a notebook. Nothing the student's code did can change any of the three.

What a verdict says depends on what the kernel may know. A visible test that runs before
any hidden test gets the full story: how the values differ, and the kernel's own exception.
A hidden test, and any test that runs after the kernel has seen a hidden test, is described
only with the fixed words of :data:`REASONS` (and which check it was): never the kernel's
exception text or type name, never shapes, dtypes, keys, lengths or differences, from which
hidden inputs or expected values could be read.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from dlcourse.checks import as_data, compare, compare_types, type_signature
from dlcourse.observe import decode, decode_type
from dlcourse.policy import POLICY_SITE
from grader.execute import CellRun
from grader.lesson import TestCell
from grader.rewrite import NOT_A_LITERAL

# The only words a check judged without details is described with, by Difference.kind.
REASONS = {
    "values": "differs from the reference by more than the tolerance",
    "nonfinite": "is nan or inf where the reference is finite, or the reverse",
    "shape": "has the wrong shape", "length": "has the wrong shape", "keys": "has the wrong shape",
    "type": "has the wrong type", "dtype": "has the wrong type", "container": "has the wrong type",
}
MISMATCH = "does not match the reference"     # a kind of difference REASONS does not know yet
RAISED = "raised an exception"
NOT_DONE = "the answer is not done yet (it still raises NotImplementedError)"
_UNDEFINED = re.compile(r"NameError: name '([A-Za-z_][A-Za-z0-9_]*)' is not defined")


@dataclass(frozen=True)
class Verdict:
    score: float
    status: str       # ok, failed, error, timeout, tampered, forbidden (see grader.results.STATUSES)
    message: str


def _label(index: int, total: int, name: str | None) -> str:
    return f"check {index + 1} of {total}" + (f" ({name})" if name else "")


def _raised(error: str, detailed: bool, public_names: frozenset[str]) -> str:
    """What to say about an exception the kernel reported as ``"Name: message"``."""
    if error.startswith("NotImplementedError") and error.rstrip().endswith(":"):
        return NOT_DONE
    if detailed:
        return f"raised {error}"
    undefined = _UNDEFINED.fullmatch(error.strip())
    if undefined and undefined.group(1) in public_names:     # a name the released lesson defines
        return f"raised NameError: name '{undefined.group(1)}' is not defined"
    return RAISED


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


def judge(test: TestCell, reference: list[dict], run: CellRun | None, *, detailed: bool | None = None,
          public_names: frozenset[str] = frozenset()) -> Verdict:
    """Score one test cell.

    Args:
        test: the test cell as the lesson wrote it (points, hidden or not, check options).
        reference: the reference solution's reports for this cell, in order.
        run: what the student's kernel did with the cell (None if it never ran).
        detailed: describe failures in full (default: for visible tests). Pass False for
            a visible test that runs after a hidden test.
        public_names: names the released lesson defines (its answers' functions); a
            ``NameError`` for one of them is named even without details.

    Returns:
        Full points when every report matches the reference within the check's tolerance,
        the student's code called nothing the exercise forbids, and the cell raised nothing;
        else 0 with a status and a message that names the failing check (and, without
        details, only a reason from :data:`REASONS`) or the forbidden routine.
    """
    detailed = not test.hidden if detailed is None else detailed
    fail = lambda status, message: Verdict(0.0, status, message)  # noqa: E731
    if run is None or run.status == "not_run":
        return fail("error", "the test cell was not run")
    # For these statuses run.error is the grader's own sentence (grader.execute), never the kernel's.
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
                done = f" (after {i} of {total} checks passed)" if i else ""
                return fail("failed", f"{label}: {_raised(run.error, detailed, public_names)}{done}")
            return fail("tampered", f"the test cell reported {i} of its {total} checks and raised nothing: "
                                    "the grader's check was replaced or bypassed")
        report = reports[i]
        if not isinstance(report, dict) or report.get("site") != expected["site"]:
            return fail("tampered", f"{label}: the reports of the checks were forged or out of order")
        if "error" in report:
            reason = f"{str(report['error'])[:300]}" if detailed else REASONS["type"]
            return fail("failed", f"{label}: {reason}")
        try:
            got = decode(report.get("value"))
        except (ValueError, TypeError):
            return fail("tampered", f"{label}: the report is malformed")
        spec = test.specs[expected["site"]]
        # A visible check written against a literal is judged against what the student reads.
        written = not test.hidden and spec.literal is not NOT_A_LITERAL
        target = as_data(spec.literal) if written else decode(expected["value"])
        difference = compare(got, target, reveal=detailed, **spec.compare_options())
        if not difference and spec.check_type:
            try:
                signature = decode_type(report.get("type"))
            except ValueError:
                return fail("tampered", f"{label}: the report is malformed")
            difference = compare_types(signature, type_signature(spec.literal) if written else expected["type"])
        if difference:
            return fail("failed", f"{label}: {difference if detailed else REASONS.get(difference.kind, MISMATCH)}")
    if len(reports) + run.extra_reports > total:
        return fail("tampered", f"the test cell reported more checks than its {total}")
    if run.error:
        return fail("failed", f"after its checks, the test cell {_raised(run.error, detailed, public_names)}")
    return Verdict(test.points, "ok", "")

"""Find secrets in what the grader wrote for one student: feedback page, CSV rows, autograded notebook.

Secrets are the lines of the hidden tests and of the reference answers that the released
lesson does not show (non-trivial ones: at least :data:`MIN_LINE` characters), the grader-only
file of the attack corpus, and the expected values of hidden checks written with 7 or more
significant digits. The test code is independent of the grader's own redaction (``grader.redact``):
it reads the solution notebook and the reference reports itself.
"""
from __future__ import annotations

import base64
import csv
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np

from tests.support import notebooks as nbs
from tests.support.secrets import page_text

MIN_LINE = 16
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _normal(text: str) -> str:
    return " ".join(text.split())


def _regions(source: str, begin: str, end: str) -> list[str]:
    lines, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def secret_lines(lesson: str) -> dict[str, str]:
    """``{normalized line: "hidden test" | "reference answer"}`` for every secret line of ``lesson``
    (hidden tests also as the grader rewrites them for the student's kernel)."""
    from grader.rewrite import rewrite_test_cell

    # a line the released lesson shows, whole or inside a longer line, is no secret
    public = "\n".join(_normal(line) for cell in nbs.read(nbs.release_path(lesson)).cells
                        for line in cell.source.splitlines())
    found: dict[str, str] = {}
    for cell in nbs.read(nbs.solution_path(lesson)).cells:
        for kind, begin, end in (("hidden test", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"),
                                 ("reference answer", "BEGIN SOLUTION", "END SOLUTION")):
            lines = _regions(cell.source, begin, end)
            if kind == "hidden test" and lines:   # and as the student's kernel receives it, rewritten
                lines += rewrite_test_cell(cell.source).source.splitlines()
            for line in lines:
                normal = _normal(line)
                if len(normal) >= MIN_LINE and normal not in public:
                    found.setdefault(normal, kind)
    return found


def hidden_expected_values(reference_json: Path, hidden: set[str]) -> np.ndarray:
    """Sorted finite non-integer floats the reference reported for hidden checks (decoded here)."""
    import json

    values = []

    def walk(payload):
        if isinstance(payload, dict) and "ndarray" in payload:
            body = payload["ndarray"]
            data = np.frombuffer(base64.b64decode(body["b64"]), dtype=np.dtype(body["dtype"]).newbyteorder("<"))
            if data.dtype.kind == "f":
                values.extend(float(x) for x in data if np.isfinite(x) and x != round(x))
        elif isinstance(payload, dict):
            for item in payload.values():
                walk(item)
        elif isinstance(payload, list):
            for item in payload:
                walk(item)

    for grade_id, reports in json.loads(reference_json.read_text()).items():
        if grade_id in hidden:
            for report in reports:
                walk(report.get("value"))
    return np.unique(np.array(values, dtype=np.float64))


def numbers_matching(text: str, values: np.ndarray, min_digits: int = 7) -> list[str]:
    """Decimal numbers in ``text`` with ``min_digits`` significant digits that round one of ``values``."""
    found = []
    for token in NUMBER.findall(text):
        mantissa = token.lstrip("+-").split("e")[0].split("E")[0]
        digits = mantissa.replace(".", "").lstrip("0")
        if len(digits) < min_digits:
            continue
        t = float(token)
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        exponent = int(token.lower().split("e")[1]) if "e" in token.lower() else 0
        half = 0.5 * 10.0 ** (exponent - decimals)
        i = np.searchsorted(values, t - half)
        if i < len(values) and values[i] <= t + half:
            found.append(token)
    return found


@dataclass
class Written:
    """Everything the grader wrote for one student, as text, by where it was written."""
    feedback: str
    csv_rows: str
    autograded_outputs: str
    own_lines: set[str]        # normalized lines the student's own notebook holds


def written_for(out: Path, submissions: Path, student: str, lesson: str) -> Written:
    feedback_path = out / "feedback" / student / lesson / f"{lesson}.html"
    feedback = page_text(feedback_path.read_text(encoding="utf-8")) if feedback_path.exists() else ""
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        rows = "\n".join(",".join(r.values()) for r in csv.DictReader(f) if r["student"].lstrip("'") == student)
    outputs = []
    autograded = out / "autograded" / student / lesson / f"{lesson}.ipynb"
    if autograded.exists():
        for cell in nbformat.read(autograded, as_version=4).cells:
            for output in cell.get("outputs", []):
                outputs.append(_output_text(output))
    own: set[str] = set()
    submitted = submissions / student / lesson / f"{lesson}.ipynb"
    try:
        if submitted.is_file() and not submitted.is_symlink():
            own = {_normal(line) for cell in nbformat.read(submitted, as_version=4).cells
                   for line in cell.source.splitlines()}
    except Exception:  # not a notebook: nothing of its own to subtract
        pass
    return Written(feedback, rows, "\n".join(outputs), own)


def _output_text(output) -> str:
    parts = [output.get("text", ""), output.get("ename", ""), output.get("evalue", ""),
             "\n".join(output.get("traceback", []))]
    for value in output.get("data", {}).values():
        parts.append(value if isinstance(value, str) else repr(value))
    return "\n".join(str(p) for p in parts)


def leaks(written: Written, lines: dict[str, str], values: np.ndarray, extra: tuple[str, ...] = ()) -> list[str]:
    """Every secret found in ``written``, as ``"<where>: <kind>: <what>"``."""
    found = []
    for where, text in (("feedback", written.feedback), ("grades.csv", written.csv_rows),
                        ("autograded notebook", written.autograded_outputs)):
        normal = _normal(text)
        for line, kind in lines.items():
            if line in normal and line not in written.own_lines:
                found.append(f"{where}: {kind}: {line}")
        for token in extra:
            if token in text:
                found.append(f"{where}: grader secret: {token}")
        for number in numbers_matching(text, values)[:3]:
            found.append(f"{where}: expected value: {number}")
    return found

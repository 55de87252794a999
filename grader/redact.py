"""The last line of defence: nothing the grader writes for a student quotes a secret.

The grader already decides what a student gets back (their outputs up to the first hidden
test, and verdicts in fixed words: see :mod:`grader.judge` and :mod:`grader.autograde`). As a
backstop, :class:`Secrets` holds what must never appear in a student's feedback page, rows or
autograded notebook, and finds it in text:

* every non-trivial line (:data:`MIN_LINE` characters or more, once whitespace is collapsed)
  of a hidden test, as written and as rewritten for the kernel, that neither the released
  lesson nor what the kernel receives before any hidden test (the grader's setup cell, the
  visible tests as rewritten) shows;
* every such line of the reference answers (in outputs and messages only: a student's own
  code may well hold the same line);
* every expected value a hidden check's reference reported (finite floats that are not
  integers, and not also the expected value of a visible check), found written with
  :data:`MIN_DIGITS` or more significant digits at any precision: a number in the text
  matches when it is one of those values rounded to the digits it shows;
* expected strings of hidden checks (of :data:`MIN_LINE` characters or more).

It catches a student's output that quotes the input history or prints an expected value;
it cannot catch a secret re-encoded (base64, reversed, scaled), which is why the filtering
comes first.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

import nbformat
import numpy as np

from dlcourse.observe import decode
from grader.lesson import HIDDEN_MARKER, LessonNotebook, is_answer_cell

MIN_LINE = 16
MIN_DIGITS = 7
OUTPUT_WITHHELD = ("[withheld by the grader: this output quoted a hidden test, a reference answer or an "
                   "expected value]\n")
MESSAGE_WITHHELD = "the grader withheld this message because it quoted a hidden test or an expected value"
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?")
_SKIPPED_MIME = ("image/png", "image/jpeg", "image/gif")


def _normal(text: str) -> str:
    return " ".join(text.split())


def _region(source: str, begin: str, end: str) -> list[str]:
    lines, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def _floats_and_strings(value, floats: list[float], strings: list[str]) -> None:
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "c":
            value = np.concatenate([value.real.ravel(), value.imag.ravel()])
        if value.dtype.kind == "f":
            flat = value.astype(np.float64).ravel()
            flat = flat[np.isfinite(flat) & (flat != np.round(flat))]
            floats.extend(flat.tolist())
    elif isinstance(value, str):
        strings.append(value)
    elif isinstance(value, list):
        for item in value:
            _floats_and_strings(item, floats, strings)
    elif isinstance(value, dict):
        for item in value.values():
            _floats_and_strings(item, floats, strings)


def _significant(value: float) -> int:
    """Significant digits of the shortest repr of ``value`` (0.25 has 2, 0.1234567 has 7)."""
    mantissa = repr(value).lstrip("-").split("e")[0].replace(".", "").lstrip("0").rstrip("0")
    return len(mantissa)


class _PageText(HTMLParser):
    """The text a browser shows of a page: no style or script contents, entities decoded."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


class Secrets:
    """What must not reach a student of one lesson notebook, and the means to find it in text."""

    def __init__(self, hidden_lines: set[str], answer_lines: set[str], values: np.ndarray, strings: set[str]):
        self.hidden_lines = sorted(hidden_lines)
        self.answer_lines = sorted(answer_lines - hidden_lines)
        self.values = np.unique(np.asarray(values, dtype=np.float64))
        self.strings = sorted(strings)

    @classmethod
    def of(cls, notebook: LessonNotebook, reference: dict[str, list[dict]],
           release: nbformat.NotebookNode) -> "Secrets":
        """The secrets of ``notebook``, given the reference's reports and the released lesson."""
        known = [cell.source for cell in release.cells] + [notebook.setup] + \
            [t.rewritten for t in notebook.tests if not t.hidden]
        public = {_normal(line) for source in known for line in source.splitlines()}
        keep = lambda lines: {n for n in map(_normal, lines) if len(n) >= MIN_LINE and n not in public}  # noqa: E731
        hidden: set[str] = set()
        for test in notebook.tests:
            if test.hidden:
                hidden |= keep(_region(test.source, HIDDEN_MARKER, "END HIDDEN TESTS"))
                hidden |= keep(test.rewritten.splitlines())
        answers = set()
        for cell in notebook.read().cells:
            if is_answer_cell(cell):
                answers |= keep(_region(cell.source, "BEGIN SOLUTION", "END SOLUTION"))
        secret, visible, strings = [], [], []
        hidden_ids = {t.grade_id for t in notebook.tests if t.hidden}
        for grade_id, reports in reference.items():
            target = secret if grade_id in hidden_ids else visible
            for report in reports:
                _floats_and_strings(decode(report.get("value")), target, strings if target is secret else [])
        public_values = set(visible)
        values = [v for v in secret if v not in public_values and _significant(v) >= MIN_DIGITS]
        return cls(hidden, answers, np.array(values), {s for s in strings if len(_normal(s)) >= MIN_LINE})

    def _number_found(self, text: str) -> bool:
        if not len(self.values):
            return False
        for token in _NUMBER.findall(text):
            mantissa, _, exponent = token.lstrip("+-").lower().partition("e")
            if len(mantissa.replace(".", "").lstrip("0")) < MIN_DIGITS:
                continue
            decimals = len(mantissa.partition(".")[2])
            half = 0.5 * 10.0 ** ((int(exponent) if exponent else 0) - decimals)
            t = float(token)
            i = int(np.searchsorted(self.values, t - half))
            if i < len(self.values) and self.values[i] <= t + half:
                return True
        return False

    def found(self, text: str, *, answers: bool = True) -> bool:
        """Whether ``text`` quotes a secret (with ``answers``, reference answer lines count too)."""
        if not text:
            return False
        normal = _normal(text)
        lines = self.hidden_lines + (self.answer_lines if answers else [])
        return any(line in normal for line in lines) or any(s in normal for s in self.strings) \
            or self._number_found(text)

    def clean_outputs(self, outputs: list) -> list:
        """``outputs`` of a code cell, each one that quotes a secret replaced by a fixed note."""
        return [nbformat.v4.new_output("stream", name="stdout", text=OUTPUT_WITHHELD)
                if self.found(_output_text(output)) else output for output in outputs]

    def clean_message(self, message: str) -> str:
        """``message``, or a fixed sentence if it quotes a secret."""
        return MESSAGE_WITHHELD if self.found(message) else message

    def page_is_clean(self, html: str) -> bool:
        """Whether a rendered page shows no hidden-test line, hidden string or expected value.

        Reference answer lines are not looked for: the page shows the student's own code.
        """
        parser = _PageText()
        parser.feed(html)
        parser.close()
        return not self.found("\n".join(parser.parts), answers=False)


def _output_text(output) -> str:
    """The text of one output, as a student could read it."""
    parts = [str(output.get("text", "")), str(output.get("ename", "")), str(output.get("evalue", "")),
             "\n".join(map(str, output.get("traceback", [])))]
    for mime, value in output.get("data", {}).items():
        if mime not in _SKIPPED_MIME:
            parts.append("".join(value) if isinstance(value, list) else str(value))
    parts.append(str(output.get("metadata", "")))
    return "\n".join(parts)

"""The secret scanners can fail: a secret line rendered as nbconvert renders code (every token
in its own highlighted span) or carried in an attribute (a link an output wrote) is found, and the released lesson shown
whole is not a leak. Both scanners read pages through ``page_text``: the grader's feedback
(``tests/support/leaks.py``) and what is published (``tests/support/secrets.py``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from tests.support import leaks, notebooks as nbs
from tests.support import secrets

LESSON = "02_cross_entropy"
NO_VALUES = np.array([])


def _page(code: str, link: str = "") -> str:
    block = highlight(code, PythonLexer(), HtmlFormatter())
    return f'<html><body><div class="input">{block}</div><a href="{link}">more</a></body></html>'


def _feedback(html: str) -> leaks.Written:
    return leaks.Written(secrets.page_text(html), csv_rows="", autograded_outputs="", own_lines=set())


def _released_code() -> str:
    return "\n".join(c.source for c in nbs.read(nbs.release_path(LESSON)).cells if c.cell_type == "code")


def test_a_highlighted_hidden_test_line_in_the_feedback_is_found():
    lines = leaks.secret_lines(LESSON)
    hidden = next(line for line, kind in lines.items() if kind == "hidden test" and line.startswith("expect"))
    assert f"feedback: hidden test: {hidden}" in leaks.leaks(_feedback(_page(hidden)), lines, NO_VALUES)


def test_a_reference_line_in_an_attribute_of_the_feedback_is_found():
    lines = leaks.secret_lines(LESSON)
    answer = next(line for line, kind in lines.items() if kind == "reference answer")
    assert f"feedback: reference answer: {answer}" in leaks.leaks(_feedback(_page("x = 1", link=answer)),
                                                                  lines, NO_VALUES)


def test_the_released_lesson_in_the_feedback_is_no_leak():
    # its visible tests hold lines the hidden tests repeat as parts of longer ones
    assert not leaks.leaks(_feedback(_page(_released_code())), leaks.secret_lines(LESSON), NO_VALUES)


def test_a_highlighted_hidden_test_line_on_a_published_page_is_found(tmp_path: Path):
    found = secrets.secret_lines([LESSON])
    hidden = next(line for line, where in found.items() if "hidden" in where or line.startswith("expect"))
    (tmp_path / "page.html").write_text(_page(hidden))
    assert any(repr(hidden) in leak for leak in secrets.leaks(tmp_path, found))
    (tmp_path / "page.html").write_text(_page(_released_code()))
    assert not secrets.leaks(tmp_path, found)

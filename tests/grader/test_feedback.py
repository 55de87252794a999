"""Feedback, problem and report pages are safe to open: no student script runs, nothing loads from elsewhere."""
from __future__ import annotations

import base64
import http.server
import threading

import nbformat
import pytest
from nbconvert import HTMLExporter

from grader.course import ROOT, lesson_ids, nbgrader_config
from grader.feedback import FeedbackWriter, write_problem_feedback
from grader.pages import CSP, MAX_PAGE_TAGS, MAX_TAGS, markup_budget, safe_html, with_csp
from grader.results import Row
from tests.support.submissions import answered

LESSON = "02_cross_entropy"
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000"
    "1ff89993d1d0000000049454e44ae426082")).decode()


def hostile_markdown(url: str) -> str:
    """A markdown cell that runs script and loads from ``url`` when rendered as it is."""
    return (f"## A heading that stays\n\n<img src=x onerror=\"document.title='pwned'\">"
            f"<script>document.title='pwned'</script><img src='{url}/md-img'>\n\n"
            f"[a link](javascript:document.title='pwned') and <a href='{url}/ok'>a plain link</a>\n\n"
            "| a | b |\n|---|---|\n| 1 | 2 |\n")


def hostile_outputs(url: str) -> list:
    """Outputs that run script and load from ``url`` when rendered as they are (and one honest plot)."""
    return [
        nbformat.v4.new_output("display_data", data={
            "text/html": f"<b>bold stays</b><script>document.title='pwned'</script>"
                         f"<img src=x onerror=\"document.title='pwned'\"><img src='{url}/html-img'>"
                         f"<div style=\"background:url({url}/bg)\">styled</div>", "text/plain": "html"}),
        nbformat.v4.new_output("display_data", data={"application/javascript": "document.title='pwned'",
                                                     "text/plain": "js"}),
        nbformat.v4.new_output("display_data", data={
            "text/markdown": f"<img src=y onerror=\"document.title='pwned'\"><img src='{url}/out-md'>",
            "text/plain": "md"}),
        nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "a plot"}),
    ]


class _Beacon(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 - the http.server API
        _Beacon.requests.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def beacon():
    """A local server the hostile content tries to load from: ``(its url, the paths it was asked for)``."""
    _Beacon.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Beacon)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Beacon.requests
    finally:
        server.shutdown()
        server.server_close()


def _writer() -> FeedbackWriter:
    writer = FeedbackWriter(nbgrader_config())
    writer.exporter._preprocessors = [p for p in writer.exporter._preprocessors
                                      if "GetGrades" not in type(p).__name__]   # no gradebook here
    return writer


def _page(writer: FeedbackWriter, nb, student: str = "mallory") -> str:
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.metadata.nbgrader["score"] = 0     # what GetGrades would read from the gradebook
    rows = [Row(student, LESSON, LESSON, "ex02_1_softmax_small_cases", 0, 1, "failed", "<b>=1+1</b>")]
    resources = {"nbgrader": {"notebook": LESSON, "assignment": LESSON, "student": student,
                              "score": 0, "max_score": 15, "late_penalty": 0}}
    return writer.render(nb, rows, resources)


def _render(tmp_path, url: str, protected: bool):
    nb = answered(LESSON)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(hostile_markdown(url)))
    next(c for c in nb.cells if c.cell_type == "code").outputs = hostile_outputs(url)
    path = tmp_path / ("safe.html" if protected else "unsafe.html")
    if not protected:
        path.write_text(HTMLExporter(template_name="classic").from_notebook_node(nb)[0], encoding="utf-8")
        return path
    path.write_text(_page(_writer(), nb), encoding="utf-8")
    return path


def _open(path):
    from tests.support.browser import chromium_page

    with chromium_page() as page:
        page.goto(path.as_uri())
        page.wait_for_timeout(1500)
        return page.title(), page.inner_text("body"), page.eval_on_selector_all(
            "img", "els => els.filter(e => e.src.startsWith('data:')).map(e => e.naturalWidth)")


def test_student_html_is_cleaned_but_keeps_its_content():
    url = "http://127.0.0.1:9"
    cleaned = safe_html(f"<h2>kept</h2><p>text</p><img src=x onerror=\"alert(1)\"><script>alert(1)</script>"
                        f"<img src='{url}/x'><a href=\"javascript:alert(1)\">js</a><a href='{url}/ok'>ok</a>"
                        f"<iframe src='{url}/f'></iframe><img src='data:image/png;base64,{PNG}'>")
    assert "onerror" not in cleaned and "<script" not in cleaned and "javascript:" not in cleaned
    assert "<iframe" not in cleaned and f"{url}/x" not in cleaned and f"{url}/f" not in cleaned
    assert "<h2>kept</h2><p>text</p>" in cleaned and f'href="{url}/ok"' in cleaned, "what markdown makes stays"
    assert "data:image/png;base64," in cleaned, "embedded images stay"
    assert with_csp("<html><head><title>t</title></head></html>").startswith(
        f'<html><head><meta http-equiv="Content-Security-Policy" content="{CSP}">')


def test_markup_beyond_what_a_page_renders_is_shown_as_text():
    # nested formatting elements take bleach's parser time that grows faster than the markup
    nested = safe_html("<b><p>x" * 14_000 + "<script>alert(1)</script>")
    assert "<b>" not in nested and "<script" not in nested and "28,002 tags of HTML shown as text" in nested
    fragment = "<b><p>x" * (MAX_TAGS // 2)
    with markup_budget():
        shown = [safe_html(fragment) for _ in range(MAX_PAGE_TAGS // MAX_TAGS + 1)]
    assert all(s.startswith("<b>") for s in shown[:-1]) and "shown as text" in shown[-1], "the page's budget"
    assert safe_html(fragment).startswith("<b>"), "outside a page, only the piece's own limit"


def test_one_students_page_never_changes_how_the_next_ones_render():
    # the writer renders each lesson cell once per batch: what a page that spent its markup budget
    # showed as text must not be what every later page shows
    writer = _writer()
    greedy = answered(LESSON)
    greedy.cells[1:1] = [nbformat.v4.new_markdown_cell("<b><i>x</i></b>" * (MAX_TAGS // 5))
                         for _ in range(MAX_PAGE_TAGS * 5 // (4 * MAX_TAGS) + 1)]
    first, honest, again = _page(writer, greedy), _page(writer, answered(LESSON), "bob"), _page(writer, greedy)
    lesson_text = "tags of HTML shown as text"
    assert lesson_text in first and lesson_text in again, "the greedy page is over its budget, cached or not"
    assert lesson_text not in honest, "the next student's page renders the lesson as it is"
    assert honest == _page(_writer(), answered(LESSON), "bob"), "as a writer that never saw the greedy page"


def test_a_lessons_own_prose_is_well_inside_the_markup_limits():
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    for lesson in lesson_ids():
        nb = nbformat.read(ROOT / "lessons" / lesson / f"{lesson}.ipynb", as_version=4)
        tags = [markdown2html_mistune(c.source).count("<") for c in nb.cells if c.cell_type == "markdown"]
        assert max(tags) < MAX_TAGS / 2 and sum(tags) < MAX_PAGE_TAGS / 2, (lesson, max(tags), sum(tags))


def test_the_problem_page_carries_the_policy_and_escapes(tmp_path):
    path = tmp_path / "p.html"
    write_problem_feedback(path, "<script>x</script>", LESSON, LESSON, "invalid", "<img src=x onerror=alert(1)>")
    page = path.read_text()
    assert CSP in page and "<script>x" not in page and "<img src=x" not in page


@pytest.mark.slow
def test_a_hostile_notebook_runs_nothing_when_its_feedback_is_opened(tmp_path, beacon):
    url, requests = beacon
    title, _, _ = _open(_render(tmp_path, url, protected=False))
    assert title == "pwned" and requests, "without protection the payload runs: the test can see it"
    requests.clear()
    title, text, images = _open(_render(tmp_path, url, protected=True))
    assert title != "pwned", "no script ran"
    assert not requests, f"nothing was loaded from elsewhere: {requests}"
    for kept in ("A heading that stays", "bold stays", "styled", "Your results", "<b>=1+1</b>"):
        assert kept in text, kept
    assert images and all(width == 1 for width in images), "embedded images still show"


@pytest.mark.slow
def test_the_class_report_runs_nothing(tmp_path, beacon):
    from grader.report import report
    from grader.results import ResultStore

    url, requests = beacon
    store = ResultStore(tmp_path / "results.db")
    hostile = f"<img src='{url}/r' onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"
    store.record(LESSON, hostile, LESSON, "d", [Row(hostile, LESSON, LESSON, "ex02_1_softmax_small_cases", 0, 1,
                                                    "error", hostile)])
    store.write_csv(tmp_path / "grades.csv")
    page, _ = report(tmp_path)
    assert CSP in page.read_text()
    title, text, _ = _open(page)
    assert title != "pwned" and not requests and "Class report" in text

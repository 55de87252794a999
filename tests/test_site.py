"""The course website (`make site`): a page per lesson with its demonstrations' outputs and plots,
the exercises as students receive them, nothing of the reference answers or hidden tests, the
README's course map as its index; every page renders in headless Chromium, served over HTTP."""
from __future__ import annotations

import copy
import functools
import http.server
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest

from grader.course import ROOT, CourseError, lesson_ids
from grader.lesson import is_answer_cell, is_test_cell
from grader.edition import shared_sections
from grader.website import (EXERCISE_TAG, TESTS_TAG, build_site, course_map, page_notebook, released_lesson, render,
                            with_answers, reference_answers)
from tests.support import notebooks as nbs
from tests.support.browser import chromium_page
from tests.support.secrets import leaks, page_text, secret_lines

ARTIFACTS = ROOT / "artifacts"
LESSONS = lesson_ids()
SCREENSHOT_LESSON = "02_cross_entropy"
# Seconds a page may take to load and typeset, stretched on a machine loaded by other work (see tests/support/grading.py).
PAGE_TIMEOUT = 60 * float(os.environ.get("DLCOURSE_TEST_TIME_SCALE", "1"))


def _fake_run(released):
    """The student version as if executed: every code cell printed its own index."""
    run = copy.deepcopy(released)
    for i, cell in enumerate(run.cells):
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"output of cell {i}\n")]
            cell.execution_count = i
    return run


def test_a_page_shows_the_students_cells_and_only_the_demonstrations_outputs():
    released = nbs.read(nbs.release_path(SCREENSHOT_LESSON))
    page = page_notebook(released, _fake_run(released))
    assert [c.source for c in page.cells] == [c.source for c in released.cells]
    kinds = {"answer": 0, "test": 0, "demo": 0}
    for i, cell in enumerate(page.cells):
        if cell.cell_type != "code":
            continue
        if is_answer_cell(cell) or is_test_cell(cell):
            kinds["answer" if is_answer_cell(cell) else "test"] += 1
            assert cell.outputs == [] and cell.execution_count is None
            assert (EXERCISE_TAG if is_answer_cell(cell) else TESTS_TAG) in cell.metadata.tags
        else:
            kinds["demo"] += 1
            assert cell.outputs[0]["text"] == f"output of cell {i}\n" and cell.execution_count == i
    assert min(kinds.values()) >= 3, kinds


def test_the_index_is_the_readmes_course_map_with_links_into_the_site():
    readme = (ROOT / "README.md").read_text()
    lessons = [released_lesson(lesson) for lesson in LESSONS]
    text = course_map(readme, lessons)
    for lesson in lessons:
        assert f"]({lesson.href})" in text, f"{lesson.id} links to its page"
        for sheet in (p.name for p in lesson.files if p.suffix == ".xlsx"):
            assert f"[`{sheet}`](lessons/{lesson.id}/{sheet})" in text
    unlinked = lambda md: re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", md)
    sections = shared_sections(readme)
    assert unlinked(text) == unlinked(sections["course"] + "\n\n" + sections["course-map"]), \
        "the site's course map is the README's, word for word"
    partial = course_map(readme, lessons[1:2])
    assert f"]({lessons[1].href})" in partial and "](lessons/01_" not in partial, "no link to a page not built"


def test_a_print_sent_in_several_messages_shows_as_one_block():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('softmax:', probs)", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="softmax of [1000, 999]:"),
        nbformat.v4.new_output("stream", name="stdout", text=" [0.731 0.269]\n")])])
    html = render(nb, {"kind": "index", "title": "t", "course": "c", "root": "", "lessons": [], "mathjax": "m.js"})
    assert "<pre>softmax of [1000, 999]: [0.731 0.269]" in html


def test_the_site_needs_the_readme_markers_and_its_own_folder(tmp_path):
    with pytest.raises(CourseError, match="shared: course"):
        course_map("# A README without markers\n", [])
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(CourseError, match="not empty and was not written by"):
        build_site(tmp_path, LESSONS[:1])
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_page_with_nbgraders_markers_is_refused():
    solution = nbs.read(nbs.solution_path(SCREENSHOT_LESSON))
    with pytest.raises(CourseError, match="markers"):
        render(solution, {"kind": "lesson", "title": "t", "course": "c", "root": "", "mathjax": "m.js",
                          "downloads": [], "previous": None, "next": None})


def test_the_scanner_finds_every_answer_and_hidden_test_rendered_into_a_page(tmp_path):
    """The leak scan can fail: a page of the student version with the reference answers filled
    in, and one of the solution notebook without its markers, are caught for every exercise."""
    unmarked = lambda source: "\n".join(l for l in source.splitlines() if "### BEGIN" not in l and "### END" not in l)
    released = nbs.read(nbs.release_path(SCREENSHOT_LESSON))
    solution = nbs.read(nbs.solution_path(SCREENSHOT_LESSON))
    hidden = {nbs.grade_id(c) for c in solution.cells if nbs.is_hidden_test(c)}
    for cell in solution.cells:
        cell.source = unmarked(cell.source)
    answers = {grade: unmarked(source) for grade, source in reference_answers(SCREENSHOT_LESSON).items()}
    site = {"kind": "lesson", "title": "t", "course": "c", "root": "", "mathjax": "m.js", "downloads": [],
            "previous": None, "next": None}
    (tmp_path / "answers.html").write_text(render(with_answers(released, answers), site))
    (tmp_path / "hidden.html").write_text(render(solution, site))
    found = leaks(tmp_path, secret_lines([SCREENSHOT_LESSON]))
    origins = {line.rsplit(" ", 1)[-1].rstrip(")") for line in found}
    assert hidden and set(answers) <= origins, f"answers not found: {set(answers) - origins}"
    assert hidden <= origins, f"hidden tests not found: {hidden - origins}"


def test_the_scanner_finds_extra_sources_and_ignores_what_the_lessons_show(tmp_path):
    kept = "probabilities = np.exp(logits - logits.max())  # a kept answer"
    stub = "raise NotImplementedError()"
    (tmp_path / "page.html").write_text(f"<html><body><pre>{kept}</pre><p>{stub}</p></body></html>")
    secrets = secret_lines([SCREENSHOT_LESSON], extra={"tests/kept.py": f"{kept}\n{stub}"})
    assert stub not in secrets, "nbgrader's stub is shown to every student"
    found = leaks(tmp_path, secrets)
    assert f"page.html: {kept!r} (from tests/kept.py)" in found, "as the page shows it"
    assert all(f.startswith(f"page.html: {kept!r}") and f.endswith("(from tests/kept.py)") for f in found), found
    assert leaks(tmp_path, secret_lines([SCREENSHOT_LESSON])) == []


# --- the built site ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _built(out: Path) -> tuple[Path, float]:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "grader", "site", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0, result.stderr[-3000:]
    return out, time.monotonic() - started


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site, built once by ``python -m grader site`` (what ``make site`` runs)."""
    out, seconds = _built(tmp_path_factory.mktemp("site") / "_site")
    print(f"python -m grader site: {seconds:.0f} s for {len(LESSONS)} lessons")
    return out


def _pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.parts)


@pytest.mark.slow
def test_every_lesson_has_a_page_its_notebook_and_spreadsheets(site):
    assert (site / "index.html").exists()
    for lesson in LESSONS:
        folder = site / "lessons" / lesson
        released = released_lesson(lesson)
        assert (folder / "index.html").exists()
        for path in (released.notebook, *released.files):
            assert (folder / path.name).read_bytes() == path.read_bytes(), f"{path.name} to download, as released"
        html = (folder / "index.html").read_text()
        for path in (released.notebook, *released.files):
            assert f'href="{path.name}"' in html, f"{lesson} links {path.name} for download"


@pytest.mark.slow
def test_pages_link_only_within_the_site_and_load_nothing_from_elsewhere(site):
    for page in _pages(site):
        html = page.read_text()
        for attr, url in re.findall(r'\b(href|src)="([^"]*)"', html):
            parsed = urlparse(url)
            if parsed.scheme in ("http", "https"):
                assert attr == "href" and not re.search(rf'<(script|link|img)[^>]*{re.escape(url)}', html), \
                    f"{page.relative_to(site)} loads {url} from elsewhere"
                continue
            if parsed.scheme in ("data", "mailto") or not parsed.path:
                continue
            target = (page.parent / unquote(parsed.path)).resolve()
            assert target.is_file() and site.resolve() in target.parents, f"{page.relative_to(site)}: {url} is broken"


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_exercises_as_the_student_receives_them_demonstrations_with_outputs(site, lesson):
    html = (site / "lessons" / lesson / "index.html").read_text()
    released = nbs.read(nbs.release_path(lesson))
    answers = [c for c in released.cells if is_answer_cell(c)]
    tests = [c for c in released.cells if is_test_cell(c) and c.cell_type == "code"]
    cells = re.findall(r'<div [^>]*class="jp-Cell jp-CodeCell[^"]*"', html)
    assert len(cells) == sum(c.cell_type == "code" for c in released.cells)
    exercise = [c for c in cells if f"celltag_{EXERCISE_TAG}" in c]
    visible = [c for c in cells if f"celltag_{TESTS_TAG}" in c]
    assert len(exercise) == len(answers) and len(visible) == len(tests)
    assert all("jp-mod-noOutputs" in c for c in exercise + visible), "no output under an answer or a test"
    assert page_text(html).count("raise NotImplementedError()") >= len(answers), "every stub as released"
    demos = [c for c in cells if c not in exercise + visible]
    assert sum("jp-mod-noOutputs" not in c for c in demos) >= len(demos) // 2, "the demonstrations show outputs"
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', html)) >= 3, "plots embedded"


@pytest.mark.slow
def test_no_line_of_a_reference_answer_or_hidden_test_in_any_page(site):
    found = leaks(site, secret_lines(), skip=("_static",))   # _static: MathJax, copied from its package
    assert not found, "\n".join(found[:20])


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(site):
    """The site on a local HTTP server, as a file server or GitHub Pages would serve it."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


MATH_DONE = """() => window.MathJax && MathJax.isReady && MathJax.Hub.queue.pending === 0
    && !MathJax.Hub.queue.running && document.querySelectorAll('script[type^="math/tex"]').length > 0"""


def _open(page, url: str, math: bool = True) -> list[str]:
    """Load ``url`` and wait until MathJax typeset its ``math``; every console error, page error
    and failed request."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    page.goto(url, wait_until="load", timeout=PAGE_TIMEOUT * 1000)
    page.wait_for_function(MATH_DONE if math else "() => window.MathJax && MathJax.isReady", timeout=PAGE_TIMEOUT * 1000)
    return problems


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_page_renders_in_chromium_with_plots_and_math(served, site, lesson):
    with chromium_page() as page:
        problems = _open(page, f"{served}/lessons/{lesson}/index.html")
        images = page.eval_on_selector_all(".jp-OutputArea-output img",
                                           "els => els.map(e => [e.complete, e.naturalWidth, e.getBoundingClientRect().width])")
        math = page.evaluate("""() => ({scripts: document.querySelectorAll('script[type^="math/tex"]').length,
            rendered: document.querySelectorAll('.MathJax, .MathJax_Display').length,
            errors: document.querySelectorAll('.MathJax_Error, merror, .merror').length})""")
        if lesson == SCREENSHOT_LESSON:
            ARTIFACTS.mkdir(exist_ok=True)
            page.locator(".jp-OutputArea-output img").first.scroll_into_view_if_needed()
            page.evaluate("window.scrollBy(0, -420)")
            page.screenshot(path=str(ARTIFACTS / f"site-{lesson}.png"))
    assert not problems, problems
    assert len(images) >= 3 and all(done and width > 100 and shown > 100 for done, width, shown in images), images
    assert math["scripts"] > 5 and math["rendered"] >= math["scripts"] and math["errors"] == 0, math
    if lesson == SCREENSHOT_LESSON:
        assert (ARTIFACTS / f"site-{lesson}.png").stat().st_size > 30_000


@pytest.mark.slow
def test_course_map_renders_in_chromium(served):
    with chromium_page() as page:
        problems = _open(page, f"{served}/index.html", math=False)
        links = page.eval_on_selector_all("table a", "els => els.map(e => e.getAttribute('href'))")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "site-index.png"))
    assert not problems, problems
    assert [f"lessons/{lesson}/index.html" for lesson in LESSONS] == [l for l in links if l.endswith("index.html")]

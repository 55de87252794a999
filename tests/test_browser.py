"""A lesson in JupyterLab, in a real (headless) browser, here and in the student edition copied
away from the repository: it opens without asking about Jupyter news, every cell runs through
the UI with the course's own `dlcourse`, no cell ends in an error, and a screenshot is kept
under artifacts/ (git-ignored)."""
from __future__ import annotations

import shutil
import time

import nbformat
import pytest

from grader.course import LESSONS, ROOT
from tests.support.browser import asks_about_news, chromium_page
from tests.support.edition import standalone_edition
from tests.support.submissions import answered
from tests.test_lab import TOKEN, start_lab

LESSON = "02_cross_entropy"
ARTIFACTS = ROOT / "artifacts"
WHICH_DLCOURSE = "import dlcourse\nprint(dlcourse.__file__)"


@pytest.fixture(scope="module", params=["instructor", "edition"])
def lab_with_answers(request, tmp_path_factory):
    """JupyterLab serving the lesson with the reference answers filled in, and a last cell that
    prints where its `dlcourse` comes from: from the repository's lessons (a copy of them), or
    from the edition's own lessons/, its package first on the kernel's path (as its own
    environment, installed from it, has it)."""
    if request.param == "instructor":
        course, lessons, env = ROOT, tmp_path_factory.mktemp("lab"), {}
        shutil.copytree(LESSONS / LESSON, lessons / LESSON)
    else:
        course = standalone_edition(tmp_path_factory.mktemp("edition"))
        lessons, env = course / "lessons", {"PYTHONPATH": str(course)}
    nb = answered(LESSON)
    nb.cells.append(nbformat.v4.new_code_cell(WHICH_DLCOURSE))
    nbformat.write(nb, lessons / LESSON / f"{LESSON}.ipynb")
    with start_lab(lessons, tmp_path_factory.mktemp("runtime"), env, settings=course / "jupyter") as base:
        yield request.param, base, lessons / LESSON / f"{LESSON}.ipynb", course


@pytest.mark.slow
def test_lesson_runs_in_jupyterlab_in_a_browser(lab_with_answers):
    which, base, path, course = lab_with_answers
    saved_before = path.stat().st_mtime
    screenshot = ARTIFACTS / f"jupyterlab-{which}-{LESSON}.png"
    with chromium_page() as page:
        page.goto(f"{base}/lab/tree/{LESSON}/{LESSON}.ipynb?token={TOKEN}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
        assert not asks_about_news(page, seconds=5), "the course's settings answer the question about news"
        page.click("li.lm-MenuBar-item:has-text('Run')")
        page.click("li.lm-Menu-item:has-text('Run All Cells')")
        deadline = time.time() + 300
        while time.time() < deadline:
            prompts = page.eval_on_selector_all(".jp-CodeCell .jp-InputPrompt", "els => els.map(e => e.textContent)")
            if prompts and all(p.strip() not in ("[ ]:", "[*]:", "") for p in prompts):
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"cells still pending after 5 minutes: {prompts}")
        page.keyboard.press("Control+s")
        page.locator(".jp-OutputArea-output img").first.scroll_into_view_if_needed()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(screenshot))
        deadline = time.time() + 30
        while path.stat().st_mtime == saved_before and time.time() < deadline:
            time.sleep(0.2)
    executed = nbformat.read(path, as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "every code cell ran"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, [f"{e.ename}: {e.evalue}" for e in errors]
    assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs), "the plots rendered"
    assert code[-1].outputs[0]["text"].strip() == str(course / "dlcourse" / "__init__.py"), "the course's own dlcourse"
    assert screenshot.stat().st_size > 20_000


@pytest.mark.slow
def test_jupyterlab_without_the_course_settings_asks_about_news(tmp_path):
    """The check above can fail: JupyterLab's defaults do ask."""
    with start_lab(tmp_path, tmp_path / "runtime", settings=None) as base, chromium_page() as page:
        page.goto(f"{base}/lab?token={TOKEN}")
        page.wait_for_selector(".jp-DirListing", timeout=90_000)
        assert asks_about_news(page, seconds=30)

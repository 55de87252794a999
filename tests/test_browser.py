"""A lesson in JupyterLab, in a real (headless) browser: it opens, every cell runs through the UI,
no cell ends in an error, and a screenshot is kept under artifacts/ (git-ignored)."""
from __future__ import annotations

import shutil
import time

import nbformat
import pytest

from grader.course import LESSONS, ROOT
from tests.support.browser import chromium_page
from tests.support.submissions import answered
from tests.test_lab import TOKEN, start_lab

LESSON = "02_cross_entropy"
ARTIFACTS = ROOT / "artifacts"


@pytest.fixture(scope="module")
def lab_with_answers(tmp_path_factory):
    """JupyterLab serving a copy of the lesson with the reference answers filled in."""
    folder = tmp_path_factory.mktemp("lab")
    shutil.copytree(LESSONS / LESSON, folder / LESSON)
    nbformat.write(answered(LESSON), folder / LESSON / f"{LESSON}.ipynb")
    with start_lab(folder, tmp_path_factory.mktemp("runtime")) as base:
        yield base, folder / LESSON / f"{LESSON}.ipynb"


@pytest.mark.slow
def test_lesson_runs_in_jupyterlab_in_a_browser(lab_with_answers):
    base, path = lab_with_answers
    saved_before = path.stat().st_mtime
    with chromium_page() as page:
        page.goto(f"{base}/lab/tree/{LESSON}/{LESSON}.ipynb?token={TOKEN}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
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
        page.screenshot(path=str(ARTIFACTS / f"jupyterlab-{LESSON}.png"))
        deadline = time.time() + 30
        while path.stat().st_mtime == saved_before and time.time() < deadline:
            time.sleep(0.2)
    executed = nbformat.read(path, as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "every code cell ran"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, [f"{e.ename}: {e.evalue}" for e in errors]
    assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs), "the plots rendered"
    assert (ARTIFACTS / f"jupyterlab-{LESSON}.png").stat().st_size > 20_000

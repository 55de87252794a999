"""The course website: every lesson readable online, with its plots, before anyone installs anything.

``python -m grader site OUT`` (``make site``, into the git-ignored ``_site/``) writes a static site
that works from any file server or GitHub Pages (every link is relative, every plot embedded):

- ``index.html``: the course and its map, from the README's sections between
  ``<!-- BEGIN shared: course -->`` / ``course-map`` markers (one source of truth);
- ``lessons/<lesson>/index.html``: the student version of each lesson, rendered by nbconvert
  with the template in ``grader/website_files/lesson``. Its demonstrations show the outputs of
  one run of the lesson with the reference answers filled in; its exercise cells are exactly
  what the student receives (stubs, visible tests) and show no output, so nothing computed by an
  answer or a test is on the page;
- ``lessons/<lesson>/``: the student notebook and its spreadsheets, to download;
- ``_static/mathjax/``: MathJax 2 from the ``jupyter-server-mathjax`` package (no CDN).
"""
from __future__ import annotations

import copy
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.course import LESSONS, ROOT, CourseError, check_lesson, lesson_ids, source_notebooks
from grader.edition import MARKERS, shared_sections
from grader.lesson import is_answer_cell, is_test_cell

FILES = Path(__file__).resolve().parent / "website_files"
TEMPLATE = "lesson"                       # an nbconvert template in FILES, extending nbconvert's lab template
MARKER = ".dlcourse-site"                 # marks a folder this module wrote, so a rebuild may replace it
MATHJAX = "_static/mathjax"
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"
EXERCISE_TAG, TESTS_TAG = "dlcourse-exercise", "dlcourse-visible-tests"


@dataclass(frozen=True)
class Lesson:
    """One lesson as the site shows it."""
    id: str
    title: str
    notebook: Path                        # the student version, lessons/<id>/<id>.ipynb
    files: tuple[Path, ...]               # everything else of the released folder (spreadsheets)

    @property
    def href(self) -> str:
        """Link to the lesson's page from the site's root."""
        return f"lessons/{self.id}/index.html"


def released_lesson(lesson: str) -> Lesson:
    """The student version of ``lesson`` in ``lessons/``; raises CourseError when it was not released."""
    folder = LESSONS / check_lesson(lesson)
    notebook = folder / f"{lesson}.ipynb"
    if not notebook.exists():
        raise CourseError(f"{notebook} is missing: run `make lessons` first")
    nb = nbformat.read(notebook, as_version=4)
    heading = next((line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines()
                    if line.startswith("# ")), f"# {lesson}")
    files = tuple(p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix != ".ipynb")
    return Lesson(lesson, heading[2:].strip(), notebook, files)


def reference_answers(lesson: str) -> dict[str, str]:
    """``{grade id: source}`` of the code answer cells of the lesson's solution notebook."""
    (source,) = source_notebooks(lesson)
    return {c.metadata.nbgrader["grade_id"]: c.source for c in nbformat.read(source, as_version=4).cells
            if is_answer_cell(c)}


def with_answers(released: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of the student version whose code answer cells hold ``answers`` (by grade id)."""
    nb = copy.deepcopy(released)
    for cell in nb.cells:
        if is_answer_cell(cell):
            cell.source = answers[cell.metadata.nbgrader["grade_id"]]
    return nb


def kernel_env() -> dict[str, str]:
    """The lesson kernel's environment: no progress bars (a finished bar is empty anyway), OpenMP
    threads that sleep while they wait, and matplotlib's inline backend (plots become outputs)."""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    return {**env, "DLCOURSE_QUIET": "1", "OMP_WAIT_POLICY": "PASSIVE"}


def execute(lesson: Lesson, timeout: float = 600) -> nbformat.NotebookNode:
    """Run the student version of ``lesson`` with the reference answers, in a copy of its folder.

    Args:
        lesson: the lesson to run.
        timeout: seconds any one cell may take (a guard against a hang, not the course's limit).

    Returns:
        The executed notebook (every cell, answers and tests included, with its outputs).

    Raises:
        CourseError: a cell failed; its error is in the message.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = with_answers(nbformat.read(lesson.notebook, as_version=4), reference_answers(lesson.id))
    with tempfile.TemporaryDirectory(prefix=f"site-{lesson.id}-") as tmp:
        folder = Path(tmp) / lesson.id
        shutil.copytree(lesson.notebook.parent, folder)
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(folder)}})
        try:
            client.execute(env=kernel_env())
        except CellExecutionError as error:
            raise CourseError(f"{lesson.id} fails when run with the reference answers:\n{error}") from None
    return nb


def page_notebook(released: nbformat.NotebookNode, executed: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook a lesson's page shows: the student version, cell for cell, with the outputs
    of ``executed`` on its demonstrations only. Answer cells (stubs) and test cells (visible
    tests) keep no output and are tagged so the page marks them as exercises."""
    if [c.get("id") for c in released.cells] != [c.get("id") for c in executed.cells]:
        raise CourseError("the executed notebook does not have the student version's cells")
    nb = copy.deepcopy(released)
    nb.metadata.pop("widgets", None)
    nb.metadata["language_info"] = executed.metadata.get("language_info", nb.metadata.get("language_info", {}))
    for cell, run in zip(nb.cells, executed.cells):
        if cell.cell_type != "code":
            continue
        tag = EXERCISE_TAG if is_answer_cell(cell) else TESTS_TAG if is_test_cell(cell) else None
        if tag:
            cell.outputs, cell.execution_count = [], None
            cell.metadata["tags"] = [*cell.metadata.get("tags", []), tag]
        else:
            cell.outputs, cell.execution_count = copy.deepcopy(run.outputs), run.execution_count
    return nb


def course_map(readme: str, lessons: list[Lesson]) -> str:
    """The README's course and course map as markdown for the site: each lesson's link goes to its
    page (a lesson not in ``lessons`` loses its link) and each spreadsheet named in its row becomes
    a download link.

    Raises:
        CourseError: the README has no ``course`` or ``course-map`` section.
    """
    sections = shared_sections(readme)
    missing = [name for name in ("course", "course-map") if name not in sections]
    if missing:
        raise CourseError(f"README.md has no section between '<!-- BEGIN shared: {missing[0]} -->' and "
                          f"'<!-- END shared: {missing[0]} -->': the site's course map comes from it")
    by_id = {lesson.id: lesson for lesson in lessons}

    def row(line: str) -> str:
        link = re.search(r"\[([^\]]*)\]\(lessons/(\d\d_[a-z0-9_]+)/?\)", line)
        if not link:
            return line
        if link[2] not in by_id:               # a lesson this build leaves out: its name, unlinked
            return line.replace(link[0], link[1])
        lesson = by_id[link[2]]
        names = {p.name for p in lesson.files}
        line = line.replace(link[0], f"[{link[1]}]({lesson.href})")
        return re.sub(r"`([^`]+\.xlsx)`", lambda m: f"[`{m[1]}`](lessons/{lesson.id}/{m[1]})" if m[1] in names else m[0],
                      line)

    course_map_md = "\n".join(row(line) for line in sections["course-map"].splitlines())
    return sections["course"] + "\n\n" + course_map_md


def _exporter():
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name=TEMPLATE, extra_template_basedirs=[str(FILES)])


def render(nb: nbformat.NotebookNode, site: dict) -> str:
    """HTML of one page: ``nb`` through the site's template, ``site`` its navigation (see :func:`build_site`)."""
    for cell in nb.cells:
        texts = [cell.source] + [str(o) for o in cell.get("outputs", [])]
        if any(marker in text for marker in MARKERS for text in texts):
            raise CourseError(f"{site['title']}: a cell carries nbgrader's answer or hidden-test markers; "
                              "the site shows only what students receive")
    body, _ = _exporter().from_notebook_node(nb, resources={"site": site})
    return body


def copy_mathjax(out: Path) -> None:
    """MathJax 2 (the version nbconvert's template configures) from ``jupyter-server-mathjax``, English only."""
    import jupyter_server_mathjax

    static = Path(jupyter_server_mathjax.__file__).parent / "static"
    ignore = lambda folder, names: [n for n in names if Path(folder).name == "localization" and n != "en"]
    shutil.copytree(static, out / MATHJAX, ignore=ignore)


def _prepare(out: Path) -> None:
    if out.exists():
        if any(out.iterdir()) and not (out / MARKER).exists():
            raise CourseError(f"{out} is not empty and was not written by `python -m grader site`: choose another folder")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("written by python -m grader site; rebuilt from scratch every time\n")


def build_site(out: Path, lessons: list[str] | None = None, report=print) -> Path:
    """Write the course website into ``out`` (replacing a site written there before).

    Args:
        out: the site's folder; ``out/index.html`` is the course map.
        lessons: lesson ids (default: every lesson).
        report: called with one line per lesson (its run time).

    Returns:
        ``out``.

    Raises:
        CourseError: a lesson was not released, fails with its reference answers, or the README
            has no course map; ``out`` holds something else.
    """
    out = Path(out)
    chosen = [released_lesson(lesson) for lesson in (lessons or lesson_ids())]
    _prepare(out)
    copy_mathjax(out)
    title = (ROOT / "README.md").read_text().splitlines()[0].lstrip("# ").strip()
    index = nbformat.v4.new_notebook(metadata={"title": title})
    index.cells.append(nbformat.v4.new_markdown_cell(course_map((ROOT / "README.md").read_text(), chosen)))
    nav = [{"title": lesson.title, "href": lesson.href} for lesson in chosen]
    (out / "index.html").write_text(render(index, {"kind": "index", "title": title, "course": title, "root": "",
                                                   "lessons": nav, "mathjax": _mathjax_url("")}))
    for position, lesson in enumerate(chosen):
        started = time.monotonic()
        released = nbformat.read(lesson.notebook, as_version=4)
        page = page_notebook(released, execute(lesson))
        page.metadata["title"] = lesson.title
        folder = out / "lessons" / lesson.id
        folder.mkdir(parents=True)
        for path in (lesson.notebook, *lesson.files):
            shutil.copyfile(path, folder / path.name)
        site = {"kind": "lesson", "title": lesson.title, "course": title, "root": "../../", "lessons": nav,
                "position": position, "mathjax": _mathjax_url("../../"),
                "downloads": [{"name": p.name, "href": p.name} for p in (lesson.notebook, *lesson.files)],
                "previous": nav[position - 1] if position else None,
                "next": nav[position + 1] if position + 1 < len(nav) else None}
        (folder / "index.html").write_text(render(page, site))
        report(f"{lesson.id}: ran and rendered in {time.monotonic() - started:.0f} s")
    return out


def _mathjax_url(root: str) -> str:
    return f"{root}{MATHJAX}/MathJax.js?config={MATHJAX_CONFIG}"

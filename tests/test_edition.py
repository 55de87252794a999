"""The student edition: nothing secret in it, what students need and only that, and it works on its own."""
from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from dlcourse.validate import DEFAULT_TIMEOUT
from grader import edition as edition_module
from grader.course import LESSONS, ROOT, CourseError, lesson_ids, nbgrader_config
from grader.edition import CONDA_NAMES, MARKERS, STUDENT_PACKAGES, edition, shared_sections
from grader.sandbox import Sandbox
from tests.support import notebooks as nbs
from tests.support.browser import asks_about_news, chromium_page
from tests.support.edition import secret_lines, standalone_edition
from tests.support.secrets import leaks
from tests.support.submissions import answered
from tests.test_environment import conda_requirements
from tests.test_lab import TOKEN, start_lab

LESSON = "02_cross_entropy"
# Not asked for by the edition (some still come in as dependencies of JupyterLab: nbconvert, pyyaml)...
NOT_FOR_STUDENTS = {"nbgrader", "sqlalchemy", "distributed", "dask", "playwright", "pytest", "nbval", "pyyaml",
                    "notebook", "ipywidgets", "nbconvert"}
# ...and not installed at all.
INSTRUCTORS_ONLY = {"nbgrader", "sqlalchemy", "alembic", "distributed", "dask", "playwright", "pytest", "nbval"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return edition(tmp_path_factory.mktemp("edition") / "edition")


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    """The edition, copied alone into a folder with no repository around it."""
    return standalone_edition(tmp_path_factory.mktemp("standalone"))


def _files(folder: Path) -> list[Path]:
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts)


# --- nothing secret ------------------------------------------------------------------------

def test_edition_holds_no_reference_answer_hidden_test_or_wrong_answer(built):
    secrets = secret_lines()
    assert len(secrets) > 500, "the scan looks for the lines of every lesson's answers and hidden tests"
    assert leaks(built, secrets) == []
    for path in _files(built):
        content = (built / path).read_bytes()
        assert not [m for m in MARKERS if m.encode() in content], f"{path} carries an nbgrader marker"
        assert not {"solutions", "grader", "tests"} & set(path.parts), path
        assert path.suffix not in (".db", ".sqlite") and "gradebook" not in path.name and \
            not path.name.startswith("wrong_"), path


def test_edition_code_needs_nothing_of_the_instructors(built):
    for path in _files(built):
        if path.suffix == ".py":
            for node in ast.walk(ast.parse((built / path).read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                assert not [n for n in names if n.split(".")[0] in ("grader", "tests", "nbgrader")], (path, names)


def test_the_scan_finds_answers_hidden_tests_and_wrong_answers(built, tmp_path):
    """The scan is not vacuous: planted secrets of every kind are found, with their origin."""
    planted = tmp_path / "planted"
    shutil.copytree(built, planted)
    notebook = planted / "lessons" / LESSON / f"{LESSON}.ipynb"
    shutil.copyfile(nbs.solution_path(LESSON), notebook)
    wrong = next(iter(nbs.wrong_answers("04_optimizers").values()))
    (planted / "dlcourse" / "extra.py").write_text(next(iter(wrong.values())))
    nbformat.write(answered("01_backprop"), planted / "lessons" / "01_backprop" / "01_backprop.ipynb")
    secrets = secret_lines()
    hidden = next(line for line, where in secrets.items() if where.startswith("solutions/06_embeddings"))
    released = nbs.read(planted / "lessons" / "06_embeddings" / "06_embeddings.ipynb")
    released.cells[-1].metadata["note"] = [hidden]
    nbformat.write(released, planted / "lessons" / "06_embeddings" / "06_embeddings.ipynb")
    found = leaks(planted, secrets)
    assert any(f"from solutions/{LESSON} ex02_1_softmax_matches_reference" in f for f in found), "a hidden test"
    assert any(f"from solutions/{LESSON} ex02_1_softmax_answer" in f for f in found), "a reference answer"
    assert any(f"from solutions/{LESSON} ex02_q" in f for f in found), "an answer written in prose"
    assert any(f.startswith("dlcourse/extra.py") and "wrong_04_optimizers.py" in f for f in found), "a wrong answer"
    assert any(f.startswith("lessons/01_backprop/") for f in found), "answers pasted into a released notebook"
    assert any(f.startswith("lessons/06_embeddings/") for f in found), "a line in a cell's metadata"


def test_build_refuses_lessons_carrying_solutions(tmp_path, monkeypatch):
    lessons = tmp_path / "lessons"
    shutil.copytree(LESSONS, lessons)
    shutil.copyfile(nbs.solution_path(LESSON), lessons / LESSON / f"{LESSON}.ipynb")
    monkeypatch.setattr(edition_module, "LESSONS", lessons)
    with pytest.raises(CourseError, match=f"lessons/{LESSON}/{LESSON}.ipynb contains 'BEGIN SOLUTION'"):
        edition(tmp_path / "out" / "edition")
    assert list((tmp_path / "out").iterdir()) == [], "nothing is left behind"


# --- what students need, and only that -----------------------------------------------------

def test_edition_holds_the_released_lessons_the_package_and_the_course_files(built):
    top = {p.parts[0] for p in _files(built)}
    assert top == {".gitignore", "LICENSE", "Makefile", "README.md", "pyproject.toml", "environment.yml",
                   "data", "dlcourse", "jupyter", "lessons"}
    released = sorted(p.relative_to(LESSONS) for l in lesson_ids() for p in (LESSONS / l).rglob("*")
                      if p.is_file() and not any(part.startswith(".") for part in p.relative_to(LESSONS).parts))
    assert sorted(p.relative_to("lessons") for p in _files(built) if p.parts[0] == "lessons") == released
    for path in released:
        assert (built / "lessons" / path).read_bytes() == (LESSONS / path).read_bytes(), path
    for path in (ROOT / "dlcourse").glob("*.py"):
        assert (built / "dlcourse" / path.name).read_bytes() == path.read_bytes(), path.name
    for name in ("LICENSE", "data/manifest.toml", "jupyter/labconfig/default_setting_overrides.json"):
        assert (built / name).read_bytes() == (ROOT / name).read_bytes(), name


def test_edition_dependencies_are_the_students_share_of_the_course_pins(built):
    course = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    student = tomllib.loads((built / "pyproject.toml").read_text())
    project = student["project"]
    assert project["requires-python"] == course["requires-python"]
    assert set(project["dependencies"]) <= set(course["dependencies"]), "each pin exactly as the course's"
    names = {Requirement(r).name for r in project["dependencies"]}
    assert names == set(STUDENT_PACKAGES) and not names & NOT_FOR_STUDENTS
    assert student["tool"]["setuptools"]["packages"] == ["dlcourse"]
    env = yaml.safe_load((built / "environment.yml").read_text())
    assert conda_requirements(env) == {CONDA_NAMES.get(r.name, r.name): str(r.specifier)
                                       for r in map(Requirement, project["dependencies"])}
    assert [d for d in env["dependencies"] if isinstance(d, dict)] == [{"pip": ["-e ."]}]


def test_edition_readme_is_the_template_with_the_course_sections(built):
    readme = (built / "README.md").read_text()
    course_readme = (ROOT / "README.md").read_text()
    assert readme.splitlines()[0] == course_readme.splitlines()[0], "the course's title"
    sections = shared_sections(course_readme)
    assert set(sections) == {"course", "course-map", "data"}
    for text in sections.values():
        assert text in readme
    assert "<!--" not in readme, "every placeholder is filled"
    for lesson in lesson_ids():
        assert f"](lessons/{lesson})" in sections["course-map"], f"the course map links {lesson}"
    for target in re.findall(r"\]\(([^)#:]+)\)", readme):
        assert (built / target).exists(), f"the README links {target}, which the edition lacks"
    for needed in ("make lab", "make check", "Handing in your work", "MovieLens", "COURSE_DATA_MIRROR"):
        assert needed in readme


def test_python_versions_agree_everywhere():
    admitted = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    expected = [f"3.{minor}" for minor in range(0, 30) if f"3.{minor}" in admitted]
    for makefile in (ROOT / "Makefile", ROOT / "grader" / "edition_files" / "Makefile"):
        versions = re.search(r"^PYTHONS := (.*)$", makefile.read_text(), re.M).group(1).split()
        assert versions == expected, makefile
    listed = ", ".join(expected[:-1]) + f" or {expected[-1]}"
    for readme in (ROOT / "README.md", ROOT / "grader" / "edition_files" / "README.md"):
        text = readme.read_text()
        assert f"Python {listed}" in text and re.search(r"(CI tests|tested on) 3\.11\b", text), readme


def test_validator_allows_a_cell_as_long_as_grading_does():
    assert DEFAULT_TIMEOUT == Sandbox(config=nbgrader_config()).cell_timeout


@pytest.mark.parametrize("course", ["instructor", "edition"])
def test_make_lab_starts_jupyterlab_with_the_course_settings(course, copy):
    root = ROOT if course == "instructor" else copy
    planned = subprocess.run(["make", "-n", "-C", str(root), "lab"], capture_output=True, text=True).stdout
    lab = next(line for line in planned.splitlines() if "jupyter lab" in line)
    assert f'JUPYTER_CONFIG_PATH="{root}/jupyter' in lab and lab.rstrip().endswith("lessons/")


# --- building --------------------------------------------------------------------------------

def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=True).stdout.strip()


def test_a_clean_clone_writes_the_edition_with_make_edition(tmp_path):
    """What `make edition EDITION_FLAGS=--git` runs, in a fresh clone of this repository: the
    edition is written from the clone's own lessons, as one commit, and git ignores it there."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(clone)], check=True, capture_output=True)
    planned = subprocess.run(["make", "-n", "-C", str(clone), "edition", "EDITION_FLAGS=--git"],
                             capture_output=True, text=True, check=True).stdout.splitlines()
    command = next(line for line in planned if " -m grader edition " in line)
    assert command.split(" -m grader edition ")[1].split() == ["edition", "--git"]
    env = {**os.environ, "PYTHONPATH": str(clone)}
    which = subprocess.run([sys.executable, "-c", "import grader.course as c; print(c.ROOT)"], cwd=clone, env=env,
                           capture_output=True, text=True, check=True)
    assert which.stdout.strip() == str(clone), "the clone's own grader builds it"
    done = subprocess.run([sys.executable, "-m", "grader", "edition", "edition", "--git"], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    built = clone / "edition"
    assert f"wrote the student edition into {built}: {len(_files(built))} files" in done.stdout
    assert _git(built, "rev-list", "--count", "HEAD") == "1"
    assert _git(clone, "status", "--porcelain", "--untracked-files=all") == "", "edition/ is git-ignored"
    for lesson in lesson_ids():
        assert (built / "lessons" / lesson / f"{lesson}.ipynb").read_bytes() == \
            (clone / "lessons" / lesson / f"{lesson}.ipynb").read_bytes()


def test_build_replaces_an_edition_and_refuses_anything_else(tmp_path):
    out = edition(tmp_path / "edition")
    (out / "lessons" / "stale.txt").write_text("from an older build")
    edition(out)
    assert not (out / "lessons" / "stale.txt").exists(), "rebuilt from the current lessons, not updated"
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep me")
    with pytest.raises(CourseError, match="not a student edition"):
        edition(other)
    assert (other / "mine.txt").read_text() == "keep me"
    with pytest.raises(CourseError, match="inside the course's own files"):
        edition(ROOT / "lessons" / "edition")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edition", "notes"], "no staging folder is left"


def test_git_edition_is_one_commit_that_the_same_lessons_reproduce(tmp_path):
    first = edition(tmp_path / "first", git=True)
    time.sleep(1.1)    # a date taken from the clock would now differ
    second = edition(tmp_path / "second", git=True)
    for folder in (first, second):
        assert _git(folder, "rev-list", "--count", "HEAD") == "1"
        assert _git(folder, "status", "--porcelain", "--untracked-files=all") == "", "a clean tree"
        assert _git(folder, "branch", "--show-current") == "main"
    assert _git(first, "rev-parse", "HEAD^{tree}") == _git(second, "rev-parse", "HEAD^{tree}")
    assert _git(first, "rev-parse", "HEAD") == _git(second, "rev-parse", "HEAD"), "author, date and message are fixed"
    assert sorted(_git(first, "ls-files").splitlines()) == sorted(p.as_posix() for p in _files(first))


# --- on its own --------------------------------------------------------------------------------

def _poisoned(tmp: Path) -> dict[str, str]:
    """An environment in which importing the grader, the tests or nbgrader fails, so the
    edition's own code cannot lean on the instructor's packages installed beside it."""
    for name in ("grader", "tests", "nbgrader"):
        (tmp / "poison" / name).mkdir(parents=True, exist_ok=True)
        (tmp / "poison" / name / "__init__.py").write_text(
            f"raise ImportError('the student edition must not need {name}')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COURSE_DATA_DIR")}
    return {**env, "PYTHONPATH": str(tmp / "poison")}


def test_the_copy_imports_its_own_dlcourse(copy, tmp_path):
    shown = subprocess.run([sys.executable, "-c", "import dlcourse, dlcourse.data, dlcourse.validate; "
                            "print(dlcourse.__file__); print(dlcourse.data.MANIFEST)"],
                           cwd=copy, env=_poisoned(tmp_path), capture_output=True, text=True, check=True)
    assert shown.stdout.split() == [str(copy / "dlcourse" / "__init__.py"), str(copy / "data" / "manifest.toml")]


def _validate(copy: Path, env: dict, *paths: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dlcourse", "validate", *paths], cwd=copy, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_the_copy_validates_a_finished_notebook_and_an_untouched_one(copy, tmp_path):
    env = _poisoned(tmp_path)
    finished = answered(LESSON)
    first = next(c for c in finished.cells if c.cell_type == "code")
    # The notebook's kernel must import the copy's dlcourse too (the first cell always runs).
    first.source += f"\nimport dlcourse as _d\nassert _d.__file__ == {str(copy / 'dlcourse' / '__init__.py')!r}, _d.__file__"
    path = copy / "lessons" / LESSON / "finished.ipynb"
    nbformat.write(finished, path)
    try:
        done = _validate(copy, env, f"lessons/{LESSON}/finished.ipynb")
    finally:
        path.unlink()     # the copy is shared: `make check` later validates every notebook in it
    assert done.returncode == 0, done.stdout + done.stderr
    assert "problem:" not in done.stdout, done.stdout
    exercises = len([c for c in finished.cells if nbs.is_answer(c)])
    assert exercises >= 5 and len([l for l in done.stdout.splitlines() if l.endswith("  passed")]) == exercises
    untouched = _validate(copy, env, f"lessons/{LESSON}/{LESSON}.ipynb")
    assert untouched.returncode == 1
    assert untouched.stdout.count("FAILED: not done yet") == exercises, untouched.stdout
    assert "still to answer in writing (graded by hand): ex02_q12" in untouched.stdout


DATA_LESSONS = {"03_sgd_from_scratch": "load_mnist(", "06_embeddings": "load_movielens("}


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("COURSE_DATA_MIRROR"), reason="needs COURSE_DATA_MIRROR")
@pytest.mark.parametrize("lesson", sorted(DATA_LESSONS))
def test_the_copy_lessons_load_their_data_through_the_mirror(copy, lesson, tmp_path):
    """The lesson's own loading cell, in the copy, with the network closed: only the mirror
    can serve the files, and they are read in place (the copy's cache stays empty)."""
    nb = nbs.read(copy / "lessons" / lesson / f"{lesson}.ipynb")
    code = [c for c in nb.cells if c.cell_type == "code"]
    loading = next(i for i, c in enumerate(code) if DATA_LESSONS[lesson] in c.source)
    env = {**_poisoned(tmp_path), "PYTHONPATH": f"{copy}{os.pathsep}{tmp_path / 'poison'}", "DLCOURSE_QUIET": "1",
           **{k: "http://127.0.0.1:9" for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")},
           "no_proxy": "", "NO_PROXY": ""}
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(copy / "lessons" / lesson)}})
    with client.setup_kernel(env=env):
        client.execute_cell(code[0], nb.cells.index(code[0]))
        cell = client.execute_cell(code[loading], nb.cells.index(code[loading]))
        check = nbformat.v4.new_code_cell("import dlcourse.data as d; print(d.MANIFEST, d.cache_dir())")
        printed = client.execute_cell(check, nb.cells.index(code[0])).outputs[0]["text"].split()
    assert nbs.error_of(cell) is None, nbs.error_of(cell)
    assert printed == [str(copy / "data" / "manifest.toml"), str(copy / "data")]
    assert [p.name for p in (copy / "data").iterdir()] == ["manifest.toml"], "the mirror is read in place"


@pytest.mark.slow
def test_the_copy_sets_itself_up_in_a_fresh_environment_and_checks_the_lessons(copy, tmp_path):
    """`make setup` of the edition in a new virtual environment (pip takes the wheels from its
    cache or the index), then `make check` on one lesson and on all of them."""
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if Path(sys.executable).parent != Path(p))
    env = {**{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}, "PATH": path}
    started = time.monotonic()
    setup = subprocess.run(["make", "setup"], cwd=copy, env=env, capture_output=True, text=True, timeout=1800)
    seconds = time.monotonic() - started
    assert setup.returncode == 0, setup.stdout + setup.stderr
    print(f"make setup of the edition in a fresh environment: {seconds:.0f} s")
    python = copy / ".venv" / "bin" / "python"
    shown = subprocess.run([python, "-c", "import dlcourse; print(dlcourse.__file__)"], cwd="/",
                           capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == str(copy / "dlcourse" / "__init__.py"), "the edition is installed from itself"
    listed = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True, check=True)
    installed = {line.split("==")[0].lower() for line in listed.stdout.splitlines()}
    assert not installed & INSTRUCTORS_ONLY, installed & INSTRUCTORS_ONLY
    nbformat.write(answered(LESSON), copy / "lessons" / LESSON / f"{LESSON}.ipynb")
    one = subprocess.run(["make", "check", f"lessons/{LESSON}"], cwd=copy, env=env, capture_output=True, text=True,
                         timeout=600)
    assert one.returncode == 0, one.stdout + one.stderr
    exercises = len([c for c in answered(LESSON).cells if nbs.is_answer(c)])
    assert f"lessons/{LESSON}/{LESSON}.ipynb: {exercises} of {exercises} exercises pass" in one.stdout
    every = subprocess.run(["make", "check"], cwd=copy, env=env, capture_output=True, text=True, timeout=1200)
    assert every.returncode != 0 and "Error 1" in every.stderr, "the validator's status: a test fails"
    assert f"1 of {len(lesson_ids())} notebooks pass all their visible tests" in every.stdout
    for lesson in lesson_ids():
        assert f"lessons/{lesson}/{lesson}.ipynb: " in every.stdout, f"make check validated {lesson}"
    # Its own JupyterLab: the lesson opens, no news question, none of nbgrader's instructor menus.
    with start_lab(copy / "lessons", tmp_path / "runtime", python=python, settings=copy / "jupyter") as base, \
            chromium_page() as page:
        page.goto(f"{base}/lab/tree/{LESSON}/{LESSON}.ipynb?token={TOKEN}")
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
        assert "Lesson 02" in page.locator(".jp-Notebook .jp-MarkdownOutput h1").first.inner_text()
        assert not asks_about_news(page, seconds=5)
        assert page.locator("li.lm-MenuBar-item:has-text('Nbgrader')").count() == 0

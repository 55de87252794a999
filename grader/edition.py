"""Edition: the folder a course publishes to its students, as its own repository or a zip.

It holds what a student needs and nothing that grades them:

- ``lessons/`` exactly as released (notebooks and spreadsheets);
- the ``dlcourse`` package the lessons import, with the students' validator;
- ``data/manifest.toml``, the JupyterLab settings in ``jupyter/``, the licence;
- a ``pyproject.toml`` and an ``environment.yml`` listing the students' share of the course's
  dependencies (:data:`STUDENT_PACKAGES`), each written exactly as in the course's own files;
- the ``Makefile``, ``.gitignore`` and README template of ``grader/edition_files/``: the
  README's ``<!-- title -->`` line becomes the course README's title, and every
  ``<!-- shared: NAME -->`` line the course README's section between
  ``<!-- BEGIN shared: NAME -->`` and ``<!-- END shared: NAME -->``.

It is built in a folder beside ``out`` and moved into place when complete; a build in which
any file carries one of nbgrader's solution or hidden-test markers is refused. With ``git``,
it is also a git repository with one commit whose author, date and message are fixed, so the
same sources give the same commit.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from grader.course import LESSONS, ROOT, CourseError, lesson_ids

FILES = Path(__file__).resolve().parent / "edition_files"
# What students install: the lessons' imports, the validator's (nbclient), JupyterLab and its kernel.
STUDENT_PACKAGES = ("numpy", "torch", "pandas", "matplotlib", "openpyxl", "tqdm", "ipykernel", "jupyterlab",
                    "nbformat", "nbclient")
CONDA_NAMES = {"torch": "pytorch"}  # PyPI name -> conda-forge name, where they differ
COPIED = ("LICENSE", "data/manifest.toml", "jupyter/labconfig/default_setting_overrides.json")
# nbgrader's delimiters of reference answers and hidden tests: neither the edition nor the site carries one.
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
# Folders of the course an edition must not be written into (it would copy itself, or mix with them).
SOURCE_FOLDERS = ("lessons", "solutions", "dlcourse", "grader", "tests", "data", "jupyter", "workbooks")
AUTHOR = ("Student edition", "edition@dlcourse.invalid")
NO_GIT_DATE = 315532800     # 1980-01-01, where zip archives start: outside a git checkout
SHARED = re.compile(r"^<!-- BEGIN shared: ([\w-]+) -->\n(.*?)\n<!-- END shared: \1 -->$", re.S | re.M)
PLACEHOLDER = re.compile(r"^<!-- shared: ([\w-]+) -->$", re.M)


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _title() -> str:
    first = (ROOT / "README.md").read_text().splitlines()[0]
    if not first.startswith("# "):
        raise CourseError("README.md must start with the course's title (a line '# Title')")
    return first.removeprefix("# ")


def student_requirements() -> list[str]:
    """The students' dependencies, each exactly as ``pyproject.toml`` pins it.

    Raises:
        CourseError: a package of :data:`STUDENT_PACKAGES` is not a dependency of the course.
    """
    pinned = {canonicalize_name(Requirement(r).name): r for r in _project()["project"]["dependencies"]}
    missing = [name for name in STUDENT_PACKAGES if canonicalize_name(name) not in pinned]
    if missing:
        raise CourseError(f"pyproject.toml does not list {', '.join(missing)}, which the edition needs")
    return [pinned[canonicalize_name(name)] for name in STUDENT_PACKAGES]


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def pyproject_text() -> str:
    """The edition's ``pyproject.toml``: the course's project, with the students' dependencies
    and the ``dlcourse`` package only."""
    course = _project()
    project, build = course["project"], course["build-system"]
    license_text = project["license"]["text"]
    lines = [
        "[build-system]",
        f"requires = [{', '.join(map(_toml_string, build['requires']))}]",
        f"build-backend = {_toml_string(build['build-backend'])}",
        "",
        "[project]",
        f"name = {_toml_string(project['name'])}",
        f"version = {_toml_string(project['version'])}",
        f"description = {_toml_string(_title() + ': the student edition (lessons, spreadsheets, self-check)')}",
        'readme = "README.md"',
        f"requires-python = {_toml_string(project['requires-python'])}",
        f"license = {{ text = {_toml_string(license_text)} }}",
        "# The course's own pins (its instructors' pyproject.toml), for what students need.",
        "dependencies = [",
        *[f"    {_toml_string(r)}," for r in student_requirements()],
        "]",
        "",
        "[tool.setuptools]",
        'packages = ["dlcourse"]',
    ]
    return "\n".join(lines) + "\n"


def environment_text() -> str:
    """The edition's ``environment.yml``: the course's, keeping the students' packages."""
    course = yaml.safe_load((ROOT / "environment.yml").read_text())
    wanted = {canonicalize_name(CONDA_NAMES.get(name, name)) for name in STUDENT_PACKAGES}
    entries = [d for d in course["dependencies"] if isinstance(d, str)]
    python = [d for d in entries if d.startswith("python=")]
    packages = [d for d in entries if canonicalize_name(re.match(r"[A-Za-z0-9_.\-]+", d).group()) in wanted]
    lines = ["# Conda environment of the course (conda-forge):",
             "#   conda env create -f environment.yml && conda activate dlcourse",
             f"name: {course['name']}", "channels:", *[f"  - {c}" for c in course["channels"]],
             "dependencies:", *[f"  - {d}" for d in python], "  - pip", *[f"  - {d}" for d in packages],
             "  - pip:", "      - -e ."]
    return "\n".join(lines) + "\n"


def shared_sections(readme: str) -> dict[str, str]:
    """``{name: text}`` of the sections of a README between ``BEGIN shared`` / ``END shared`` markers."""
    return {name: text for name, text in SHARED.findall(readme)}


def readme_text() -> str:
    """The students' README: the template with the course README's title and shared sections.

    Raises:
        CourseError: the template names a section the course README does not mark.
    """
    sections = shared_sections((ROOT / "README.md").read_text())
    template = (FILES / "README.md").read_text()
    unknown = sorted(set(PLACEHOLDER.findall(template)) - set(sections))
    if unknown:
        raise CourseError(f"README.md has no section marked '<!-- BEGIN shared: {unknown[0]} -->', "
                          "which the edition's README template uses")
    text = PLACEHOLDER.sub(lambda m: sections[m.group(1)], template)
    return text.replace("<!-- title -->", f"# {_title()}", 1)


def _copy(source: Path, target: Path) -> None:
    """Copy a file's bytes (not its mode: the edition's files are plain, whatever the checkout's)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def _visible(path: Path, root: Path) -> bool:
    """Not hidden (checkpoints, lock files, dot files) and not a byte-code cache."""
    return not any(part.startswith(".") or part == "__pycache__" for part in path.relative_to(root).parts)


def _write(folder: Path) -> None:
    for lesson in lesson_ids():
        if not (LESSONS / lesson / f"{lesson}.ipynb").is_file():
            raise CourseError(f"lessons/{lesson} has no released notebook: run `make lessons`")
        for path in sorted((LESSONS / lesson).rglob("*")):
            if path.is_file() and _visible(path, LESSONS):
                _copy(path, folder / "lessons" / path.relative_to(LESSONS))
    for path in sorted((ROOT / "dlcourse").rglob("*.py")):
        if _visible(path, ROOT):
            _copy(path, folder / path.relative_to(ROOT))
    for name in COPIED:
        _copy(ROOT / name, folder / name)
    _copy(FILES / "Makefile", folder / "Makefile")
    _copy(FILES / "gitignore", folder / ".gitignore")
    (folder / "README.md").write_text(readme_text())
    (folder / "pyproject.toml").write_text(pyproject_text())
    (folder / "environment.yml").write_text(environment_text())


def _refuse_secrets(folder: Path) -> None:
    """Raise CourseError if any file carries nbgrader's solution or hidden-test markers."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            content = path.read_bytes()
            found = [m for m in MARKERS if m.encode() in content]
            if found:
                raise CourseError(f"{path.relative_to(folder)} contains {found[0]!r}: a reference answer or "
                                  "a hidden test would reach the students (is lessons/ released? run `make lessons`)")


def _commit_date() -> int:
    """SOURCE_DATE_EPOCH if set; else when the edition's sources last changed in git."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    sources = ["lessons", "dlcourse", "README.md", "pyproject.toml", "environment.yml", "grader/edition.py",
               "grader/edition_files", *COPIED]
    log = subprocess.run(["git", "log", "-1", "--format=%ct", "--", *sources], cwd=ROOT,
                         capture_output=True, text=True)
    return int(log.stdout.strip()) if log.returncode == 0 and log.stdout.strip() else NO_GIT_DATE


def _commit(folder: Path) -> None:
    """Make ``folder`` a git repository with one commit of everything in it."""
    when = f"{_commit_date()} +0000"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1",  # no user settings (autocrlf, hooks)
               GIT_AUTHOR_NAME=AUTHOR[0], GIT_AUTHOR_EMAIL=AUTHOR[1], GIT_AUTHOR_DATE=when,
               GIT_COMMITTER_NAME=AUTHOR[0], GIT_COMMITTER_EMAIL=AUTHOR[1], GIT_COMMITTER_DATE=when)
    for command in (["init", "-q", "-b", "main"], ["add", "-A"],
                    ["commit", "-q", "-m", f"{_title()}: the student edition"]):
        done = subprocess.run(["git", *command], cwd=folder, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise CourseError(f"git {command[0]} failed in the edition: {done.stderr.strip()}")


def _is_edition(folder: Path) -> bool:
    return (folder / "dlcourse" / "validate.py").is_file() and (folder / "lessons").is_dir() \
        and not (folder / "solutions").exists() and not (folder / "grader").exists()


def edition(out: Path, *, git: bool = False) -> Path:
    """Write the student edition into ``out`` (see the module docstring).

    Args:
        out: the folder to write; it must not exist, be empty, or hold an edition built
            before (which is replaced).
        git: also make it a git repository with one commit (fixed author, date, message).

    Returns:
        ``out``, absolute.

    Raises:
        CourseError: ``out`` holds something else or lies inside the course's sources, a
            lesson is not released, or a file would carry a solution or hidden-test marker.
    """
    out = Path(out).resolve()
    if any(out.is_relative_to(ROOT / name) for name in SOURCE_FOLDERS) or out == ROOT:
        raise CourseError(f"{out} is inside the course's own files: choose a folder outside them, e.g. edition/")
    if out.exists() and not (out.is_dir() and (not any(out.iterdir()) or _is_edition(out))):
        raise CourseError(f"{out} exists and is not a student edition: choose a new or empty folder "
                          "(an edition built before is replaced)")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)
        _write(staging)
        _refuse_secrets(staging)
        if git:
            _commit(staging)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return out

"""The student edition in tests: built, copied away from the repository, and scanned for secrets."""
from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import nbformat

from grader.course import ROOT, lesson_ids, nbgrader_config
from grader.edition import edition
from tests.support import notebooks as nbs

# nbgrader's delimiters of reference answers and hidden tests in a solution cell
REGIONS = {"### BEGIN SOLUTION": "### END SOLUTION", "### BEGIN HIDDEN TESTS": "### END HIDDEN TESTS"}
MIN_LENGTH = 8   # shorter lines ("x = 0", "return") say nothing on their own


def standalone_edition(tmp: Path) -> Path:
    """Build the edition and copy it to a folder of its own, with no repository around it."""
    built = edition(tmp / "build" / "edition")
    copy = tmp / "elsewhere" / "dlcourse-student"
    shutil.copytree(built, copy)
    shutil.rmtree(built)
    outside = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=copy, capture_output=True, text=True)
    assert outside.returncode != 0, f"the copy lies inside the repository {outside.stdout.strip()}"
    return copy


def _split(cell) -> tuple[list[str], list[str]]:
    """(secret lines, public lines) of a cell of a solution notebook, stripped."""
    lines = [line.strip() for line in cell.source.splitlines()]
    if nbs.nbgrader_meta(cell).get("solution") and not any(l in REGIONS for l in lines):
        return lines, []            # a solution cell without delimiters is replaced whole
    secret, public, end = [], [], None
    for line in lines:
        if end is None and line in REGIONS:
            end = REGIONS[line]
        elif end is not None and line == end:
            end = None
        else:
            (secret if end else public).append(line)
    return secret, public


def _kept_answers() -> dict[str, str]:
    """``{where: source}`` of every answer the tests keep: wrong, honest (correct, written
    differently), forbidden (calling what the exercise re-implements), and the attacks' wrong ones."""
    from tests.grader.attacks import WRONG

    sources = {f"tests/grader/attacks.py {name}": source for name, source in WRONG.items()}
    for lesson in lesson_ids():
        for kind, answers in (("wrong", nbs.wrong_answers(lesson)), ("honest", nbs.honest_answers(lesson)),
                              ("forbidden", nbs.forbidden_answers(lesson))):
            for answer, labels in answers.items():
                sources.update({f"wrong_{lesson}.py {kind} {answer} ({label})": s for label, s in labels.items()})
    return sources


def secret_lines() -> dict[str, str]:
    """``{line: where it comes from}`` for every line a student must not receive.

    Every line of the reference answers (code between nbgrader's solution delimiters, answers
    written in prose), of the hidden tests, and of the answers kept in ``tests/``: all
    but lines of fewer than :data:`MIN_LENGTH` characters and lines that the students get
    anyway (in the lessons outside those regions, in nbgrader's stubs, in ``dlcourse``).
    """
    config = nbgrader_config().ClearSolutions
    public = {line.strip() for stub in (config.code_stub["python"], config.text_stub) for line in stub.splitlines()}
    # The course's own package goes to students whole: a line of it ("continue") says nothing.
    public.update(line.strip() for path in (ROOT / "dlcourse").glob("*.py") for line in path.read_text().splitlines())
    secret: dict[str, str] = {}
    for lesson in lesson_ids():
        for cell in nbs.read(nbs.solution_path(lesson)).cells:
            hidden, shown = _split(cell)
            public.update(shown)
            secret.update({line: f"solutions/{lesson} {nbs.nbgrader_meta(cell).get('grade_id', 'cell')}"
                           for line in hidden})
    for where, source in _kept_answers().items():
        secret.update({line.strip(): where for line in source.splitlines() if line.strip() not in secret})
    return {line: where for line, where in secret.items() if len(line) >= MIN_LENGTH and line not in public}


def _strings(value) -> list[str]:
    """Every string in a JSON value (keys included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in [k, *_strings(v)]]
    if isinstance(value, list):
        return [t for v in value for t in _strings(v)]
    return []


def _output_texts(output) -> list[str]:
    texts = [output.get("text", "")] + list(output.get("traceback", []))
    for value in output.get("data", {}).values():
        texts.append(value if isinstance(value, str) else json.dumps(value))
    return texts


def _texts(path: Path) -> list[str]:
    """What a file says, as text: a notebook's cell sources, outputs and every string of its
    metadata and the cells', every member of a spreadsheet (a zip of XML), any other file
    decoded as UTF-8."""
    raw = path.read_bytes()
    if path.suffix == ".ipynb":
        nb = nbformat.reads(raw.decode(), as_version=4)
        return _strings(nb.metadata) + [text for cell in nb.cells for text in [
            cell.source, *_strings(cell.metadata), *[t for o in cell.get("outputs", []) for t in _output_texts(o)]]]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return [archive.read(name).decode("utf-8", errors="replace") for name in archive.namelist()]
    return [raw.decode("utf-8", errors="replace")]


def leaks(folder: Path, secrets: dict[str, str]) -> list[str]:
    """Every line of any file under ``folder`` that is one of ``secrets``, said with its origin."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".git" not in p.relative_to(folder).parts):
        for text in _texts(path):
            for line in text.splitlines():
                if line.strip() in secrets:
                    found.append(f"{path.relative_to(folder)}: {line.strip()!r} (from {secrets[line.strip()]})")
    return sorted(set(found))

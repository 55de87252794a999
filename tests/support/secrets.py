"""Scan what students or the public receive (a folder of pages, notebooks, spreadsheets) for
lines of the reference answers and hidden tests.

One scanner for everything published from ``solutions/``: the course website (``tests/test_site.py``)
and the student edition (which adds the answers kept in ``tests/`` through ``extra``). It reads
the solution notebooks itself, independently of how the release, the site or the edition leave
secrets out.
"""
from __future__ import annotations

import json
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import nbformat

from grader.course import lesson_ids, nbgrader_config
from tests.support import notebooks as nbs

# nbgrader's delimiters of reference answers and hidden tests in a solution cell
REGIONS = {"### BEGIN SOLUTION": "### END SOLUTION", "### BEGIN HIDDEN TESTS": "### END HIDDEN TESTS"}
MIN_LENGTH = 8   # shorter lines ("x = 0", "return") say nothing on their own
# Lines at least this long are also looked for inside longer lines of a page's text (a browser
# may show a secret line joined to its neighbours).
MIN_SUBSTRING = 30
MAX_SEARCHED = 2000   # ... in lines up to this long (not in the one-line base64 of an embedded image)


def _split(cell) -> tuple[list[str], list[str]]:
    """(secret lines, public lines) of a cell of a solution notebook, stripped."""
    lines = [line.strip() for line in cell.source.splitlines()]
    if nbs.nbgrader_meta(cell).get("solution") and not any(line in REGIONS for line in lines):
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


def secret_lines(lessons: list[str] | None = None, extra: dict[str, str] | None = None,
                 shipped: tuple[Path, ...] = ()) -> dict[str, str]:
    """``{line: where it comes from}`` for every line of the reference answers (code between
    nbgrader's solution delimiters, answers written in prose) and of the hidden tests of
    ``lessons`` (default: all), and of the sources in ``extra`` (``{where: source}``, such as the
    answers kept in ``tests/``), but lines of fewer than :data:`MIN_LENGTH` characters and lines
    the lessons show anyway, whole or inside a longer line (outside those regions, in nbgrader's
    stubs: a docstring's hint may quote a line of the answer, in the ``shipped`` files: the
    edition gives students the ``dlcourse`` package whole, and a line of it says nothing)."""
    config = nbgrader_config().ClearSolutions
    public = {line.strip() for stub in (config.code_stub["python"], config.text_stub) for line in stub.splitlines()}
    public.update(line.strip() for path in shipped for line in path.read_text().splitlines())
    secret: dict[str, str] = {}
    for lesson in lessons or lesson_ids():
        for cell in nbs.read(nbs.solution_path(lesson)).cells:
            hidden, shown = _split(cell)
            public.update(shown)
            secret.update({line: f"solutions/{lesson} {nbs.nbgrader_meta(cell).get('grade_id', 'cell')}"
                           for line in hidden})
    for where, source in (extra or {}).items():
        secret.update({line.strip(): where for line in source.splitlines() if line.strip() not in secret})
    shown = "\n".join(public)
    return {line: where for line, where in secret.items() if len(line) >= MIN_LENGTH and line not in shown}


class _PageText(HTMLParser):
    """The text a browser shows of a page, a line break at every block, without style or script;
    then every attribute's value, a line each (kept apart, so that a highlighted line of code
    still reads as one line)."""

    BLOCKS = {"p", "div", "pre", "li", "tr", "td", "th", "br", "h1", "h2", "h3", "h4", "h5", "h6",
              "table", "ul", "ol", "blockquote", "section", "header", "footer", "main", "aside", "nav"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.attributes: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._skip += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")
        self.attributes.extend(value for _, value in attrs if value)

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip = max(0, self._skip - 1)
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def page_text(html: str) -> str:
    """What a browser shows of ``html`` (text only), with a line break at every block, followed
    by the values of its elements' attributes (titles, links, data), one per line."""
    parser = _PageText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts) + "\n" + "\n".join(parser.attributes)


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


def texts(path: Path) -> list[str]:
    """What a file says, as text: a notebook's cell sources and outputs and every string of its
    metadata and the cells', every member of a
    spreadsheet (a zip of XML), an HTML page's raw source and its text as shown, any other file
    decoded as UTF-8."""
    raw = path.read_bytes()
    if path.suffix == ".ipynb":
        nb = nbformat.reads(raw.decode(), as_version=4)
        return _strings(nb.metadata) + [text for cell in nb.cells for text in [
            cell.source, *_strings(cell.metadata), *[t for o in cell.get("outputs", []) for t in _output_texts(o)]]]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return [archive.read(name).decode("utf-8", errors="replace") for name in archive.namelist()]
    text = raw.decode("utf-8", errors="replace")
    return [text, page_text(text)] if path.suffix in (".html", ".htm") else [text]


def leaks(folder: Path, secrets: dict[str, str], skip: tuple[str, ...] = (".git",)) -> list[str]:
    """Every line of any file under ``folder`` (but those under a folder named in ``skip``) that is
    one of ``secrets``, or that holds one of at least :data:`MIN_SUBSTRING` characters, said with
    its origin."""
    long_secrets = [line for line in secrets if len(line) >= MIN_SUBSTRING]
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if any(part in skip for part in path.relative_to(folder).parts):
            continue
        for text in texts(path):
            for line in {line.strip() for line in text.splitlines()}:
                if line in secrets:
                    found.append(f"{path.relative_to(folder)}: {line!r} (from {secrets[line]})")
                elif MIN_SUBSTRING < len(line) <= MAX_SEARCHED:
                    found.extend(f"{path.relative_to(folder)}: {s!r} inside {line[:80]!r} (from {secrets[s]})"
                                 for s in long_secrets if s in line)
    return sorted(set(found))

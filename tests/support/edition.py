"""The student edition in tests: built, copied away from the repository, and scanned for secrets."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from grader.course import ROOT, lesson_ids
from grader.edition import edition
from tests.support import notebooks as nbs
from tests.support import secrets


def standalone_edition(tmp: Path) -> Path:
    """Build the edition and copy it to a folder of its own, with no repository around it."""
    built = edition(tmp / "build" / "edition")
    copy = tmp / "elsewhere" / "dlcourse-student"
    shutil.copytree(built, copy)
    shutil.rmtree(built)
    outside = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=copy, capture_output=True, text=True)
    assert outside.returncode != 0, f"the copy lies inside the repository {outside.stdout.strip()}"
    return copy


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
    """``{line: where it comes from}`` for every line a student must not receive: the reference
    answers and hidden tests (:func:`tests.support.secrets.secret_lines`) and the answers kept in
    ``tests/``, but lines of the ``dlcourse`` package the edition ships whole."""
    return secrets.secret_lines(extra=_kept_answers(), shipped=tuple(sorted((ROOT / "dlcourse").glob("*.py"))))

"""environment.yml (conda users) and pyproject.toml (pip, CI) ask for the same packages."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from grader.edition import CONDA_NAMES

ROOT = Path(__file__).resolve().parent.parent


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    return {canonicalize_name(CONDA_NAMES.get(r.name, r.name)): str(r.specifier) for r in reqs}


def conda_requirements(env: dict) -> dict[str, str]:
    specs = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and dep not in ("pip",) and not dep.startswith("python="):
            name, spec = re.match(r"^([A-Za-z0-9_.\-]+)(.*)$", dep).groups()
            specs[canonicalize_name(name)] = str(Requirement(f"x{spec}").specifier)
    return specs


def test_environment_yml_has_the_expected_structure():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["name"] == "dlcourse"
    assert env["channels"] == ["conda-forge"]
    assert "python=3.11" in env["dependencies"] and "pip" in env["dependencies"]
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert pip_sections == [["-e ."]], "the project itself is installed with pip, editable"


def test_environment_yml_agrees_with_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert conda_requirements(env) == pyproject_requirements()


def test_python_and_pinned_versions():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # 3.11 (tomllib, nbgrader 0.9.6) to 3.14: torch 2.13.0 and every compiled dependency have
    # wheels for these; CI tests 3.11.
    assert project["requires-python"] == ">=3.11,<3.15"
    reqs = pyproject_requirements()
    assert reqs["pytorch"] == "==2.13.0", "a newer or unpinned torch pulls a multi-GB CUDA build"
    assert reqs["sqlalchemy"] == "<2.1,>=2.0", "SQLAlchemy 2.1 makes nbgrader print SAWarnings"
    assert reqs["nbgrader"] == "==0.9.6"

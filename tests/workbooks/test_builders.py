"""Every workbook builder is deterministic and its committed output is up to date.

Building runs LibreOffice (it computes the cached values), so these tests are slow."""
from __future__ import annotations

import pytest

from workbooks.__main__ import SOLUTIONS, builders

BUILDERS = builders()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_committed_workbook_is_what_the_builder_writes(name, tmp_path):
    module = BUILDERS[name]
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    module.build(first)
    module.build(second)
    assert first.read_bytes() == second.read_bytes(), "building twice gives the same bytes, cached values too"
    committed = SOLUTIONS / module.OUTPUT
    assert committed.exists(), f"run `make workbooks` to write {committed}"
    assert committed.read_bytes() == first.read_bytes(), f"{committed} is stale: run `make workbooks` then `make lessons`"


def test_every_builder_writes_into_a_lesson_folder():
    assert BUILDERS, "at least one workbook builder"
    for name, module in BUILDERS.items():
        lesson = module.OUTPUT.split("/")[0]
        assert (SOLUTIONS / lesson).is_dir(), f"{name} writes into solutions/{lesson}, which must exist"

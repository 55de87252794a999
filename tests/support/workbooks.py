"""Reading the course's workbooks in tests: formulas as written, the values they carry, and values
as LibreOffice computes them."""
from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from workbooks.recalc import recalculated_values


def formula_cells(path: Path) -> dict[str, dict[str, str]]:
    """``{sheet: {cell: formula}}`` of every cell holding a formula."""
    wb = load_workbook(path)
    return {ws.title: {c.coordinate: c.value for row in ws.iter_rows() for c in row
                       if isinstance(c.value, str) and c.value.startswith("=")} for ws in wb.worksheets}


# Readers that show a workbook's cached values without computing anything.
READERS = ("openpyxl", "pandas")


def cached_values(path: Path, reader: str = "openpyxl") -> dict[str, dict[str, object]]:
    """``{sheet: {cell: value}}`` of every non-empty cell as ``reader`` shows the file: what the
    file carries, since neither reader computes a formula."""
    if reader == "openpyxl":
        wb = load_workbook(path, data_only=True)
        return {ws.title: {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}
                for ws in wb.worksheets}
    import pandas as pd

    frames = pd.read_excel(path, sheet_name=None, header=None)
    return {sheet: {f"{get_column_letter(j + 1)}{i + 1}": getattr(v, "item", lambda: v)()
                    for i, row in enumerate(frame.itertuples(index=False)) for j, v in enumerate(row) if not pd.isna(v)}
            for sheet, frame in frames.items()}


def recalculated(path: Path) -> dict[str, dict[str, object]]:
    """``{sheet: {cell: value}}`` after LibreOffice recalculated every formula of ``path``."""
    return recalculated_values(path)


def assert_cells_match(values: dict, expected: dict, rel: float = 1e-9) -> None:
    """Every expected cell holds what Python computed: a number within ``rel``, a string, or blank ("")."""
    import pytest

    for sheet, cells in expected.items():
        for ref, want in cells.items():
            got = values[sheet].get(ref)
            if want == "":
                assert got in (None, ""), f"{sheet}!{ref} should be blank, got {got!r}"
            elif isinstance(want, str):
                assert got == want, f"{sheet}!{ref}: {got!r} vs {want!r}"
            else:
                assert isinstance(got, (int, float)), f"{sheet}!{ref} holds {got!r}, expected a number"
                assert got == pytest.approx(float(want), rel=rel, abs=1e-12), f"{sheet}!{ref}: {got} vs {want}"


def assert_every_formula_matches(path: Path, values: dict, expected: dict) -> None:
    """The checked cells are exactly the workbook's formula cells, and each matches Python."""
    formulas = formula_cells(path)
    assert {s: set(c) for s, c in formulas.items()} == {s: set(c) for s, c in expected.items()}, \
        "every formula cell is checked, and every checked cell is a live formula"
    assert_cells_match(values, expected)

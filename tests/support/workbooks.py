"""Reading the course's workbooks in tests: formulas as written, values as LibreOffice computes them."""
from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from workbooks.recalc import recalculated_values


def formula_cells(path: Path) -> dict[str, dict[str, str]]:
    """``{sheet: {cell: formula}}`` of every cell holding a formula."""
    wb = load_workbook(path)
    return {ws.title: {c.coordinate: c.value for row in ws.iter_rows() for c in row
                       if isinstance(c.value, str) and c.value.startswith("=")} for ws in wb.worksheets}


def recalculated(path: Path) -> dict[str, dict[str, object]]:
    """``{sheet: {cell: value}}`` after LibreOffice recalculated every formula of ``path``."""
    return recalculated_values(path)

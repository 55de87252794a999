"""Shared look of the course's workbooks, and a save that caches every formula's value and gives the same bytes every time."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.worksheet import Worksheet

from workbooks.cached import read_members, with_cached_values

INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")      # pale yellow: "type here"
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
INPUT_BORDER = Border(*(Side(style="thin", color="BF9000"),) * 4)
FIXED_TIME = (2024, 1, 1, 0, 0, 0)
NUMBER = "0.000000"


def title(ws: Worksheet, heading: str, *notes: str) -> None:
    """Write a bold heading in A1 and one explanatory line per note below it."""
    ws["A1"] = heading
    ws["A1"].font = Font(bold=True, size=14)
    for row, note in enumerate(notes, start=2):
        ws.cell(row=row, column=1, value=note).alignment = Alignment(wrap_text=False)


def header(ws: Worksheet, row: int, labels: list[str], first_column: int = 1) -> None:
    """Write column headings in ``row``, bold on a blue band."""
    for offset, label in enumerate(labels):
        cell = ws.cell(row=row, column=first_column + offset, value=label)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", wrap_text=True)


def cells(ws: Worksheet, ref: str) -> list:
    """Every cell of a reference such as ``"B12"`` or ``"B5:D9"``, row by row."""
    if ":" not in ref:
        return [ws[ref]]
    return [cell for row in ws[ref] for cell in row]


def mark_input(ws: Worksheet, ref: str) -> None:
    """Mark a cell or a range as an input a learner may change (yellow with a border)."""
    for cell in cells(ws, ref):
        cell.fill = INPUT_FILL
        cell.border = INPUT_BORDER


def number_format(ws: Worksheet, ref: str, fmt: str = NUMBER) -> None:
    """Apply a number format to a cell or every cell of a range."""
    for cell in cells(ws, ref):
        cell.number_format = fmt


def save(wb: Workbook, path: Path) -> None:
    """Save ``wb`` with every formula's value cached, so that building it twice gives identical bytes.

    The values come from LibreOffice (:mod:`workbooks.cached`), so readers that do not compute
    (file previews, ``load_workbook(data_only=True)``, pandas) show the numbers; Excel's
    ``fullCalcOnLoad`` flag makes Excel recompute them on open all the same. openpyxl stamps the
    current time into ``docProps/core.xml`` and into every zip entry: both are replaced by a
    fixed time, and the members keep openpyxl's order, so the committed file only changes when
    its content does.

    Raises:
        RuntimeError: LibreOffice is not installed (the message names the package) or failed.
    """
    wb.properties.creator = "dlcourse"
    wb.calculation.fullCalcOnLoad = True
    buffer = io.BytesIO()
    wb.save(buffer)
    members = read_members(buffer.getvalue())
    members["docProps/core.xml"] = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>2024-01-01T00:00:00Z",
                                          members["docProps/core.xml"])
    members = with_cached_values(members)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in members.items():
            dst.writestr(zipfile.ZipInfo(name, date_time=FIXED_TIME), data, compress_type=zipfile.ZIP_DEFLATED)

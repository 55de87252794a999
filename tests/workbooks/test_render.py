"""Every spreadsheet opens in LibreOffice and renders its first sheet, charts included, to PDF and PNG."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from openpyxl import load_workbook
from PIL import Image

from workbooks.__main__ import SOLUTIONS, builders
from workbooks.recalc import convert

WORKBOOKS = sorted(builders())


@pytest.mark.slow
@pytest.mark.parametrize("name", WORKBOOKS)
def test_first_sheet_renders_to_pdf_and_png(name, tmp_path):
    if not shutil.which("pdftoppm"):
        pytest.fail("rendering PDF pages needs pdftoppm: install poppler-utils (sudo apt install poppler-utils)")
    source = SOLUTIONS / builders()[name].OUTPUT
    pdf = convert(source, tmp_path, "pdf")
    assert pdf.stat().st_size > 5_000
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    page = next(tmp_path.glob("page*.png"))
    pixels = Image.open(page).convert("RGB")
    colours = pixels.getcolors(maxcolors=1 << 20) or []
    inked = sum(count for count, rgb in colours if rgb != (255, 255, 255))
    assert inked > 0.01 * pixels.width * pixels.height, "the page is not blank"
    assert any(abs(r - g) > 60 or abs(g - b) > 60 for _, (r, g, b) in colours), "colour: input cells, charts"


@pytest.mark.parametrize("name", WORKBOOKS)
def test_workbook_has_a_chart_and_no_macros(name):
    path = SOLUTIONS / builders()[name].OUTPUT
    assert path.suffix == ".xlsx", "no macros (.xlsm)"
    wb = load_workbook(path)
    assert any(ws._charts for ws in wb.worksheets), "at least one chart"

"""The shipped workbooks carry every formula's value, and nothing else differs from openpyxl's output.

Previews (Quick Look, web drives, code hosts) and readers that do not compute (openpyxl's
``data_only``, pandas) show a formula cell's cached value; the per-workbook tests compare those
values with the lessons' Python. Here: every formula cell has one, Excel still recomputes on
open, the formulas, styles, charts and defined names are byte for byte what openpyxl wrote,
and ``make workbooks`` says what to install when LibreOffice is missing.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from grader.course import ROOT
from workbooks import sheet
from workbooks.__main__ import SOLUTIONS, builders
from workbooks.cached import fill_cached_values, read_members

BUILDERS = builders()
NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _worksheets(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {n: archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/sheet")}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_formula_cell_carries_a_value(name):
    path = SOLUTIONS / BUILDERS[name].OUTPUT
    formulas = 0
    for part, xml in _worksheets(path).items():
        for cell in ET.fromstring(xml).iter(f"{NS}c"):
            if cell.find(f"{NS}f") is None:
                continue
            formulas += 1
            value, kind = cell.find(f"{NS}v"), cell.get("t", "n")
            where = f"{path.name} {part} {cell.get('r')}"
            assert value is not None, f"{where}: no cached value"
            assert kind in ("n", "str", "b"), f"{where}: a formula evaluating to {kind!r} ({value.text!r})"
            if kind == "n":
                float(value.text)           # a number, not empty
            elif kind == "b":
                assert value.text in ("0", "1"), where
    assert formulas > 10, f"{path.name} has live formulas"
    shown = load_workbook(path, data_only=True)
    computed = load_workbook(path)
    for ws in computed.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cached = shown[ws.title][cell.coordinate].value
                    assert cached is not None or _is_blank_string(path, ws.title, cell.coordinate), \
                        f"{ws.title}!{cell.coordinate} shows nothing in openpyxl's data_only mode"


def _is_blank_string(path, sheet_name: str, ref: str) -> bool:
    """A formula whose value is the empty string (``IF(..., "")``), cached as ``t="str"`` and ``<v></v>``."""
    index = load_workbook(path).sheetnames.index(sheet_name) + 1
    xml = _worksheets(path)[f"xl/worksheets/sheet{index}.xml"].decode()
    return re.search(rf'<c r="{ref}"[^>]* t="str"><f>[^<]*</f><v></v></c>', xml) is not None


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_excel_recomputes_on_open(name):
    path = SOLUTIONS / BUILDERS[name].OUTPUT
    assert load_workbook(path).calculation.fullCalcOnLoad is True
    with zipfile.ZipFile(path) as archive:
        assert re.search(rb'<calcPr [^>]*fullCalcOnLoad="1"', archive.read("xl/workbook.xml"))


def _without_values(xml: bytes) -> bytes:
    """A worksheet with every formula cell's cached value (and the type it implies) taken out."""
    return re.sub(rb'<c r="([A-Z]+[0-9]+)"([^>]*?)(?: t="(?:str|b)")?>(<f>[^<]*</f>)<v>[^<]*</v></c>',
                  rb'<c r="\1"\2>\3<v /></c>', xml)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_only_the_cached_values_differ_from_what_openpyxl_wrote(name, tmp_path, monkeypatch):
    """Formulas, styles, number formats, charts, defined names and member order are openpyxl's, byte for byte."""
    shipped = read_members((SOLUTIONS / BUILDERS[name].OUTPUT).read_bytes())
    monkeypatch.setattr(sheet, "with_cached_values", lambda members: members)
    BUILDERS[name].build(tmp_path / "plain.xlsx")
    plain = read_members((tmp_path / "plain.xlsx").read_bytes())
    assert list(shipped) == list(plain), "the same members in the same order"
    assert any(n.startswith("xl/charts/") for n in plain) and "xl/styles.xml" in plain
    for member, data in plain.items():
        if member.startswith("xl/worksheets/sheet"):
            assert data != shipped[member], f"{member}: values were cached"
            assert _without_values(shipped[member]) == data, f"{member}: more than the cached values changed"
        else:
            assert shipped[member] == data, f"{member} differs from what openpyxl wrote"


def test_a_formula_without_a_usable_value_stops_the_build():
    wb = Workbook()
    wb.active["A1"], wb.active["A2"] = 2, "=1/(A1-2)"
    buffer = io.BytesIO()
    wb.save(buffer)
    members = read_members(buffer.getvalue())
    with pytest.raises(ValueError, match=r"Sheet!A2: LibreOffice computed '#DIV/0!'"):
        fill_cached_values(members, {"Sheet": {"A2": ("e", "#DIV/0!")}})
    with pytest.raises(ValueError, match=r"Sheet!A2: LibreOffice computed no value"):
        fill_cached_values(members, {"Sheet": {}})
    filled = fill_cached_values(members, {"Sheet": {"A2": ("str", "a < b")}})
    assert b'<c r="A2" t="str"><f>1/(A1-2)</f><v>a &lt; b</v></c>' in filled["xl/worksheets/sheet1.xml"]


def _digests() -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(SOLUTIONS.glob("*/*.xlsx"))}


def test_make_workbooks_without_libreoffice_says_what_to_install(tmp_path):
    before = _digests()
    env = {**os.environ, "PATH": str(tmp_path)}          # no soffice, no libreoffice on PATH
    result = subprocess.run([sys.executable, "-m", "workbooks"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert "libreoffice-calc-nogui" in result.stderr and "install" in result.stderr
    assert "wrote" not in result.stdout
    assert _digests() == before, "no workbook was touched"

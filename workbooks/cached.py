"""Cached values for the formula cells of an openpyxl-written workbook, computed by LibreOffice.

openpyxl writes every formula cell as ``<c r="C5" s="5"><f>EXP(B5)</f><v /></c>``: a formula
and an empty value, so anything that shows a workbook without recalculating it (file previews,
``load_workbook(data_only=True)``, pandas) shows empty cells. LibreOffice recalculates a copy;
its value of each formula cell is then written into the ``<v>`` of that same cell of openpyxl's
XML. Nothing else of openpyxl's output changes (formulas, styles, number formats, charts,
defined names, member order), and Excel still recomputes on open (``fullCalcOnLoad``).
"""
from __future__ import annotations

import io
import re
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from workbooks.recalc import convert

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
# A formula cell as openpyxl writes it: no type attribute, a formula, an empty value.
OPENPYXL_FORMULA_CELL = re.compile(rb'<c r="(?P<ref>[A-Z]+[0-9]+)"(?P<attrs>[^>]*)>(?P<f><f[^>]*>[^<]*</f>|<f[^>]*/>)<v\s*/></c>')
# OOXML cell types a formula's value can have, and the attribute each is written with
# (a number is the default type and is written without one, as Excel does).
VALUE_TYPES = {"n": b"", "str": b' t="str"', "b": b' t="b"'}


def sheet_parts(members: dict[str, bytes]) -> dict[str, str]:
    """``{sheet name: worksheet part}`` of a workbook given as ``{zip member: bytes}``."""
    rels = ET.fromstring(members["xl/_rels/workbook.xml.rels"])
    targets = {rel.get("Id"): rel.get("Target") for rel in rels.iter(f"{RELS}Relationship")}
    parts = {}
    for sheet in ET.fromstring(members["xl/workbook.xml"]).iter(f"{MAIN}sheet"):
        target = targets[sheet.get(R_ID)]
        parts[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return parts


def formula_values(members: dict[str, bytes]) -> dict[str, dict[str, tuple[str, str]]]:
    """``{sheet: {cell: (type, text)}}`` of the value every formula cell of a workbook holds."""
    values = {}
    for name, part in sheet_parts(members).items():
        cells = {}
        for cell in ET.fromstring(members[part]).iter(f"{MAIN}c"):
            if cell.find(f"{MAIN}f") is not None:
                v = cell.find(f"{MAIN}v")
                cells[cell.get("r")] = (cell.get("t", "n"), "" if v is None or v.text is None else v.text)
        values[name] = cells
    return values


def read_members(data: bytes) -> dict[str, bytes]:
    """The members of a zip file, in their order, as ``{name: bytes}``."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info.filename) for info in archive.infolist()}


def recalculated_formula_values(members: dict[str, bytes]) -> dict[str, dict[str, tuple[str, str]]]:
    """Recalculate a workbook (``{zip member: bytes}``) in LibreOffice; ``{sheet: {cell: (type, text)}}``
    of its formula cells."""
    with tempfile.TemporaryDirectory(prefix="cached-") as tmp:
        source = Path(tmp) / "workbook.xlsx"
        with zipfile.ZipFile(source, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        converted = convert(source, Path(tmp) / "recalculated")
        return formula_values(read_members(converted.read_bytes()))


def fill_cached_values(members: dict[str, bytes], values: dict[str, dict[str, tuple[str, str]]]) -> dict[str, bytes]:
    """openpyxl's members with every formula cell's ``<v>`` holding its value from ``values``.

    Raises:
        ValueError: a formula cell has no value in ``values``, evaluates to an error (``#DIV/0!``,
            ``#NAME?``: a bug in the builder), or is not written the way openpyxl writes them.
    """
    filled = dict(members)
    for sheet, part in sheet_parts(members).items():
        computed = values.get(sheet, {})

        def cached(match: re.Match) -> bytes:
            ref = match["ref"].decode()
            if ref not in computed:
                raise ValueError(f"{sheet}!{ref}: LibreOffice computed no value for this formula")
            kind, text = computed[ref]
            if kind not in VALUE_TYPES:
                raise ValueError(f"{sheet}!{ref}: LibreOffice computed {text!r} (cell type {kind!r}): fix the formula")
            if b" t=" in match["attrs"]:
                raise ValueError(f"{sheet}!{ref}: a formula cell with a type attribute, which openpyxl does not write")
            return (b'<c r="' + match["ref"] + b'"' + match["attrs"] + VALUE_TYPES[kind] + b">" + match["f"]
                    + b"<v>" + escape(text).encode() + b"</v></c>")

        xml = members[part]
        filled[part], count = OPENPYXL_FORMULA_CELL.subn(cached, xml)
        if count != xml.count(b"<f"):
            raise ValueError(f"{sheet}: {xml.count(b'<f') - count} formula cells are not written as openpyxl writes them")
    return filled


def with_cached_values(members: dict[str, bytes]) -> dict[str, bytes]:
    """An openpyxl-written workbook (``{zip member: bytes}``) with every formula's value cached, from LibreOffice."""
    return fill_cached_values(members, recalculated_formula_values(members))

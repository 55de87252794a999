"""Recalculate a workbook's formulas in LibreOffice, headless, and read back the values."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from openpyxl import load_workbook

# LibreOffice only recomputes formulas whose cached values it trusts when told to: these
# settings make it recompute every OOXML and ODF file on load.
_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""
INSTALL_HINT = ("LibreOffice is needed to compute the values the workbooks carry and to recalculate them: "
                "install libreoffice-calc-nogui (Debian/Ubuntu: sudo apt install libreoffice-calc-nogui).")


def soffice() -> str:
    """Path of the ``soffice`` program; raises RuntimeError naming the package when missing."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if not found:
        raise RuntimeError(INSTALL_HINT)
    return found


def convert(path: Path, outdir: Path, to: str = "xlsx", timeout: float = 120) -> Path:
    """Open ``path`` in headless LibreOffice, recalculate it, and save it as format ``to``.

    Each call uses a fresh LibreOffice profile, so concurrent calls do not lose conversions.

    Args:
        path: the workbook to open.
        outdir: folder for the converted file (created if needed).
        to: a LibreOffice ``--convert-to`` filter, e.g. ``"xlsx"`` or ``"pdf"``.
        timeout: seconds before LibreOffice is abandoned.

    Returns:
        Path of the converted file.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        user = Path(profile) / "user"
        user.mkdir()
        (user / "registrymodifications.xcu").write_text(_PROFILE)
        result = subprocess.run(
            [soffice(), f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
             "--convert-to", to, "--outdir", str(outdir), str(path)],
            capture_output=True, text=True, timeout=timeout)
    target = outdir / f"{path.stem}.{to.split(':')[0]}"
    if result.returncode != 0 or not target.exists():
        raise RuntimeError(f"LibreOffice could not convert {path}: {result.stderr.strip() or result.stdout.strip()}")
    return target


def recalculated_values(path: Path) -> dict[str, dict[str, object]]:
    """Recalculate ``path`` in LibreOffice and return ``{sheet: {cell: value}}`` of every non-empty cell."""
    with tempfile.TemporaryDirectory(prefix="recalc-") as out:
        converted = convert(path, Path(out))
        wb = load_workbook(converted, data_only=True)
        return {ws.title: {cell.coordinate: cell.value for row in ws.iter_rows() for cell in row
                           if cell.value is not None} for ws in wb.worksheets}

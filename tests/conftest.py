"""Test-wide settings: quiet progress bars, a non-interactive plot backend, the data mirror."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("DLCOURSE_QUIET", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
if not os.environ.get("COURSE_DATA_MIRROR") and (ROOT.parent / "shared" / "data").is_dir():
    os.environ["COURSE_DATA_MIRROR"] = str(ROOT.parent / "shared" / "data")

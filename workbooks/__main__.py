"""Rebuild every companion spreadsheet: ``python -m workbooks [NAME ...]``."""
from __future__ import annotations

import argparse
import importlib
import pkgutil
from pathlib import Path

import workbooks
from workbooks.recalc import soffice

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"


def builders() -> dict:
    """``{module name: module}`` for every workbook builder (a module with ``OUTPUT`` and ``build``)."""
    found = {}
    for info in pkgutil.iter_modules(workbooks.__path__):
        module = importlib.import_module(f"workbooks.{info.name}")
        if hasattr(module, "OUTPUT") and hasattr(module, "build"):
            found[info.name] = module
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m workbooks", description=__doc__)
    parser.add_argument("names", nargs="*", help="builders to run (default: all)")
    args = parser.parse_args(argv)
    try:
        soffice()
    except RuntimeError as missing:
        parser.exit(1, f"python -m workbooks: {missing}\n")
    available = builders()
    for name in args.names or sorted(available):
        if name not in available:
            parser.error(f"no workbook builder {name!r}; choose from {sorted(available)}")
        path = SOLUTIONS / available[name].OUTPUT
        available[name].build(path)
        print(f"wrote {path.relative_to(SOLUTIONS.parent)}")


if __name__ == "__main__":
    main()

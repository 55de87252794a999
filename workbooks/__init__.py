"""Builders of the companion spreadsheets, one module per workbook.

Each builder module defines ``OUTPUT`` (its path under ``solutions/``) and ``build(path)``;
``python -m workbooks`` (``make workbooks``) rebuilds them all, and ``make lessons`` releases
them with their lessons. :mod:`workbooks.sheet` holds the shared styling and the
byte-for-byte reproducible save, which caches every formula's value as LibreOffice computes it
(:mod:`workbooks.cached`); :mod:`workbooks.recalc` drives LibreOffice, so building needs it.
"""

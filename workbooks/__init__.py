"""Builders of the companion spreadsheets, one module per workbook.

Each builder module defines ``OUTPUT`` (its path under ``solutions/``) and ``build(path)``;
``python -m workbooks`` (``make workbooks``) rebuilds them all, and ``make lessons`` releases
them with their lessons. :mod:`workbooks.sheet` holds the shared styling and the
byte-for-byte reproducible save; :mod:`workbooks.recalc` recalculates a workbook in LibreOffice.
"""

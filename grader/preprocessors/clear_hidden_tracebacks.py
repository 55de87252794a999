"""Keep hidden tests hidden in feedback: drop the tracebacks of test cells that have them.

nbgrader's ClearHiddenTests removes the hidden lines from a cell's source, but an IPython
traceback quotes the failing lines again. This preprocessor, run before ClearHiddenTests,
keeps only ``ErrorName: message`` of every error in a cell holding hidden tests.
"""
from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode


class ClearHiddenTracebacks(NbGraderPreprocessor):
    """Replace the traceback of errors in hidden-test cells by their one-line summary."""

    begin_test_delimeter = Unicode("BEGIN HIDDEN TESTS", help="Marker of a hidden test region").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and self.begin_test_delimeter in cell.source:
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources

"""entropy_example.xlsx: softmax, shift invariance, sigmoid, cross-entropy and entropy for one image (lesson 02).

Every sheet lists the five classes in rows 5-9 with column sums in row 10; inputs (yellow)
are the logits ``softmax!B5:B9``, the true class ``softmax!B12``, the shift ``shifted!B12``,
the multi-label targets ``sigmoid!D5:D9`` and the soft target ``entropy!C5:C9``. Everything
else is a live formula.
"""
from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference

from workbooks.sheet import header, mark_input, number_format, save, title

OUTPUT = "02_cross_entropy/entropy_example.xlsx"
CLASSES = ["cat", "dog", "plane", "fish", "building"]
LOGITS = [2.0, 3.5, -1.0, 0.5, -2.5]
TRUE_CLASS = "dog"
SHIFT = 10.0
MULTI_LABEL = [1, 1, 0, 0, 0]          # a cat and a dog in the same picture
SMOOTHING = 0.1                        # label smoothing of the soft target on the entropy sheet
SOFT_TARGET = [(1 - SMOOTHING) * (c == TRUE_CLASS) + SMOOTHING / len(CLASSES) for c in CLASSES]
FIRST, LAST, SUM_ROW = 5, 9, 10        # rows of the classes and of the column sums
ROWS = range(FIRST, LAST + 1)


def _softmax_sheet(ws) -> None:
    title(ws, "Softmax and cross-entropy for one image",
          "Yellow cells are inputs: change a logit or the true class and every other number recomputes.",
          "The logits are the model's raw outputs for one image; softmax turns them into probabilities.")
    header(ws, 4, ["class", "logit (input)", "exp(logit)", "softmax p", "target y (one-hot)", "-y * LN(p)"])
    for i, row in enumerate(ROWS):
        ws[f"A{row}"] = CLASSES[i]
        ws[f"B{row}"] = LOGITS[i]
        ws[f"C{row}"] = f"=EXP(B{row})"
        ws[f"D{row}"] = f"=C{row}/$C${SUM_ROW}"
        ws[f"E{row}"] = f'=IF(A{row}=$B$12,1,0)'
        ws[f"F{row}"] = f"=-E{row}*LN(D{row})"
    ws[f"A{SUM_ROW}"] = "sum"
    for col in "CDEF":
        ws[f"{col}{SUM_ROW}"] = f"=SUM({col}{FIRST}:{col}{LAST})"
    ws["A12"], ws["B12"] = "true class (input)", TRUE_CLASS
    ws["A13"], ws["B13"] = "cross-entropy = -sum of y * LN(p)", f"=F{SUM_ROW}"
    ws["A14"], ws["B14"] = "cross-entropy by lookup = -LN(p of the true class)", \
        f"=-LN(INDEX(D{FIRST}:D{LAST},MATCH(B12,A{FIRST}:A{LAST},0)))"
    mark_input(ws, f"B{FIRST}:B{LAST}")
    mark_input(ws, "B12")
    number_format(ws, f"C{FIRST}:F{SUM_ROW}")
    number_format(ws, "B13:B14")

    chart = BarChart()
    chart.title = "Probabilities (softmax)"
    chart.y_axis.title = "probability"
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
    chart.add_data(Reference(ws, min_col=4, min_row=4, max_row=LAST), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=FIRST, max_row=LAST))
    chart.legend = None
    ws.add_chart(chart, "H4")


def _shifted_sheet(ws) -> None:
    title(ws, "The same image with every logit shifted by one constant",
          "Change the shift in B12: the logits and exponentials change, the probabilities do not.",
          "That is why a stable softmax may subtract the largest logit first.")
    header(ws, 4, ["class", "logit + shift", "exp", "softmax p", "p on sheet softmax", "difference"])
    for row in ROWS:
        ws[f"A{row}"] = f"=softmax!A{row}"
        ws[f"B{row}"] = f"=softmax!B{row}+$B$12"
        ws[f"C{row}"] = f"=EXP(B{row})"
        ws[f"D{row}"] = f"=C{row}/$C${SUM_ROW}"
        ws[f"E{row}"] = f"=softmax!D{row}"
        ws[f"F{row}"] = f"=D{row}-E{row}"
    ws[f"A{SUM_ROW}"] = "sum"
    for col in "CD":
        ws[f"{col}{SUM_ROW}"] = f"=SUM({col}{FIRST}:{col}{LAST})"
    ws["A12"], ws["B12"] = "shift (input)", SHIFT
    mark_input(ws, "B12")
    number_format(ws, f"B{FIRST}:E{SUM_ROW}")
    number_format(ws, f"F{FIRST}:F{LAST}", "0.00E+00")


def _sigmoid_sheet(ws) -> None:
    title(ws, "One sigmoid per class: several labels per image",
          "Each class gets its own yes/no probability; the column does not sum to 1.",
          "Binary cross-entropy scores each class against its own 0/1 label (inputs in column D).")
    header(ws, 4, ["class", "logit", "sigmoid", "label (input)", "binary cross-entropy"])
    for i, row in enumerate(ROWS):
        ws[f"A{row}"] = f"=softmax!A{row}"
        ws[f"B{row}"] = f"=softmax!B{row}"
        ws[f"C{row}"] = f"=1/(1+EXP(-B{row}))"
        ws[f"D{row}"] = MULTI_LABEL[i]
        ws[f"E{row}"] = f"=-(D{row}*LN(C{row})+(1-D{row})*LN(1-C{row}))"
    ws[f"A{SUM_ROW}"] = "sum"
    ws[f"C{SUM_ROW}"] = f"=SUM(C{FIRST}:C{LAST})"
    ws["A12"], ws["B12"] = "mean binary cross-entropy", f"=AVERAGE(E{FIRST}:E{LAST})"
    mark_input(ws, f"D{FIRST}:D{LAST}")
    number_format(ws, f"C{FIRST}:C{SUM_ROW}")
    number_format(ws, f"E{FIRST}:E{LAST}")
    number_format(ws, "B12")


def _gradient_sheet(ws) -> None:
    title(ws, "Gradient of cross-entropy with respect to the logits",
          "For one image it is softmax minus one-hot: the true class is pushed up by 1 - p, every other class down by p.")
    header(ws, 4, ["class", "softmax p", "target y", "dL/dlogit = p - y"])
    for row in ROWS:
        ws[f"A{row}"] = f"=softmax!A{row}"
        ws[f"B{row}"] = f"=softmax!D{row}"
        ws[f"C{row}"] = f"=softmax!E{row}"
        ws[f"D{row}"] = f"=B{row}-C{row}"
    ws[f"A{SUM_ROW}"] = "sum"
    ws[f"D{SUM_ROW}"] = f"=SUM(D{FIRST}:D{LAST})"
    number_format(ws, f"B{FIRST}:D{SUM_ROW}")


def _entropy_sheet(ws) -> None:
    title(ws, "Surprisal, entropy, cross-entropy and KL divergence, in bits",
          "The model's probabilities come from sheet softmax; the soft target (yellow) is label-smoothed "
          f"({SMOOTHING:g} spread evenly over the classes).",
          "Cross-entropy = entropy of the target + KL divergence. LN(x)/LN(2) is log base 2; terms with y = 0 are 0.")
    header(ws, 4, ["class", "model p", "target y (input)", "surprisal -log2 p", "cross-entropy term",
                   "entropy term", "KL term"])
    for i, row in enumerate(ROWS):
        ws[f"A{row}"] = f"=softmax!A{row}"
        ws[f"B{row}"] = f"=softmax!D{row}"
        ws[f"C{row}"] = SOFT_TARGET[i]
        ws[f"D{row}"] = f"=-LN(B{row})/LN(2)"
        ws[f"E{row}"] = f"=C{row}*D{row}"
        ws[f"F{row}"] = f"=IF(C{row}=0,0,-C{row}*LN(C{row})/LN(2))"
        ws[f"G{row}"] = f"=IF(C{row}=0,0,C{row}*LN(C{row}/B{row})/LN(2))"
    ws[f"A{SUM_ROW}"] = "sum"
    for col in "BCEFG":
        ws[f"{col}{SUM_ROW}"] = f"=SUM({col}{FIRST}:{col}{LAST})"
    rows = [("cross-entropy H(y, p), bits", f"=E{SUM_ROW}"),
            ("entropy H(y), bits", f"=F{SUM_ROW}"),
            ("KL(y || p), bits", f"=G{SUM_ROW}"),
            ("H(y) + KL(y || p), bits", f"=F{SUM_ROW}+G{SUM_ROW}"),
            ("cross-entropy H(y, p), nats", f"=E{SUM_ROW}*LN(2)"),
            ("entropy H(y), nats", f"=F{SUM_ROW}*LN(2)"),
            ("KL(y || p), nats", f"=G{SUM_ROW}*LN(2)")]
    for row, (label, formula) in enumerate(rows, start=12):
        ws[f"A{row}"], ws[f"B{row}"] = label, formula
    mark_input(ws, f"C{FIRST}:C{LAST}")
    number_format(ws, f"B{FIRST}:G{SUM_ROW}")
    number_format(ws, "B12:B18")

    chart = BarChart()
    chart.title = "Surprisal of each class (bits)"
    chart.y_axis.title = "bits"
    chart.add_data(Reference(ws, min_col=4, min_row=4, max_row=LAST), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=FIRST, max_row=LAST))
    chart.legend = None
    ws.add_chart(chart, "I4")


def build(path: Path) -> None:
    """Write entropy_example.xlsx to ``path``."""
    wb = Workbook()
    sheets = {"softmax": _softmax_sheet, "shifted": _shifted_sheet,
              "sigmoid": _sigmoid_sheet, "gradient": _gradient_sheet, "entropy": _entropy_sheet}
    wb.active.title = "softmax"
    for name, fill in sheets.items():
        ws = wb[name] if name in wb.sheetnames else wb.create_sheet(name)
        fill(ws)
        ws.column_dimensions["A"].width = 30 if name == "entropy" else 22
        for col in "BCDEFG":
            ws.column_dimensions[col].width = 16
    save(wb, path)

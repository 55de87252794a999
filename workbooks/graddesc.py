"""graddesc.xlsx: fitting y = a*x + b by SGD, momentum, RMSProp and Adam, one example per row (lesson 04).

No macros: every step is a row and the epochs are unrolled as blocks of rows, so the whole
run is live formulas. Layout, the same on every optimizer sheet:

* inputs (yellow) in ``B5:B13``, their names in column A (``lr``, ``mom``, ``sqr_mom``, ``eps``,
  ... as in PyTorch and fastai) and what they mean in column C;
* the per-epoch summary in ``K4:N16`` (epoch, error, and on ``adam_annealing`` the learning
  rate and the mean squared gradient of each epoch) with a chart of the error beside it;
* the step table: headings in row ``HEADER_ROW``, a ``start`` row holding the initial
  parameters (and the initial optimizer state, as inputs), then one row per step. Each row
  holds the parameters before the step, the prediction, the squared error, the gradients,
  the optimizer state after the step and the parameters after the step.

The ``data`` sheet holds the inputs ``x`` (seeded integers), the true slope and intercept,
``y = a*x + b`` as formulas, and a table and chart comparing every optimizer's error per epoch.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.utils import get_column_letter

from workbooks.sheet import header, mark_input, number_format, save, title

OUTPUT = "04_optimizers/graddesc.xlsx"

# The data: y = TRUE_A * x + TRUE_B on N_DATA integer x's drawn with DATA_SEED.
TRUE_A, TRUE_B = 2.0, 30.0
N_DATA = 30
DATA_SEED = 5
DATA_FIRST = 9                                  # data!A9:B38
DATA_ROWS = range(DATA_FIRST, DATA_FIRST + N_DATA)

EPOCHS = 12
INPUT_FIRST = 5                                 # inputs in A5:C13
SUMMARY_HEADER = 4                              # epoch summary K4:N16
SUMMARY_COL0 = 11                               # column K
SUMMARY_FIRST = SUMMARY_HEADER + 1
SUMMARY_ROWS = range(SUMMARY_FIRST, SUMMARY_FIRST + EPOCHS)
HEADER_ROW = 19                                 # step table headings
START_ROW = HEADER_ROW + 1                      # initial parameters and state
FIRST_STEP = START_ROW + 1
STEP_ROWS = range(FIRST_STEP, FIRST_STEP + EPOCHS * N_DATA)
SUMMARY_COLUMNS = {"epoch": "K", "error": "L", "lr": "M", "msg": "N"}

# Inputs of each optimizer sheet: (name, value, meaning). The names are the keyword
# arguments of the lesson's step functions (PyTorch / fastai names).
INPUTS = {
    "basic": [("lr", 1e-4, "learning rate"),
              ("a0", 1.0, "initial slope a"),
              ("b0", 1.0, "initial intercept b"),
              ("h", 0.01, "step of the central finite difference")],
    "momentum": [("lr", 1e-4, "learning rate"),
                 ("a0", 1.0, "initial slope a"),
                 ("b0", 1.0, "initial intercept b"),
                 ("mom", 0.9, "beta of the moving average of gradients (dampened: weight 1-mom on the new gradient)")],
    "rmsprop": [("lr", 0.2, "learning rate"),
                ("a0", 1.0, "initial slope a"),
                ("b0", 1.0, "initial intercept b"),
                ("sqr_mom", 0.9, "beta of the moving average of squared gradients"),
                ("eps", 0.0, "added to the square root (0 here; PyTorch uses 1e-8)")],
    "adam": [("lr", 0.5, "learning rate"),
             ("a0", 1.0, "initial slope a"),
             ("b0", 1.0, "initial intercept b"),
             ("mom", 0.9, "beta1: moving average of gradients"),
             ("sqr_mom", 0.9, "beta2: moving average of squared gradients"),
             ("eps", 0.0, "added to the square root (0 here; PyTorch uses 1e-8)"),
             ("debias", 0, "bias correction: 1 = on (the Adam paper, PyTorch), 0 = off (the original workbook)")],
    "adam_annealing": [("lr", 0.5, "learning rate of the first epochs"),
                       ("a0", 1.0, "initial slope a"),
                       ("b0", 1.0, "initial intercept b"),
                       ("mom", 0.9, "beta1: moving average of gradients"),
                       ("sqr_mom", 0.95, "beta2: moving average of squared gradients"),
                       ("eps", 0.0, "added to the square root (0 here; PyTorch uses 1e-8)"),
                       ("debias", 0, "bias correction: 1 = on, 0 = off"),
                       ("anneal_ratio", 2.0, "anneal when an epoch's mean squared gradient is more than this times the previous one's"),
                       ("anneal_div", 4.0, "... then divide the learning rate by this for the following epochs")],
}

# Columns of the step table, in order: (key, heading).
COMMON = [("step", "step t"), ("epoch", "epoch"), ("x", "x"), ("y", "y"), ("a", "a (before)"),
          ("b", "b (before)"), ("pred", "prediction a*x+b"), ("err2", "squared error"),
          ("da", "de/da = 2(pred-y)x"), ("db", "de/db = 2(pred-y)")]
COLUMNS = {
    "basic": COMMON + [("fd_a", "finite diff de/da"), ("fd_b", "finite diff de/db"),
                       ("new_a", "a (after)"), ("new_b", "b (after)")],
    "momentum": COMMON + [("avg_a", "grad_avg a"), ("avg_b", "grad_avg b"),
                          ("new_a", "a (after)"), ("new_b", "b (after)")],
    "rmsprop": COMMON + [("sqr_a", "sqr_avg a"), ("sqr_b", "sqr_avg b"),
                         ("new_a", "a (after)"), ("new_b", "b (after)")],
    "adam": COMMON + [("avg_a", "grad_avg a"), ("avg_b", "grad_avg b"), ("sqr_a", "sqr_avg a"),
                      ("sqr_b", "sqr_avg b"), ("new_a", "a (after)"), ("new_b", "b (after)")],
    "adam_annealing": COMMON + [("avg_a", "grad_avg a"), ("avg_b", "grad_avg b"), ("sqr_a", "sqr_avg a"),
                                ("sqr_b", "sqr_avg b"), ("lr_t", "lr of this step"),
                                ("new_a", "a (after)"), ("new_b", "b (after)")],
}
STATE_KEYS = ("avg_a", "avg_b", "sqr_a", "sqr_b")       # start-row cells that are inputs

NOTES = {
    "basic": ["Plain SGD with batch size 1: each row takes one example, computes the gradient of its squared error",
              "and moves a and b by -lr * gradient. A block of 30 rows is one epoch. The finite-difference columns",
              "estimate the same gradients as (e(p+h) - e(p-h)) / 2h: exact for a quadratic, up to rounding."],
    "momentum": ["SGD with momentum, written as the lecture's dampened moving average: grad_avg = mom*grad_avg + (1-mom)*grad,",
                 "then p = p - lr*grad_avg. PyTorch's SGD keeps buf = mom*buf + grad instead, which is 1/(1-mom) = 10 times",
                 "larger: the same method with lr*(1-mom). Copying this lr into torch.optim.SGD(momentum=0.9) takes 10x bigger steps."],
    "rmsprop": ["RMSProp: sqr_avg = sqr_mom*sqr_avg + (1-sqr_mom)*grad^2, then p = p - lr*grad/(SQRT(sqr_avg)+eps), each",
                "parameter on its own scale. Like PyTorch, the new gradient enters sqr_avg before dividing (the original",
                "fast.ai workbook divided by the previous step's average). eps is 0 here; PyTorch's default is 1e-8."],
    "adam": ["Adam = momentum + RMSProp: p = p - lr*grad_avg/(SQRT(sqr_avg)+eps). Like the original workbook this sheet",
             "starts with NO bias correction (debias = 0) and eps = 0; the Adam paper and PyTorch divide grad_avg by",
             "1-mom^t and sqr_avg by 1-sqr_mom^t (set debias to 1) and use eps = 1e-8."],
    "adam_annealing": ["Adam with a simple annealing rule: after an epoch whose mean squared gradient is more than anneal_ratio",
                       "times the previous epoch's, the learning rate of every later epoch is divided by anneal_div. The",
                       "summary table on the right computes each epoch's learning rate from the epochs before it."],
}


def data_x() -> list[int]:
    """The seeded x values of the data sheet (integers 1..99)."""
    return [int(v) for v in np.random.default_rng(DATA_SEED).integers(1, 100, size=N_DATA)]


def letters(sheet: str) -> dict[str, str]:
    """``{column key: column letter}`` of an optimizer sheet's step table."""
    return {key: get_column_letter(i) for i, (key, _) in enumerate(COLUMNS[sheet], start=1)}


def input_cells(sheet: str) -> dict[str, str]:
    """``{input name: cell}`` of an optimizer sheet, e.g. ``{"lr": "B5", ...}``."""
    return {name: f"B{INPUT_FIRST + i}" for i, (name, _, _) in enumerate(INPUTS[sheet])}


def epoch_block(epoch: int) -> tuple[int, int]:
    """First and last step-table row of ``epoch`` (counted from 1)."""
    first = FIRST_STEP + (epoch - 1) * N_DATA
    return first, first + N_DATA - 1


def _absolute(ref: str) -> str:
    return "$" + ref[0] + "$" + ref[1:]


def _data_sheet(ws) -> None:
    title(ws, "Data: y = a*x + b, and every optimizer's error per epoch",
          "Yellow cells are inputs. x was drawn at random (seeded) from the integers 1..99; y is a formula of x.",
          "The optimizer sheets fit a and b to these rows, one row per step, in this order in every epoch.")
    ws["A5"], ws["B5"], ws["C5"] = "true a", TRUE_A, "slope of the line the data follow"
    ws["A6"], ws["B6"], ws["C6"] = "true b", TRUE_B, "intercept"
    mark_input(ws, "B5:B6")
    header(ws, DATA_FIRST - 1, ["x (input)", "y = a*x + b"])
    for row, x in zip(DATA_ROWS, data_x()):
        ws[f"A{row}"] = x
        ws[f"B{row}"] = f"=$B$5*A{row}+$B$6"
    mark_input(ws, f"A{DATA_FIRST}:A{DATA_ROWS[-1]}")

    sheets = list(INPUTS)
    header(ws, SUMMARY_HEADER, ["epoch"] + [f"error {s}" for s in sheets], first_column=5)
    for epoch, row in enumerate(SUMMARY_ROWS, start=1):
        ws.cell(row=row, column=5, value=epoch)
        for k, sheet in enumerate(sheets):
            ws.cell(row=row, column=6 + k, value=f"={sheet}!{SUMMARY_COLUMNS['error']}{row}")
    last_col = get_column_letter(5 + len(sheets))
    number_format(ws, f"F{SUMMARY_FIRST}:{last_col}{SUMMARY_ROWS[-1]}", "0.0000")

    chart = _error_chart("Error per epoch, every optimizer (log scale)")
    chart.add_data(Reference(ws, min_col=6, max_col=5 + len(sheets), min_row=SUMMARY_HEADER,
                             max_row=SUMMARY_ROWS[-1]), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=5, min_row=SUMMARY_FIRST, max_row=SUMMARY_ROWS[-1]))
    chart.width, chart.height = 20, 10
    ws.add_chart(chart, "E18")
    ws.column_dimensions["A"].width = 12
    ws.column_dimensions["C"].width = 34
    for k in range(len(sheets)):
        ws.column_dimensions[get_column_letter(6 + k)].width = 16


def _error_chart(heading: str) -> LineChart:
    chart = LineChart()
    chart.title = heading
    chart.x_axis.title = "epoch"
    chart.y_axis.title = "mean squared error"
    chart.y_axis.scaling.logBase = 10
    return chart


def _step_formulas(sheet: str, row: int, col: dict[str, str], inp: dict[str, str]) -> dict[str, str]:
    """Formulas of one step row (``row``), keyed by column key."""
    prev = row - 1
    c = {k: f"{v}{row}" for k, v in col.items()}
    p = {k: f"{v}{prev}" for k, v in col.items()}
    i = {k: _absolute(v) for k, v in inp.items()}
    data_row = DATA_FIRST + (row - FIRST_STEP) % N_DATA
    f = {
        "step": f"=ROW()-ROW($A${START_ROW})",
        "epoch": f"=INT(({c['step']}-1)/{N_DATA})+1",
        "x": f"=data!A{data_row}",
        "y": f"=data!B{data_row}",
        "a": f"={p['new_a']}",
        "b": f"={p['new_b']}",
        "pred": f"={c['a']}*{c['x']}+{c['b']}",
        "err2": f"=({c['pred']}-{c['y']})^2",
        "da": f"=2*({c['pred']}-{c['y']})*{c['x']}",
        "db": f"=2*({c['pred']}-{c['y']})",
    }
    if sheet == "basic":
        h = i["h"]
        f["fd_a"] = (f"=((({c['a']}+{h})*{c['x']}+{c['b']}-{c['y']})^2"
                     f"-(({c['a']}-{h})*{c['x']}+{c['b']}-{c['y']})^2)/(2*{h})")
        f["fd_b"] = (f"=(({c['a']}*{c['x']}+({c['b']}+{h})-{c['y']})^2"
                     f"-({c['a']}*{c['x']}+({c['b']}-{h})-{c['y']})^2)/(2*{h})")
        f["new_a"] = f"={c['a']}-{i['lr']}*{c['da']}"
        f["new_b"] = f"={c['b']}-{i['lr']}*{c['db']}"
    elif sheet == "momentum":
        for par in "ab":
            f[f"avg_{par}"] = f"={i['mom']}*{p['avg_' + par]}+(1-{i['mom']})*{c['d' + par]}"
            f[f"new_{par}"] = f"={c[par]}-{i['lr']}*{c['avg_' + par]}"
    elif sheet == "rmsprop":
        for par in "ab":
            f[f"sqr_{par}"] = f"={i['sqr_mom']}*{p['sqr_' + par]}+(1-{i['sqr_mom']})*{c['d' + par]}^2"
            f[f"new_{par}"] = f"={c[par]}-{i['lr']}*{c['d' + par]}/(SQRT({c['sqr_' + par]})+{i['eps']})"
    else:                                   # adam, adam_annealing
        lr = c["lr_t"] if sheet == "adam_annealing" else i["lr"]
        if sheet == "adam_annealing":
            e = SUMMARY_COLUMNS
            f["lr_t"] = (f"=INDEX(${e['lr']}${SUMMARY_FIRST}:${e['lr']}${SUMMARY_ROWS[-1]},"
                         f"{c['epoch']})")
        for par in "ab":
            f[f"avg_{par}"] = f"={i['mom']}*{p['avg_' + par]}+(1-{i['mom']})*{c['d' + par]}"
            f[f"sqr_{par}"] = f"={i['sqr_mom']}*{p['sqr_' + par]}+(1-{i['sqr_mom']})*{c['d' + par]}^2"
            m_hat = f"({c['avg_' + par]}/IF({i['debias']}=1,1-{i['mom']}^{c['step']},1))"
            v_hat = f"({c['sqr_' + par]}/IF({i['debias']}=1,1-{i['sqr_mom']}^{c['step']},1))"
            f[f"new_{par}"] = f"={c[par]}-{lr}*{m_hat}/(SQRT({v_hat})+{i['eps']})"
    return f


def _summary(ws, sheet: str, col: dict[str, str], inp: dict[str, str]) -> None:
    e = SUMMARY_COLUMNS
    annealing = sheet == "adam_annealing"
    labels = ["epoch", "error (mean squared error over the epoch's steps)"]
    if annealing:
        labels += ["lr of the epoch", "mean squared gradient"]
    header(ws, SUMMARY_HEADER, labels, first_column=SUMMARY_COL0)
    for epoch, row in enumerate(SUMMARY_ROWS, start=1):
        first, last = epoch_block(epoch)
        ws[f"{e['epoch']}{row}"] = epoch
        ws[f"{e['error']}{row}"] = f"=AVERAGE({col['err2']}{first}:{col['err2']}{last})"
        if annealing:
            ws[f"{e['msg']}{row}"] = (f"=SUMSQ({col['da']}{first}:{col['db']}{last})"
                                      f"/COUNT({col['da']}{first}:{col['db']}{last})")
            if epoch == 1:
                ws[f"{e['lr']}{row}"] = f"={_absolute(inp['lr'])}"
            elif epoch == 2:
                ws[f"{e['lr']}{row}"] = f"={e['lr']}{row - 1}"
            else:
                ratio, div = _absolute(inp["anneal_ratio"]), _absolute(inp["anneal_div"])
                ws[f"{e['lr']}{row}"] = (f"=IF({e['msg']}{row - 1}>{ratio}*{e['msg']}{row - 2},"
                                         f"{e['lr']}{row - 1}/{div},{e['lr']}{row - 1})")
    last_col = e["msg"] if annealing else e["error"]
    number_format(ws, f"{e['error']}{SUMMARY_FIRST}:{last_col}{SUMMARY_ROWS[-1]}", "0.000000")

    chart = _error_chart(f"{sheet}: error per epoch (log scale)")
    chart.add_data(Reference(ws, min_col=SUMMARY_COL0 + 1, min_row=SUMMARY_HEADER, max_row=SUMMARY_ROWS[-1]),
                   titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=SUMMARY_COL0, min_row=SUMMARY_FIRST, max_row=SUMMARY_ROWS[-1]))
    chart.legend = None
    chart.width, chart.height = 14, 7.5
    ws.add_chart(chart, "P2")


def _optimizer_sheet(ws, sheet: str) -> None:
    title(ws, f"{sheet}: fitting y = a*x + b one example at a time", *NOTES[sheet])
    ws["A4"] = "inputs (yellow: change them and watch)"
    inp = input_cells(sheet)
    for k, (name, value, meaning) in enumerate(INPUTS[sheet]):
        row = INPUT_FIRST + k
        ws[f"A{row}"], ws[f"B{row}"], ws[f"C{row}"] = name, value, meaning
        mark_input(ws, f"B{row}")
    col = letters(sheet)
    _summary(ws, sheet, col, inp)

    header(ws, HEADER_ROW, [heading for _, heading in COLUMNS[sheet]])
    ws[f"A{START_ROW}"] = "start"
    ws[f"{col['new_a']}{START_ROW}"] = f"={_absolute(inp['a0'])}"
    ws[f"{col['new_b']}{START_ROW}"] = f"={_absolute(inp['b0'])}"
    for key in STATE_KEYS:
        if key in col:
            ws[f"{col[key]}{START_ROW}"] = 0.0
            mark_input(ws, f"{col[key]}{START_ROW}")
    for row in STEP_ROWS:
        for key, formula in _step_formulas(sheet, row, col, inp).items():
            ws[f"{col[key]}{row}"] = formula
    first_number = col["a"]
    number_format(ws, f"{first_number}{START_ROW}:{col['new_b']}{STEP_ROWS[-1]}")
    ws.freeze_panes = f"A{START_ROW}"
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["C"].width = 14
    for key, letter in col.items():
        if key not in ("step", "epoch", "x", "y"):
            ws.column_dimensions[letter].width = 15


def build(path: Path) -> None:
    """Write graddesc.xlsx to ``path``."""
    wb = Workbook()
    wb.active.title = "data"
    _data_sheet(wb["data"])
    for sheet in INPUTS:
        _optimizer_sheet(wb.create_sheet(sheet), sheet)
    save(wb, path)

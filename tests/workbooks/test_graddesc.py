"""graddesc.xlsx: every formula cell carries its value, and it equals lesson 04's step functions.

The expected values come from a plain-Python loop over the same data, one example per step,
calling the reference answers of lesson 04 (``sgd_step``, ``momentum_step``, ``rmsprop_step``,
``adam_step``) with the hyperparameters read from each sheet's input cells.
"""
from __future__ import annotations

import zipfile

import numpy as np
import pytest
from openpyxl import load_workbook

from tests.support import notebooks as nbs
from tests.support.workbooks import READERS, assert_cells_match, assert_every_formula_matches, cached_values, recalculated
from workbooks import graddesc as wb
from workbooks.__main__ import SOLUTIONS

PATH = SOLUTIONS / wb.OUTPUT
OPTIMIZER_SHEETS = list(wb.INPUTS)


@pytest.fixture(scope="module")
def ref():
    return nbs.reference_namespace("04_optimizers")


def _inputs(values: dict, sheet: str) -> dict[str, float]:
    return {name: float(values[sheet][cell]) for name, cell in wb.input_cells(sheet).items()}


def _start_state(values: dict, sheet: str) -> dict:
    col, start = wb.letters(sheet), wb.START_ROW
    read = lambda key: np.array([float(values[sheet][f"{col[key + '_a']}{start}"]),
                                 float(values[sheet][f"{col[key + '_b']}{start}"])])
    if sheet == "momentum":
        return {"grad_avg": read("avg")}
    if sheet == "rmsprop":
        return {"sqr_avg": read("sqr")}
    if sheet in ("adam", "adam_annealing"):
        return {"step": 0, "grad_avg": read("avg"), "sqr_avg": read("sqr")}
    return {}


def simulate(ref: dict, sheet: str, inp: dict, xs: np.ndarray, ys: np.ndarray, state: dict):
    """Run one sheet's optimizer in Python; returns ({column key: value per step row}, errors, lrs, msgs)."""
    params = np.array([inp["a0"], inp["b0"]])
    n, epochs = len(xs), wb.EPOCHS
    cols: dict[str, list] = {key: [] for key, _ in wb.COLUMNS[sheet]}
    errors, lrs, msgs = [], [], []
    lr = inp["lr"]
    for epoch in range(1, epochs + 1):
        if sheet == "adam_annealing" and epoch >= 3 and msgs[-1] > inp["anneal_ratio"] * msgs[-2]:
            lr = lr / inp["anneal_div"]
        lrs.append(lr)
        sq_err, sq_grads = [], []
        for i in range(n):
            x, y = xs[i], ys[i]
            a, b = params
            pred = a * x + b
            diff = pred - y
            grads = np.array([2 * diff * x, 2 * diff])
            row = {"step": (epoch - 1) * n + i + 1, "epoch": epoch, "x": x, "y": y, "a": a, "b": b,
                   "pred": pred, "err2": diff ** 2, "da": grads[0], "db": grads[1]}
            if sheet == "basic":
                h = inp["h"]
                row["fd_a"] = (((a + h) * x + b - y) ** 2 - ((a - h) * x + b - y) ** 2) / (2 * h)
                row["fd_b"] = ((a * x + (b + h) - y) ** 2 - (a * x + (b - h) - y) ** 2) / (2 * h)
                params, state = ref["sgd_step"](params, grads, state, lr=lr)
            elif sheet == "momentum":
                params, state = ref["momentum_step"](params, grads, state, lr=lr, mom=inp["mom"], dampening=True)
            elif sheet == "rmsprop":
                params, state = ref["rmsprop_step"](params, grads, state, lr=lr, sqr_mom=inp["sqr_mom"],
                                                    eps=inp["eps"])
            else:
                params, state = ref["adam_step"](params, grads, state, lr=lr, mom=inp["mom"],
                                                 sqr_mom=inp["sqr_mom"], eps=inp["eps"],
                                                 debias=inp["debias"] == 1)
                if sheet == "adam_annealing":
                    row["lr_t"] = lr
            for key, name in (("avg", "grad_avg"), ("sqr", "sqr_avg")):
                if name in state:
                    row[f"{key}_a"], row[f"{key}_b"] = state[name]
            row["new_a"], row["new_b"] = params
            for key in cols:
                cols[key].append(row[key])
            sq_err.append(diff ** 2)
            sq_grads.extend(grads ** 2)
        errors.append(float(np.mean(sq_err)))
        msgs.append(float(np.mean(sq_grads)))
    return cols, errors, lrs, msgs


def expected_values(values: dict, ref: dict) -> dict[str, dict[str, object]]:
    """What every formula cell must hold, computed in Python from the workbook's input cells."""
    data = values["data"]
    true_a, true_b = float(data["B5"]), float(data["B6"])
    xs = np.array([float(data[f"A{r}"]) for r in wb.DATA_ROWS])
    ys = true_a * xs + true_b
    out: dict[str, dict[str, object]] = {"data": {f"B{r}": y for r, y in zip(wb.DATA_ROWS, ys)}}
    errors_of = {}
    for sheet in OPTIMIZER_SHEETS:
        inp = _inputs(values, sheet)
        cols, errors, lrs, msgs = simulate(ref, sheet, inp, xs, ys, _start_state(values, sheet))
        col = wb.letters(sheet)
        cells: dict[str, object] = {f"{col['new_a']}{wb.START_ROW}": inp["a0"],
                                    f"{col['new_b']}{wb.START_ROW}": inp["b0"]}
        for key, series in cols.items():
            for row, value in zip(wb.STEP_ROWS, series):
                cells[f"{col[key]}{row}"] = value
        e = wb.SUMMARY_COLUMNS
        for k, row in enumerate(wb.SUMMARY_ROWS):
            cells[f"{e['error']}{row}"] = errors[k]
            if sheet == "adam_annealing":
                cells[f"{e['lr']}{row}"] = lrs[k]
                cells[f"{e['msg']}{row}"] = msgs[k]
        out[sheet] = cells
        errors_of[sheet] = errors
    for k, row in enumerate(wb.SUMMARY_ROWS):
        for j, sheet in enumerate(OPTIMIZER_SHEETS):
            out["data"][f"{chr(ord('F') + j)}{row}"] = errors_of[sheet][k]
    return out


@pytest.fixture(scope="module", params=READERS)
def values(request):
    """Every cell as the shipped file carries it (formulas' values cached at build time), read by
    openpyxl and by pandas: nothing is recalculated."""
    return cached_values(PATH, request.param)


def test_every_formula_cell_matches_the_lesson(values, ref):
    assert_every_formula_matches(PATH, values, expected_values(values, ref))


@pytest.mark.slow
def test_changed_inputs_recompute_and_still_match(tmp_path, ref):
    """Change hyperparameters, data and initial state: LibreOffice recomputes, Python agrees.

    LibreOffice's arithmetic now and then differs from NumPy's in the last bit (it rounds the
    difference of two nearly equal numbers to zero, for one), and Adam at a large constant
    learning rate amplifies such differences over 360 steps: with the adam sheet at lr 0.3 and
    bias correction, a few cells drift apart by 1e-8. With the inputs below (and the defaults)
    the largest relative difference is about 1e-12, in squared errors of nearly fitted rows.
    """
    book = load_workbook(PATH)
    changes = {"basic": {"lr": 5e-5, "h": 0.5}, "momentum": {"mom": 0.5, "b0": 10.0},
               "rmsprop": {"eps": 1e-3, "sqr_mom": 0.99}, "adam": {"debias": 1, "eps": 1e-8, "lr": 0.2},
               "adam_annealing": {"anneal_div": 2.0, "anneal_ratio": 1.5, "debias": 1}}
    for sheet, new in changes.items():
        cells = wb.input_cells(sheet)
        for name, value in new.items():
            book[sheet][cells[name]] = value
    book["data"]["A9"] = 42
    book["data"]["B6"] = 12.5
    book["momentum"][f"{wb.letters('momentum')['avg_b']}{wb.START_ROW}"] = -3.0
    changed = tmp_path / "changed.xlsx"
    book.save(changed)
    values = recalculated(changed)
    assert_cells_match(values, expected_values(values, ref))


def test_layout_inputs_charts_and_no_macros():
    book = load_workbook(PATH)
    assert book.sheetnames == ["data", "basic", "momentum", "rmsprop", "adam", "adam_annealing"]
    assert wb.N_DATA >= 29 and wb.EPOCHS >= 5
    with zipfile.ZipFile(PATH) as z:
        assert not any("vba" in name.lower() for name in z.namelist()), "no macros"
    assert book["data"]["B5"].value == 2 and book["data"]["B6"].value == 30
    xs = [book["data"][f"A{r}"].value for r in wb.DATA_ROWS]
    assert xs == wb.data_x() and len(set(xs)) > 20
    for sheet in ["data"] + OPTIMIZER_SHEETS:
        assert book[sheet]._charts, f"{sheet} has a chart"
    for sheet in OPTIMIZER_SHEETS:
        ws = book[sheet]
        for name, cell in wb.input_cells(sheet).items():
            assert ws[cell].fill.fgColor.rgb.endswith("FFF2CC"), f"{sheet}!{cell} ({name}) is marked as an input"
            assert ws[f"A{ws[cell].row}"].value == name
            assert isinstance(ws[cell].value, (int, float)), f"{sheet}!{cell} is a plain number"
    # The original workbook's settings (FACTS.md) where ours keeps them.
    inputs = {s: {n: v for n, v, _ in wb.INPUTS[s]} for s in OPTIMIZER_SHEETS}
    assert inputs["basic"]["lr"] == 1e-4 and inputs["momentum"]["mom"] == 0.9
    assert inputs["adam"]["mom"] == inputs["adam"]["sqr_mom"] == 0.9
    assert inputs["adam"]["debias"] == 0 and inputs["adam"]["eps"] == 0
    assert inputs["adam_annealing"]["sqr_mom"] == 0.95
    assert (inputs["adam_annealing"]["anneal_ratio"], inputs["adam_annealing"]["anneal_div"]) == (2.0, 4.0)
    # The finite-difference column sits beside the analytic gradients on the basic sheet.
    headings = [h for _, h in wb.COLUMNS["basic"]]
    assert headings.index("finite diff de/da") == headings.index("de/db = 2(pred-y)") + 1

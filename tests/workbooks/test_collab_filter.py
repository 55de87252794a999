"""collab_filter.xlsx: every formula cell carries its value, and it equals lesson 06's Python."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from openpyxl import load_workbook

from tests.support import notebooks as nbs
from tests.support.workbooks import READERS, assert_cells_match, assert_every_formula_matches, cached_values, recalculated
from workbooks import collab_filter as wb_module
from workbooks.__main__ import SOLUTIONS

PATH = SOLUTIONS / wb_module.OUTPUT
FILM_COLS, FACTOR_COLS = wb_module.FILM_COLS, wb_module.FACTOR_COLS
RATING_ROWS, PRED_ROWS, ERR_ROWS = wb_module.RATING_ROWS, wb_module.PRED_ROWS, wb_module.ERR_ROWS
FILM_FACTOR_ROWS, FILM_BIAS_ROW = wb_module.FILM_FACTOR_ROWS, wb_module.FILM_BIAS_ROW


def _number(value) -> float:
    return np.nan if value in (None, "") else float(value)


def _inputs(wb) -> dict:
    """Ratings, factors, biases, range and the (user, film) list, read from the workbook's input cells."""
    dot, bias = wb["dotprod"], wb["bias"]

    def block(ws, rows, cols):
        return np.array([[_number(ws[f"{c}{r}"].value) for c in cols] for r in rows])

    ratings = block(dot, RATING_ROWS, FILM_COLS)
    out = {"ratings": ratings}
    for name, ws in (("dot", dot), ("bias", bias)):
        out[name] = {"user_factors": block(ws, PRED_ROWS, FACTOR_COLS),
                     "item_factors": block(ws, FILM_FACTOR_ROWS, FILM_COLS).T}
    out["bias"]["user_bias"] = block(bias, PRED_ROWS, [wb_module.USER_BIAS_COL])[:, 0]
    out["bias"]["item_bias"] = block(bias, [FILM_BIAS_ROW], FILM_COLS)[0]
    out["y_range"] = (float(bias[f"B{wb_module.Y_LO_ROW}"].value), float(bias[f"B{wb_module.Y_HI_ROW}"].value))
    for name in ("one-hot", "embedding"):
        ws = wb[name]
        rows = range(wb_module.FIRST_ROW, ws.max_row + 1)
        out[name] = [(int(ws[f"A{r}"].value), int(ws[f"B{r}"].value)) for r in rows if ws[f"A{r}"].value is not None]
    return out


def expected_values(wb) -> dict[str, dict[str, object]]:
    """What every formula cell must hold ("" for a deliberately blank cell), computed with lesson 06's functions."""
    ref = nbs.reference_namespace("06_embeddings")
    inp = _inputs(wb)
    ratings = inp["ratings"]
    n_users, n_films = ratings.shape
    all_u = torch.arange(n_users).repeat_interleave(n_films)
    all_i = torch.arange(n_films).repeat(n_users)
    dot_t = {k: torch.tensor(v) for k, v in inp["dot"].items()}
    bias_t = {k: torch.tensor(v) for k, v in inp["bias"].items()}
    dot_pred = (ref["embedding_lookup"](dot_t["user_factors"], all_u)
                * ref["embedding_lookup"](dot_t["item_factors"], all_i)).sum(-1).reshape(n_users, n_films).numpy()
    bias_pred = ref["collab_forward"](all_u, all_i, bias_t, inp["y_range"]).reshape(n_users, n_films).numpy()
    rated = ~np.isnan(ratings)

    out: dict[str, dict[str, object]] = {"dotprod": {}, "one-hot": {}, "embedding": {}, "bias": {}}
    for sheet, pred in (("dotprod", dot_pred), ("bias", bias_pred)):
        cells = out[sheet]
        for i in range(n_users):
            for j, col in enumerate(FILM_COLS):
                ok = rated[i, j]
                cells[f"{col}{PRED_ROWS[i]}"] = pred[i, j] if ok else ""
                cells[f"{col}{ERR_ROWS[i]}"] = (pred[i, j] - ratings[i, j]) ** 2 if ok else ""
                if sheet == "bias":
                    cells[f"{col}{RATING_ROWS[i]}"] = ratings[i, j] if ok else ""
        err = (pred[rated] - ratings[rated]) ** 2
        cells["B4"] = float(np.sqrt(err.mean()))
        cells["D4"] = float(rated.sum())
    dot_rmse = out["dotprod"]["B4"]

    for sheet in ("one-hot", "embedding"):
        pairs = inp[sheet]
        u = torch.tensor([p[0] - 1 for p in pairs])
        i = torch.tensor([p[1] - 1 for p in pairs])
        ue = ref["embedding_lookup"](dot_t["user_factors"], u).numpy()
        ie = ref["embedding_lookup"](dot_t["item_factors"], i).numpy()
        pred = (ue * ie).sum(-1)
        stars = ratings[u.numpy(), i.numpy()]
        cells = out[sheet]
        k = ue.shape[1]
        first_emb = 4 + (n_users + n_films if sheet == "one-hot" else 0)
        if sheet == "one-hot":
            user_oh = ref["one_hot"](u, n_users, dtype=torch.float64).numpy()
            film_oh = ref["one_hot"](i, n_films, dtype=torch.float64).numpy()
        for r, row in enumerate(range(wb_module.FIRST_ROW, wb_module.FIRST_ROW + len(pairs))):
            cells[f"C{row}"] = stars[r]
            if sheet == "one-hot":
                for c in range(n_users):
                    cells[f"{_col(4 + c)}{row}"] = user_oh[r, c]
                for c in range(n_films):
                    cells[f"{_col(4 + n_users + c)}{row}"] = film_oh[r, c]
            for f in range(k):
                cells[f"{_col(first_emb + f)}{row}"] = ue[r, f]
                cells[f"{_col(first_emb + k + f)}{row}"] = ie[r, f]
            cells[f"{_col(first_emb + 2 * k)}{row}"] = pred[r]
            cells[f"{_col(first_emb + 2 * k + 1)}{row}"] = (pred[r] - stars[r]) ** 2
        cells["B4"] = float(np.sqrt(((pred - stars) ** 2).mean()))
        cells["B5"] = dot_rmse
    out["bias"].update({"Y5": dot_rmse, "Y6": out["one-hot"]["B4"], "Y7": out["embedding"]["B4"], "Y8": out["bias"]["B4"]})
    return out


def _col(n: int) -> str:
    from openpyxl.utils import get_column_letter
    return get_column_letter(n)


@pytest.fixture(scope="module", params=READERS)
def values(request):
    """Every cell as the shipped file carries it (formulas' values cached at build time), read by
    openpyxl and by pandas: nothing is recalculated."""
    return cached_values(PATH, request.param)


def test_every_formula_cell_matches_python(values):
    wb = load_workbook(PATH)
    assert_every_formula_matches(PATH, values, expected_values(wb))


def test_the_three_dot_product_sheets_agree_and_biases_help(values):
    rmse = {sheet: values[sheet]["B4"] for sheet in ("dotprod", "one-hot", "embedding", "bias")}
    assert rmse["one-hot"] == pytest.approx(rmse["dotprod"], rel=1e-12)
    assert rmse["embedding"] == pytest.approx(rmse["dotprod"], rel=1e-12)
    assert rmse["bias"] < rmse["dotprod"]
    ratings = wb_module.synthetic_ratings()
    assert rmse["dotprod"] == pytest.approx(wb_module.rmse(wb_module.fit(ratings, False), ratings, False), rel=1e-12)
    assert rmse["bias"] == pytest.approx(wb_module.rmse(wb_module.fit(ratings, True), ratings, True), rel=1e-12)


@pytest.mark.slow
def test_predictions_follow_changed_inputs(tmp_path):
    """Change a rating, a factor, a bias and the range: LibreOffice recomputes, Python agrees."""
    wb = load_workbook(PATH)
    wb["dotprod"]["B30"] = 1.75                         # user 1, factor 1
    wb["dotprod"]["I23"] = -0.5                         # film B, factor 1
    wb["dotprod"]["H6"] = 2                             # user 1 rates film A 2 stars
    wb["bias"][f"{wb_module.USER_BIAS_COL}31"] = 0.9    # user 2's bias
    wb["bias"][f"B{wb_module.Y_HI_ROW}"] = 5.25
    changed = tmp_path / "changed.xlsx"
    wb.save(changed)
    assert_cells_match(recalculated(changed), expected_values(load_workbook(changed)))


def test_layout_inputs_chart_and_no_movielens():
    wb = load_workbook(PATH)
    assert wb.sheetnames == ["dotprod", "one-hot", "embedding", "bias"]
    dot = wb["dotprod"]
    assert "SYNTHETIC" in dot["A2"].value and "not MovieLens" in dot["A2"].value
    for sheet, ref in [("dotprod", "H6"), ("dotprod", "H23"), ("dotprod", "B30"), ("bias", "H28"),
                       ("bias", wb_module.USER_BIAS_COL + "30"), ("bias", f"B{wb_module.Y_HI_ROW}"), ("one-hot", "A8")]:
        assert wb[sheet][ref].fill.fgColor.rgb.endswith("FFF2CC"), f"{sheet}!{ref} is marked as an input"
    assert dot["H30"].value.startswith("=IF(ISNUMBER(H6),MMULT(")
    assert "MMULT(" in wb["one-hot"]["AH8"].value
    assert wb["embedding"]["D8"].value.startswith("=INDEX(")
    assert "EXP(" in wb["bias"]["H30"].value
    assert wb["bias"]._charts and dot._charts, "a chart of the RMSEs and of predictions against ratings"
    text = " ".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None)
    for title in ("Star Wars", "Toy Story", "Fargo"):
        assert title not in text
    ratings = wb_module.synthetic_ratings()
    assert ratings.shape == (15, 15) and np.isnan(ratings).any()
    assert set(np.unique(ratings[~np.isnan(ratings)])) <= {1.0, 2.0, 3.0, 4.0, 5.0}

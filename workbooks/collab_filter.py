"""collab_filter.xlsx: collaborative filtering on a tiny synthetic ratings table (lesson 06).

The ratings are NOT MovieLens (which may not be redistributed): 15 made-up users rate 15
made-up films, drawn from a seeded generator with some gaps. Latent factors are found by
gradient descent here, in Python (:func:`fit`), and written as inputs; every prediction, error
and RMSE is a live formula.

Sheets, all with users in rows and films in columns where they show a grid:

* ``dotprod``: the ratings (input, blank = not rated), 5 film factors per film (rows 23-27),
  5 user factors per user (columns B-F), predictions by MMULT of a user's row with a film's
  column (blank where there is no rating), squared errors and their RMSE (``B4``).
* ``one-hot``: one row per rating; one-hot rows for the user and the film, multiplied with the
  factor tables of ``dotprod`` (MMULT, SUMPRODUCT) to get the two embeddings, their dot
  product, the squared error and the same RMSE.
* ``embedding``: the same rows, with the embeddings looked up by INDEX: same RMSE again.
* ``bias``: its own factors plus a bias per user and per film, squashed by
  ``lo + (hi - lo) * sigmoid`` into [0, 5.5]; a lower RMSE, and a chart comparing the sheets.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference, ScatterChart, Series
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from workbooks.sheet import header, mark_input, number_format, save, title

OUTPUT = "06_embeddings/collab_filter.xlsx"
N_USERS = N_FILMS = 15
N_FACTORS = 5
SEED = 2024
Y_RANGE = (0.0, 5.5)
# Gradient descent (Adam, full batch) on the mean squared error of the rated cells plus the
# lesson's per-rating L2 penalty `reg` (not PyTorch's weight decay) on the factors each rating
# uses; unlike the notebook, the biases are not penalised here.
LR, STEPS, REG = 0.05, 500, 0.1
DECIMALS = 4                      # learned values are rounded so the file is the same on every machine

FILMS = [f"film {chr(ord('A') + j)}" for j in range(N_FILMS)]
USERS = [f"user {i + 1}" for i in range(N_USERS)]

# dotprod / bias layout
RATING_ROWS = range(6, 6 + N_USERS)                 # ratings grid H6:V20
FILM_FACTOR_ROWS = range(23, 23 + N_FACTORS)        # film factors H23:V27
FILM_BIAS_ROW = 28                                  # bias sheet only: film biases H28:V28
PRED_ROWS = range(30, 30 + N_USERS)                 # user factors B30:F44, predictions H30:V44
ERR_ROWS = range(48, 48 + N_USERS)                  # squared errors H48:V62
FILM_COLS = [get_column_letter(8 + j) for j in range(N_FILMS)]        # H..V
FACTOR_COLS = [get_column_letter(2 + k) for k in range(N_FACTORS)]    # B..F
USER_BIAS_COL = "G"                                                  # bias sheet only


def synthetic_ratings() -> np.ndarray:
    """The made-up ratings: float array (15, 15) of whole stars 1..5, NaN where a user did not rate."""
    rng = np.random.default_rng(SEED)
    taste, style = rng.normal(size=(N_USERS, 2)), rng.normal(size=(N_FILMS, 2))
    raw = 3.2 + 0.6 * rng.normal(size=(N_USERS, 1)) + 0.6 * rng.normal(size=(1, N_FILMS)) \
        + 0.8 * taste @ style.T + 0.4 * rng.normal(size=(N_USERS, N_FILMS))
    ratings = np.clip(np.round(raw), 1, 5)
    rated = rng.random((N_USERS, N_FILMS)) < 0.75
    return np.where(rated, ratings, np.nan)


def _sigmoid_range(x, lo: float, hi: float):
    """lo + (hi - lo) * sigmoid(x), for numpy arrays and torch tensors alike."""
    return lo + (hi - lo) / (1 + (-x).exp()) if hasattr(x, "exp") else lo + (hi - lo) / (1 + np.exp(-x))


def predict(params: dict[str, np.ndarray], with_bias: bool) -> np.ndarray:
    """Predictions for every (user, film): a (15, 15) array."""
    dot = params["users"] @ params["films"].T
    if not with_bias:
        return dot
    return _sigmoid_range(dot + params["user_bias"][:, None] + params["film_bias"][None, :], *Y_RANGE)


def fit(ratings: np.ndarray, with_bias: bool) -> dict[str, np.ndarray]:
    """Learn factors (and biases) by full-batch Adam on the rated cells; values rounded to 4 decimals.

    Returns:
        ``{"users": (15, 5), "films": (15, 5)}`` and, with biases, ``"user_bias"`` (15,) and
        ``"film_bias"`` (15,).
    """
    import torch

    rng = np.random.default_rng(SEED + with_bias)
    start = {"users": rng.normal(scale=0.5, size=(N_USERS, N_FACTORS)),
             "films": rng.normal(scale=0.5, size=(N_FILMS, N_FACTORS))}
    if with_bias:
        start |= {"user_bias": np.zeros(N_USERS), "film_bias": np.zeros(N_FILMS)}
    params = {k: torch.tensor(v, requires_grad=True) for k, v in start.items()}
    mask = torch.tensor(~np.isnan(ratings))
    target = torch.tensor(np.nan_to_num(ratings))
    counts_u, counts_f = mask.sum(1, keepdim=True), mask.sum(0)[:, None]
    opt = torch.optim.Adam(params.values(), lr=LR)
    for _ in range(STEPS):
        dot = params["users"] @ params["films"].T
        pred = dot
        if with_bias:
            pred = _sigmoid_range(dot + params["user_bias"][:, None] + params["film_bias"][None, :], *Y_RANGE)
        mse = (((pred - target) ** 2) * mask).sum() / mask.sum()
        penalty = ((params["users"] ** 2 * counts_u).sum() + (params["films"] ** 2 * counts_f).sum()) / mask.sum()
        opt.zero_grad()
        (mse + REG * penalty).backward()
        opt.step()
    return {k: np.round(v.detach().numpy(), DECIMALS) for k, v in params.items()}


def rmse(params: dict[str, np.ndarray], ratings: np.ndarray, with_bias: bool) -> float:
    """Root mean squared error over the rated cells."""
    rated = ~np.isnan(ratings)
    return float(np.sqrt(np.mean((predict(params, with_bias)[rated] - ratings[rated]) ** 2)))


def _grid_sheet(ws, ratings_source, params, with_bias: bool) -> None:
    """Ratings, factor tables, predictions and squared errors laid out as a users x films grid."""
    ws["A4"], ws["B4"] = "RMSE over rated cells", f"=SQRT(SUM(H{ERR_ROWS[0]}:V{ERR_ROWS[-1]})/COUNT(H{ERR_ROWS[0]}:V{ERR_ROWS[-1]}))"
    ws["C4"], ws["D4"] = "rated cells", f"=COUNT(H{ERR_ROWS[0]}:V{ERR_ROWS[-1]})"
    number_format(ws, "B4")
    ws["B4"].font = Font(bold=True)

    ws["G5"] = "ratings"
    header(ws, 5, FILMS, first_column=8)
    for i, row in enumerate(RATING_ROWS):
        ws[f"G{row}"] = USERS[i]
        for j, col in enumerate(FILM_COLS):
            ws[f"{col}{row}"] = ratings_source(i, j)

    ws[f"G{FILM_FACTOR_ROWS[0] - 1}"] = "film factors"
    header(ws, FILM_FACTOR_ROWS[0] - 1, FILMS, first_column=8)
    for k, row in enumerate(FILM_FACTOR_ROWS):
        ws[f"G{row}"] = f"factor {k + 1}"
        for j, col in enumerate(FILM_COLS):
            ws[f"{col}{row}"] = float(params["films"][j, k])
    mark_input(ws, f"H{FILM_FACTOR_ROWS[0]}:V{FILM_FACTOR_ROWS[-1]}")
    number_format(ws, f"H{FILM_FACTOR_ROWS[0]}:V{FILM_FACTOR_ROWS[-1]}", "0.0000")

    if with_bias:
        ws[f"G{FILM_BIAS_ROW}"] = "film bias"
        for j, col in enumerate(FILM_COLS):
            ws[f"{col}{FILM_BIAS_ROW}"] = float(params["film_bias"][j])
        mark_input(ws, f"H{FILM_BIAS_ROW}:V{FILM_BIAS_ROW}")
        number_format(ws, f"H{FILM_BIAS_ROW}:V{FILM_BIAS_ROW}", "0.0000")

    first, last = PRED_ROWS[0], PRED_ROWS[-1]
    header(ws, first - 1, [f"factor {k + 1}" for k in range(N_FACTORS)] + (["user bias"] if with_bias else ["predictions"]),
           first_column=2)
    ws[f"A{first - 1}"] = "user factors"
    header(ws, first - 1, FILMS, first_column=8)
    for i, row in enumerate(PRED_ROWS):
        ws[f"A{row}"] = USERS[i]
        for k, col in enumerate(FACTOR_COLS):
            ws[f"{col}{row}"] = float(params["users"][i, k])
        if with_bias:
            ws[f"{USER_BIAS_COL}{row}"] = float(params["user_bias"][i])
        rating_row = RATING_ROWS[i]
        for j, col in enumerate(FILM_COLS):
            dot = f"MMULT($B{row}:$F{row},{col}${FILM_FACTOR_ROWS[0]}:{col}${FILM_FACTOR_ROWS[-1]})"
            if with_bias:
                x = f"{dot}+${USER_BIAS_COL}{row}+{col}${FILM_BIAS_ROW}"
                value = f"$B${Y_LO_ROW}+($B${Y_HI_ROW}-$B${Y_LO_ROW})/(1+EXP(-({x})))"
            else:
                value = dot
            ws[f"{col}{row}"] = f'=IF(ISNUMBER({col}{rating_row}),{value},"")'
    last_input = USER_BIAS_COL if with_bias else "F"
    mark_input(ws, f"B{first}:{last_input}{last}")
    number_format(ws, f"B{first}:{last_input}{last}", "0.0000")
    number_format(ws, f"H{first}:V{last}", "0.00")

    ws[f"G{ERR_ROWS[0] - 1}"] = "squared errors"
    header(ws, ERR_ROWS[0] - 1, FILMS, first_column=8)
    for i, row in enumerate(ERR_ROWS):
        ws[f"G{row}"] = USERS[i]
        for col in FILM_COLS:
            pred, rating = f"{col}{PRED_ROWS[i]}", f"{col}{RATING_ROWS[i]}"
            ws[f"{col}{row}"] = f'=IF(ISNUMBER({rating}),({pred}-{rating})^2,"")'
    number_format(ws, f"H{ERR_ROWS[0]}:V{ERR_ROWS[-1]}", "0.000")


Y_LO_ROW, Y_HI_ROW = 65, 66           # bias sheet: the range of sigmoid_range (inputs)


def _dotprod_sheet(ws, ratings, params) -> None:
    title(ws, "Collaborative filtering as a matrix product",
          "SYNTHETIC DATA: 15 made-up users and films from a seeded generator (workbooks/collab_filter.py), not MovieLens, "
          "which may not be redistributed. Blank = not rated.",
          f"Yellow cells are inputs. The factors come from {STEPS} steps of gradient descent (Adam, lr {LR}, per-rating "
          f"L2 penalty reg {REG} on the factors) in Python; prediction = MMULT(user's factor row, film's factor column), blank where there is no rating.")

    def source(i, j):
        return None if np.isnan(ratings[i, j]) else int(ratings[i, j])

    _grid_sheet(ws, source, params, with_bias=False)
    mark_input(ws, f"H{RATING_ROWS[0]}:V{RATING_ROWS[-1]}")

    chart = ScatterChart()
    chart.title = "Prediction against rating (dot product)"
    chart.style = 13
    chart.x_axis.title = "rating"
    chart.y_axis.title = "prediction"
    for i in range(N_USERS):
        xs = Reference(ws, min_col=8, max_col=8 + N_FILMS - 1, min_row=RATING_ROWS[i])
        ys = Reference(ws, min_col=8, max_col=8 + N_FILMS - 1, min_row=PRED_ROWS[i])
        series = Series(ys, xs, title=USERS[i])
        series.marker.symbol = "circle"
        series.graphicalProperties.line.noFill = True
        chart.series.append(series)
    chart.legend = None
    chart.height, chart.width = 9, 12
    ws.add_chart(chart, "X5")


def _rated_cells(ratings: np.ndarray) -> list[tuple[int, int]]:
    """(user, film) numbers, 1-based, of every rated cell, row by row."""
    return [(i + 1, j + 1) for i in range(N_USERS) for j in range(N_FILMS) if not np.isnan(ratings[i, j])]


FIRST_ROW = 8                      # first rating row on the one-hot and embedding sheets


def _one_hot_sheet(ws, ratings) -> None:
    title(ws, "The same predictions from one-hot rows",
          "One row per rating. The user's one-hot row times the user factor table (MMULT) is that user's factors; the "
          "film's one-hot row times each film factor row (SUMPRODUCT) gives the film's factors.",
          "Their dot product is the prediction: the same numbers, and the same RMSE, as sheet dotprod.")
    cells = _rated_cells(ratings)
    last = FIRST_ROW + len(cells) - 1
    uoh = [get_column_letter(4 + c) for c in range(N_USERS)]                     # D..R
    foh = [get_column_letter(4 + N_USERS + c) for c in range(N_FILMS)]           # S..AG
    uemb = [get_column_letter(4 + N_USERS + N_FILMS + k) for k in range(N_FACTORS)]
    femb = [get_column_letter(4 + N_USERS + N_FILMS + N_FACTORS + k) for k in range(N_FACTORS)]
    pred_col = get_column_letter(4 + N_USERS + N_FILMS + 2 * N_FACTORS)
    err_col = get_column_letter(5 + N_USERS + N_FILMS + 2 * N_FACTORS)
    ws["A4"], ws["B4"] = "RMSE over rated cells", f"=SQRT(AVERAGE({err_col}{FIRST_ROW}:{err_col}{last}))"
    number_format(ws, "B4")
    ws["A5"], ws["B5"] = "RMSE on sheet dotprod", "=dotprod!B4"
    number_format(ws, "B5")
    header(ws, FIRST_ROW - 1, ["user", "film", "rating"] + [f"u{c + 1}" for c in range(N_USERS)]
           + [chr(ord("A") + c) for c in range(N_FILMS)] + [f"user f{k + 1}" for k in range(N_FACTORS)]
           + [f"film f{k + 1}" for k in range(N_FACTORS)] + ["prediction", "squared error"])
    ws[f"{uoh[0]}{FIRST_ROW - 2}"] = "user one-hot"
    ws[f"{foh[0]}{FIRST_ROW - 2}"] = "film one-hot"
    ws[f"{uemb[0]}{FIRST_ROW - 2}"] = "user factors = one-hot x table"
    ws[f"{femb[0]}{FIRST_ROW - 2}"] = "film factors = one-hot x table"
    for n, (u, f) in enumerate(cells):
        row = FIRST_ROW + n
        ws[f"A{row}"], ws[f"B{row}"] = u, f
        ws[f"C{row}"] = f"=INDEX(dotprod!$H${RATING_ROWS[0]}:$V${RATING_ROWS[-1]},A{row},B{row})"
        for c, col in enumerate(uoh):
            ws[f"{col}{row}"] = f"=IF($A{row}={c + 1},1,0)"
        for c, col in enumerate(foh):
            ws[f"{col}{row}"] = f"=IF($B{row}={c + 1},1,0)"
        for k, col in enumerate(uemb):
            factor_col = FACTOR_COLS[k]
            ws[f"{col}{row}"] = (f"=MMULT(${uoh[0]}{row}:${uoh[-1]}{row},"
                                 f"dotprod!${factor_col}${PRED_ROWS[0]}:${factor_col}${PRED_ROWS[-1]})")
        for k, col in enumerate(femb):
            factor_row = FILM_FACTOR_ROWS[k]
            ws[f"{col}{row}"] = f"=SUMPRODUCT(${foh[0]}{row}:${foh[-1]}{row},dotprod!$H${factor_row}:$V${factor_row})"
        ws[f"{pred_col}{row}"] = f"=SUMPRODUCT({uemb[0]}{row}:{uemb[-1]}{row},{femb[0]}{row}:{femb[-1]}{row})"
        ws[f"{err_col}{row}"] = f"=({pred_col}{row}-C{row})^2"
    mark_input(ws, f"A{FIRST_ROW}:B{last}")
    number_format(ws, f"{uemb[0]}{FIRST_ROW}:{femb[-1]}{last}", "0.0000")
    number_format(ws, f"{pred_col}{FIRST_ROW}:{err_col}{last}", "0.000")
    for col in uoh + foh:
        ws.column_dimensions[col].width = 4


def _embedding_sheet(ws, ratings) -> None:
    title(ws, "The same predictions by looking up rows: an embedding",
          "Multiplying by a one-hot row just picks one row of the table, so INDEX(table, user, factor) gives the same "
          "numbers without building any one-hot row.",
          "Same predictions, same RMSE as sheets dotprod and one-hot, at a fraction of the work.")
    cells = _rated_cells(ratings)
    last = FIRST_ROW + len(cells) - 1
    uemb = [get_column_letter(4 + k) for k in range(N_FACTORS)]                 # D..H
    femb = [get_column_letter(4 + N_FACTORS + k) for k in range(N_FACTORS)]     # I..M
    pred_col, err_col = get_column_letter(4 + 2 * N_FACTORS), get_column_letter(5 + 2 * N_FACTORS)
    ws["A4"], ws["B4"] = "RMSE over rated cells", f"=SQRT(AVERAGE({err_col}{FIRST_ROW}:{err_col}{last}))"
    ws["A5"], ws["B5"] = "RMSE on sheet dotprod", "=dotprod!B4"
    number_format(ws, "B4:B5")
    header(ws, FIRST_ROW - 1, ["user", "film", "rating"] + [f"user f{k + 1}" for k in range(N_FACTORS)]
           + [f"film f{k + 1}" for k in range(N_FACTORS)] + ["prediction", "squared error"])
    ws[f"{uemb[0]}{FIRST_ROW - 2}"] = "user factors = INDEX(user table, user, k)"
    ws[f"{femb[0]}{FIRST_ROW - 2}"] = "film factors = INDEX(film table, k, film)"
    user_table = f"dotprod!$B${PRED_ROWS[0]}:$F${PRED_ROWS[-1]}"
    film_table = f"dotprod!$H${FILM_FACTOR_ROWS[0]}:$V${FILM_FACTOR_ROWS[-1]}"
    for n, (u, f) in enumerate(cells):
        row = FIRST_ROW + n
        ws[f"A{row}"], ws[f"B{row}"] = u, f
        ws[f"C{row}"] = f"=INDEX(dotprod!$H${RATING_ROWS[0]}:$V${RATING_ROWS[-1]},A{row},B{row})"
        for k, col in enumerate(uemb):
            ws[f"{col}{row}"] = f"=INDEX({user_table},$A{row},{k + 1})"
        for k, col in enumerate(femb):
            ws[f"{col}{row}"] = f"=INDEX({film_table},{k + 1},$B{row})"
        ws[f"{pred_col}{row}"] = f"=SUMPRODUCT({uemb[0]}{row}:{uemb[-1]}{row},{femb[0]}{row}:{femb[-1]}{row})"
        ws[f"{err_col}{row}"] = f"=({pred_col}{row}-C{row})^2"
    mark_input(ws, f"A{FIRST_ROW}:B{last}")
    number_format(ws, f"{uemb[0]}{FIRST_ROW}:{femb[-1]}{last}", "0.0000")
    number_format(ws, f"{pred_col}{FIRST_ROW}:{err_col}{last}", "0.000")


def _bias_sheet(ws, params) -> None:
    title(ws, "Adding a bias per user and per film, squashed into [0, 5.5]",
          f"Its own factors and biases, again from {STEPS} steps of gradient descent in Python. Prediction = "
          "lo + (hi - lo) * sigmoid(dot product + user bias + film bias), the notebook's sigmoid_range.",
          "Some users rate everything high and some films are liked by everyone: one number each says so. "
          "Ratings come from sheet dotprod.")

    def source(i, j):
        ref = f"dotprod!{FILM_COLS[j]}{RATING_ROWS[i]}"
        return f'=IF(ISNUMBER({ref}),{ref},"")'

    _grid_sheet(ws, source, params, with_bias=True)
    ws[f"A{Y_LO_ROW}"], ws[f"B{Y_LO_ROW}"] = "sigmoid_range low", Y_RANGE[0]
    ws[f"A{Y_HI_ROW}"], ws[f"B{Y_HI_ROW}"] = "sigmoid_range high", Y_RANGE[1]
    mark_input(ws, f"B{Y_LO_ROW}:B{Y_HI_ROW}")

    ws["X4"] = "model"
    ws["Y4"] = "RMSE"
    header(ws, 4, ["model", "RMSE"], first_column=24)
    rows = [("dot product (dotprod)", "=dotprod!B4"), ("one-hot rows (one-hot)", "='one-hot'!B4"),
            ("lookup (embedding)", "=embedding!B4"), ("with biases (bias)", "=B4")]
    for n, (label, formula) in enumerate(rows):
        ws[f"X{5 + n}"], ws[f"Y{5 + n}"] = label, formula
    number_format(ws, "Y5:Y8")
    ws.column_dimensions["X"].width = 24
    chart = BarChart()
    chart.title = "RMSE over the rated cells"
    chart.y_axis.title = "RMSE"
    chart.y_axis.scaling.min = 0
    chart.add_data(Reference(ws, min_col=25, min_row=4, max_row=8), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=24, min_row=5, max_row=8))
    chart.legend = None
    chart.height, chart.width = 8, 14
    ws.add_chart(chart, "X10")


def build(path: Path) -> None:
    """Write collab_filter.xlsx to ``path``."""
    ratings = synthetic_ratings()
    dot_params, bias_params = fit(ratings, with_bias=False), fit(ratings, with_bias=True)
    wb = Workbook()
    wb.active.title = "dotprod"
    _dotprod_sheet(wb["dotprod"], ratings, dot_params)
    _one_hot_sheet(wb.create_sheet("one-hot"), ratings)
    _embedding_sheet(wb.create_sheet("embedding"), ratings)
    _bias_sheet(wb.create_sheet("bias"), bias_params)
    for ws in wb.worksheets:
        ws.column_dimensions["A"].width = 20
    save(wb, path)

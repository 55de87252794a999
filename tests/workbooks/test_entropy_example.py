"""entropy_example.xlsx: every formula cell, recalculated by LibreOffice, equals lesson 02's Python
(softmax and entropy from the lesson's reference answers)."""
from __future__ import annotations

import numpy as np
import pytest
from openpyxl import load_workbook

from tests.support import notebooks as nbs
from tests.support.workbooks import assert_every_formula_matches, recalculated
from workbooks import entropy_example as wb_module
from workbooks.__main__ import SOLUTIONS

PATH = SOLUTIONS / wb_module.OUTPUT


def expected_values(values: dict) -> dict[str, dict[str, float]]:
    """What every formula cell must hold, computed in Python from the workbook's inputs."""
    ref = nbs.reference_namespace("02_cross_entropy")
    rows = list(wb_module.ROWS)
    sm, sh, sg, en = values["softmax"], values["shifted"], values["sigmoid"], values["entropy"]
    classes = [sm[f"A{r}"] for r in rows]
    logits = np.array([sm[f"B{r}"] for r in rows], dtype=float)
    target = classes.index(sm["B12"])
    shift = float(sh["B12"])
    labels = np.array([sg[f"D{r}"] for r in rows], dtype=float)
    soft = np.array([en[f"C{r}"] for r in rows], dtype=float)

    probs = ref["softmax"](logits[None])[0]
    one_hot = np.eye(len(classes))[target]
    shifted = ref["softmax"]((logits + shift)[None])[0]
    ce = ref["cross_entropy"](logits[None], np.array([target]))
    grad = ref["cross_entropy_grad"](logits[None], np.array([target]))[0]
    sig = 1 / (1 + np.exp(-logits))
    bce = -(labels * np.log(sig) + (1 - labels) * np.log(1 - sig))
    soft_entropy = ref["entropy"](soft)
    soft_kl = ref["kl_divergence"](soft, probs)
    surprisal = -np.log2(probs)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy_terms = np.where(soft > 0, -soft * np.log2(soft), 0.0)
        kl_terms = np.where(soft > 0, soft * np.log2(soft / probs), 0.0)

    out = {"softmax": {}, "shifted": {}, "sigmoid": {}, "gradient": {}, "entropy": {}}
    for i, r in enumerate(rows):
        out["softmax"].update({f"C{r}": np.exp(logits[i]), f"D{r}": probs[i], f"E{r}": one_hot[i],
                               f"F{r}": -one_hot[i] * np.log(probs[i])})
        out["shifted"].update({f"A{r}": classes[i], f"B{r}": logits[i] + shift, f"C{r}": np.exp(logits[i] + shift),
                               f"D{r}": shifted[i], f"E{r}": probs[i], f"F{r}": shifted[i] - probs[i]})
        out["sigmoid"].update({f"A{r}": classes[i], f"B{r}": logits[i], f"C{r}": sig[i], f"E{r}": bce[i]})
        out["gradient"].update({f"A{r}": classes[i], f"B{r}": probs[i], f"C{r}": one_hot[i], f"D{r}": grad[i]})
        out["entropy"].update({f"A{r}": classes[i], f"B{r}": probs[i], f"D{r}": surprisal[i],
                               f"E{r}": soft[i] * surprisal[i], f"F{r}": entropy_terms[i], f"G{r}": kl_terms[i]})
    s = wb_module.SUM_ROW
    out["softmax"].update({f"C{s}": np.exp(logits).sum(), f"D{s}": 1.0, f"E{s}": 1.0, f"F{s}": ce,
                           "B13": ce, "B14": ce})
    out["shifted"].update({f"C{s}": np.exp(logits + shift).sum(), f"D{s}": 1.0})
    out["sigmoid"].update({f"C{s}": sig.sum(), "B12": bce.mean()})
    out["gradient"].update({f"D{s}": 0.0})
    cross_bits = float(soft @ surprisal)
    out["entropy"].update({f"B{s}": 1.0, f"C{s}": soft.sum(), f"E{s}": cross_bits, f"F{s}": soft_entropy,
                           f"G{s}": soft_kl, "B12": cross_bits, "B13": soft_entropy, "B14": soft_kl,
                           "B15": soft_entropy + soft_kl, "B16": cross_bits * np.log(2),
                           "B17": soft_entropy * np.log(2), "B18": soft_kl * np.log(2)})
    return out


@pytest.fixture(scope="module")
def values():
    return recalculated(PATH)


@pytest.mark.slow
def test_every_formula_cell_matches_python(values):
    assert_every_formula_matches(PATH, values, expected_values(values))


@pytest.mark.slow
def test_shifted_probabilities_follow_a_changed_input(tmp_path):
    """Change the shift and a logit: LibreOffice recomputes, probabilities still match."""
    wb = load_workbook(PATH)
    wb["shifted"]["B12"] = -123.5
    wb["softmax"]["B7"] = 4.25
    changed = tmp_path / "changed.xlsx"
    wb.save(changed)
    values = recalculated(changed)
    expected = expected_values(values)
    for ref in ("D5", "D7", "D9"):
        assert values["shifted"][ref] == pytest.approx(expected["shifted"][ref], rel=1e-9)
        assert values["softmax"][ref] == pytest.approx(expected["softmax"][ref], rel=1e-9)


@pytest.mark.slow
def test_entropy_sheet_agrees_with_torch_label_smoothing(values):
    """The default soft target is label smoothing 0.1: the sheet's cross-entropy in nats equals
    F.cross_entropy(..., label_smoothing=0.1), and cross-entropy = entropy + KL."""
    import torch
    import torch.nn.functional as F

    sm, en = values["softmax"], values["entropy"]
    logits = torch.tensor([[sm[f"B{r}"] for r in wb_module.ROWS]], dtype=torch.float64)
    target = [sm[f"A{r}"] for r in wb_module.ROWS].index(sm["B12"])
    smoothed = F.cross_entropy(logits, torch.tensor([target]), label_smoothing=wb_module.SMOOTHING).item()
    assert en["B16"] == pytest.approx(smoothed, rel=1e-12)
    assert en["B12"] == pytest.approx(en["B15"], rel=1e-12)


def test_sigmoids_do_not_sum_to_one_and_inputs_are_marked():
    wb = load_workbook(PATH)
    assert wb["sigmoid"]["C10"].value == "=SUM(C5:C9)"
    for sheet, ref in [("softmax", "B5"), ("softmax", "B12"), ("shifted", "B12"), ("sigmoid", "D5"),
                       ("entropy", "C5"), ("entropy", "C9")]:
        assert wb[sheet][ref].fill.fgColor.rgb.endswith("FFF2CC"), f"{sheet}!{ref} is marked as an input"
    assert "LN(" in wb["softmax"]["F5"].value and "LOG(" not in wb["softmax"]["F5"].value
    assert wb["softmax"]._charts, "the softmax sheet has a chart of the probabilities"
    assert wb["entropy"]._charts, "the entropy sheet has a chart of the surprisals"
    assert "LOG(" not in wb["entropy"]["D5"].value and "LN(2)" in wb["entropy"]["D5"].value

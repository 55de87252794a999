"""Lesson 06: the reference answers against independent oracles (torch built-ins, nn.Embedding,
eigendecompositions) on many random inputs, and the figure the lesson must reach."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from nbclient import NotebookClient

from tests.support import notebooks as nbs

LESSON = "06_embeddings"


@pytest.fixture(scope="module")
def ref():
    return nbs.reference_namespace(LESSON)


@pytest.mark.parametrize("seed", range(20))
def test_one_hot_matches_torch(ref, seed):
    g = torch.Generator().manual_seed(seed)
    n = int(torch.randint(1, 50, (1,), generator=g))
    idx = torch.randint(0, n, (int(torch.randint(1, 40, (1,), generator=g)),), generator=g)
    for dtype in (torch.float32, torch.float64):
        got = ref["one_hot"](idx, n, dtype=dtype)
        assert got.dtype == dtype
        assert torch.equal(got, F.one_hot(idx, n).to(dtype))
    assert ref["one_hot"](idx, n).dtype == torch.float32


@pytest.mark.parametrize("seed", range(20))
def test_embedding_lookup_is_the_one_hot_product_and_f_embedding(ref, seed):
    g = torch.Generator().manual_seed(100 + seed)
    n, k = int(torch.randint(1, 30, (1,), generator=g)), int(torch.randint(1, 10, (1,), generator=g))
    weight = torch.randn(n, k, generator=g, dtype=torch.float64, requires_grad=True)
    shape = (int(torch.randint(1, 6, (1,), generator=g)), int(torch.randint(1, 6, (1,), generator=g)))
    idx = torch.randint(0, n, shape, generator=g)
    got = ref["embedding_lookup"](weight, idx)
    assert torch.equal(got, F.embedding(idx, weight))
    flat = idx.flatten()
    assert torch.allclose(ref["embedding_lookup"](weight, flat), F.one_hot(flat, n).double() @ weight, rtol=0, atol=0)
    upstream = torch.randn(*got.shape, generator=g, dtype=torch.float64)
    (grad_ref,) = torch.autograd.grad((got * upstream).sum(), weight)
    (grad_torch,) = torch.autograd.grad((F.embedding(idx, weight) * upstream).sum(), weight)
    assert torch.allclose(grad_ref, grad_torch, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("lo,hi", [(0.0, 5.5), (1.0, 5.0), (-3.0, -1.0), (0.0, 1.0)])
def test_sigmoid_range_matches_torch_sigmoid(ref, lo, hi):
    x = torch.linspace(-50, 50, 1001, dtype=torch.float64)
    got = ref["sigmoid_range"](x, lo, hi)
    assert got.dtype == torch.float64 and got.shape == x.shape
    assert torch.allclose(got, lo + (hi - lo) * torch.special.expit(x), rtol=1e-13, atol=1e-13)
    assert bool((got >= lo).all() and (got <= hi).all())
    assert torch.all(got[1:] >= got[:-1])


class _DotProductBias(nn.Module):
    """fastbook's model, written independently with nn.Embedding, as the oracle."""

    def __init__(self, params, y_range):
        super().__init__()
        self.user_factors = nn.Embedding.from_pretrained(params["user_factors"].clone(), freeze=False)
        self.item_factors = nn.Embedding.from_pretrained(params["item_factors"].clone(), freeze=False)
        self.user_bias = nn.Embedding.from_pretrained(params["user_bias"][:, None].clone(), freeze=False)
        self.item_bias = nn.Embedding.from_pretrained(params["item_bias"][:, None].clone(), freeze=False)
        self.y_range = y_range

    def forward(self, users, items):
        x = (self.user_factors(users) * self.item_factors(items)).sum(dim=1, keepdim=True)
        x = x + self.user_bias(users) + self.item_bias(items)
        lo, hi = self.y_range
        return (torch.sigmoid(x) * (hi - lo) + lo).squeeze(1)


@pytest.mark.parametrize("seed", range(15))
def test_collab_forward_matches_an_nn_embedding_model(ref, seed):
    g = torch.Generator().manual_seed(200 + seed)
    n_users, n_items, k, n = 3 + seed, 4 + 2 * seed, 1 + seed % 6, 20
    params = {"user_factors": torch.randn(n_users, k, generator=g, dtype=torch.float64),
              "item_factors": torch.randn(n_items, k, generator=g, dtype=torch.float64),
              "user_bias": torch.randn(n_users, generator=g, dtype=torch.float64),
              "item_bias": torch.randn(n_items, generator=g, dtype=torch.float64)}
    users, items = torch.randint(0, n_users, (n,), generator=g), torch.randint(0, n_items, (n,), generator=g)
    y_range = [(0.0, 5.5), (1.0, 5.0), (-1.0, 1.0)][seed % 3]
    oracle = _DotProductBias(params, y_range).double()
    expected = oracle(users, items)
    leaves = {name: t.clone().requires_grad_(True) for name, t in params.items()}
    got = ref["collab_forward"](users, items, leaves, y_range)
    assert got.shape == (n,)
    assert torch.allclose(got, expected, rtol=1e-12, atol=1e-12)
    got.pow(3).sum().backward()
    expected.pow(3).sum().backward()
    assert torch.allclose(leaves["user_factors"].grad, oracle.user_factors.weight.grad, rtol=1e-10, atol=1e-12)
    assert torch.allclose(leaves["item_factors"].grad, oracle.item_factors.weight.grad, rtol=1e-10, atol=1e-12)
    assert torch.allclose(leaves["user_bias"].grad, oracle.user_bias.weight.grad[:, 0], rtol=1e-10, atol=1e-12)
    assert torch.allclose(leaves["item_bias"].grad, oracle.item_bias.weight.grad[:, 0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", range(15))
def test_pca_matches_an_eigendecomposition_and_reconstructs(ref, seed):
    r = np.random.default_rng(300 + seed)
    d = int(r.integers(2, 12))
    n = int(r.integers(3 * d, 80))
    k = int(r.integers(1, min(n, d) + 1))
    rotation = np.linalg.qr(r.normal(size=(d, d)))[0]
    x = r.normal(size=(n, d)) * (4 * 0.6 ** np.arange(d)) @ rotation + r.normal(size=d) * 10   # well-separated variances
    scores, components = ref["pca"](x, k)
    assert scores.shape == (n, k) and components.shape == (k, d)
    centred = x - x.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov(centred.T))
    order = np.argsort(values)[::-1][:k]
    top = vectors[:, order].T
    top *= np.sign(top[np.arange(k), np.abs(top).argmax(axis=1)])[:, None]
    np.testing.assert_allclose(components, top, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(components @ components.T, np.eye(k), atol=1e-10)
    np.testing.assert_allclose(scores, centred @ top.T, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(scores.var(axis=0, ddof=1), values[order], rtol=1e-8)
    if k == min(n, d):
        np.testing.assert_allclose(scores @ components + x.mean(axis=0), x, atol=1e-8)


@pytest.fixture(scope="module")
def executed():
    """The solution notebook, executed once in its folder."""
    nb = nbs.read(nbs.solution_path(LESSON))
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(nbs.solution_path(LESSON).parent)}})
    with client.setup_kernel(env=nbs.kernel_env()):
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
    return nb


def _stdout(nb) -> str:
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []) if o.output_type == "stream")


@pytest.mark.slow
def test_training_reaches_the_figure_and_prints_it_on_one_line(executed):
    lines = re.findall(r"^valid MSE: (\d\.\d{4})$", _stdout(executed), re.M)
    assert len(lines) == 1, "the training run ends with exactly one line 'valid MSE: 0.xxxx'"
    assert float(lines[0]) <= 0.81, f"valid MSE {lines[0]} is above the 0.81 the lesson must reach"


@pytest.mark.slow
def test_notebook_reproduces_the_spreadsheet_rmse(executed):
    from workbooks import collab_filter

    ratings = collab_filter.synthetic_ratings()
    dot = collab_filter.fit(ratings, with_bias=False)
    bias = collab_filter.fit(ratings, with_bias=True)
    found = dict(re.findall(r"sheet (\w+)\s*: \d+ ratings, RMSE (\d\.\d{4})", _stdout(executed)))
    assert float(found["dotprod"]) == pytest.approx(collab_filter.rmse(dot, ratings, False), abs=6e-5)
    assert float(found["bias"]) == pytest.approx(collab_filter.rmse(bias, ratings, True), abs=6e-5)

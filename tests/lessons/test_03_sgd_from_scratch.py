"""Lesson 03: the reference answers against independent implementations, and the figures the lesson must reach."""
from __future__ import annotations

import copy
import math
import re

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

from tests.support import notebooks as nbs

LESSON = "03_sgd_from_scratch"


@pytest.fixture(scope="module")
def ref():
    return nbs.reference_namespace(LESSON)


def test_iterations_per_epoch_counts_dataloader_batches(ref):
    r = np.random.default_rng(0)
    for _ in range(300):
        n, b = int(r.integers(0, 3000)), int(r.integers(1, 400))
        for drop in (False, True):
            assert ref["iterations_per_epoch"](n, b, drop_last=drop) == len(DataLoader(range(n), batch_size=b, drop_last=drop))
    assert ref["iterations_per_epoch"](50_000, 64) == math.ceil(50_000 / 64) == 782
    assert ref["iterations_per_epoch"](10**18 + 1, 3) == 10**18 // 3 + 1   # exact for any size


def test_accuracy_matches_a_numpy_count(ref):
    r = np.random.default_rng(1)
    for _ in range(100):
        n, c = int(r.integers(1, 200)), int(r.integers(2, 20))
        z, t = r.normal(size=(n, c)), r.integers(0, c, size=n)
        got = ref["accuracy"](torch.from_numpy(z), torch.from_numpy(t))
        assert isinstance(got, float)
        assert got == pytest.approx(np.mean(z.argmax(axis=1) == t), abs=1e-7)


def test_models_compute_the_documented_formulas(ref):
    gen = torch.Generator().manual_seed(2)
    for _ in range(10):
        x = torch.rand(int(torch.randint(1, 50, (1,), generator=gen)), 784, generator=gen, dtype=torch.float64)
        logistic = ref["MnistLogistic"]().double()
        W, b = logistic.lin.weight.detach(), logistic.lin.bias.detach()
        torch.testing.assert_close(logistic(x), F.linear(x, W, b))
        hidden = int(torch.randint(1, 120, (1,), generator=gen))
        net = ref["MnistNN"](n_hidden=hidden).double()
        expected = nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10)).double()
        expected.load_state_dict({"0.weight": net.lin1.weight, "0.bias": net.lin1.bias,
                                  "2.weight": net.lin2.weight, "2.bias": net.lin2.bias})
        torch.testing.assert_close(net(x), expected(x))
    assert sum(p.numel() for p in ref["MnistLogistic"]().parameters()) == 7850
    assert sum(p.numel() for p in ref["MnistNN"]().parameters()) == 39760


@pytest.mark.parametrize("seed", range(8))
def test_update_is_sgd_with_twice_the_weight_decay(ref, seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    wd = [0.0, 1e-5, 0.01, 0.5][seed % 4]
    lr = [0.01, 0.1, 0.5][seed % 3]
    start = nn.Sequential(nn.Linear(7, 6), nn.ReLU(), nn.Linear(6, 4)).double()
    ours, theirs = copy.deepcopy(start), copy.deepcopy(start)
    opt = torch.optim.SGD(theirs.parameters(), lr=lr, weight_decay=2 * wd)
    for _ in range(40):
        x = torch.randn(int(torch.randint(1, 9, (1,), generator=gen)), 7, generator=gen, dtype=torch.float64)
        y = torch.randint(0, 4, (len(x),), generator=gen)
        penalty = wd * sum((p.detach() ** 2).sum() for p in theirs.parameters())
        opt.zero_grad()
        loss = F.cross_entropy(theirs(x), y)
        loss.backward()
        opt.step()
        got = ref["update"](ours, F.cross_entropy, x, y, lr, wd)
        assert got == pytest.approx(loss.item() + penalty.item(), rel=1e-10)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
        assert a.grad is None or not a.grad.any()


def test_update_matches_finite_differences_of_the_penalised_loss(ref):
    torch.manual_seed(0)
    model = nn.Linear(3, 2).double()
    x, y = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    lr, wd, h = 0.1, 0.3, 1e-6
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])

    def penalised(v):
        W, b = v[:6].view(2, 3), v[6:]
        return (F.mse_loss(x @ W.T + b, y) + wd * (v ** 2).sum()).item()

    numeric = torch.tensor([(penalised(flat + h * e) - penalised(flat - h * e)) / (2 * h)
                            for e in torch.eye(len(flat), dtype=torch.float64)])
    ref["update"](model, F.mse_loss, x, y, lr, wd)
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    torch.testing.assert_close(after, flat - lr * numeric, rtol=1e-7, atol=1e-8)


@pytest.fixture(scope="module")
def executed():
    return nbs.printed(nbs.lesson_run(LESSON).executed)


def figure(text, label):
    found = re.findall(rf"^{label}: (\d\.\d{{4}})$", text, re.M)
    assert len(found) == 1, f"the notebook prints '{label}: 0.xxxx' once"
    return float(found[0])


@pytest.mark.slow
def test_notebook_reaches_the_figures(executed):
    assert figure(executed, "logistic test accuracy") >= 0.92
    assert figure(executed, "two-layer test accuracy") >= 0.97
    first = re.search(r"loss of an untrained model: (\d+\.\d+)", executed)
    assert first and abs(float(first.group(1)) - math.log(10)) < 0.2

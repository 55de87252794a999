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
# Figures the prose quotes from elsewhere than the notebook's run (tests/lessons/test_contracts.py reads this).
FIGURES_FROM_ELSEWHERE = {"0.9635": "fast.ai course v3, lesson 5 (one epoch of one-cycle), FACTS.md",
                          "0.02": "fast.ai course v3, lesson 5: the lecture's learning rate, FACTS.md"}


@pytest.fixture(scope="module")
def ref():
    return nbs.reference_namespace(LESSON)


def test_iterations_per_epoch_counts_dataloader_batches(ref):
    r = np.random.default_rng(0)
    for _ in range(300):
        n, b = int(r.integers(0, 3000)), int(r.integers(1, 400))
        for drop in (False, True):
            got = ref["iterations_per_epoch"](n, b, drop_last=drop)
            assert type(got) is int
            assert got == len(DataLoader(range(n), batch_size=b, drop_last=drop))
    assert ref["iterations_per_epoch"](50_000, 64) == math.ceil(50_000 / 64) == 782
    assert ref["iterations_per_epoch"](10**18 + 1, 3) == 10**18 // 3 + 1   # exact for any size
    assert ref["iterations_per_epoch"](3, 100) == 1 and ref["iterations_per_epoch"](3, 100, drop_last=True) == 0


def test_accuracy_matches_a_numpy_count(ref):
    r = np.random.default_rng(1)
    for _ in range(100):
        n, c = int(r.integers(1, 200)), int(r.integers(2, 20))
        z, t = torch.from_numpy(r.normal(size=(n, c))), torch.from_numpy(r.integers(0, c, size=n))
        z0, t0 = z.clone(), t.clone()
        got = ref["accuracy"](z, t)
        assert type(got) is float
        assert got == pytest.approx(np.mean(z0.numpy().argmax(axis=1) == t0.numpy()), abs=1e-7)
        assert torch.equal(z, z0) and torch.equal(t, t0)


def test_models_compute_the_documented_formulas_and_their_gradients(ref):
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
        R = torch.randn(len(x), 10, generator=gen, dtype=torch.float64)
        (net(x) * R).sum().backward()
        (expected(x) * R).sum().backward()
        for mine, theirs in zip(net.parameters(), expected.parameters()):
            torch.testing.assert_close(mine.grad, theirs.grad)
    assert sum(p.numel() for p in ref["MnistLogistic"]().parameters()) == 7850
    assert sum(p.numel() for p in ref["MnistNN"]().parameters()) == 39760


@pytest.mark.parametrize("seed", range(8))
def test_update_is_torch_sgd_with_the_same_weight_decay(ref, seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    wd = [0.0, 2e-5, 0.02, 1.0][seed % 4]
    lr = [0.01, 0.1, 0.5][seed % 3]
    start = nn.Sequential(nn.Linear(7, 6), nn.ReLU(), nn.Linear(6, 4)).double()
    if seed % 2:
        start[0].bias.requires_grad_(False)
    ours, theirs = copy.deepcopy(start), copy.deepcopy(start)
    trained = [p for p in theirs.parameters() if p.requires_grad]
    opt = torch.optim.SGD(trained, lr=lr, weight_decay=wd)
    for _ in range(40):
        x = torch.randn(int(torch.randint(1, 9, (1,), generator=gen)), 7, generator=gen, dtype=torch.float64)
        y = torch.randint(0, 4, (len(x),), generator=gen)
        penalty = wd / 2 * sum((p.detach() ** 2).sum() for p in trained)
        opt.zero_grad()
        loss = F.cross_entropy(theirs(x), y)
        loss.backward()
        opt.step()
        got = ref["update"](ours, F.cross_entropy, x, y, lr, wd)
        assert type(got) is float
        assert got == pytest.approx(loss.item() + float(penalty), rel=1e-10)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
        assert a.grad is None or not a.grad.any()
    if seed % 2:
        assert torch.equal(ours[0].bias, start[0].bias) and ours[0].bias.grad is None, "a frozen bias stays as it was"


def test_update_matches_finite_differences_of_the_penalised_loss(ref):
    torch.manual_seed(0)
    model = nn.Linear(3, 2).double()
    x, y = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    lr, wd, h = 0.1, 0.3, 1e-6
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])

    def penalised(v):
        W, b = v[:6].view(2, 3), v[6:]
        return (F.mse_loss(x @ W.T + b, y) + wd / 2 * (v ** 2).sum()).item()

    numeric = torch.tensor([(penalised(flat + h * e) - penalised(flat - h * e)) / (2 * h)
                            for e in torch.eye(len(flat), dtype=torch.float64)])
    got = ref["update"](model, F.mse_loss, x, y, lr, wd)
    assert got == pytest.approx(penalised(flat), rel=1e-12)
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    torch.testing.assert_close(after, flat - lr * numeric, rtol=1e-7, atol=1e-8)


def test_the_lecture_penalty_is_sgd_with_twice_the_weight_decay(ref):
    """The text: the lecture's wd * sum(p**2) is our (wd / 2) * sum(p**2) with wd doubled."""
    torch.manual_seed(1)
    model = nn.Linear(4, 3).double()
    lecture = copy.deepcopy(model)
    x, y = torch.randn(6, 4, dtype=torch.float64), torch.randint(0, 3, (6,))
    ref["update"](model, F.cross_entropy, x, y, 0.1, 2e-2)
    loss = F.cross_entropy(lecture(x), y) + 1e-2 * sum((p ** 2).sum() for p in lecture.parameters())
    loss.backward()
    with torch.no_grad():
        for p in lecture.parameters():
            p -= 0.1 * p.grad
    for a, b in zip(model.parameters(), lecture.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


@pytest.fixture(scope="module")
def executed():
    return nbs.lesson_run(LESSON).executed


@pytest.fixture(scope="module")
def printed(executed):
    return nbs.printed(executed)


def figure(text, label):
    found = re.findall(rf"^{label}: (\d\.\d{{4}})$", text, re.M)
    assert len(found) == 1, f"the notebook prints '{label}: 0.xxxx' once"
    return float(found[0])


def number(text, pattern):
    found = re.findall(pattern, text, re.M)
    assert len(found) == 1, f"the notebook prints {pattern!r} once"
    return float(found[0])


@pytest.mark.slow
def test_notebook_reaches_the_figures(printed):
    assert figure(printed, "logistic test accuracy") >= 0.92
    assert figure(printed, "two-layer test accuracy") >= 0.97
    assert 0.84 <= figure(printed, "Fashion-MNIST test accuracy") < figure(printed, "two-layer test accuracy")
    first = re.search(r"loss of an untrained model: (\d+\.\d+)", printed)
    assert first and abs(float(first.group(1)) - math.log(10)) < 0.2
    assert "log-softmax + NLL | exact: True" in printed
    assert re.search(r"softmax - one-hot +\| exact: \w+ +\| close: True", printed)
    for line in re.findall(r"^lin\d\.\w+ .*$", printed, re.M):
        assert "close: True" in line, "update takes the steps of torch.optim.SGD(weight_decay=wd)"


@pytest.mark.slow
def test_timing_claims_hold_in_the_run(printed):
    """The text says: batches() is cheaper than the DataLoader, one example at a time costs tens
    of times a mini-batch epoch, full batch is the cheapest epoch (computed from printed times)."""
    assert number(printed, r"^batches\(\) costs (\d+)% of the DataLoader's time per epoch$") < 100
    assert number(printed, r"one example at a time costs (\d+) times as much") >= 10
    assert number(printed, r"and full batch (\d+)% of it$") < 100
    assert number(printed, r"^DataLoader: (\d+) calls to __getitem__ per batch") == 64


@pytest.mark.slow
def test_batch_size_story(printed):
    """Full batch after 20 epochs is worse than one mini-batch epoch; single examples lead early, then trail."""
    losses = dict(re.findall(r"^(full batch|mini-batch|one example).*valid loss (\d\.\d{4})", printed, re.M))
    assert float(losses["full batch"]) > float(losses["mini-batch"])
    early = re.findall(r"after +(\d+) examples: one at a time (\d\.\d+), batches of 64 (\d\.\d+)", printed)
    by_seen = {int(n): (float(a), float(b)) for n, a, b in early}
    assert all(by_seen[n][0] < by_seen[n][1] for n in (320, 640)), "one at a time is ahead at first"
    assert all(by_seen[n][0] > by_seen[n][1] for n in (1280, 2560)), "then its noise holds it back"
    assert number(printed, r"pass the full batch's final valid loss after (\d\.\d+) epochs") < 0.2


@pytest.mark.slow
def test_fashion_mnist_story(printed):
    """Section 11: shirts are the hardest class and most often taken for T-shirts."""
    rows = re.findall(r"^(\S+(?: \S+)?) +(\d\.\d{3}) of 1000 test images right$", printed, re.M)
    assert len(rows) == 10
    assert rows[0][0] == "shirt" and {name for name, _ in rows[-5:]} == {
        "trouser", "bag", "sandal", "sneaker", "ankle boot"}
    assert "most frequent mistake: shirt taken for T-shirt/top" in printed

"""Lesson 09: the reference answers against independent implementations (numpy, autograd,
torch optimizers) on many random inputs, and the figures the executed lesson must reach."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn as nn

from tests.support import notebooks as nbs

LESSON = "09_fine_tuning"


@pytest.fixture(scope="module")
def ref():
    return nbs.reference_namespace(LESSON)


def _random_groups(r: np.random.Generator) -> list[nn.Module]:
    """Between 1 and 6 layer groups of linear and conv layers, some without parameters."""
    groups = []
    for _ in range(int(r.integers(1, 7))):
        kind = int(r.integers(0, 3))
        if kind == 0:
            groups.append(nn.Sequential(*[nn.Linear(int(r.integers(1, 6)), int(r.integers(1, 6)))
                                          for _ in range(int(r.integers(1, 3)))]))
        elif kind == 1:
            groups.append(nn.Sequential(nn.Conv2d(int(r.integers(1, 4)), int(r.integers(1, 4)), 3), nn.ReLU()))
        else:
            groups.append(nn.ReLU())
    return groups


def test_discriminative_lrs_follow_fastai(ref):
    f = ref["discriminative_lrs"]
    r = np.random.default_rng(0)
    for _ in range(200):
        n = int(r.integers(1, 10))
        lo, hi = sorted(10 ** r.uniform(-7, 0, size=2))
        got = f(slice(lo, hi), n)
        assert got.dtype == np.float64 and got.shape == (n,)
        np.testing.assert_allclose(got, np.geomspace(lo, hi, n) if n > 1 else [hi], rtol=1e-9)
        np.testing.assert_allclose(f(slice(hi), n), [hi / 10] * (n - 1) + [hi], rtol=1e-12)
        np.testing.assert_allclose(f(lo, n), [lo] * n, rtol=1e-12)
    # FACTS.md: three groups, slice(1e-5, 1e-3) -> 1e-5, 1e-4, 1e-3.
    np.testing.assert_allclose(f(slice(1e-5, 1e-3), 3), [1e-5, 1e-4, 1e-3], rtol=1e-12)


def test_freeze_to_matches_python_slicing(ref):
    freeze_to = ref["freeze_to"]
    r = np.random.default_rng(1)
    for _ in range(100):
        groups = _random_groups(r)
        for _ in range(6):
            n = int(r.integers(-len(groups) - 1, len(groups) + 2))
            count = freeze_to(groups, n)
            trainable = set(range(len(groups))[n:])
            for i, g in enumerate(groups):
                assert all(p.requires_grad == (i in trainable) for p in g.parameters())
            assert count == sum(p.numel() for i, g in enumerate(groups) if i in trainable for p in g.parameters())


def test_frozen_parameters_get_no_gradient(ref):
    torch.manual_seed(0)
    groups = [nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 2)]
    model = nn.Sequential(*groups)
    ref["freeze_to"](groups, -1)
    model(torch.randn(3, 4)).sum().backward()
    assert [p.grad is None for p in model.parameters()] == [True, True, True, True, False, False]


def test_param_groups_drive_torch_optimizers(ref):
    r = np.random.default_rng(2)
    for _ in range(40):
        groups = [g.double() for g in _random_groups(r) if list(g.parameters())] or [nn.Linear(2, 2).double()]
        lr = r.choice([0, 1, 2])
        lo, hi = sorted(10 ** r.uniform(-5, -1, size=2))
        lr = [slice(lo, hi), slice(hi), float(hi)][int(lr)]
        rates = ref["discriminative_lrs"](lr, len(groups))
        pgs = ref["param_groups"](groups, lr)
        assert [type(g["lr"]) for g in pgs] == [float] * len(groups)
        g = torch.Generator().manual_seed(int(r.integers(1000)))
        with torch.no_grad():
            for group in groups:
                for p in group.parameters():
                    p.grad = torch.randn(p.shape, generator=g, dtype=p.dtype)
        before = [[p.detach().clone() for p in group.parameters()] for group in groups]
        torch.optim.SGD(pgs, lr=123.0).step()
        for group, rate, old in zip(groups, rates, before):
            for p, p0 in zip(group.parameters(), old):
                torch.testing.assert_close(p.detach(), p0 - float(rate) * p.grad, rtol=1e-6, atol=1e-7)
        # Adam's first step moves every element by (almost exactly) its group's rate.
        before = [[p.detach().clone() for p in group.parameters()] for group in groups]
        torch.optim.Adam(ref["param_groups"](groups, lr), lr=123.0, eps=1e-12).step()
        for group, rate, old in zip(groups, rates, before):
            for p, p0 in zip(group.parameters(), old):
                torch.testing.assert_close((p0 - p.detach()).abs(), torch.full_like(p0, float(rate)), rtol=1e-6, atol=1e-12)


def test_param_groups_with_one_cycle_lr(ref):
    groups = [nn.Linear(3, 3), nn.Linear(3, 3), nn.Linear(3, 2)]
    pgs = ref["param_groups"](groups, slice(1e-4, 1e-2))
    opt = torch.optim.Adam(pgs, lr=1.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[g["lr"] for g in pgs], total_steps=20)
    for _ in range(5):
        opt.step()
        sched.step()
    ratios = [opt.param_groups[i]["lr"] / opt.param_groups[0]["lr"] for i in range(3)]
    np.testing.assert_allclose(ratios, [1.0, 10.0, 100.0], rtol=1e-9)


def test_replace_head_computes_linear_relu_linear(ref):
    r = np.random.default_rng(3)
    for _ in range(30):
        n_features, n_hidden, n_classes, n = (int(v) for v in r.integers(1, 40, size=4))
        body = nn.Sequential(nn.Linear(7, n_features), nn.Tanh())
        model = ref["replace_head"](body, n_features, n_classes, n_hidden=n_hidden)
        assert model[0] is body
        x = torch.randn(n, 7)
        linears = [m for m in model[1].modules() if isinstance(m, nn.Linear)]
        assert [tuple(m.weight.shape) for m in linears] == [(n_hidden, n_features), (n_classes, n_hidden)]
        w1, b1, w2, b2 = linears[0].weight, linears[0].bias, linears[1].weight, linears[1].bias
        expected = torch.clamp(body(x) @ w1.T + b1, min=0) @ w2.T + b2
        torch.testing.assert_close(model(x), expected, rtol=1e-5, atol=1e-6)
    assert ref["replace_head"](nn.Identity(), 5, 3)[1][0].out_features == 64


@pytest.fixture(scope="module")
def executed():
    return nbs.printed(nbs.lesson_run(LESSON).executed)


@pytest.mark.slow
def test_fine_tuning_beats_training_from_scratch(executed):
    acc = {label.strip(): float(v) for label, v in re.findall(r"^(.+?): test accuracy: ([0-9.]+)$", executed, re.M)}
    scratch, head, tuned = (acc[k] for k in ("from scratch (200 steps)", "head only (100 steps)",
                                             "fine-tuned (100 + 100 steps)"))
    assert tuned > scratch + 0.03 and head > scratch, acc
    assert tuned > 0.85, acc
    pretrained = float(re.search(r"task A \(digits 0-4\) valid accuracy: ([0-9.]+)", executed).group(1))
    assert pretrained > 0.98


@pytest.mark.slow
def test_discriminative_rates_beat_the_head_rate_everywhere(executed):
    stage2 = dict(re.findall(r"stage two with\s+(.+?): task B valid accuracy: ([0-9.]+)", executed))
    assert float(stage2["slice(3e-4, 3e-2)"]) > float(stage2["3e-2 everywhere"]), stage2

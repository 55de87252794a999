"""Lesson 08: the reference answers against PyTorch's own layers, autograd and finite differences,
and the figures the lesson's experiments must reach.

The generic checks (the notebook runs, wrong answers are rejected, the lesson's shape) live in
``test_lessons.py``; here the reference solutions meet independent oracles on many random inputs.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from tests.support import notebooks as nbs

LESSON = "08_dropout_batchnorm"


@pytest.fixture(scope="module")
def ref():
    return nbs.reference_namespace(LESSON)


# --- Exercise 8.1: dropout -------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(20))
def test_dropout_follows_the_stated_mask_convention(ref, seed):
    g = torch.Generator().manual_seed(1000 + seed)
    shape = tuple(int(v) for v in torch.randint(1, 9, (int(torch.randint(1, 4, (1,), generator=g)),), generator=g))
    p = float(torch.rand(1, generator=g))
    dtype = torch.float32 if seed % 2 else torch.float64
    x = torch.randn(shape, generator=g, dtype=dtype)
    out = ref["dropout_forward"](x, p, True, torch.Generator().manual_seed(seed))
    keep = torch.rand(shape, generator=torch.Generator().manual_seed(seed)) >= p
    assert out.dtype == dtype and out.shape == x.shape
    assert torch.equal(out == 0, ~keep | (x == 0))
    torch.testing.assert_close(out[keep], x[keep] / (1 - p), rtol=1e-6 if dtype == torch.float32 else 1e-12, atol=0)


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9, 0.99])
def test_dropout_statistics_match_nn_dropout(ref, p):
    x = torch.ones(500, 400, dtype=torch.float64)
    ours = ref["dropout_forward"](x, p, True, torch.Generator().manual_seed(7))
    torch.manual_seed(7)
    theirs = nn.Dropout(p)(x)
    n = x.numel()
    for out in (ours, theirs):
        frac = (out == 0).double().mean().item()
        assert abs(frac - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-12
        # The mean of inverted dropout is 1 in expectation, with variance p / ((1 - p) n).
        assert abs(out.mean().item() - 1.0) <= 5 * np.sqrt(p / (1 - p) / n) + 1e-12
        assert set(out.unique().tolist()) <= {0.0, 1.0 / (1 - p)}


def test_dropout_edge_cases_match_functional_dropout(ref):
    x = torch.randn(6, 5, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(1)
    assert torch.equal(ref["dropout_forward"](x, 1.0, True, g), F.dropout(x, 1.0, training=True))
    assert torch.equal(ref["dropout_forward"](x, 0.0, True, g), F.dropout(x, 0.0, training=True))
    for p in (0.0, 0.3, 1.0):
        assert torch.equal(ref["dropout_forward"](x, p, False, g), F.dropout(x, p, training=False))


def test_dropout_gradient_is_the_mask_scaled(ref):
    x = torch.randn(4, 7, dtype=torch.float64, requires_grad=True)
    out = ref["dropout_forward"](x, 0.4, True, torch.Generator().manual_seed(3))
    out.sum().backward()
    keep = torch.rand(4, 7, generator=torch.Generator().manual_seed(3)) >= 0.4
    torch.testing.assert_close(x.grad, keep.double() / 0.6)


# --- Exercise 8.2: input normalization ----------------------------------------------------------

@pytest.mark.parametrize("seed", range(15))
def test_normalize_inputs_matches_batch_norm_with_training_statistics(ref, seed):
    g = torch.Generator().manual_seed(seed)
    n, m, d = (int(v) for v in torch.randint(2, 60, (3,), generator=g))
    dtype = torch.float32 if seed % 3 == 0 else torch.float64
    # float32 keeps about 7 digits: no features whose spread is tiny next to their mean there.
    scale = torch.logspace(-3, 3, d, dtype=dtype) if dtype == torch.float64 else torch.logspace(-1, 2, d, dtype=dtype)
    x_train = torch.randn(n, d, generator=g, dtype=dtype) * scale + torch.randn(d, generator=g, dtype=dtype) * 10
    x_valid = torch.randn(m, d, generator=g, dtype=dtype) * scale * 3 - 4
    eps = [1e-5, 1e-3, 0.1][seed % 3]
    tr, va, mean, std = ref["normalize_inputs"](x_train, x_valid, eps=eps)
    var = x_train.var(0, unbiased=False)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(tr, F.batch_norm(x_train, None, None, training=True, eps=eps), **tol)
    torch.testing.assert_close(va, F.batch_norm(x_valid, x_train.mean(0), var, training=False, eps=eps), **tol)
    torch.testing.assert_close(mean, torch.from_numpy(x_train.numpy().mean(0)).to(dtype), **tol)
    torch.testing.assert_close(std, torch.from_numpy(np.sqrt(x_train.numpy().var(0) + eps)).to(dtype), **tol)


# --- Exercise 8.3: batch norm forward -----------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_batchnorm_forward_matches_batchnorm1d_over_many_steps(ref, seed):
    g = torch.Generator().manual_seed(seed)
    dtype = torch.float32 if seed % 2 else torch.float64
    d = int(torch.randint(1, 12, (1,), generator=g))
    momentum = [0.1, 0.01, 0.5][seed % 3]
    eps = [1e-5, 1e-3][seed % 2]
    bn = nn.BatchNorm1d(d, eps=eps, momentum=momentum).to(dtype)
    with torch.no_grad():
        bn.weight.copy_(torch.rand(d, generator=g, dtype=dtype) * 2)
        bn.bias.copy_(torch.randn(d, generator=g, dtype=dtype))
    rm, rv = torch.zeros(d, dtype=dtype), torch.ones(d, dtype=dtype)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-9, atol=1e-10)
    for step in range(200):
        n = int(torch.randint(2, 40, (1,), generator=g))
        training = bool(torch.rand(1, generator=g) < 0.7)
        x = torch.randn(n, d, generator=g, dtype=dtype) * 4 + 3
        out, rm, rv = ref["batchnorm_forward"](x, bn.weight.detach(), bn.bias.detach(), rm, rv, momentum, eps, training)
        bn.train(training)
        with torch.no_grad():
            expected = bn(x)
        assert out.dtype == dtype and rm.dtype == dtype and rv.dtype == dtype
        torch.testing.assert_close(out, expected, **tol)
        torch.testing.assert_close(rm, bn.running_mean, **tol)
        torch.testing.assert_close(rv, bn.running_var, **tol)


def test_batchnorm_forward_does_not_modify_its_inputs(ref):
    x, gamma, beta = torch.randn(5, 3), torch.rand(3), torch.randn(3)
    rm, rv = torch.randn(3), torch.rand(3) + 1
    copies = [t.clone() for t in (x, gamma, beta, rm, rv)]
    for training in (True, False):
        ref["batchnorm_forward"](x, gamma, beta, rm, rv, 0.1, 1e-5, training)
        for before, after in zip(copies, (x, gamma, beta, rm, rv)):
            assert torch.equal(before, after)


# --- Exercise 8.4: batch norm backward ----------------------------------------------------------

@pytest.mark.parametrize("seed", range(12))
def test_batchnorm_backward_matches_autograd(ref, seed):
    g = torch.Generator().manual_seed(seed)
    n, d = int(torch.randint(2, 30, (1,), generator=g)), int(torch.randint(1, 10, (1,), generator=g))
    x = torch.randn(n, d, generator=g, dtype=torch.float64) * 10 ** float(torch.rand(1, generator=g) * 4 - 2) + 5
    dout = torch.randn(n, d, generator=g, dtype=torch.float64)
    gamma = torch.randn(d, generator=g, dtype=torch.float64)
    eps = [1e-5, 1e-2][seed % 2]
    xa, ga = x.clone().requires_grad_(), gamma.clone().requires_grad_()
    ba = torch.zeros(d, dtype=torch.float64, requires_grad=True)
    out = F.batch_norm(xa, None, None, ga, ba, training=True, eps=eps)
    expected = torch.autograd.grad(out, (xa, ga, ba), dout)
    got = ref["batchnorm_backward"](dout, x, gamma, eps)
    for a, e in zip(got, expected):
        torch.testing.assert_close(a, e, rtol=1e-8, atol=1e-10)


def test_batchnorm_backward_matches_finite_differences_of_the_reference_forward(ref):
    g = torch.Generator().manual_seed(42)
    x = torch.randn(5, 3, generator=g, dtype=torch.float64)
    gamma, dout = torch.randn(3, generator=g, dtype=torch.float64), torch.randn(5, 3, generator=g, dtype=torch.float64)
    zeros, ones = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)

    def loss(x_, gamma_):
        out, _, _ = ref["batchnorm_forward"](x_, gamma_, zeros, zeros, ones, 0.1, 1e-5, True)
        return (dout * out).sum().item()

    dx, dgamma, dbeta = ref["batchnorm_backward"](dout, x, gamma, 1e-5)
    h = 1e-6
    num_dx = torch.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        bump = torch.zeros_like(x)
        bump[idx] = h
        num_dx[idx] = (loss(x + bump, gamma) - loss(x - bump, gamma)) / (2 * h)
    num_dgamma = torch.zeros_like(gamma)
    for j in range(3):
        bump = torch.zeros_like(gamma)
        bump[j] = h
        num_dgamma[j] = (loss(x, gamma + bump) - loss(x, gamma - bump)) / (2 * h)
    torch.testing.assert_close(dx, num_dx, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(dgamma, num_dgamma, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(dbeta, dout.sum(0))


# --- The lesson's experiments -------------------------------------------------------------------

@pytest.fixture(scope="module")
def printed():
    """Everything the executed solution notebook printed (the session's one probed run)."""
    return nbs.printed(nbs.lesson_run(LESSON).executed)


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, f"the notebook no longer prints {pattern!r}"
    return float(match.group(1))


@pytest.mark.slow
def test_experiments_reach_the_figures_the_lesson_describes(printed):
    # Dropout narrows the train/valid gap and helps on 1,000 digits.
    gap = {p: _number(rf"dropout p = {p}: .*gap ([\d.]+)", printed) for p in ("0.0", "0.5")}
    acc = {p: _number(rf"dropout p = {p}: .*valid accuracy: ([\d.]+)", printed) for p in ("0.0", "0.5")}
    assert gap["0.5"] < gap["0.0"] - 0.03
    assert acc["0.5"] > acc["0.0"] + 0.005
    # Normalized features converge quickly; raw ones do not within 300 steps.
    assert "raw features        : loss after 300 steps" in printed and "more than 300" in printed
    assert _number(r"normalized features .*steps to within 1 %: (\d+)", printed) < 100
    # Gamma and beta move the outputs to the ratings' range.
    assert _number(r"gamma, beta frozen .*training MSE: ([\d.]+)", printed) > 5
    assert _number(r"gamma, beta learned.*training MSE: ([\d.]+)", printed) < 0.2
    # Running variance with unbiased batch variances estimates 4; with biased ones about 2.
    assert abs(_number(r"running var \(unbiased\) ([\d.]+)", printed) - 4) < 0.5
    assert abs(_number(r"with biased batch variances ([\d.]+)", printed) - 2) < 0.4
    # Batch norm makes lr 1.0 work; without it the same lr fails.
    bn = _number(r"with    batch norm, lr  1.0: .*valid accuracy: ([\d.]+)", printed)
    no_bn_high = _number(r"without batch norm, lr  1.0: .*valid accuracy: ([\d.]+)", printed)
    no_bn_low = _number(r"without batch norm, lr 0.05: .*valid accuracy: ([\d.]+)", printed)
    assert bn > 0.9 and bn > no_bn_low + 0.05 and no_bn_high < 0.6
    # Shifts and rotations help on 1,000 digits.
    plain = _number(r"no augmentation\s*: .*valid accuracy: ([\d.]+)", printed)
    augmented = _number(r"shifts and rotations\s*: .*valid accuracy: ([\d.]+)", printed)
    assert augmented > plain + 0.02
    # The backward pass agrees with finite differences.
    assert _number(r"relative error vs finite differences: ([\d.e+-]+);", printed) < 1e-6

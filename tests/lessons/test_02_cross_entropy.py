"""Lesson 02's reference answers against torch and finite differences on many random inputs, and
the figures the prose quotes, read from the executed notebook."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.support import notebooks as nbs
from tests.support.notebooks import reference_namespace

ref = reference_namespace("02_cross_entropy")
SEEDS = range(25)


def _batch(seed, scale=5.0, dtype=np.float64):
    r = np.random.default_rng(seed)
    n, c = int(r.integers(1, 33)), int(r.integers(2, 20))
    return r.normal(scale=scale, size=(n, c)).astype(dtype), r.integers(0, c, size=n)


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_and_log_softmax_match_torch(seed):
    z, _ = _batch(seed, scale=10.0 ** (seed % 5))
    np.testing.assert_allclose(ref["softmax"](z), torch.softmax(torch.from_numpy(z), -1).numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ref["log_softmax"](z), torch.log_softmax(torch.from_numpy(z), -1).numpy(), rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_losses_match_torch(seed):
    z, t = _batch(seed)
    zt, tt = torch.from_numpy(z), torch.from_numpy(t)
    lp = ref["log_softmax"](z)
    assert ref["nll_loss"](lp, t) == pytest.approx(F.nll_loss(torch.from_numpy(lp), tt).item(), rel=1e-12)
    assert ref["cross_entropy"](z, t) == pytest.approx(F.cross_entropy(zt, tt).item(), rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_gradient_matches_autograd_and_finite_differences(seed):
    z, t = _batch(seed, scale=2.0)
    zt = torch.from_numpy(z.copy()).requires_grad_()
    F.cross_entropy(zt, torch.from_numpy(t)).backward()
    grad = ref["cross_entropy_grad"](z, t)
    np.testing.assert_allclose(grad, zt.grad.numpy(), rtol=1e-10, atol=1e-14)
    i, j = seed % z.shape[0], seed % z.shape[1]
    h = 1e-6
    bump = np.zeros_like(z)
    bump[i, j] = h
    numeric = (ref["cross_entropy"](z + bump, t) - ref["cross_entropy"](z - bump, t)) / (2 * h)
    assert grad[i, j] == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_extreme_logits_stay_finite_and_float32_stays_float32():
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]])
    assert np.isfinite(ref["log_softmax"](z)).all() and np.isfinite(ref["softmax"](z)).all()
    assert np.isfinite(ref["cross_entropy_grad"](z, np.array([1, 2]))).all()
    z32 = z.astype(np.float32)
    assert ref["softmax"](z32).dtype == np.float32 and ref["log_softmax"](z32).dtype == np.float32


def _distributions(r, shape, zeros=False):
    w = np.exp(r.normal(scale=2.0, size=shape))
    if zeros:
        w = w * (r.random(shape) < 0.5)
        w[..., -1] += 0.1
    return w / w.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("seed", SEEDS)
def test_entropy_and_kl_match_torch_distributions(seed):
    r = np.random.default_rng(3000 + seed)
    shape = [(7,), (int(r.integers(1, 9)), 5), (2, 3, 4)][seed % 3]
    p, q = _distributions(r, shape, zeros=seed % 2 == 1), _distributions(r, shape)
    base = [2.0, math.e, 10.0][seed % 3]
    pt, qt = torch.from_numpy(p), torch.from_numpy(q)
    entropy = torch.distributions.Categorical(probs=pt).entropy() / math.log(base)
    kl = torch.distributions.kl_divergence(torch.distributions.Categorical(probs=pt),
                                           torch.distributions.Categorical(probs=qt)) / math.log(base)
    np.testing.assert_allclose(ref["entropy"](p, base=base), entropy.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ref["kl_divergence"](p, q, base=base), kl.numpy(), rtol=1e-9, atol=1e-12)
    # cross-entropy = entropy + KL, in any base
    cross = -(p * np.log(q)).sum(axis=-1) / math.log(base)
    np.testing.assert_allclose(ref["entropy"](p, base=base) + ref["kl_divergence"](p, q, base=base), cross, rtol=1e-10)


def test_entropy_and_kl_special_values():
    one_hot = np.array([[0.0, 1.0, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(ref["entropy"](one_hot), [0.0, math.log2(3)], rtol=1e-12)
    with np.errstate(all="raise"):                       # no warning escapes the reference
        kl = ref["kl_divergence"](np.array([0.5, 0.5, 0.0]), np.array([1.0, 0.0, 0.0]))
        assert kl == np.inf
        assert ref["kl_divergence"](np.array([1.0, 0.0]), np.array([0.5, 0.0])) == 1.0
    p = _distributions(np.random.default_rng(1), (4, 6), zeros=True)
    assert (ref["kl_divergence"](p, p.copy()) == 0).all()


def _bce_case(seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    shape = [(8, 3), (1, 6), (5,), (2, 4, 3)][seed % 4]
    z = torch.randn(shape, generator=g, dtype=dtype) * [1.0, 10.0, 1e3, 1e4][seed % 4]
    z.view(-1)[:2] = 0.0                                 # exact zeros: the kinks of max and |z|
    y = torch.rand(shape, generator=g, dtype=dtype)
    w = torch.rand(shape[-1], generator=g, dtype=dtype) * 5 + 0.1 if seed % 3 else None
    return z, y, w


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("seed", SEEDS)
def test_bce_with_logits_value_and_gradient_match_torch(seed, dtype):
    z, y, w = _bce_case(4000 + seed, dtype)
    za, zb = z.clone().requires_grad_(), z.clone().requires_grad_()
    ours = ref["bce_with_logits"](za, y, pos_weight=w)
    theirs = F.binary_cross_entropy_with_logits(zb, y, pos_weight=w)
    assert ours.dtype == dtype and ours.shape == () and torch.isfinite(ours)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(ours, theirs, rtol=tol, atol=tol)
    ours.backward()
    theirs.backward()
    torch.testing.assert_close(za.grad, zb.grad, rtol=tol, atol=1e-9 if dtype == torch.float64 else 1e-6)


def test_bce_with_logits_passes_gradcheck_away_from_large_logits():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    y, w = torch.rand(4, 3, generator=g, dtype=torch.float64), torch.tensor([0.5, 2.0, 4.0], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda t: ref["bce_with_logits"](t, y, pos_weight=w), (z,))


# ---------------------------------------------------------------- figures of the executed notebook

# Numbers of the prose that no run of this notebook prints (constants, illustrations, citations).
FIGURES_FROM_ELSEWHERE = {
    "99.9": "an illustration of a confident mistake, not a run",
    "2.7": "e = 2.718..., mathematics",
    "4.1": "a section number of Goodfellow, Bengio and Courville (2016)",
}


@pytest.fixture(scope="module")
def printed():
    return nbs.printed(nbs.lesson_run("02_cross_entropy").executed)


def _number(pattern, text):
    match = re.search(pattern, text, re.M)
    assert match, f"the notebook no longer prints {pattern!r}"
    return float(match.group(1))


@pytest.mark.slow
def test_cross_entropy_is_entropy_plus_kl_in_the_run(printed):
    line = re.search(r"H\(y\) = (\S+) bits, KL\(y \|\| p\) = (\S+) bits, H\(y\) \+ KL = (\S+) bits, "
                     r"H\(y, p\) = (\S+) bits = (\S+) nats", printed)
    assert line, "the notebook prints H(y), KL, their sum and the cross-entropy on one line"
    h, kl, total, ce, nats = (float(v) for v in line.groups())
    assert h + kl == pytest.approx(ce, abs=2e-4) and total == ce
    assert nats == pytest.approx(ce * math.log(2), abs=1e-4)
    assert _number(r"label_smoothing=0\.1\): (\S+) nats", printed) == nats
    two_class = re.search(r"smallest cross-entropy (\S+) bits at q = 0\.80; H\(y\) = (\S+) bits", printed)
    assert two_class and two_class.group(1) == two_class.group(2)


@pytest.mark.slow
def test_maximum_likelihood_figures(printed):
    assert _number(r"training raised the likelihood by (\d+) orders of magnitude", printed) == 130
    with_model = _number(r"the labels cost (\d+) bits to write down", printed)
    assert with_model == 42 and _number(r"probabilities, (\d+) bits without them", printed) == 475
    assert "product 0.0, log-likelihood -5268.0" in printed


@pytest.mark.slow
def test_naive_bce_overflows_where_the_stable_one_does_not(printed):
    assert "sigmoid then log: [inf, 20.0, 0.6931471824645996, nan, nan]" in printed
    assert "sigmoid then log: [nan, -0.0, 0.6931471824645996, inf, inf]" in printed
    assert _number(r"sigmoid\(z\) is exactly 1 from z = (\S+),", printed) == pytest.approx(17, abs=0.5)
    assert _number(r"exactly 0 from z = (-\S+)$", printed) == pytest.approx(-89, abs=0.5)
    ours = re.findall(r": ours (\S+), torch (\S+)$", printed, re.M)
    assert len(ours) == 3 and all(a == b for a, b in ours)


@pytest.mark.slow
def test_the_mean_fixes_the_gradient_scale_not_the_steps_per_epoch(printed):
    """Section 9: with the mean the gradient has the same size for batches of 32 and 512, with the sum
    it grows with the batch; at one learning rate the larger batch lags, with lr x 16 it catches up."""
    norms = {int(b): (float(m), float(s)) for b, m, s in
             re.findall(r"^batch\s+(\d+): first gradient norm (\S+) with the mean, (\S+) with the sum$", printed, re.M)}
    assert norms[512][0] == pytest.approx(norms[32][0], rel=0.2)
    assert norms[512][1] / norms[32][1] == pytest.approx(16, rel=0.2)
    loss = {(int(b), float(lr)): float(v) for b, lr, v in
            re.findall(r"^batch\s+(\d+), lr (\S+):\s+\d+ steps, loss after one epoch (\S+)$", printed, re.M)}
    assert loss[(512, 0.01)] > loss[(32, 0.01)] + 0.3
    assert abs(loss[(512, 0.16)] - loss[(32, 0.01)]) < 0.05

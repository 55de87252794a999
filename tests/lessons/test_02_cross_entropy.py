"""Lesson 02's reference answers against torch and finite differences, on many random inputs."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

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

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

# Numbers the lesson's prose quotes that its run does not print.
FIGURES_FROM_ELSEWHERE = {
    "0.1307": "mean pixel of all 60,000 MNIST training images, the value torchvision's examples use",
    "0.3081": "standard deviation of the same",
    "60,000": "the number of MNIST training images before our 50,000 / 10,000 split",
    "5.5": "the upper end of lesson 06's sigmoid_range",
    "0.99": "the default momentum of Keras's BatchNormalization",
    "0.04": "emb_drop of the fastai v1 Rossmann notebook",
    "8.7": "a section number of Goodfellow, Bengio and Courville (2016)",
    "4.3": "a section number of Goodfellow, Bengio and Courville (2016)",
}


@pytest.fixture(scope="module")
def ref():
    return nbs.reference_namespace(LESSON)


def _fresh_state(d, dtype=torch.float64):
    return {"running_mean": torch.zeros(d, dtype=dtype), "running_var": torch.ones(d, dtype=dtype),
            "num_batches_tracked": torch.tensor(0)}


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


# --- Exercise 8.2: dropout's backward pass ------------------------------------------------------

@pytest.mark.parametrize("seed", range(12))
def test_dropout_backward_matches_autograd_through_functional_dropout(ref, seed):
    g = torch.Generator().manual_seed(2000 + seed)
    shape = tuple(int(v) for v in torch.randint(1, 7, (int(torch.randint(1, 4, (1,), generator=g)),), generator=g))
    p = [0.0, 0.2, 0.5, 0.9, 0.999, 1.0][seed % 6]
    dtype = torch.float32 if seed % 2 else torch.float64
    x = torch.randn(shape, generator=g, dtype=dtype, requires_grad=True)
    dout = torch.randn(shape, generator=g, dtype=dtype)
    torch.manual_seed(seed)
    out = F.dropout(x, p, training=True)
    expected = torch.autograd.grad(out, x, dout)[0]
    # F.dropout zeroes exactly the dropped entries; where it kept one, out = x / (1 - p) != 0 here.
    keep = out.detach() != 0
    got = ref["dropout_backward"](dout, keep, p)
    assert got.dtype == dtype and not torch.isnan(got).any()
    torch.testing.assert_close(got, expected, rtol=1e-6 if dtype == torch.float32 else 1e-12, atol=0)


def test_dropout_backward_matches_pytorchs_kernel(ref):
    x = torch.randn(30, 20, dtype=torch.float64)
    dout = torch.randn(30, 20, dtype=torch.float64)
    for p in (0.1, 0.5, 0.9):
        torch.manual_seed(int(p * 10))
        _, mask = torch.native_dropout(x, p, True)
        torch.testing.assert_close(ref["dropout_backward"](dout, mask, p),
                                   torch.ops.aten.native_dropout_backward(dout, mask, 1 / (1 - p)), rtol=1e-12, atol=0)


@pytest.mark.parametrize("p", [0.0, 0.25, 0.6, 0.95, 1.0])
def test_dropout_function_passes_gradcheck_and_matches_the_forward(ref, p):
    fn = ref["DropoutFunction"]
    x = torch.randn(5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(4), requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: fn.apply(t, p, torch.Generator().manual_seed(9)), (x,))
    out = fn.apply(x.detach(), p, torch.Generator().manual_seed(9))
    assert torch.equal(out, ref["dropout_forward"](x.detach(), p, True, torch.Generator().manual_seed(9)))


def test_dropout_function_keeps_its_mask_while_the_generator_moves_on(ref):
    fn = ref["DropoutFunction"]
    g = torch.Generator().manual_seed(5)
    x = torch.randn(40, 30, dtype=torch.float64, requires_grad=True)
    out = fn.apply(x, 0.5, g)
    torch.rand(1000, generator=g)                     # the generator is used for something else meanwhile
    grad = torch.autograd.grad(out, x, torch.ones_like(out))[0]
    torch.testing.assert_close(grad, (out.detach() != 0).double() * 2.0)


# --- Exercise 8.3: input normalization ----------------------------------------------------------

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


# --- Exercise 8.4: batch norm forward -----------------------------------------------------------

@pytest.mark.parametrize("seed", range(8))
def test_batchnorm_forward_matches_batchnorm1d_over_many_steps(ref, seed):
    g = torch.Generator().manual_seed(seed)
    dtype = torch.float32 if seed % 2 else torch.float64
    d = int(torch.randint(1, 12, (1,), generator=g))
    momentum = [0.1, 0.01, 0.5, None][seed % 4]
    eps = [1e-5, 1e-3][seed % 2]
    bn = nn.BatchNorm1d(d, eps=eps, momentum=momentum).to(dtype)
    with torch.no_grad():
        bn.weight.copy_(torch.rand(d, generator=g, dtype=dtype) * 2)
        bn.bias.copy_(torch.randn(d, generator=g, dtype=dtype))
    state = _fresh_state(d, dtype)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-9, atol=1e-10)
    for step in range(200):
        training = bool(torch.rand(1, generator=g) < 0.7)
        n = int(torch.randint(2 if training else 1, 40, (1,), generator=g))
        x = torch.randn(n, d, generator=g, dtype=dtype) * 4 + 3
        out, state = ref["batchnorm_forward"](x, bn.weight.detach(), bn.bias.detach(), state, momentum, eps, training)
        bn.train(training)
        with torch.no_grad():
            expected = bn(x)
        assert out.dtype == dtype and state["running_mean"].dtype == dtype and state["running_var"].dtype == dtype
        torch.testing.assert_close(out, expected, **tol)
        for name in ("running_mean", "running_var"):
            torch.testing.assert_close(state[name], getattr(bn, name), **tol)
        assert torch.equal(state["num_batches_tracked"], bn.num_batches_tracked)


def test_batchnorm_forward_does_not_modify_its_inputs(ref):
    x, gamma, beta = torch.randn(5, 3), torch.rand(3), torch.randn(3)
    state = {"running_mean": torch.randn(3), "running_var": torch.rand(3) + 1, "num_batches_tracked": torch.tensor(3)}
    copies = [t.clone() for t in (x, gamma, beta)], {k: v.clone() for k, v in state.items()}
    for training in (True, False):
        ref["batchnorm_forward"](x, gamma, beta, state, 0.1, 1e-5, training)
        for before, after in zip(copies[0], (x, gamma, beta)):
            assert torch.equal(before, after)
        assert state.keys() == copies[1].keys() and all(torch.equal(state[k], copies[1][k]) for k in state)


def test_batchnorm_forward_gradients_match_functional_batch_norm(ref):
    g = torch.Generator().manual_seed(11)
    x = torch.randn(9, 4, generator=g, dtype=torch.float64)
    gamma, beta = torch.rand(4, generator=g, dtype=torch.float64) + 0.5, torch.randn(4, generator=g, dtype=torch.float64)
    dout = torch.randn(9, 4, generator=g, dtype=torch.float64)
    for training in (True, False):
        state = {"running_mean": torch.randn(4, generator=g, dtype=torch.float64),
                 "running_var": torch.rand(4, generator=g, dtype=torch.float64) + 1, "num_batches_tracked": torch.tensor(0)}
        leaves = [t.clone().requires_grad_() for t in (x, gamma, beta)]
        ours = torch.autograd.grad(ref["batchnorm_forward"](*leaves, state, 0.1, 1e-5, training)[0], leaves, dout)
        leaves = [t.clone().requires_grad_() for t in (x, gamma, beta)]
        out = F.batch_norm(leaves[0], state["running_mean"].clone(), state["running_var"].clone(), leaves[1], leaves[2],
                           training=training, eps=1e-5)
        for a, e in zip(ours, torch.autograd.grad(out, leaves, dout)):
            torch.testing.assert_close(a, e, rtol=1e-9, atol=1e-11)


# --- Exercise 8.5: batch norm backward ----------------------------------------------------------

def _random_backward_case(seed):
    g = torch.Generator().manual_seed(seed)
    n, d = int(torch.randint(2, 30, (1,), generator=g)), int(torch.randint(1, 10, (1,), generator=g))
    x = torch.randn(n, d, generator=g, dtype=torch.float64) * 10 ** float(torch.rand(1, generator=g) * 4 - 2) + 5
    if seed % 4 == 3:
        x[:, 0] = 2.5                                  # a feature that is constant over the batch
    dout = torch.randn(n, d, generator=g, dtype=torch.float64)
    gamma = torch.randn(d, generator=g, dtype=torch.float64)
    return dout, x, gamma, [1e-5, 1e-2][seed % 2]


@pytest.mark.parametrize("seed", range(12))
def test_batchnorm_backward_matches_autograd(ref, seed):
    dout, x, gamma, eps = _random_backward_case(seed)
    xa, ga = x.clone().requires_grad_(), gamma.clone().requires_grad_()
    ba = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    out = F.batch_norm(xa, None, None, ga, ba, training=True, eps=eps)
    expected = torch.autograd.grad(out, (xa, ga, ba), dout)
    stages = ref["batchnorm_backward_staged"](dout, x, gamma, eps)
    for got in (ref["batchnorm_backward"](dout, x, gamma, eps), (stages["x"], stages["gamma"], stages["beta"])):
        for a, e in zip(got, expected):
            torch.testing.assert_close(a, e, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("seed", range(8))
def test_batchnorm_backward_stages_match_finite_differences(ref, seed):
    """Each stage's gradient, checked by perturbing that stage's value in the forward graph."""
    dout, x, gamma, eps = _random_backward_case(100 + seed)
    n = x.shape[0]
    stages = ref["batchnorm_backward_staged"](dout, x, gamma, eps)

    def loss(**override):
        mean = override.get("mean", x.mean(0))
        centered = override.get("centered", x - mean)
        var = override.get("var", (centered**2).mean(0))
        inv_std = override.get("inv_std", 1 / torch.sqrt(var + eps))
        x_hat = override.get("x_hat", centered * inv_std)
        return (dout * (gamma * x_hat)).sum().item()

    values = {"mean": x.mean(0)}
    values["centered"] = x - values["mean"]
    values["var"] = (values["centered"] ** 2).mean(0)
    values["inv_std"] = 1 / torch.sqrt(values["var"] + eps)
    values["x_hat"] = values["centered"] * values["inv_std"]
    for name, value in values.items():
        numeric = torch.zeros_like(value)
        h = 1e-6 * max(1.0, value.abs().max().item())
        for idx in np.ndindex(*value.shape):
            bump = torch.zeros_like(value)
            bump[idx] = h
            numeric[idx] = (loss(**{name: value + bump}) - loss(**{name: value - bump})) / (2 * h)
        scale = max(1.0, numeric.abs().max().item())
        torch.testing.assert_close(stages[name], numeric, rtol=1e-5, atol=1e-5 * scale, msg=f"stage {name}, n = {n}")


def test_batchnorm_backward_matches_finite_differences_of_the_reference_forward(ref):
    g = torch.Generator().manual_seed(42)
    x = torch.randn(5, 3, generator=g, dtype=torch.float64)
    gamma, dout = torch.randn(3, generator=g, dtype=torch.float64), torch.randn(5, 3, generator=g, dtype=torch.float64)
    zeros = torch.zeros(3, dtype=torch.float64)

    def loss(x_, gamma_):
        out, _ = ref["batchnorm_forward"](x_, gamma_, zeros, _fresh_state(3), 0.1, 1e-5, True)
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


# --- Exercise 8.6: fastai's ps ------------------------------------------------------------------

@pytest.mark.parametrize("n_layers", [1, 2, 3, 6])
def test_head_ps_follows_fastai_create_head(ref, n_layers):
    for p in (0.0, 0.25, 0.5, 0.9):
        for ps in (p, [p], (p,)):
            result = ref["head_ps"](ps, n_layers)
            assert type(result) is list and len(result) == n_layers
            assert result[-1] == p and all(q == p / 2 for q in result[:-1])
    full = [0.1 * (i + 1) for i in range(n_layers)]
    assert ref["head_ps"](full, n_layers) == full and ref["head_ps"](tuple(full), n_layers) == full


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
    # The hand-written Function passes gradcheck for every p; the one that redraws its mask fails it.
    for p in (0.0, 0.3, 0.9, 1.0):
        assert f"gradcheck of DropoutFunction, p = {p}: True" in printed
    assert "gradcheck of FreshMaskDropout, p = 0.3: False" in printed
    # Gradient descent: standardizing evens the scales but keeps the correlation; whitening removes it.
    rho = _number(r"correlation of rooms and area: ([\d.]+)", printed)
    assert 0.9 < rho < 0.95
    kappa = {name: _number(rf"{name}\s*: curvatures .*condition number ([\d.]+);", printed)
             for name in ("raw", "standardized", "whitened")}
    predicted = _number(r"\(1 \+ rho\) / \(1 - rho\) = ([\d.]+)", printed)
    assert kappa["raw"] > 1e4 and abs(kappa["standardized"] - predicted) < 0.05 and kappa["whitened"] < 1.001
    assert re.search(r"raw .*\n.*k = 1.0: more than 300 steps", printed)
    assert _number(r"standardized.*\n.*k = 1.0: (\d+) steps", printed) < 100
    assert re.search(r"whitened.*\n.*k = 1.0: 1 step,", printed)
    assert printed.count("k = 1.9: more than 300 steps") <= 1 and printed.count("k = 2.05: diverges") == 3
    # Gamma and beta move the outputs to the ratings' range.
    assert _number(r"gamma, beta frozen .*training MSE: ([\d.]+)", printed) > 5
    assert _number(r"gamma, beta learned.*training MSE: ([\d.]+)", printed) < 0.2
    # Running variance with unbiased batch variances estimates 4; with biased ones about 2.
    assert abs(_number(r"running var \(unbiased\) ([\d.]+)", printed) - 4) < 0.5
    assert abs(_number(r"with biased batch variances ([\d.]+)", printed) - 2) < 0.4
    # track_running_stats=False: eval mode uses the batch, so the example's output equals train mode's.
    train_a = re.search(r"track_running_stats=False, train mode, the example in batch a: (\[.*?\])", printed).group(1)
    eval_a = re.search(r"track_running_stats=False, eval mode,  the example in batch a: (\[.*?\])", printed).group(1)
    assert train_a == eval_a and "the example alone: ValueError" in printed
    # Batch norm makes lr 1.0 work; without it the same lr fails.
    bn = _number(r"with    batch norm, lr  1.0: .*valid accuracy: ([\d.]+)", printed)
    no_bn_high = _number(r"without batch norm, lr  1.0: .*valid accuracy: ([\d.]+)", printed)
    no_bn_low = _number(r"without batch norm, lr 0.05: .*valid accuracy: ([\d.]+)", printed)
    assert bn > 0.9 and bn > no_bn_low + 0.05 and no_bn_high < 0.6
    # The backward pass agrees with finite differences; eps sets the constant feature's gradient.
    assert _number(r"relative error vs finite differences: ([\d.e+-]+);", printed) < 1e-6
    assert abs(_number(r"a constant feature: .* = ([\d.]+) = 1/sqrt", printed) - 1e-5 ** -0.5) < 0.1
    # fastai's head: p/2 before the first linear layer, p before the last.
    assert "dropout before each linear layer, ps=0.5: [0.25, 0.5]" in printed
    # Shifts and rotations help on 1,000 digits.
    plain = _number(r"no augmentation\s*: .*valid accuracy: ([\d.]+)", printed)
    augmented = _number(r"shifts and rotations\s*: .*valid accuracy: ([\d.]+)", printed)
    assert augmented > plain + 0.02

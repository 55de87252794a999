"""Lesson 01: the reference answers against independent oracles (torch.autograd, gradcheck,
torch.nn.init, finite differences) on many random inputs, and the figures the prose quotes."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.support import notebooks as nbs
from tests.support.notebooks import reference_namespace

LESSON = "01_backprop"
# Numbers of the prose that no run of this notebook prints.
FIGURES_FROM_ELSEWHERE: dict[str, str] = {}


@pytest.fixture(scope="module")
def ref():
    return reference_namespace(LESSON)


def _close(a, b, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


@pytest.mark.parametrize("seed", range(40))
def test_relu_backward_matches_autograd(ref, seed):
    r = np.random.default_rng(seed)
    shape = tuple(int(v) for v in r.integers(1, 6, size=int(r.integers(1, 4))))
    x = r.integers(-3, 4, size=shape).astype(np.float64) * r.choice([1.0, 0.37])   # exact zeros included
    dout = r.normal(size=shape)
    xt = torch.tensor(x, requires_grad=True)
    torch.relu(xt).backward(torch.tensor(dout))
    got = ref["relu_backward"](dout, x)
    assert got.shape == x.shape and got.dtype == x.dtype
    _close(got, xt.grad.numpy(), rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(20))
def test_linear_backward_matches_autograd(ref, seed, dtype):
    r = np.random.default_rng(1000 + seed)
    n, d, m = (int(v) for v in r.integers(1, 12, size=3))
    x, w, b, dout = (r.normal(size=s).astype(dtype) for s in [(n, d), (d, m), (m,), (n, m)])
    ts = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    (ts[0] @ ts[1] + ts[2]).backward(torch.tensor(dout))
    got = ref["linear_backward"](dout, x, w, b)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for g, t in zip(got, ts):
        assert g.dtype == dtype
        _close(g, t.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("seed", range(20))
def test_mse_grad_matches_autograd(ref, seed):
    r = np.random.default_rng(2000 + seed)
    shape = tuple(int(v) for v in r.integers(1, 7, size=int(r.integers(1, 4))))
    p, t = r.normal(scale=10, size=shape), r.normal(size=shape)
    pt = torch.tensor(p, requires_grad=True)
    F.mse_loss(pt, torch.tensor(t)).backward()
    _close(ref["mse_grad"](p, t), pt.grad.numpy(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("seed", range(20))
def test_mlp_backward_matches_autograd_and_finite_differences(ref, seed):
    r = np.random.default_rng(3000 + seed)
    n, d, h, m = (int(v) for v in r.integers(1, 8, size=4))
    params = {"w1": r.normal(size=(d, h)), "b1": r.normal(size=h), "w2": r.normal(size=(h, m)), "b2": r.normal(size=m)}
    x, y = r.normal(size=(n, d)), r.normal(size=(n, m))
    loss, grads = ref["mlp_backward"](x, y, params)

    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    torch_loss = F.mse_loss(F.linear(torch.relu(F.linear(torch.tensor(x), p["w1"].T, p["b1"])), p["w2"].T, p["b2"]),
                            torch.tensor(y))
    torch_loss.backward()
    assert isinstance(loss, float)
    _close(loss, torch_loss.item(), rtol=1e-12)
    assert set(grads) == set(params)
    for k in params:
        assert grads[k].shape == params[k].shape
        _close(grads[k], p[k].grad.numpy(), rtol=1e-9, atol=1e-12)

    # An oracle that does not share the answer's code: central differences in float64.
    for k in params:
        def f(v, k=k):
            q = {**params, k: v}
            out = np.maximum(x @ q["w1"] + q["b1"], 0) @ q["w2"] + q["b2"]
            return float(((out - y) ** 2).mean())
        numeric = np.zeros_like(params[k])
        for idx in np.ndindex(*params[k].shape):
            e = np.zeros_like(params[k])
            e[idx] = 1e-6
            numeric[idx] = (f(params[k] + e) - f(params[k] - e)) / 2e-6
        _close(grads[k], numeric, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("seed", range(10))
def test_numerical_gradient_matches_autograd(ref, seed):
    r = np.random.default_rng(4000 + seed)
    shape = tuple(int(v) for v in r.integers(1, 5, size=int(r.integers(1, 4))))
    x = r.normal(size=shape)
    a = r.normal(size=shape)

    def torch_f(v):
        return torch.logsumexp((v * torch.tensor(a)).flatten(), 0) + (torch.sin(v) * v).sum()

    xt = torch.tensor(x, requires_grad=True)
    torch_f(xt).backward()
    before = x.copy()
    got = ref["numerical_gradient"](lambda v: float(torch_f(torch.tensor(v))), x)
    assert got.shape == x.shape and got.dtype == np.float64
    np.testing.assert_array_equal(x, before)
    _close(got, xt.grad.numpy(), rtol=1e-6, atol=1e-8)


def test_numerical_gradient_is_second_order_accurate(ref):
    """Halving h divides the error of the central difference by about 4."""
    x = np.array([0.3, -1.2])
    exact = np.exp(x)
    errs = [np.abs(ref["numerical_gradient"](lambda v: float(np.exp(v).sum()), x, h=h) - exact).max()
            for h in (1e-2, 5e-3)]
    assert 3.5 < errs[0] / errs[1] < 4.5


@pytest.mark.parametrize("fan_in,fan_out", [(784, 50), (50, 784), (256, 256), (3, 1000)])
def test_kaiming_init_has_torch_kaiming_normal_scale(ref, fan_in, fan_out):
    w = ref["kaiming_init"](fan_in, fan_out, np.random.default_rng(fan_in))
    torch_w = torch.empty(fan_out, fan_in, dtype=torch.float64)      # torch stores (out, in)
    torch.nn.init.kaiming_normal_(torch_w, mode="fan_in", nonlinearity="relu",
                                  generator=torch.Generator().manual_seed(0))
    assert w.shape == (fan_in, fan_out) and w.dtype == np.float64
    assert w.std() == pytest.approx(torch_w.std().item(), rel=0.05)
    assert abs(w.mean()) < 4 * w.std() / math.sqrt(w.size)
    np.testing.assert_array_equal(w, ref["kaiming_init"](fan_in, fan_out, np.random.default_rng(fan_in)))


def test_kaiming_keeps_deep_relu_activations_of_order_one(ref):
    """The lesson's claim: 50 Linear(256, 256)+ReLU layers keep a std of order one with Kaiming."""
    r = np.random.default_rng(0)
    a = r.standard_normal((512, 256))
    for _ in range(50):
        a = np.maximum(a @ ref["kaiming_init"](256, 256, r), 0)
    assert 0.2 < a.std() < 5


def test_hand_written_gradients_train_the_network(ref):
    r = np.random.default_rng(0)
    x = np.linspace(-1, 1, 100)[:, None]
    y = np.sin(3 * x)
    params = {"w1": r.standard_normal((1, 32)) * math.sqrt(2), "b1": r.standard_normal(32),
              "w2": r.standard_normal((32, 1)) * math.sqrt(2 / 32), "b2": np.zeros(1)}
    first, _ = ref["mlp_backward"](x, y, params)
    for _ in range(1000):
        loss, grads = ref["mlp_backward"](x, y, params)
        for k in params:
            params[k] -= 0.05 * grads[k]
    assert loss < 0.1 * first


def _through(layer, x, w, b, dout):
    leaves = [t.clone().requires_grad_() for t in (x, w, b)]
    out = layer(*leaves)
    out.backward(dout)
    return [out.detach()] + [t.grad for t in leaves]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("seed", range(15))
def test_linear_relu_function_matches_autograd(ref, seed, dtype):
    g = torch.Generator().manual_seed(5000 + seed)
    n, d, m = (int(v) for v in torch.randint(1, 9, (3,), generator=g))
    x, w, b, dout = (torch.randn(s, generator=g, dtype=dtype) for s in [(n, d), (d, m), (m,), (n, m)])
    got = _through(ref["LinearReLU"].apply, x, w, b, dout)
    want = _through(lambda *t: torch.relu(t[0] @ t[1] + t[2]), x, w, b, dout)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    for a, e in zip(got, want):
        assert a.dtype == dtype and a.shape == e.shape
        torch.testing.assert_close(a, e, rtol=tol, atol=tol)


@pytest.mark.parametrize("seed", range(5))
def test_linear_relu_function_passes_gradcheck_and_keeps_relu_convention_at_zero(ref, seed):
    g = torch.Generator().manual_seed(6000 + seed)
    inputs = tuple(torch.randn(s, generator=g, dtype=torch.float64).requires_grad_() for s in [(4, 3), (3, 5), (5,)])
    assert torch.autograd.gradcheck(ref["LinearReLU"].apply, inputs)
    # integer-valued inputs put many pre-activations exactly at 0, where torch.relu's gradient is 0
    x, w, b = (torch.randint(-1, 2, s, generator=g).double() for s in [(6, 4), (4, 5), (5,)])
    assert ((x @ w + b) == 0).any()
    dout = torch.randn(6, 5, generator=g, dtype=torch.float64)
    for a, e in zip(_through(ref["LinearReLU"].apply, x, w, b, dout),
                    _through(lambda *t: torch.relu(t[0] @ t[1] + t[2]), x, w, b, dout)):
        torch.testing.assert_close(a, e, rtol=0, atol=1e-12)


def test_mlp_backward_uses_relu_prime_zero_at_the_kink(ref):
    r = np.random.default_rng(7)
    x = r.integers(-2, 3, size=(8, 3)).astype(np.float64)
    params = {"w1": r.integers(-1, 2, size=(3, 6)).astype(np.float64), "b1": r.integers(-1, 2, size=6).astype(np.float64),
              "w2": r.normal(size=(6, 2)), "b2": r.normal(size=2)}
    y = r.normal(size=(8, 2))
    assert ((x @ params["w1"] + params["b1"]) == 0).any()
    _, grads = ref["mlp_backward"](x, y, params)
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    F.mse_loss(torch.relu(torch.tensor(x) @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"], torch.tensor(y)).backward()
    for k in params:
        _close(grads[k], p[k].grad.numpy(), rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- figures of the executed notebook

@pytest.fixture(scope="module")
def printed():
    return nbs.printed(nbs.lesson_run(LESSON).executed)


def _number(pattern, text):
    match = re.search(pattern, text, re.M)
    assert match, f"the notebook no longer prints {pattern!r}"
    return float(match.group(1))


@pytest.mark.slow
def test_kink_conventions_the_lesson_states(printed):
    assert _number(r"PyTorch's ReLU gradient at exactly 0: (\S+)", printed) == 0.0
    assert _number(r"gradient of clamp\(z, min=0\)\s+at exactly 0: (\S+)", printed) == 1.0
    assert _number(r"gradient of maximum\(z, 0\)\s+at exactly 0: (\S+)", printed) == 0.5
    assert _number(r"gradient of abs\(z\)\s+at exactly 0: (\S+)", printed) == 0.0


@pytest.mark.slow
def test_gradient_descent_does_not_reach_the_best_fit_of_the_same_width(printed):
    """Section 4's corrected claim: least squares on 64 random kinks beats 8000 steps of gradient descent."""
    least_squares = _number(r"^width\s+64: MSE (\S+)$", printed)
    trained = _number(r"^training MSE: (\S+)$", printed)
    assert least_squares == pytest.approx(8.8e-4, rel=0.01)
    assert trained == pytest.approx(0.0482, abs=5e-5)
    assert _number(r"the loss fell from (\S+) to", printed) == pytest.approx(2.41, abs=0.005)
    assert least_squares < trained / 10


@pytest.mark.slow
def test_training_through_linear_relu_reproduces_the_numpy_run(printed):
    match = re.search(r"after 1000 steps: loss (\S+) through LinearReLU, (\S+) in section 12's NumPy run", printed)
    assert match and match.group(1) == match.group(2)
    assert _number(r"largest difference between the two loss curves over 1000 steps: (\S+)", printed) < 1e-10
    assert "gradcheck of Square:      True" in printed and "gradcheck of SquareNoTwo: False" in printed


@pytest.mark.slow
def test_dead_units_and_initialisation_figures(printed):
    assert "at initialisation: 10 of 64 hidden units dead" in printed
    assert _number(r"lr 0\.1:  MSE (\S+) after 1000 steps, 60 of 64", printed) == pytest.approx(0.57, abs=0.005)
    assert "randn                                std after layer 1: 9.35, after layer 50: nan, first inf/nan/zero at layer 36" in printed
    assert _number(r"^Kaiming\s+std after layer 1: (\S+),", printed) == pytest.approx(0.83, abs=0.005)

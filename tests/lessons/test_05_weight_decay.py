"""Lesson 05: the reference answers against torch's optimizers and norms, and the lesson's claims."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from tests.support import notebooks as nbs

LESSON = "05_weight_decay"


@pytest.fixture(scope="module")
def ref():
    return nbs.reference_namespace(LESSON)


def random_params(gen, dtype=torch.float64, scale=1.0):
    shapes = [tuple(int(s) for s in torch.randint(1, 6, (int(torch.randint(0, 4, (1,), generator=gen)),), generator=gen))
              for _ in range(int(torch.randint(1, 5, (1,), generator=gen)))]
    return [(scale * torch.randn(s, generator=gen, dtype=dtype)).requires_grad_() for s in shapes]


@pytest.mark.parametrize("seed", range(20))
def test_penalties_match_norms_and_finite_differences(ref, seed):
    gen = torch.Generator().manual_seed(seed)
    params = random_params(gen)
    wd, l1 = float(torch.rand(1, generator=gen)), float(torch.rand(1, generator=gen))
    value = ref["l2_penalty"](params, wd)
    assert value.item() == pytest.approx(wd * sum(torch.linalg.norm(p.detach().flatten()).item() ** 2 for p in params), rel=1e-12)
    for p, grad in zip(params, torch.autograd.grad(value, params)):
        torch.testing.assert_close(grad, 2 * wd * p.detach())
    elastic = ref["elastic_net_penalty"](params, l1, wd)
    expected = sum(l1 * p.detach().abs().sum().item() + wd * (p.detach() ** 2).sum().item() for p in params)
    assert elastic.item() == pytest.approx(expected, rel=1e-12)
    assert ref["elastic_net_penalty"](params, 0.0, wd).item() == pytest.approx(value.item(), rel=1e-12)
    # central differences of the elastic net on the first tensor (away from the kink at 0)
    h = 1e-6
    p0 = params[0].detach()
    flat = p0.flatten()
    for i in range(min(len(flat), 5)):
        if abs(flat[i]) < 1e-3:
            continue
        bump = torch.zeros_like(flat)
        bump[i] = h
        up = ref["elastic_net_penalty"]([(flat + bump).view_as(p0)] + [p.detach() for p in params[1:]], l1, wd).item()
        down = ref["elastic_net_penalty"]([(flat - bump).view_as(p0)] + [p.detach() for p in params[1:]], l1, wd).item()
        assert (up - down) / (2 * h) == pytest.approx(l1 * np.sign(flat[i].item()) + 2 * wd * flat[i].item(), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("seed", range(10))
def test_sgd_steps_match_torch_sgd_and_each_other(ref, seed):
    gen = torch.Generator().manual_seed(seed)
    X, y = torch.randn(30, 5, generator=gen, dtype=torch.float64), torch.randn(30, 2, generator=gen, dtype=torch.float64)
    start = [torch.randn(5, 2, generator=gen, dtype=torch.float64), torch.randn(2, generator=gen, dtype=torch.float64)]
    lr, wd = 0.05, [0.0, 0.01, 0.3, 2.0][seed % 4]

    def grads_at(params):
        ps = [p.detach().requires_grad_() for p in params]
        return list(torch.autograd.grad(((X @ ps[0] + ps[1] - y) ** 2).mean(), ps))

    def torch_run(weight_decay):
        ps = [p.clone().requires_grad_() for p in start]
        opt = torch.optim.SGD(ps, lr=lr, weight_decay=weight_decay)
        for _ in range(50):
            opt.zero_grad()
            ((X @ ps[0] + ps[1] - y) ** 2).mean().backward()
            opt.step()
        return [p.detach() for p in ps]

    l2, dec, dec2 = start, start, start
    for _ in range(50):
        l2 = ref["sgd_step_l2"](l2, grads_at(l2), lr, wd)
        dec = ref["sgd_step_decoupled"](dec, grads_at(dec), lr, wd)
        dec2 = ref["sgd_step_decoupled"](dec2, grads_at(dec2), lr, 2 * wd)
    for a, b, c, d, e in zip(l2, torch_run(2 * wd), dec, torch_run(wd), dec2):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(c, d, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-12)   # L2(wd) == decoupled(2 wd) for plain SGD


def grad_fn(p, t, scale):
    return scale * (torch.sin(2.0 * p + 0.3 * t) + 0.2 * p)


@pytest.mark.parametrize("seed", range(12))
def test_adam_and_adamw_match_torch(ref, seed):
    gen = torch.Generator().manual_seed(seed)
    p0 = torch.randn(int(torch.randint(1, 8, (1,), generator=gen)), generator=gen, dtype=torch.float64)
    scale = torch.exp(4 * torch.randn(p0.shape, generator=gen, dtype=torch.float64))
    lr = float(10 ** (-3 * torch.rand(1, generator=gen) - 0.5))
    mom, sqr_mom = [(0.9, 0.999), (0.8, 0.99), (0.0, 0.9)][seed % 3]
    eps, wd = [1e-8, 1e-5, 1e-3][seed % 3], [0.0, 0.01, 0.5, 3.0][seed % 4]
    for name, make in [("adam_step", lambda ps: torch.optim.Adam(ps, lr=lr, betas=(mom, sqr_mom), eps=eps)),
                       ("adamw_step", lambda ps: torch.optim.AdamW(ps, lr=lr, betas=(mom, sqr_mom), eps=eps, weight_decay=wd))]:
        p = p0.clone().requires_grad_()
        opt = make([p])
        q = p0.clone()
        state = {"step": 0, "grad_avg": torch.zeros_like(q), "sqr_avg": torch.zeros_like(q)}
        for t in range(100):
            p.grad = grad_fn(p.detach(), t, scale)
            opt.step()
            extra = {"wd": wd} if name == "adamw_step" else {}
            q, state = ref[name](q, grad_fn(q, t, scale), state, lr, mom=mom, sqr_mom=sqr_mom, eps=eps, **extra)
        torch.testing.assert_close(q, p.detach(), rtol=1e-9, atol=1e-12)
        assert state["step"] == 100


def test_adam_with_l2_is_not_adamw_but_sgd_with_l2_is_decoupled_decay(ref):
    """The lesson's central claim, on weights with gradients of very different scales."""
    lr, wd = 0.01, 0.05
    scales = torch.tensor([10.0, 0.01], dtype=torch.float64)
    p_l2 = p_w = torch.ones(2, dtype=torch.float64)
    s_l2 = s_w = {"step": 0, "grad_avg": torch.zeros(2, dtype=torch.float64), "sqr_avg": torch.zeros(2, dtype=torch.float64)}
    for t in range(500):
        g = scales * (-1) ** t
        p_l2, s_l2 = ref["adam_step"](p_l2, g + 2 * wd * p_l2, s_l2, lr)
        p_w, s_w = ref["adamw_step"](p_w, g, s_w, lr, 2 * wd)
    # AdamW decays both weights alike; Adam + L2 barely decays the weight with large gradients.
    assert abs(p_w[0] - p_w[1]) < 0.05
    assert p_l2[0] > 0.9 and abs(p_l2[1]) < 0.1


@pytest.fixture(scope="module")
def executed():
    return nbs.printed(nbs.lesson_run(LESSON).executed)


@pytest.mark.slow
def test_notebook_shows_overfitting_and_its_cure(executed):
    rows = re.findall(r"^wd (\S+)\s+final: train loss (\d\.\d+)  valid loss (\d\.\d+)  valid accuracy (\d\.\d+)"
                      r"\s+\(lowest valid loss (\d\.\d+) at epoch (\d+)\)$", executed, re.M)
    assert len(rows) >= 3, "the experiment prints one line per wd"
    by_wd = {float(r[0]): [float(v) for v in r[1:]] for r in rows}
    train0, valid0, _, lowest0, _ = by_wd[0.0]
    assert valid0 > lowest0 + 0.03, "without weight decay the validation loss rises from its minimum"
    assert train0 < 0.05, "without weight decay the training loss goes to almost zero"
    best_final = min(v[1] for wd, v in by_wd.items() if wd > 0)
    assert best_final < valid0 - 0.03, "some wd > 0 ends with a clearly lower validation loss"

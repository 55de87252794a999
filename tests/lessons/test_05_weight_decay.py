"""Lesson 05: the reference answers against torch's optimizers, norms and brute force, and the
figures the lesson's prose quotes from its run."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn as nn

from tests.support import notebooks as nbs

LESSON = "05_weight_decay"
# Numbers the prose quotes from elsewhere than the run (conventions and defaults of libraries).
FIGURES_FROM_ELSEWHERE = {
    "0.01": "torch.optim.AdamW's and fastai's default weight decay; a lecture wd of 0.01",
    "0.02": "the same lecture wd in PyTorch's convention",
    "0.1": "a wd often better for small data sets (fastai); the written question's weight_decay",
    "1.0": "the written question's weight_decay",
    "7.1": "a section of Goodfellow, Bengio and Courville's Deep Learning",
}


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
    assert value.dtype == torch.float64 and value.shape == ()
    assert value.item() == pytest.approx(wd / 2 * sum(torch.linalg.norm(p.detach().flatten()).item() ** 2 for p in params),
                                         rel=1e-12)
    for p, grad in zip(params, torch.autograd.grad(value, params)):
        torch.testing.assert_close(grad, wd * p.detach())   # PyTorch's weight_decay: wd * p
    elastic = ref["elastic_net_penalty"](params, l1, wd)
    expected = sum(l1 * p.detach().abs().sum().item() + wd / 2 * (p.detach() ** 2).sum().item() for p in params)
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
        assert (up - down) / (2 * h) == pytest.approx(l1 * np.sign(flat[i].item()) + wd * flat[i].item(), rel=1e-6, abs=1e-8)


def torch_optimizer_as_step(optimizer):
    """A lesson-04 step function (params, grads, state, lr, **options) backed by a torch.optim optimizer."""
    holder = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = optimizer([holder], lr=0.0)
    defaults = dict(opt.defaults)

    def step(params, grads, state, lr, **options):
        holder.data, holder.grad = torch.tensor(params), torch.tensor(grads)
        opt.state[holder] = {k: v.clone() for k, v in state.items()}
        opt.param_groups[0].update({**defaults, "lr": lr, **options})
        opt.step()
        return holder.detach().numpy().copy(), {k: v.clone() for k, v in opt.state[holder].items()}

    return step


@pytest.mark.parametrize("seed", range(12))
def test_with_weight_decay_matches_torch_optim(ref, seed):
    """Coupled decay is torch's weight_decay, decoupled decay on Adam is AdamW, on SGD a shrink before the step."""
    r = np.random.default_rng(seed)
    shape = [(5,), (2, 3), (), (3, 2, 2)][seed % 4]
    p0 = np.array(r.normal(size=shape))
    A = np.array(r.uniform(0.2, 2.0, size=shape))
    lrs = np.linspace(0.05, 0.005, 80)
    wd = [0.0, 0.05, 0.5, 3.0][seed % 4]
    kind, options = [("SGD", {}), ("SGD", {"momentum": 0.9}), ("Adam", {"betas": (0.8, 0.99), "eps": 1e-6})][seed % 3]
    for decoupled in (False, True):
        step = ref["with_weight_decay"](torch_optimizer_as_step(getattr(torch.optim, kind)), wd, decoupled=decoupled)
        p, state = p0.copy(), {}
        for t, lr in enumerate(lrs):
            p, state = step(p, np.asarray(A * p + np.sin(t + p)), state, float(lr), **options)
        q = torch.nn.Parameter(torch.tensor(p0))
        if kind == "Adam" and decoupled:
            opt = torch.optim.AdamW([q], lr=0.1, weight_decay=wd, **options)
        else:
            opt = getattr(torch.optim, kind)([q], lr=0.1, weight_decay=0.0 if decoupled else wd, **options)
        for t, lr in enumerate(lrs):
            opt.param_groups[0]["lr"] = float(lr)
            q.grad = torch.tensor(A) * q.detach() + torch.sin(t + q.detach())
            if decoupled and kind == "SGD":
                with torch.no_grad():
                    q.mul_(1 - lr * wd)
            opt.step()
        np.testing.assert_allclose(p, q.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_coupled_and_decoupled_agree_for_plain_sgd_only(ref):
    wrap = ref["with_weight_decay"]
    sgd = torch_optimizer_as_step(torch.optim.SGD)
    p, g = np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.1, -0.2])
    a = wrap(sgd, 0.4)(p, g, {}, 0.1)[0]
    b = wrap(sgd, 0.4, decoupled=True)(p, g, {}, 0.1)[0]
    np.testing.assert_allclose(a, b, rtol=1e-15)
    ends = []
    for decoupled in (False, True):
        q, state, step = p, {}, wrap(sgd, 0.4, decoupled=decoupled)
        for _ in range(3):   # one step is the same; the buffer carries the coupled decay into the next ones
            q, state = step(q, g, state, 0.1, momentum=0.9)
        ends.append(q)
    assert not np.allclose(*ends)


@pytest.mark.parametrize("seed", range(10))
def test_l1_proximal_step_minimises_the_proximal_objective(ref, seed):
    """The result z* minimises 0.5 * (z - v)^2 + lr * l1 * |z| entrywise, v the gradient step."""
    gen = torch.Generator().manual_seed(seed)
    param, grad = torch.randn(4, 5, generator=gen, dtype=torch.float64), torch.randn(4, 5, generator=gen, dtype=torch.float64)
    lr, l1 = 0.1 + 0.3 * seed / 10, [0.0, 0.5, 2.0, 5.0][seed % 4]
    out = ref["l1_proximal_step"](param, grad, lr, l1)
    v, t = param - lr * grad, lr * l1

    def objective(z):
        return 0.5 * (z - v) ** 2 + t * z.abs()

    for delta in (1e-3, -1e-3, 1e-1, -1e-1):
        assert torch.all(objective(out) <= objective(out + delta) + 1e-15)
    assert torch.all(objective(out) <= objective(torch.zeros_like(out)) + 1e-15)
    assert torch.equal(out == 0, v.abs() <= t)


def test_decay_param_groups_drive_an_optimizer(ref):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    model[1].requires_grad_(False)
    groups = ref["decay_param_groups"](model, 0.2)
    assert [g["weight_decay"] for g in groups] == [0.2, 0.0]
    assert [[p.shape for p in g["params"]] for g in groups] == [[(2, 1, 3, 3), (3, 32)], [(2,), (3,)]]
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(groups, lr=0.5)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    after = list(model.parameters())
    for b, a, factor in zip(before, after, [0.9, 1.0, 1.0, 1.0, 0.9, 1.0]):
        torch.testing.assert_close(a.detach(), b * factor)


@pytest.fixture(scope="module")
def executed():
    return nbs.printed(nbs.lesson_run(LESSON).executed)


@pytest.mark.slow
def test_momentum_makes_coupled_decay_one_over_one_minus_mu_stronger(executed):
    rows = re.findall(r"^\s+(\d\.\d\d)\s+(\S+)\s+(\S+)\s+(\d+\.\d\d)\s+(\d+\.\d\d)$", executed, re.M)
    assert len(rows) == 4, "one row per momentum"
    for mom, _, _, ratio, expected in rows:
        assert float(expected) == pytest.approx(1 / (1 - float(mom)), abs=0.01)
        assert float(ratio) == pytest.approx(float(expected), rel=0.05)
    coupled, decoupled = re.search(r"coupled:   largest distance to ridge\(0.5\) (\S+)\n"
                                   r"decoupled: largest distance to ridge\(0.5\) \S+, to ridge\(0.05\) (\S+)", executed).groups()
    assert float(coupled) < 1e-6 and float(decoupled) < 1e-6


@pytest.mark.slow
def test_adam_l2_crushes_the_small_gradient_weight_and_adamw_does_not(executed):
    found = dict((k, (float(a), float(b))) for k, a, b in
                 re.findall(r"^(\w+)\(weight_decay=0.1\)\s+after 2000 steps: A = (\S+), B = (\S+)$", executed, re.M))
    assert found["Adam"][0] > 0.7 and found["Adam"][1] < 0.01
    assert found["AdamW"][0] == pytest.approx(found["AdamW"][1], abs=1e-3)
    assert len(re.findall(r"^500 steps: with_weight_decay.*\| close: True", executed, re.M)) == 2


@pytest.mark.slow
def test_l1_is_sparse_proximal_zeros_are_exact_and_l2_has_its_spike_at_zero(executed):
    rows = re.findall(r"^(.+?)\s+valid accuracy (\S+)\s+largest \|w\| (\S+)\s+sum of w² +(\S+)\s+\|w\| < 1e-3:\s+(\S+)%"
                      r"\s+w = 0:\s+(\S+)%\n.*bin at zero: (\d+) weights, (\d+) of them never-lit$", executed, re.M)
    table = {name.strip(): [float(v) for v in values] for name, *values in rows}
    assert len(table) == 5
    never_lit = int(re.search(r"so (\d+) of the 7,840 weights never get", executed).group(1))
    l2 = table["L2 (wd 0.02)"]
    assert l2[6] == never_lit and l2[5] > 2 * table["none"][5], "L2's never-lit weights make a spike at zero"
    assert table["L1 (0.001), gradient"][4] == 0.0 and table["L1 (0.001), proximal"][4] > 70.0


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

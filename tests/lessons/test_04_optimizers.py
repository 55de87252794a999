"""Lesson 04: the reference step functions against torch.optim and hand-written loops, and the lesson's claims.

The reference answers run alone (``reference_namespace``), on many random problems: each is
compared for 100 steps with the ``torch.optim`` optimizer configured to the same convention,
and ``fit_model`` trains small networks with each of them against ``torch.optim`` on the same
batches; then the facts the lesson states (the learning-rate limits on the bowl, the three
momentum conventions, the bias-correction example, the spreadsheet fit, Adadelta's eps, the
MNIST comparison) are checked with them or against the executed notebook.
"""
from __future__ import annotations

import copy
import re

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from openpyxl import load_workbook

from tests.support import notebooks as nbs
from workbooks import graddesc
from workbooks.__main__ import SOLUTIONS

LESSON = "04_optimizers"
# Figures the prose quotes from elsewhere than the notebook's run (tests/lessons/test_contracts.py reads this).
FIGURES_FROM_ELSEWHERE = {"6.5": "the number of Tieleman and Hinton's lecture (Further reading)"}
STEPS = 100


@pytest.fixture(scope="module")
def ref():
    return nbs.reference_namespace(LESSON)


def problem(seed: int, shape: tuple, dtype=np.float64, scale: float = 1.0):
    """A random diagonal quadratic with noise: grad_t(p) = curvature * p + noise[t]."""
    r = np.random.default_rng(seed)
    p0 = r.normal(size=shape).astype(dtype)
    curvature = (r.uniform(0.05, 4.0, size=shape) * scale).astype(dtype)
    noise = (r.normal(scale=0.5, size=(STEPS,) + shape) * scale).astype(dtype)
    return p0, curvature, noise


def run_ours(step, seed, shape, dtype=np.float64, scale=1.0, lrs=None, **hp):
    p, curvature, noise = problem(seed, shape, dtype, scale)
    state = {}
    for t in range(STEPS):
        if lrs is not None:
            hp["lr"] = float(lrs[t])
        p, state = step(p, curvature * p + noise[t], state, **hp)
    return p, state


def run_torch(make, seed, shape, dtype=np.float64, scale=1.0, lrs=None, lr_factor=1.0):
    p0, curvature, noise = problem(seed, shape, dtype, scale)
    p = torch.nn.Parameter(torch.from_numpy(p0))
    opt = make([p])
    for t in range(STEPS):
        if lrs is not None:
            opt.param_groups[0]["lr"] = float(lrs[t]) * lr_factor
        p.grad = torch.from_numpy(curvature) * p.detach() + torch.from_numpy(noise[t])
        opt.step()
    return p.detach().numpy(), opt.state[p]


def close(a, b, rtol=1e-9, atol=1e-12):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=rtol, atol=atol)


def random_case(seed):
    r = np.random.default_rng(1000 + seed)
    shape = tuple(int(n) for n in r.integers(1, 5, size=int(r.integers(1, 4))))
    return r, shape


@pytest.mark.parametrize("seed", range(20))
def test_sgd_and_momentum_match_torch(ref, seed):
    r, shape = random_case(seed)
    lr, mom, wd = float(r.uniform(0.005, 0.1)), float(r.uniform(0.0, 0.95)), float(r.choice([0.0, 0.1]))
    p, _ = run_ours(ref["sgd_step"], seed, shape, lr=lr, wd=wd)
    q, _ = run_torch(lambda ps: torch.optim.SGD(ps, lr=lr, weight_decay=wd), seed, shape)
    close(p, q)
    p, state = run_ours(ref["momentum_step"], seed, shape, lr=lr, mom=mom, wd=wd)
    q, tstate = run_torch(lambda ps: torch.optim.SGD(ps, lr=lr, momentum=mom, weight_decay=wd), seed, shape)
    close(p, q)
    close(state["grad_avg"], tstate["momentum_buffer"])
    # The dampened average with lr is PyTorch's buffer with lr * (1 - mom), also under a schedule.
    lrs = np.linspace(0.3, 0.01, STEPS) * float(r.uniform(0.2, 1.0))
    p, state = run_ours(ref["momentum_step"], seed, shape, lrs=lrs, mom=mom, dampening=True)
    q, tstate = run_torch(lambda ps: torch.optim.SGD(ps, lr=1.0, momentum=mom), seed, shape, lrs=lrs,
                          lr_factor=1 - mom)
    close(p, q)
    close(state["grad_avg"], (1 - mom) * tstate["momentum_buffer"].numpy())
    p, state = run_ours(ref["nesterov_step"], seed, shape, lr=lr, mom=mom, wd=wd)
    q, tstate = run_torch(lambda ps: torch.optim.SGD(ps, lr=lr, momentum=mom, nesterov=True, weight_decay=wd),
                          seed, shape)
    close(p, q)
    close(state["grad_avg"], tstate["momentum_buffer"])


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("scale", [1.0, 1e-6, 1e4])
def test_adaptive_methods_match_torch(ref, seed, scale):
    r, shape = random_case(seed)
    lr, wd = float(r.uniform(0.001, 0.1)), float(r.choice([0.0, 0.05]))
    sqr_mom, mom = float(r.choice([0.9, 0.99, 0.999])), float(r.choice([0.0, 0.5, 0.9]))
    atol = 1e-12 * scale ** 2
    p, state = run_ours(ref["adagrad_step"], seed, shape, scale=scale, lr=lr, wd=wd)
    q, tstate = run_torch(lambda ps: torch.optim.Adagrad(ps, lr=lr, weight_decay=wd), seed, shape, scale=scale)
    close(p, q)
    close(state["sum_sq"], tstate["sum"], atol=atol)
    p, state = run_ours(ref["rmsprop_step"], seed, shape, scale=scale, lr=lr, sqr_mom=sqr_mom, wd=wd)
    q, tstate = run_torch(lambda ps: torch.optim.RMSprop(ps, lr=lr, alpha=sqr_mom, weight_decay=wd), seed, shape,
                          scale=scale)
    close(p, q)
    close(state["sqr_avg"], tstate["square_avg"], atol=atol)
    p, state = run_ours(ref["adam_step"], seed, shape, scale=scale, lr=lr, mom=mom, sqr_mom=sqr_mom, wd=wd)
    q, tstate = run_torch(lambda ps: torch.optim.Adam(ps, lr=lr, betas=(mom, sqr_mom), weight_decay=wd), seed, shape,
                          scale=scale)
    close(p, q)
    close(state["grad_avg"], tstate["exp_avg"], atol=1e-12 * scale)
    close(state["sqr_avg"], tstate["exp_avg_sq"], atol=atol)
    assert state["step"] == STEPS == int(tstate["step"])


@pytest.mark.parametrize("name", ["sgd_step", "momentum_step", "nesterov_step", "adagrad_step", "rmsprop_step",
                                  "adam_step", "adadelta_step"])
def test_float32_stays_float32_and_inputs_are_not_modified(ref, name):
    step = ref[name]
    p32, state = run_ours(step, 3, (4, 3), dtype=np.float32, lr=0.01)
    assert p32.dtype == np.float32
    assert all(v.dtype == np.float32 for v in state.values() if isinstance(v, np.ndarray))
    p64, _ = run_ours(step, 3, (4, 3), lr=0.01)
    close(p32, p64, rtol=1e-4, atol=1e-5)
    params, grads = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    _, state = step(params, grads, {}, lr=0.1)
    frozen = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in state.items()}
    step(params, grads, state, lr=0.1)
    assert np.array_equal(params, np.arange(6.0).reshape(2, 3)) and np.array_equal(grads, np.ones((2, 3)))
    for key, value in frozen.items():
        assert np.array_equal(state[key], value), f"{name} modified the state it was given ({key})"


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("scale", [1.0, 1e-6, 1e4])
def test_adadelta_matches_torch(ref, seed, scale):
    r, shape = random_case(seed)
    lr, rho = float(r.choice([1.0, 0.5, 2.0])), float(r.choice([0.5, 0.9, 0.99]))
    eps, wd = float(r.choice([1e-6, 1e-4, 1e-8])), float(r.choice([0.0, 0.05]))
    p, state = run_ours(ref["adadelta_step"], seed, shape, scale=scale, lr=lr, rho=rho, eps=eps, wd=wd)
    q, tstate = run_torch(lambda ps: torch.optim.Adadelta(ps, lr=lr, rho=rho, eps=eps, weight_decay=wd), seed, shape,
                          scale=scale)
    close(p, q)
    close(state["sqr_avg"], tstate["square_avg"], atol=1e-12 * scale ** 2)
    close(state["delta_avg"], tstate["acc_delta"], atol=1e-20)


def test_adadelta_first_step_is_set_by_eps(ref):
    """The text: the first update is sqrt(eps) / sqrt((1 - rho) g**2 + eps) * g, about sqrt(eps / (1 - rho))."""
    for g in (0.01, 1.0, 100.0):
        p, _ = ref["adadelta_step"](np.zeros(1), np.array([g]), {}, rho=0.9, eps=1e-6)
        assert abs(p[0]) == pytest.approx(1e-3 / np.sqrt(0.1 * g * g + 1e-6) * g, rel=1e-12)
        if g >= 1:
            assert abs(p[0]) == pytest.approx(np.sqrt(1e-6 / 0.1), rel=1e-3)


def test_decoupled_decay_is_adam_step_on_shrunk_parameters(ref):
    """The text: AdamW(weight_decay=wd) is adam_step(params * (1 - lr * wd), ..., wd=0)."""
    p0, curvature, noise = problem(8, (4, 3))
    lr, wd = 0.01, 0.3
    p, state = p0.copy(), {}
    for t in range(STEPS):
        p, state = ref["adam_step"](p * (1 - lr * wd), curvature * p + noise[t], state, lr=lr, mom=0.8, sqr_mom=0.95)
    q, _ = run_torch(lambda ps: torch.optim.AdamW(ps, lr=lr, betas=(0.8, 0.95), weight_decay=wd), 8, (4, 3))
    close(p, q)


FIT_CASES = {
    "sgd_step": (dict(lr=0.2, wd=0.01), lambda ps: torch.optim.SGD(ps, lr=0.2, weight_decay=0.01), {}),
    "momentum_step": (dict(lr=0.05, mom=0.8), lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8),
                      {"grad_avg": "momentum_buffer"}),
    "nesterov_step": (dict(lr=0.05, mom=0.7, wd=0.02),
                      lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.7, nesterov=True, weight_decay=0.02),
                      {"grad_avg": "momentum_buffer"}),
    "adagrad_step": (dict(lr=0.1, eps=1e-6), lambda ps: torch.optim.Adagrad(ps, lr=0.1, eps=1e-6), {"sum_sq": "sum"}),
    "rmsprop_step": (dict(lr=0.01, sqr_mom=0.9), lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9),
                     {"sqr_avg": "square_avg"}),
    "adam_step": (dict(lr=0.01, mom=0.8, sqr_mom=0.99, wd=0.05),
                  lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), weight_decay=0.05),
                  {"grad_avg": "exp_avg", "sqr_avg": "exp_avg_sq"}),
    "adadelta_step": (dict(lr=2.0, rho=0.8, eps=1e-4), lambda ps: torch.optim.Adadelta(ps, lr=2.0, rho=0.8, eps=1e-4),
                      {"sqr_avg": "square_avg", "delta_avg": "acc_delta"}),
}


@pytest.mark.parametrize("name", list(FIT_CASES))
@pytest.mark.parametrize("frozen", [False, True])
def test_fit_model_with_each_step_is_torch_optim(ref, name, frozen):
    """fit_model with a reference step function takes the steps of the torch.optim optimizer, state included."""
    hyper, make_optimizer, buffers = FIT_CASES[name]
    torch.manual_seed(0)
    start = nn.Sequential(nn.Linear(7, 6), nn.Tanh(), nn.Linear(6, 4)).double()
    if frozen:
        start[2].bias.requires_grad_(False)
    gen = torch.Generator().manual_seed(1)
    batches = [(torch.randn(n, 7, generator=gen, dtype=torch.float64), torch.randint(0, 4, (n,), generator=gen))
               for n in [5, 1, 8, 3, 6] * 4]
    ours, theirs = copy.deepcopy(start), copy.deepcopy(start)
    losses, state = ref["fit_model"](ours, ref[name], {}, batches, **hyper)
    trained = [p for p in theirs.parameters() if p.requires_grad]
    opt, expected = make_optimizer(trained), []
    for x, y in batches:
        opt.zero_grad()
        loss = F.cross_entropy(theirs(x), y)
        loss.backward()
        opt.step()
        expected.append(loss.item())
    assert type(losses) is list and all(type(v) is float for v in losses)
    close(losses, expected)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        close(a.detach(), b.detach())
        assert a.grad is None or not a.grad.any()
    for key, buffer in buffers.items():
        close(state[key], np.concatenate([opt.state[p][buffer].numpy().ravel() for p in trained]), atol=1e-15)


def test_fit_model_resumes_and_leaves_its_inputs_alone(ref):
    torch.manual_seed(2)
    start = nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2)).float()
    gen = torch.Generator().manual_seed(3)
    batches = [(torch.randn(4, 5, generator=gen), torch.randn(4, 2, generator=gen)) for _ in range(10)]
    kept = [(x.clone(), y.clone()) for x, y in batches]
    whole, split = copy.deepcopy(start), copy.deepcopy(start)
    all_losses, all_state = ref["fit_model"](whole, ref["adam_step"], {}, batches, 0.01, loss_fn=F.mse_loss)
    first, state = ref["fit_model"](split, ref["adam_step"], {}, batches[:4], 0.01, loss_fn=F.mse_loss)
    frozen = copy.deepcopy(state)
    second, state = ref["fit_model"](split, ref["adam_step"], state, batches[4:], 0.01, loss_fn=F.mse_loss)
    assert first + second == all_losses and state["step"] == all_state["step"] == 10
    assert state["grad_avg"].dtype == np.float32
    assert frozen["step"] == 4 and np.array_equal(frozen["grad_avg"], ref["fit_model"](
        copy.deepcopy(start), ref["adam_step"], {}, batches[:4], 0.01, loss_fn=F.mse_loss)[1]["grad_avg"])
    for a, b in zip(whole.parameters(), split.parameters()):
        assert torch.equal(a, b)
    assert all(torch.equal(x, x0) and torch.equal(y, y0) for (x, y), (x0, y0) in zip(batches, kept))


def test_adam_without_bias_correction_is_the_spreadsheet_formula(ref):
    p, curvature, noise = problem(7, (5,))
    m, v, q = np.zeros(5), np.zeros(5), p.copy()
    state = {}
    for t in range(STEPS):
        g = curvature * q + noise[t]
        m, v = 0.9 * m + 0.1 * g, 0.9 * v + 0.1 * g * g
        q = q - 0.05 * m / np.sqrt(v)
        p, state = ref["adam_step"](p, curvature * p + noise[t], state, lr=0.05, mom=0.9, sqr_mom=0.9, eps=0.0,
                                    debias=False)
    close(p, q)
    close(state["grad_avg"], m)


def test_bias_correction_example_5_1_1_1(ref):
    """FACTS.md: beta 0.9 on 5, 1, 1, 1 gives 0.5, 0.55, 0.595, 0.6355, corrected 5, 2.895, 2.196, 1.848."""
    p, state, averages, corrected = np.zeros(1), {}, [], []
    for t, g in enumerate([5.0, 1.0, 1.0, 1.0], start=1):
        p, state = ref["momentum_step"](p, np.array([g]), state, lr=1.0, mom=0.9, dampening=True)
        averages.append(state["grad_avg"][0])
        corrected.append(state["grad_avg"][0] / (1 - 0.9 ** t))
    close(averages, [0.5, 0.55, 0.595, 0.6355])
    np.testing.assert_allclose(corrected, [5, 2.895, 2.196, 1.848], atol=6e-4)
    _, adam_state = ref["adam_step"](np.zeros(1), np.array([5.0]), {}, lr=0.1)
    for g in [1.0, 1.0, 1.0]:
        _, adam_state = ref["adam_step"](np.zeros(1), np.array([g]), adam_state, lr=0.1)
    close(adam_state["grad_avg"], [0.6355])
    # With bias correction the first step is lr against the sign of the gradient.
    close(ref["adam_step"](np.array([1.0, 1.0]), np.array([3.0, -1e-3]), {}, lr=0.1, eps=0.0)[0], [0.9, 1.1])


def bowl(step, n_steps, **hp):
    x, state = np.array([-5.0, -2.0]), {}
    for _ in range(n_steps):
        x, state = step(x, np.array([0.2 * x[0], 4 * x[1]]), state, **hp)
    return 0.1 * x[0] ** 2 + 2 * x[1] ** 2


def test_bowl_learning_rates(ref):
    """d2l's f = 0.1 x1² + 2 x2²: GD converges at 0.4, diverges at 0.6; momentum 0.5 rescues 0.6."""
    assert bowl(ref["sgd_step"], 100, lr=0.4) < 1e-6
    assert bowl(ref["sgd_step"], 20, lr=0.6) > 1e6
    assert bowl(ref["momentum_step"], 20, lr=0.6, mom=0.5) < 1e-4
    assert bowl(ref["nesterov_step"], 40, lr=0.04, mom=0.9) < bowl(ref["momentum_step"], 40, lr=0.04, mom=0.9) / 4


def test_three_momentum_conventions_are_one_method(ref):
    """Dampened at lr == PyTorch at lr * (1 - mom) == CS231n velocity at lr * (1 - mom), constant lr."""
    for seed in range(5):
        p0, curvature, noise = problem(seed, (6,))
        mom, lr = 0.9, 0.3
        dampened, d_state = p0.copy(), {}
        pytorch, t_state = p0.copy(), {}
        cs231n, v = p0.copy(), np.zeros(6)
        for t in range(STEPS):
            dampened, d_state = ref["momentum_step"](dampened, curvature * dampened + noise[t], d_state, lr=lr,
                                                     mom=mom, dampening=True)
            pytorch, t_state = ref["momentum_step"](pytorch, curvature * pytorch + noise[t], t_state,
                                                    lr=lr * (1 - mom), mom=mom)
            v = mom * v - lr * (1 - mom) * (curvature * cs231n + noise[t])
            cs231n = cs231n + v
        close(dampened, pytorch)
        close(cs231n, pytorch)


def fit_line(ref, sheet: str, epochs: int = graddesc.EPOCHS):
    """The spreadsheet's fit with the reference step functions; returns (a, b) after each epoch and the error per epoch."""
    book = load_workbook(SOLUTIONS / graddesc.OUTPUT)
    xs = np.array([book["data"][f"A{r}"].value for r in graddesc.DATA_ROWS], dtype=float)
    ys = book["data"]["B5"].value * xs + book["data"]["B6"].value
    hp = {name: book[sheet][cell].value for name, cell in graddesc.input_cells(sheet).items()}
    step = {"basic": "sgd_step", "momentum": "momentum_step", "rmsprop": "rmsprop_step"}.get(sheet, "adam_step")
    options = {"momentum": dict(mom=hp.get("mom"), dampening=True),
               "rmsprop": dict(sqr_mom=hp.get("sqr_mom"), eps=hp.get("eps"))}.get(
        sheet, dict(mom=hp.get("mom"), sqr_mom=hp.get("sqr_mom"), eps=hp.get("eps"), debias=hp.get("debias") == 1))
    if sheet == "basic":
        options = {}
    params, state, lr, errors, msgs, path = np.array([hp["a0"], hp["b0"]], dtype=float), {}, hp["lr"], [], [], []
    for epoch in range(epochs):
        if sheet == "adam_annealing" and epoch >= 2 and msgs[-1] > hp["anneal_ratio"] * msgs[-2]:
            lr /= hp["anneal_div"]
        sq, gs = [], []
        for x, y in zip(xs, ys):
            d = params[0] * x + params[1] - y
            grads = np.array([2 * d * x, 2 * d])
            sq.append(d * d)
            gs.extend(grads ** 2)
            params, state = ref[step](params, grads, state, lr=lr, **options)
        errors.append(np.mean(sq))
        msgs.append(np.mean(gs))
        path.append(params)
    return np.array(path), np.array(errors)


def test_the_spreadsheet_story(ref):
    """What section 8 of the lesson says about the fit of y = 2x + 30, batch size 1."""
    runs = {sheet: fit_line(ref, sheet) for sheet in graddesc.INPUTS}
    basic, momentum = runs["basic"], runs["momentum"]
    assert basic[0][-1, 1] < 3 and 400 < basic[1][-1] < 500, "SGD leaves b near 1 and stalls"
    # SGD fits the slope for the intercept it has, not the true slope 2: a jumps above 2.4 in
    # the first epoch, then drifts down by about 0.001 per epoch, above the least-squares slope
    # for its final b.
    a = basic[0][:, 0]
    assert a[0] > 2.4 and np.all(np.diff(a) < 0) and np.all(np.abs(np.diff(a)) < 0.002)
    book = load_workbook(SOLUTIONS / graddesc.OUTPUT)
    xs = np.array([book["data"][f"A{r}"].value for r in graddesc.DATA_ROWS], dtype=float)
    ys = book["data"]["B5"].value * xs + book["data"]["B6"].value
    b = basic[0][-1, 1]
    assert 2.2 < np.sum(xs * (ys - b)) / np.sum(xs ** 2) < a[-1]
    assert momentum[1][-1] < 0.8 * basic[1][-1], "dampened momentum helps a little"
    for sheet in ("rmsprop", "adam", "adam_annealing"):
        assert abs(runs[sheet][0][-1, 1] - 30) < 2, f"{sheet} pulls b close to 30"
    assert runs["adam_annealing"][1][-1] < 0.1 < 10 < runs["adam"][1][-1], "annealing settles, constant lr bounces"
    assert all(errors[-1] < errors[0] for _, errors in runs.values())


@pytest.fixture(scope="module")
def executed():
    return nbs.lesson_run(LESSON).executed


@pytest.fixture(scope="module")
def printed(executed):
    return nbs.printed(executed)


@pytest.mark.slow
def test_the_checks_against_torch_in_the_notebook_agree(printed):
    for label in ("dampened, lr/(1-mom)", "CS231n velocity", "torch.optim.SGD", "look-ahead points",
                  "decoupled decay + adam_step vs AdamW", "torch.optim.Adadelta", "lr 1e-5 vs sheet",
                  "Adam: fit_model vs torch"):
        line = next(line for line in printed.splitlines() if line.startswith(label))
        assert "close: True" in line, line


@pytest.mark.slow
def test_adadelta_eps_story(printed):
    """Section 7: tiny eps crawls, 1e-4 converges, 1e-2 reaches the valley and takes off again."""
    rows = {float(e): (float(first), float(last), float(value)) for e, first, last, value in re.findall(
        r"^eps (\S+): first step (\d\.\d+) per coordinate; length of step 200 (\d\.\d+); f after 200 steps (\S+)$",
        printed, re.M)}
    assert set(rows) == {1e-6, 1e-4, 1e-2}
    assert rows[1e-6][0] == pytest.approx(np.sqrt(1e-6 / 0.1), abs=1e-4) and rows[1e-6][2] > 1
    assert rows[1e-4][2] < 0.01
    assert rows[1e-2][1] > rows[1e-2][0] and rows[1e-2][2] > 10 * rows[1e-4][2]


@pytest.mark.slow
def test_the_mnist_network_trains_with_every_step_function(printed):
    rows = re.findall(r"^(.+?) +mean loss of steps 1-50 (\d\.\d+), of steps 251-300 (\d\.\d+);  valid accuracy (\d\.\d+)$",
                      printed, re.M)
    assert [label.split(",")[0] for label, *_ in rows] == ["SGD", "momentum 0.9", "RMSProp", "Adam", "Adadelta"]
    first = {label.split(",")[0]: float(a) for label, a, _, _ in rows}
    last = {label.split(",")[0]: float(b) for label, _, b, _ in rows}
    accuracy = {label.split(",")[0]: float(c) for label, _, _, c in rows}
    assert all(0.15 < loss < 0.3 for loss in last.values()) and all(a > 0.93 for a in accuracy.values())
    assert min(last, key=last.get) == "Adam" and max(accuracy, key=accuracy.get) == "Adam"
    assert min(first, key=first.get) == "Adam" and max(first, key=first.get) == "SGD"
    assert all(first[k] > 2 * last[k] for k in first), "every optimizer makes progress"

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
FIGURES_FROM_ELSEWHERE = {"1.3": "ImageNet's 1.3 million training photos",
                          "3.6": "He et al. (2016), table 1: ResNet-34's 3.6 billion multiply-adds"}


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


def _fastai_head_by_hand(n_channels, n_classes, n_hidden, p):
    """fastai v1's create_head(2 * n_channels, n_classes, [n_hidden], ps=p), without fastai."""
    class ConcatPool(nn.Module):
        def forward(self, x):
            return torch.cat([x.amax(dim=(2, 3), keepdim=True), x.mean(dim=(2, 3), keepdim=True)], dim=1)

    layers = [ConcatPool(), nn.Flatten()]
    for n_in, n_out, drop, act in [(2 * n_channels, n_hidden, p / 2, nn.ReLU()), (n_hidden, n_classes, p, None)]:
        layers += [nn.BatchNorm1d(n_in)] + ([nn.Dropout(drop)] if drop != 0 else []) + [nn.Linear(n_in, n_out)]
        layers += [act] if act is not None else []
    return nn.Sequential(*layers)


def test_fastai_head_matches_create_head_by_hand(ref):
    r = np.random.default_rng(4)
    for _ in range(20):
        n_channels, n_classes, n_hidden = (int(v) for v in r.integers(1, 40, size=3))
        p = float(r.choice([0.0, 0.1, 0.5, 0.9]))
        torch.manual_seed(int(r.integers(1000)))
        got = ref["fastai_head"](n_channels, n_classes, n_hidden=n_hidden, p=p)
        want = _fastai_head_by_hand(n_channels, n_classes, n_hidden, p)
        assert [type(m).__name__ for m in got][1:] == [type(m).__name__ for m in want][1:]
        assert [m.p for m in got if isinstance(m, nn.Dropout)] == [m.p for m in want if isinstance(m, nn.Dropout)]
        want.load_state_dict(got.state_dict())
        x = torch.randn(int(r.integers(2, 6)), n_channels, int(r.integers(1, 5)), int(r.integers(1, 5)))
        for train in (True, False):
            got.train(train)
            want.train(train)
            if train and p:
                continue                       # dropout draws differ
            torch.testing.assert_close(got(x), want(x), rtol=1e-5, atol=1e-6)


def test_resnet_layer_groups_follow_fastais_split(ref):
    body = nn.Sequential(nn.Conv2d(3, 4, 7), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         *[nn.Sequential(nn.Conv2d(4, 4, 3), nn.BatchNorm2d(4)) for _ in range(4)])
    model = nn.Sequential(body, nn.Linear(4, 2))
    groups = ref["resnet_layer_groups"](model)
    # fastai v1: split_model(model, [m[0][6], m[1]]) over the flattened children
    want = [list(body.children())[:6], list(body.children())[6:], [model[1]]]
    assert [[id(p) for m in g for p in m.parameters()] for g in want] == \
        [[id(p) for p in g.parameters()] for g in groups]


def _resnet34_parameters() -> int:
    """ResNet-34's parameter count from its layout: He et al. (2016), table 1."""
    total = 3 * 64 * 7 * 7 + 2 * 64                                    # stem: conv1, bn1
    n_in = 64
    for n_blocks, width in zip((3, 4, 6, 3), (64, 128, 256, 512)):
        for b in range(n_blocks):
            total += n_in * width * 9 + width * width * 9 + 4 * width    # two 3x3 convs, two batch norms
            if n_in != width:
                total += n_in * width + 2 * width                        # the 1x1 downsample and its batch norm
            n_in = width
    return total + 512 * 1000 + 1000                                   # fc


def _resnet34_multiply_adds() -> int:
    """Multiply-adds of ResNet-34's convolutions on one 224x224 image, from its layout."""
    total, n_in, size = 112 * 112 * 64 * 3 * 7 * 7, 64, 56                  # the stem's conv1
    for n_blocks, width in zip((3, 4, 6, 3), (64, 128, 256, 512)):
        for b in range(n_blocks):
            if n_in != width:
                size //= 2
                total += size * size * width * n_in                     # the 1x1 downsample
            total += size * size * width * 9 * (n_in + width)           # the two 3x3 convolutions
            n_in = width
    return total


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


@pytest.mark.slow
def test_resnet34_counts(executed):
    def count(pattern):
        return int(re.search(pattern, executed).group(1).replace(",", ""))
    assert count(r"ResNet-34: ([0-9,]+) parameters") == _resnet34_parameters() == 21_797_672   # torchvision's resnet34
    head = 2 * 1024 + 1024 * 512 + 512 + 2 * 512 + 512 * 37 + 37
    assert count(r"new head: ([0-9,]+)") == head
    assert count(r"the whole model: ([0-9,]+)") == _resnet34_parameters() - 513_000 + head
    groups = [count(rf"group {i}: +([0-9,]+) parameters") for i in range(3)]
    assert groups[2] == head and sum(groups) == _resnet34_parameters() - 513_000 + head
    assert "body output (2, 512, 7, 7) -> logits (2, 37)" in executed
    assert count(r"the body's forward pass: ([0-9,]+) multiply-adds per image") == _resnet34_multiply_adds()


@pytest.mark.slow
def test_freezing_counts(executed):
    ratio = float(re.search(r"a frozen one about [0-9,]+: ([0-9.]+)x fewer", executed).group(1))
    assert 2.5 < ratio < 3.0, ratio
    assert re.search(r"frozen: +16,773 of 77,253 parameters trainable", executed)


@pytest.mark.slow
def test_stage_two_reads_as_the_prose_says(executed):
    stage1 = float(re.search(r"stage one \(head only\): task B valid accuracy: ([0-9.]+)", executed).group(1))
    stage2 = {k: float(v) for k, v in re.findall(r"stage two with\s+(.+?): task B valid accuracy: ([0-9.]+)", executed)}
    assert stage2["slice(3e-4, 3e-2)"] > stage1 > stage2["3e-2 everywhere"], (stage1, stage2)
    assert stage2["3e-3 everywhere"] >= stage2["slice(3e-4, 3e-2)"], stage2

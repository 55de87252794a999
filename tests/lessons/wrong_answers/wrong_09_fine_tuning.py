"""Lesson 09's answers other than the reference: plausible wrong ones (each must fail its
exercise's hidden tests), honest ones written differently (each must keep full marks), and
correct-valued ones that call a routine the exercise forbids."""

WRONG_ANSWERS = {
    "ex09_1_replace_head_answer": {
        "no ReLU between the two layers": '''
def replace_head(body, n_features, n_classes, n_hidden=64):
    return nn.Sequential(body, nn.Sequential(nn.Linear(n_features, n_hidden), nn.Linear(n_hidden, n_classes)))
''',
        "a ReLU after the last layer too": '''
def replace_head(body, n_features, n_classes, n_hidden=64):
    head = nn.Sequential(nn.Linear(n_features, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_classes), nn.ReLU())
    return nn.Sequential(body, head)
''',
        "a copy of the body instead of the body": '''
import copy

def replace_head(body, n_features, n_classes, n_hidden=64):
    head = nn.Sequential(nn.Linear(n_features, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_classes))
    return nn.Sequential(copy.deepcopy(body), head)
''',
        "freezes the body (the new head trains alone)": '''
def replace_head(body, n_features, n_classes, n_hidden=64):
    body.requires_grad_(False)
    head = nn.Sequential(nn.Linear(n_features, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_classes))
    return nn.Sequential(body, head)
''',
        "makes the whole model trainable (unfreezes a frozen body)": '''
def replace_head(body, n_features, n_classes, n_hidden=64):
    head = nn.Sequential(nn.Linear(n_features, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_classes))
    return nn.Sequential(body, head).requires_grad_(True)
''',
        "detaches the body's features (no gradient reaches the body)": '''
class _Detach(nn.Module):
    def forward(self, x):
        return x.detach()

def replace_head(body, n_features, n_classes, n_hidden=64):
    head = nn.Sequential(_Detach(), nn.Linear(n_features, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_classes))
    return nn.Sequential(body, head)
''',
    },
    "ex09_2_freeze_to_answer": {
        "freezes the head too": '''
def freeze_to(groups, n):
    for group in groups:
        for p in group.parameters():
            p.requires_grad_(False)
    return 0
''',
        "never unfreezes groups frozen before": '''
def freeze_to(groups, n):
    for group in groups[:n]:
        for p in group.parameters():
            p.requires_grad_(False)
    return sum(p.numel() for g in groups for p in g.parameters() if p.requires_grad)
''',
        "negative n compared as a number (freeze_to(-1) freezes nothing)": '''
def freeze_to(groups, n):
    for i, group in enumerate(groups):
        for p in group.parameters():
            p.requires_grad_(i >= n)
    return sum(p.numel() for g in groups for p in g.parameters() if p.requires_grad)
''',
        "counts parameter tensors, not elements": '''
def freeze_to(groups, n):
    frozen = set(range(len(groups))[:n])
    for i, group in enumerate(groups):
        for p in group.parameters():
            p.requires_grad_(i not in frozen)
    return sum(1 for g in groups for p in g.parameters() if p.requires_grad)
''',
        "eval() instead of requires_grad (eval mode does not freeze)": '''
def freeze_to(groups, n):
    frozen = set(range(len(groups))[:n])
    for i, group in enumerate(groups):
        group.train(i not in frozen)
    return sum(p.numel() for i, g in enumerate(groups) if i not in frozen for p in g.parameters())
''',
        "loops over range(n) (breaks for a negative n and for n beyond the groups)": '''
def freeze_to(groups, n):
    for group in groups:
        for p in group.parameters():
            p.requires_grad_(True)
    for i in range(n):
        for p in groups[i].parameters():
            p.requires_grad_(False)
    return sum(p.numel() for g in groups for p in g.parameters() if p.requires_grad)
''',
        "the count as a float": '''
def freeze_to(groups, n):
    frozen = set(range(len(groups))[:n])
    for i, group in enumerate(groups):
        for p in group.parameters():
            p.requires_grad_(i not in frozen)
    return sum((float(p.numel()) for g in groups for p in g.parameters() if p.requires_grad), 0.0)
''',
    },
    "ex09_3_discriminative_lrs_answer": {
        "linear spacing for slice(lo, hi)": '''
def discriminative_lrs(lr, n_groups):
    if not isinstance(lr, slice):
        return np.full(n_groups, float(lr))
    if n_groups == 1:
        return np.array([float(lr.stop)])
    if lr.start is None:
        return np.array([lr.stop / 10] * (n_groups - 1) + [lr.stop])
    return np.linspace(lr.start, lr.stop, n_groups)
''',
        "the lecture's old rule: slice(hi) gives hi / 3": '''
def discriminative_lrs(lr, n_groups):
    if not isinstance(lr, slice):
        return np.full(n_groups, float(lr))
    if n_groups == 1:
        return np.array([float(lr.stop)])
    if lr.start is None:
        return np.array([lr.stop / 3] * (n_groups - 1) + [lr.stop])
    return lr.start * (lr.stop / lr.start) ** (np.arange(n_groups) / (n_groups - 1))
''',
        "one group gets lo instead of hi": '''
def discriminative_lrs(lr, n_groups):
    if not isinstance(lr, slice):
        return np.full(n_groups, float(lr))
    if lr.start is None:
        return np.array([lr.stop / 10] * (n_groups - 1) + [lr.stop])
    if n_groups == 1:
        return np.array([float(lr.start)])
    return lr.start * (lr.stop / lr.start) ** (np.arange(n_groups) / (n_groups - 1))
''',
        "a number comes back as a number, not one rate per group": '''
def discriminative_lrs(lr, n_groups):
    if not isinstance(lr, slice):
        return float(lr)
    hi = float(lr.stop)
    if n_groups == 1:
        return np.array([hi])
    if lr.start is None:
        return np.array([hi / 10] * (n_groups - 1) + [hi])
    return lr.start * (hi / lr.start) ** (np.arange(n_groups) / (n_groups - 1))
''',
        "a list instead of an array": '''
def discriminative_lrs(lr, n_groups):
    if not isinstance(lr, slice):
        return [float(lr)] * n_groups
    hi = float(lr.stop)
    if n_groups == 1:
        return [hi]
    if lr.start is None:
        return [hi / 10] * (n_groups - 1) + [hi]
    return [lr.start * (hi / lr.start) ** (i / (n_groups - 1)) for i in range(n_groups)]
''',
        "integer rates stay integers": '''
def discriminative_lrs(lr, n_groups):
    if not isinstance(lr, slice):
        return np.full(n_groups, lr)
    hi = float(lr.stop)
    if n_groups == 1:
        return np.array([hi])
    if lr.start is None:
        return np.array([hi / 10] * (n_groups - 1) + [hi])
    return lr.start * (hi / lr.start) ** (np.arange(n_groups) / (n_groups - 1))
''',
    },
    "ex09_4_param_groups_answer": {
        "rates in reverse order (head gets the smallest)": '''
def param_groups(groups, lr):
    rates = discriminative_lrs(lr, len(groups))[::-1]
    return [{"params": list(g.parameters()), "lr": float(r)} for g, r in zip(groups, rates)]
''',
        "one group for everything at the head's rate": '''
def param_groups(groups, lr):
    rates = discriminative_lrs(lr, len(groups))
    return [{"params": [p for g in groups for p in g.parameters()], "lr": float(rates[-1])}]
''',
        "slice(hi) read as hi for every group": '''
def param_groups(groups, lr):
    if isinstance(lr, slice) and lr.start is None:
        lr = float(lr.stop)
    rates = discriminative_lrs(lr, len(groups))
    return [{"params": list(g.parameters()), "lr": float(r)} for g, r in zip(groups, rates)]
''',
        "only the trainable parameters (frozen ones left out)": '''
def param_groups(groups, lr):
    rates = discriminative_lrs(lr, len(groups))
    return [{"params": [p for p in g.parameters() if p.requires_grad], "lr": float(r)} for g, r in zip(groups, rates)]
''',
    },
    "ex09_5_fastai_head_answer": {
        "the mean first, then the maximum": '''
class _Pool(nn.Module):
    def forward(self, x):
        return torch.cat([F.adaptive_avg_pool2d(x, 1), F.adaptive_max_pool2d(x, 1)], dim=1)

def fastai_head(n_channels, n_classes, n_hidden=512, p=0.5):
    return nn.Sequential(_Pool(), nn.Flatten(),
                         nn.BatchNorm1d(2 * n_channels), nn.Dropout(p / 2), nn.Linear(2 * n_channels, n_hidden), nn.ReLU(),
                         nn.BatchNorm1d(n_hidden), nn.Dropout(p), nn.Linear(n_hidden, n_classes))
''',
        "average pooling only (torchvision's head)": '''
def fastai_head(n_channels, n_classes, n_hidden=512, p=0.5):
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.BatchNorm1d(n_channels), nn.Dropout(p / 2), nn.Linear(n_channels, n_hidden), nn.ReLU(),
                         nn.BatchNorm1d(n_hidden), nn.Dropout(p), nn.Linear(n_hidden, n_classes))
''',
        "the same dropout p before both linear layers": '''
class _Pool(nn.Module):
    def forward(self, x):
        return torch.cat([F.adaptive_max_pool2d(x, 1), F.adaptive_avg_pool2d(x, 1)], dim=1)

def fastai_head(n_channels, n_classes, n_hidden=512, p=0.5):
    layers = [_Pool(), nn.Flatten(), nn.BatchNorm1d(2 * n_channels)]
    layers += [nn.Dropout(p)] if p else []
    layers += [nn.Linear(2 * n_channels, n_hidden), nn.ReLU(), nn.BatchNorm1d(n_hidden)]
    layers += [nn.Dropout(p)] if p else []
    return nn.Sequential(*layers, nn.Linear(n_hidden, n_classes))
''',
        "keeps Dropout layers of probability 0": '''
class _Pool(nn.Module):
    def forward(self, x):
        return torch.cat([F.adaptive_max_pool2d(x, 1), F.adaptive_avg_pool2d(x, 1)], dim=1)

def fastai_head(n_channels, n_classes, n_hidden=512, p=0.5):
    return nn.Sequential(_Pool(), nn.Flatten(),
                         nn.BatchNorm1d(2 * n_channels), nn.Dropout(p / 2), nn.Linear(2 * n_channels, n_hidden), nn.ReLU(),
                         nn.BatchNorm1d(n_hidden), nn.Dropout(p), nn.Linear(n_hidden, n_classes))
''',
        "ignores n_hidden (always 512)": '''
class _Pool(nn.Module):
    def forward(self, x):
        return torch.cat([F.adaptive_max_pool2d(x, 1), F.adaptive_avg_pool2d(x, 1)], dim=1)

def fastai_head(n_channels, n_classes, n_hidden=512, p=0.5):
    layers = [_Pool(), nn.Flatten(), nn.BatchNorm1d(2 * n_channels)]
    layers += [nn.Dropout(p / 2)] if p else []
    layers += [nn.Linear(2 * n_channels, 512), nn.ReLU(), nn.BatchNorm1d(512)]
    layers += [nn.Dropout(p)] if p else []
    return nn.Sequential(*layers, nn.Linear(512, n_classes))
''',
        "Linear before BatchNorm (fastai's lin_first order)": '''
class _Pool(nn.Module):
    def forward(self, x):
        return torch.cat([F.adaptive_max_pool2d(x, 1), F.adaptive_avg_pool2d(x, 1)], dim=1)

def fastai_head(n_channels, n_classes, n_hidden=512, p=0.5):
    layers = [_Pool(), nn.Flatten()]
    layers += [nn.Dropout(p / 2)] if p else []
    layers += [nn.Linear(2 * n_channels, n_hidden), nn.ReLU(), nn.BatchNorm1d(n_hidden)]
    layers += [nn.Dropout(p)] if p else []
    return nn.Sequential(*layers, nn.Linear(n_hidden, n_classes), nn.BatchNorm1d(n_classes))
''',
        "pools through numpy (no gradient reaches the body)": '''
class _Pool(nn.Module):
    def forward(self, x):
        a = x.detach().cpu().numpy()
        pooled = np.concatenate([a.max(axis=(2, 3)), a.mean(axis=(2, 3))], axis=1)
        return torch.from_numpy(pooled)[:, :, None, None]

def fastai_head(n_channels, n_classes, n_hidden=512, p=0.5):
    layers = [_Pool(), nn.Flatten(), nn.BatchNorm1d(2 * n_channels)]
    layers += [nn.Dropout(p / 2)] if p else []
    layers += [nn.Linear(2 * n_channels, n_hidden), nn.ReLU(), nn.BatchNorm1d(n_hidden)]
    layers += [nn.Dropout(p)] if p else []
    return nn.Sequential(*layers, nn.Linear(n_hidden, n_classes))
''',
    },
    "ex09_6_resnet_layer_groups_answer": {
        "splits after layer3 instead of before it": '''
def resnet_layer_groups(model):
    return [model[0][:7], model[0][7:], model[1]]
''',
        "splits before layer2": '''
def resnet_layer_groups(model):
    return [model[0][:5], model[0][5:], model[1]]
''',
        "copies of the groups": '''
import copy

def resnet_layer_groups(model):
    return [copy.deepcopy(model[0][:6]), copy.deepcopy(model[0][6:]), copy.deepcopy(model[1])]
''',
        "two groups: the head joined to layer3 and layer4": '''
def resnet_layer_groups(model):
    return [model[0][:6], nn.Sequential(*model[0][6:], model[1])]
''',
        "a tuple instead of a list": '''
def resnet_layer_groups(model):
    return (model[0][:6], model[0][6:], model[1])
''',
    },
}

HONEST_ANSWERS = {
    "ex09_1_replace_head_answer": {
        "named layers in an OrderedDict": '''
from collections import OrderedDict

def replace_head(body, n_features, n_classes, n_hidden=64):
    head = nn.Sequential(OrderedDict([("hidden", nn.Linear(n_features, n_hidden)), ("relu", nn.ReLU()),
                                      ("out", nn.Linear(n_hidden, n_classes))]))
    return nn.Sequential(OrderedDict([("body", body), ("head", head)]))
''',
    },
    "ex09_2_freeze_to_answer": {
        "the boundary from slice.indices": '''
def freeze_to(groups, n):
    start = slice(n, None).indices(len(groups))[0]
    trainable = 0
    for i, group in enumerate(groups):
        for p in group.parameters():
            p.requires_grad = i >= start
            trainable += p.numel() if i >= start else 0
    return trainable
''',
    },
    "ex09_3_discriminative_lrs_answer": {
        "geometric spacing through logarithms, in a helper cell after the answer": '''
def discriminative_lrs(lr, n_groups):
    if not isinstance(lr, slice):
        return np.array([float(lr)] * n_groups)
    if n_groups == 1:
        return np.array([float(lr.stop)])
    if lr.start is None:
        return np.array([lr.stop / 10] * (n_groups - 1) + [float(lr.stop)], dtype=np.float64)
    return _evenly_on_a_log_scale(float(lr.start), float(lr.stop), n_groups)
# --- new cell ---
def _evenly_on_a_log_scale(lo, hi, n):
    steps = [math.log(lo) + (math.log(hi) - math.log(lo)) * i / (n - 1) for i in range(n)]
    return np.array([math.exp(s) for s in steps])
''',
    },
    "ex09_4_param_groups_answer": {
        "a loop that appends": '''
def param_groups(groups, lr):
    rates = discriminative_lrs(lr, len(groups))
    out = []
    for i, group in enumerate(groups):
        out.append({"lr": float(rates[i]), "params": [p for p in group.parameters()]})
    return out
''',
    },
    "ex09_5_fastai_head_answer": {
        "a pooling class in a helper cell before the answer, max and mean by hand": '''
class MaxAndMean(nn.Module):
    def forward(self, x):
        flat = x.flatten(2)
        return torch.cat([flat.max(dim=2).values, flat.mean(dim=2)], dim=1)[:, :, None, None]
# --- new cell ---
def fastai_head(n_channels, n_classes, n_hidden=512, p=0.5):
    def block(n_in, n_out, drop):
        return [nn.BatchNorm1d(n_in)] + ([nn.Dropout(drop)] if drop else []) + [nn.Linear(n_in, n_out)]
    return nn.Sequential(MaxAndMean(), nn.Flatten(), *block(2 * n_channels, n_hidden, p / 2), nn.ReLU(),
                         *block(n_hidden, n_classes, p))
''',
    },
    "ex09_6_resnet_layer_groups_answer": {
        "children listed and regrouped": '''
def resnet_layer_groups(model):
    body, head = list(model.children())
    parts = list(body.children())
    return [nn.Sequential(*parts[:6]), nn.Sequential(*parts[6:]), head]
''',
    },
}

FORBIDDEN_ANSWERS = {
    "ex09_3_discriminative_lrs_answer": {
        "torch.logspace, converted back to numpy": '''
def discriminative_lrs(lr, n_groups):
    if not isinstance(lr, slice):
        return np.full(n_groups, float(lr))
    if n_groups == 1:
        return np.array([float(lr.stop)])
    if lr.start is None:
        return np.array([lr.stop / 10] * (n_groups - 1) + [float(lr.stop)])
    return torch.logspace(math.log10(lr.start), math.log10(lr.stop), n_groups, dtype=torch.float64).numpy()
''',
    },
}

"""Plausible wrong answers to lesson 09's exercises; each must fail its exercise's hidden tests."""

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
    },
}

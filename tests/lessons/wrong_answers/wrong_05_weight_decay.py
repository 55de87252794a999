"""Lesson 05's exercises: plausible wrong answers (the hidden tests must reject each), honest
answers written differently from the reference (they must keep full marks), and correct-valued
answers that call a forbidden routine (the grader must score them 0)."""

WRONG_ANSWERS = {
    "ex05_1_l2_penalty_answer": {
        "no 1/2 (the fast.ai lecture's wd * sum(p**2))": '''
def l2_penalty(params, wd):
    return wd * sum((p ** 2).sum() for p in params)
''',
        "square of the sum instead of the sum of squares": '''
def l2_penalty(params, wd):
    return wd / 2 * sum(p.sum() ** 2 for p in params)
''',
        "mean of squares instead of the sum": '''
def l2_penalty(params, wd):
    return wd / 2 * sum((p ** 2).mean() for p in params)
''',
        "a Python float (.item()): no gradient, wrong type": '''
def l2_penalty(params, wd):
    return wd / 2 * sum((p ** 2).sum().item() for p in params)
''',
        "through NumPy: a new tensor that autograd cannot see through": '''
def l2_penalty(params, wd):
    return torch.tensor(wd / 2 * sum(float(np.sum(p.detach().numpy() ** 2)) for p in params), dtype=params[0].dtype)
''',
        "skips frozen tensors": '''
def l2_penalty(params, wd):
    return wd / 2 * sum((p ** 2).sum() for p in params if p.requires_grad)
''',
    },
    "ex05_2_with_weight_decay_answer": {
        "decoupled shrink without the learning rate": '''
def with_weight_decay(step, wd, decoupled=False):
    def decayed_step(params, grads, state, lr, **hyper):
        if decoupled:
            return step(params * (1 - wd), grads, state, lr, **hyper)
        return step(params, grads + wd * params, state, lr, **hyper)
    return decayed_step
''',
        "coupled decay adds 2 * wd * params (the lecture's convention)": '''
def with_weight_decay(step, wd, decoupled=False):
    def decayed_step(params, grads, state, lr, **hyper):
        if decoupled:
            return step(params - lr * wd * params, grads, state, lr, **hyper)
        return step(params, grads + 2 * wd * params, state, lr, **hyper)
    return decayed_step
''',
        "ignores decoupled (always coupled)": '''
def with_weight_decay(step, wd, decoupled=False):
    def decayed_step(params, grads, state, lr, **hyper):
        return step(params, grads + wd * params, state, lr, **hyper)
    return decayed_step
''',
        "shrinks the result of the step instead of its input": '''
def with_weight_decay(step, wd, decoupled=False):
    def decayed_step(params, grads, state, lr, **hyper):
        if decoupled:
            new_params, new_state = step(params, grads, state, lr, **hyper)
            return new_params * (1 - lr * wd), new_state
        return step(params, grads + wd * params, state, lr, **hyper)
    return decayed_step
''',
        "decays both ways at once when decoupled": '''
def with_weight_decay(step, wd, decoupled=False):
    def decayed_step(params, grads, state, lr, **hyper):
        if decoupled:
            return step(params - lr * wd * params, grads + wd * params, state, lr, **hyper)
        return step(params, grads + wd * params, state, lr, **hyper)
    return decayed_step
''',
        "modifies the caller's arrays in place": '''
def with_weight_decay(step, wd, decoupled=False):
    def decayed_step(params, grads, state, lr, **hyper):
        if decoupled:
            params *= 1 - lr * wd
        else:
            grads += wd * params
        return step(params, grads, state, lr, **hyper)
    return decayed_step
''',
        "does not pass the hyperparameters on": '''
def with_weight_decay(step, wd, decoupled=False):
    def decayed_step(params, grads, state, lr, **hyper):
        if decoupled:
            return step(params - lr * wd * params, grads, state, lr)
        return step(params, grads + wd * params, state, lr)
    return decayed_step
''',
        "starts the optimizer's state afresh at every step": '''
def with_weight_decay(step, wd, decoupled=False):
    def decayed_step(params, grads, state, lr, **hyper):
        if decoupled:
            return step(params - lr * wd * params, grads, {}, lr, **hyper)
        return step(params, grads + wd * params, {}, lr, **hyper)
    return decayed_step
''',
        "copies the arrays as float64 (float32 comes back float64)": '''
def with_weight_decay(step, wd, decoupled=False):
    def decayed_step(params, grads, state, lr, **hyper):
        params, grads = np.array(params, dtype=float), np.array(grads, dtype=float)
        if decoupled:
            return step(params - lr * wd * params, grads, state, lr, **hyper)
        return step(params, grads + wd * params, state, lr, **hyper)
    return decayed_step
''',
    },
    "ex05_3_elastic_net_penalty_answer": {
        "L2 part without the 1/2": '''
def elastic_net_penalty(params, l1, wd):
    return sum(l1 * p.abs().sum() + wd * (p ** 2).sum() for p in params)
''',
        "L2 norm instead of its square": '''
def elastic_net_penalty(params, l1, wd):
    return sum(l1 * p.abs().sum() + wd / 2 * (p ** 2).sum().sqrt() for p in params)
''',
        "absolute value of the sum": '''
def elastic_net_penalty(params, l1, wd):
    return sum(l1 * p.sum().abs() + wd / 2 * (p ** 2).sum() for p in params)
''',
        "|p| as sqrt(p**2): a NaN gradient at exact zeros": '''
def elastic_net_penalty(params, l1, wd):
    return sum(l1 * (p ** 2).sqrt().sum() + wd / 2 * (p ** 2).sum() for p in params)
''',
    },
    "ex05_4_l1_proximal_step_answer": {
        "a subgradient step: weights jump over zero": '''
def l1_proximal_step(param, grad, lr, l1):
    moved = param - lr * grad
    return moved - lr * l1 * torch.sign(moved)
''',
        "shrinks before the gradient step": '''
def l1_proximal_step(param, grad, lr, l1):
    shrunk = torch.sign(param) * torch.clamp(param.abs() - lr * l1, min=0.0)
    return shrunk - lr * grad
''',
        "threshold l1 instead of lr * l1": '''
def l1_proximal_step(param, grad, lr, l1):
    moved = param - lr * grad
    return torch.sign(moved) * torch.clamp(moved.abs() - l1, min=0.0)
''',
        "hard thresholding: zeroes small weights but does not shrink the others": '''
def l1_proximal_step(param, grad, lr, l1):
    moved = param - lr * grad
    return moved * (moved.abs() > lr * l1)
''',
        "the sign of the old parameter": '''
def l1_proximal_step(param, grad, lr, l1):
    moved = param - lr * grad
    return torch.sign(param) * torch.clamp(moved.abs() - lr * l1, min=0.0)
''',
        "modifies the parameter in place": '''
def l1_proximal_step(param, grad, lr, l1):
    param -= lr * grad
    return torch.sign(param) * torch.clamp(param.abs() - lr * l1, min=0.0)
''',
    },
    "ex05_5_decay_param_groups_answer": {
        "decays every parameter called 'weight' (batch norm's scale too)": '''
def decay_param_groups(model, wd):
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    return [{"params": [p for n, p in named if n.endswith("weight")], "weight_decay": wd},
            {"params": [p for n, p in named if not n.endswith("weight")], "weight_decay": 0.0}]
''',
        "keeps frozen parameters": '''
def decay_param_groups(model, wd):
    params = list(model.parameters())
    return [{"params": [p for p in params if p.ndim >= 2], "weight_decay": wd},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
''',
        "the groups in the other order": '''
def decay_param_groups(model, wd):
    trainable = [p for p in model.parameters() if p.requires_grad]
    return [{"params": [p for p in trainable if p.ndim < 2], "weight_decay": 0.0},
            {"params": [p for p in trainable if p.ndim >= 2], "weight_decay": wd}]
''',
        "tuples instead of lists": '''
def decay_param_groups(model, wd):
    trainable = [p for p in model.parameters() if p.requires_grad]
    return ({"params": tuple(p for p in trainable if p.ndim >= 2), "weight_decay": wd},
            {"params": tuple(p for p in trainable if p.ndim < 2), "weight_decay": 0.0})
''',
        "decays only 2-D weights (misses convolution kernels)": '''
def decay_param_groups(model, wd):
    trainable = [p for p in model.parameters() if p.requires_grad]
    return [{"params": [p for p in trainable if p.ndim == 2], "weight_decay": wd},
            {"params": [p for p in trainable if p.ndim != 2], "weight_decay": 0.0}]
''',
    },
}

HONEST_ANSWERS = {
    "ex05_1_l2_penalty_answer": {
        "a loop with a running total": '''
def l2_penalty(params, wd):
    total = 0.0
    for p in params:
        total = total + (p * p).sum()
    return total * (wd / 2)
''',
        "a helper in its own cell": '''
def l2_penalty(params, wd):
    return 0.5 * wd * sum(sum_of_squares(p) for p in params)
# --- new cell ---
def sum_of_squares(p):
    """Sum of the squares of every entry of a tensor."""
    return torch.sum(p.pow(2))
''',
    },
    "ex05_2_with_weight_decay_answer": {
        "two inner functions, one chosen once": '''
def with_weight_decay(step, wd, decoupled=False):
    def coupled_step(params, grads, state, lr, **hyper):
        return step(params, grads + wd * params, state, lr, **hyper)

    def decoupled_step(params, grads, state, lr, **hyper):
        return step(params * (1 - lr * wd), grads, state, lr, **hyper)

    return decoupled_step if decoupled else coupled_step
''',
        "a callable class, defined in a cell of its own": '''
def with_weight_decay(step, wd, decoupled=False):
    return DecayedStep(step, wd, decoupled)
# --- new cell ---
class DecayedStep:
    """A step function with weight decay: an object that remembers step, wd and the form."""

    def __init__(self, step, wd, decoupled):
        self.step, self.wd, self.decoupled = step, wd, decoupled

    def __call__(self, params, grads, state, lr, **hyper):
        if self.decoupled:
            params = params - lr * self.wd * params
        else:
            grads = grads + self.wd * params
        return self.step(params, grads, state, lr, **hyper)
''',
    },
    "ex05_3_elastic_net_penalty_answer": {
        "reuses l2_penalty": '''
def elastic_net_penalty(params, l1, wd):
    return l1 * sum(p.abs().sum() for p in params) + l2_penalty(params, wd)
''',
        "torch.linalg norms": '''
def elastic_net_penalty(params, l1, wd):
    total = 0.0
    for p in params:
        total = total + l1 * torch.linalg.vector_norm(p, ord=1) + wd / 2 * (p * p).sum()
    return total
''',
    },
    "ex05_4_l1_proximal_step_answer": {
        "nested torch.where": '''
def l1_proximal_step(param, grad, lr, l1):
    moved = param - lr * grad
    t = lr * l1
    return torch.where(moved > t, moved - t, torch.where(moved < -t, moved + t, torch.zeros_like(moved)))
''',
        "subtract the clipped part": '''
def l1_proximal_step(param, grad, lr, l1):
    moved = param - lr * grad
    return moved - torch.clamp(moved, -lr * l1, lr * l1)
''',
    },
    "ex05_5_decay_param_groups_answer": {
        "one loop filling two lists": '''
def decay_param_groups(model, wd):
    decayed, not_decayed = [], []
    for p in model.parameters():
        if not p.requires_grad:
            continue
        (decayed if p.dim() > 1 else not_decayed).append(p)
    return [{"params": decayed, "weight_decay": wd}, {"params": not_decayed, "weight_decay": 0.0}]
''',
        "a rule in a helper cell": '''
def decay_param_groups(model, wd):
    trainable = [p for _, p in model.named_parameters() if p.requires_grad]
    return [dict(params=[p for p in trainable if is_weight(p)], weight_decay=wd),
            dict(params=[p for p in trainable if not is_weight(p)], weight_decay=0.0)]
# --- new cell ---
def is_weight(p):
    """A weight matrix, an embedding table or a kernel: two or more dimensions."""
    return len(p.shape) >= 2
''',
    },
}

FORBIDDEN_ANSWERS = {
    "ex05_4_l1_proximal_step_answer": {
        "torch.nn.functional.softshrink": '''
def l1_proximal_step(param, grad, lr, l1):
    return F.softshrink(param - lr * grad, lr * l1)
''',
        "the Softshrink module, found by a computed name": '''
def l1_proximal_step(param, grad, lr, l1):
    shrink = getattr(nn, "Soft" + "shrink")(lr * l1)
    return shrink(param - lr * grad)
''',
    },
}

"""Answers to lesson 08's exercises, for the tests that grade them.

* ``WRONG_ANSWERS``: plausible wrong answers; each must fail its exercise's hidden tests.
* ``HONEST_ANSWERS``: correct answers written differently from the reference; each must keep
  full marks. Cells of one answer are separated by ``CELL``: the first part replaces the answer
  cell, the others are cells a student added right after it.
* ``FORBIDDEN_ANSWERS``: correct-valued answers that call a routine the exercise's policy
  forbids (``metadata["dlcourse"]["forbidden"]`` of its answer cell), by various routes.
"""

CELL = "\n# --- new cell ---\n"

# The reference's two functions of exercise 8.2 and 8.5, for wrong answers that get one of them wrong.
_DROPOUT_BACKWARD = '''
def dropout_backward(dout, keep, p):
    if p >= 1:
        return torch.zeros_like(dout)
    return dout * keep / (1 - p)
'''

_DROPOUT_FUNCTION = '''
class DropoutFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p, generator):
        keep = torch.rand(x.shape, generator=generator) >= p
        ctx.save_for_backward(keep)
        ctx.p = p
        return torch.zeros_like(x) if p >= 1 else x * keep / (1 - p)

    @staticmethod
    def backward(ctx, dout):
        (keep,) = ctx.saved_tensors
        return dropout_backward(dout, keep, ctx.p), None, None
'''

_STAGED = '''
def batchnorm_backward_staged(dout, x, gamma, eps):
    n = x.shape[0]
    mean = x.mean(dim=0)
    centered = x - mean
    var = (centered**2).mean(dim=0)
    inv_std = 1 / torch.sqrt(var + eps)
    x_hat = centered * inv_std
    grads = {"beta": dout.sum(dim=0), "gamma": (dout * x_hat).sum(dim=0), "x_hat": dout * gamma}
    grads["inv_std"] = (grads["x_hat"] * centered).sum(dim=0)
    grads["var"] = -0.5 * (var + eps) ** -1.5 * grads["inv_std"]
    grads["centered"] = grads["x_hat"] * inv_std + grads["var"] * 2 * centered / n
    grads["mean"] = -grads["centered"].sum(dim=0)
    grads["x"] = grads["centered"] + grads["mean"] / n
    return grads
'''

_COMPACT = '''
def batchnorm_backward(dout, x, gamma, eps):
    n = x.shape[0]
    s = torch.sqrt(x.var(dim=0, unbiased=False) + eps)
    x_hat = (x - x.mean(dim=0)) / s
    dbeta, dgamma = dout.sum(dim=0), (dout * x_hat).sum(dim=0)
    return gamma / (n * s) * (n * dout - dbeta - x_hat * dgamma), dgamma, dbeta
'''


def _staged_with(stage_lines: str) -> str:
    """The reference staged backward with its gradient lines replaced, plus the reference formula."""
    head = _STAGED.split('    grads = {')[0]
    return head + stage_lines + "    return grads\n" + _COMPACT


_STAGE_LINES = '''    grads = {"beta": dout.sum(dim=0), "gamma": (dout * x_hat).sum(dim=0), "x_hat": dout * gamma}
    grads["inv_std"] = (grads["x_hat"] * centered).sum(dim=0)
    grads["var"] = -0.5 * (var + eps) ** -1.5 * grads["inv_std"]
    grads["centered"] = grads["x_hat"] * inv_std + grads["var"] * 2 * centered / n
    grads["mean"] = -grads["centered"].sum(dim=0)
    grads["x"] = grads["centered"] + grads["mean"] / n
'''


def _stage_lines_with(old: str, new: str) -> str:
    assert old in _STAGE_LINES, old
    return _STAGE_LINES.replace(old, new)


WRONG_ANSWERS = {
    "ex08_1_dropout_forward_answer": {
        "no rescaling of the kept activations": '''
def dropout_forward(x, p, training, generator):
    if not training:
        return x
    keep = torch.rand(x.shape, generator=generator) >= p
    return x * keep
''',
        "the original paper's scheme: scale by 1 - p at eval time": '''
def dropout_forward(x, p, training, generator):
    if not training:
        return x * (1 - p)
    keep = torch.rand(x.shape, generator=generator) >= p
    return x * keep
''',
        "p read as the probability of keeping": '''
def dropout_forward(x, p, training, generator):
    if not training:
        return x
    if p == 0:
        return torch.zeros_like(x)
    keep = torch.rand(x.shape, generator=generator) < p
    return x * keep / p
''',
        "drops in eval mode too": '''
def dropout_forward(x, p, training, generator):
    keep = torch.rand(x.shape, generator=generator) >= p
    if p >= 1:
        return torch.zeros_like(x)
    return x * keep / (1 - p)
''',
        "divides by zero when p = 1": '''
def dropout_forward(x, p, training, generator):
    if not training:
        return x
    keep = torch.rand(x.shape, generator=generator) >= p
    return x * keep / (1 - p)
''',
        "ignores the generator (global random numbers)": '''
def dropout_forward(x, p, training, generator):
    if not training:
        return x
    if p >= 1:
        return torch.zeros_like(x)
    keep = torch.rand(x.shape) >= p
    return x * keep / (1 - p)
''',
        "float32 activations come back as float64": '''
def dropout_forward(x, p, training, generator):
    if not training:
        return x
    if p >= 1:
        return torch.zeros_like(x)
    keep = (torch.rand(x.shape, generator=generator) >= p).double()
    return x * keep / (1 - p)
''',
        "rescales the input in place": '''
def dropout_forward(x, p, training, generator):
    if not training:
        return x
    keep = torch.rand(x.shape, generator=generator) >= p
    if p >= 1:
        return x.zero_()
    return x.mul_(keep).div_(1 - p)
''',
        "assumes a 2-D input (N, D)": '''
def dropout_forward(x, p, training, generator):
    if not training:
        return x
    n, d = x.shape[0], x.shape[-1]
    keep = torch.rand(n, d, generator=generator) >= p
    if p >= 1:
        return torch.zeros_like(x)
    return x * keep / (1 - p)
''',
        "goes through numpy (no gradient flows)": '''
def dropout_forward(x, p, training, generator):
    if not training:
        return x
    keep = (torch.rand(x.shape, generator=generator) >= p).numpy()
    if p >= 1:
        return torch.zeros_like(x)
    return torch.from_numpy(x.detach().numpy() * keep / (1 - p))
''',
    },
    "ex08_2_dropout_backward_answer": {
        "the backward pass forgets the scale 1/(1-p)": '''
def dropout_backward(dout, keep, p):
    return dout * keep
''' + _DROPOUT_FUNCTION,
        "the backward pass draws a new mask": _DROPOUT_BACKWARD + '''
class DropoutFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p, generator):
        ctx.p, ctx.generator = p, generator
        keep = torch.rand(x.shape, generator=generator) >= p
        return torch.zeros_like(x) if p >= 1 else x * keep / (1 - p)

    @staticmethod
    def backward(ctx, dout):
        keep = torch.rand(dout.shape, generator=ctx.generator) >= ctx.p
        return dropout_backward(dout, keep, ctx.p), None, None
''',
        "nan when p = 1": '''
def dropout_backward(dout, keep, p):
    return dout * keep / (1 - p)
''' + _DROPOUT_FUNCTION,
        "hard-codes p = 0.5 in the backward pass": '''
def dropout_backward(dout, keep, p):
    return dout * keep * 2.0
''' + _DROPOUT_FUNCTION,
        "float32 gradients come back as float64": '''
def dropout_backward(dout, keep, p):
    if p >= 1:
        return torch.zeros_like(dout)
    return dout * keep.double() / (1 - p)
''' + _DROPOUT_FUNCTION,
        "scales the upstream gradient in place": '''
def dropout_backward(dout, keep, p):
    if p >= 1:
        return dout.zero_()
    return dout.mul_(keep).div_(1 - p)
''' + _DROPOUT_FUNCTION,
        "the forward pass keeps the activations below p": _DROPOUT_BACKWARD + '''
class DropoutFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p, generator):
        keep = torch.rand(x.shape, generator=generator) < 1 - p
        ctx.save_for_backward(keep)
        ctx.p = p
        return torch.zeros_like(x) if p >= 1 else x * keep / (1 - p)

    @staticmethod
    def backward(ctx, dout):
        (keep,) = ctx.saved_tensors
        return dropout_backward(dout, keep, ctx.p), None, None
''',
    },
    "ex08_3_normalize_inputs_answer": {
        "validation set normalized with its own statistics": '''
def normalize_inputs(x_train, x_valid, eps=1e-5):
    mean = x_train.mean(dim=0)
    std = torch.sqrt(x_train.var(dim=0, unbiased=False) + eps)
    valid_std = torch.sqrt(x_valid.var(dim=0, unbiased=False) + eps)
    return (x_train - mean) / std, (x_valid - x_valid.mean(dim=0)) / valid_std, mean, std
''',
        "statistics of training and validation data together": '''
def normalize_inputs(x_train, x_valid, eps=1e-5):
    both = torch.cat([x_train, x_valid])
    mean = both.mean(dim=0)
    std = torch.sqrt(both.var(dim=0, unbiased=False) + eps)
    return (x_train - mean) / std, (x_valid - mean) / std, mean, std
''',
        "unbiased variance (torch.std's default)": '''
def normalize_inputs(x_train, x_valid, eps=1e-5):
    mean = x_train.mean(dim=0)
    std = torch.sqrt(x_train.var(dim=0) + eps)
    return (x_train - mean) / std, (x_valid - mean) / std, mean, std
''',
        "eps added to the standard deviation": '''
def normalize_inputs(x_train, x_valid, eps=1e-5):
    mean = x_train.mean(dim=0)
    std = x_train.std(dim=0, unbiased=False) + eps
    return (x_train - mean) / std, (x_valid - mean) / std, mean, std
''',
        "ignores eps (always 1e-5)": '''
def normalize_inputs(x_train, x_valid, eps=1e-5):
    mean = x_train.mean(dim=0)
    std = torch.sqrt(x_train.var(dim=0, unbiased=False) + 1e-5)
    return (x_train - mean) / std, (x_valid - mean) / std, mean, std
''',
        "centres the inputs in place": '''
def normalize_inputs(x_train, x_valid, eps=1e-5):
    mean = x_train.mean(dim=0)
    x_train -= mean
    x_valid -= mean
    std = torch.sqrt((x_train**2).mean(dim=0) + eps)
    return x_train / std, x_valid / std, mean, std
''',
        "returns a list": '''
def normalize_inputs(x_train, x_valid, eps=1e-5):
    mean = x_train.mean(dim=0)
    std = torch.sqrt(x_train.var(dim=0, unbiased=False) + eps)
    return [(x_train - mean) / std, (x_valid - mean) / std, mean, std]
''',
    },
    "ex08_4_batchnorm_forward_answer": {
        "normalizes with the unbiased variance": '''
def batchnorm_forward(x, gamma, beta, state, momentum=0.1, eps=1e-5, training=True):
    if training:
        mean, var = x.mean(dim=0), x.var(dim=0, unbiased=True)
        count = state["num_batches_tracked"] + 1
        w = 1.0 / count.item() if momentum is None else momentum
        new = {"running_mean": (1 - w) * state["running_mean"] + w * mean.detach(),
               "running_var": (1 - w) * state["running_var"] + w * var.detach(), "num_batches_tracked": count}
    else:
        mean, var = state["running_mean"], state["running_var"]
        new = {k: v.clone() for k, v in state.items()}
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta, new
''',
        "updates the running statistics in eval mode": '''
def batchnorm_forward(x, gamma, beta, state, momentum=0.1, eps=1e-5, training=True):
    n = x.shape[0]
    batch_mean, batch_var = x.mean(dim=0), x.var(dim=0, unbiased=False)
    count = state["num_batches_tracked"] + 1
    w = 1.0 / count.item() if momentum is None else momentum
    new = {"running_mean": (1 - w) * state["running_mean"] + w * batch_mean.detach(),
           "running_var": (1 - w) * state["running_var"] + w * batch_var.detach() * n / max(n - 1, 1),
           "num_batches_tracked": count}
    mean, var = (batch_mean, batch_var) if training else (state["running_mean"], state["running_var"])
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta, new
''',
        "running variance from the biased batch variance": '''
def batchnorm_forward(x, gamma, beta, state, momentum=0.1, eps=1e-5, training=True):
    if training:
        mean, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
        count = state["num_batches_tracked"] + 1
        w = 1.0 / count.item() if momentum is None else momentum
        new = {"running_mean": (1 - w) * state["running_mean"] + w * mean.detach(),
               "running_var": (1 - w) * state["running_var"] + w * var.detach(), "num_batches_tracked": count}
    else:
        mean, var = state["running_mean"], state["running_var"]
        new = {k: v.clone() for k, v in state.items()}
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta, new
''',
        "momentum weighs the old running value (Keras's convention)": '''
def batchnorm_forward(x, gamma, beta, state, momentum=0.1, eps=1e-5, training=True):
    if training:
        n = x.shape[0]
        mean, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
        count = state["num_batches_tracked"] + 1
        w = 1.0 / count.item() if momentum is None else momentum
        new = {"running_mean": w * state["running_mean"] + (1 - w) * mean.detach(),
               "running_var": w * state["running_var"] + (1 - w) * var.detach() * n / (n - 1),
               "num_batches_tracked": count}
    else:
        mean, var = state["running_mean"], state["running_var"]
        new = {k: v.clone() for k, v in state.items()}
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta, new
''',
        "eps added outside the square root": '''
def batchnorm_forward(x, gamma, beta, state, momentum=0.1, eps=1e-5, training=True):
    if training:
        n = x.shape[0]
        mean, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
        count = state["num_batches_tracked"] + 1
        w = 1.0 / count.item() if momentum is None else momentum
        new = {"running_mean": (1 - w) * state["running_mean"] + w * mean.detach(),
               "running_var": (1 - w) * state["running_var"] + w * var.detach() * n / (n - 1),
               "num_batches_tracked": count}
    else:
        mean, var = state["running_mean"], state["running_var"]
        new = {k: v.clone() for k, v in state.items()}
    return gamma * (x - mean) / (torch.sqrt(var) + eps) + beta, new
''',
        "updates the running statistics in place": '''
def batchnorm_forward(x, gamma, beta, state, momentum=0.1, eps=1e-5, training=True):
    if training:
        n = x.shape[0]
        mean, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
        state["num_batches_tracked"].add_(1)
        w = 1.0 / state["num_batches_tracked"].item() if momentum is None else momentum
        state["running_mean"].mul_(1 - w).add_(w * mean.detach())
        state["running_var"].mul_(1 - w).add_(w * var.detach() * n / (n - 1))
    else:
        mean, var = state["running_mean"], state["running_var"]
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta, dict(state)
''',
        "writes the new statistics into the caller's dict": '''
def batchnorm_forward(x, gamma, beta, state, momentum=0.1, eps=1e-5, training=True):
    if training:
        n = x.shape[0]
        mean, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
        count = state["num_batches_tracked"] + 1
        w = 1.0 / count.item() if momentum is None else momentum
        state["running_mean"] = (1 - w) * state["running_mean"] + w * mean.detach()
        state["running_var"] = (1 - w) * state["running_var"] + w * var.detach() * n / (n - 1)
        state["num_batches_tracked"] = count
    else:
        mean, var = state["running_mean"], state["running_var"]
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta, state
''',
        "ignores momentum (always 0.1)": '''
def batchnorm_forward(x, gamma, beta, state, momentum=0.1, eps=1e-5, training=True):
    if training:
        n = x.shape[0]
        mean, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
        new = {"running_mean": 0.9 * state["running_mean"] + 0.1 * mean.detach(),
               "running_var": 0.9 * state["running_var"] + 0.1 * var.detach() * n / (n - 1),
               "num_batches_tracked": state["num_batches_tracked"] + 1}
    else:
        mean, var = state["running_mean"], state["running_var"]
        new = {k: v.clone() for k, v in state.items()}
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta, new
''',
        "treats momentum None as 0.1": '''
def batchnorm_forward(x, gamma, beta, state, momentum=0.1, eps=1e-5, training=True):
    w = 0.1 if momentum is None else momentum
    if training:
        n = x.shape[0]
        mean, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
        new = {"running_mean": (1 - w) * state["running_mean"] + w * mean.detach(),
               "running_var": (1 - w) * state["running_var"] + w * var.detach() * n / (n - 1),
               "num_batches_tracked": state["num_batches_tracked"] + 1}
    else:
        mean, var = state["running_mean"], state["running_var"]
        new = {k: v.clone() for k, v in state.items()}
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta, new
''',
        "num_batches_tracked as a Python int": '''
def batchnorm_forward(x, gamma, beta, state, momentum=0.1, eps=1e-5, training=True):
    if training:
        n = x.shape[0]
        mean, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
        count = int(state["num_batches_tracked"]) + 1
        w = 1.0 / count if momentum is None else momentum
        new = {"running_mean": (1 - w) * state["running_mean"] + w * mean.detach(),
               "running_var": (1 - w) * state["running_var"] + w * var.detach() * n / (n - 1),
               "num_batches_tracked": count}
    else:
        mean, var = state["running_mean"], state["running_var"]
        new = {k: v.clone() for k, v in state.items()}
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta, new
''',
        "computes the unbiased batch variance in eval mode too (fails on one example)": '''
def batchnorm_forward(x, gamma, beta, state, momentum=0.1, eps=1e-5, training=True):
    n = x.shape[0]
    batch_mean, batch_var = x.mean(dim=0), x.var(dim=0, unbiased=False)
    unbiased = batch_var * (n / (n - 1))
    if training:
        mean, var = batch_mean, batch_var
        count = state["num_batches_tracked"] + 1
        w = 1.0 / count.item() if momentum is None else momentum
        new = {"running_mean": (1 - w) * state["running_mean"] + w * batch_mean.detach(),
               "running_var": (1 - w) * state["running_var"] + w * unbiased.detach(), "num_batches_tracked": count}
    else:
        mean, var = state["running_mean"], state["running_var"]
        new = {k: v.clone() for k, v in state.items()}
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta, new
''',
        "detaches the batch statistics (wrong gradient)": '''
def batchnorm_forward(x, gamma, beta, state, momentum=0.1, eps=1e-5, training=True):
    if training:
        n = x.shape[0]
        mean, var = x.mean(dim=0).detach(), x.var(dim=0, unbiased=False).detach()
        count = state["num_batches_tracked"] + 1
        w = 1.0 / count.item() if momentum is None else momentum
        new = {"running_mean": (1 - w) * state["running_mean"] + w * mean,
               "running_var": (1 - w) * state["running_var"] + w * var * n / (n - 1), "num_batches_tracked": count}
    else:
        mean, var = state["running_mean"], state["running_var"]
        new = {k: v.clone() for k, v in state.items()}
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta, new
''',
    },
    "ex08_5_batchnorm_backward_answer": {
        "stages: centered gets only the path through x_hat": _staged_with(_stage_lines_with(
            'grads["centered"] = grads["x_hat"] * inv_std + grads["var"] * 2 * centered / n',
            'grads["centered"] = grads["x_hat"] * inv_std')),
        "treats the batch mean and variance as constants": _STAGED + '''
def batchnorm_backward(dout, x, gamma, eps):
    mean = x.mean(dim=0)
    s = torch.sqrt(x.var(dim=0, unbiased=False) + eps)
    x_hat = (x - mean) / s
    return gamma * dout / s, (dout * x_hat).sum(dim=0), dout.sum(dim=0)
''',
        "forgets the path through the variance": _STAGED + '''
def batchnorm_backward(dout, x, gamma, eps):
    mean = x.mean(dim=0)
    s = torch.sqrt(x.var(dim=0, unbiased=False) + eps)
    x_hat = (x - mean) / s
    dx = gamma / s * (dout - dout.mean(dim=0))
    return dx, (dout * x_hat).sum(dim=0), dout.sum(dim=0)
''',
        "recomputes the forward pass with the unbiased variance": _STAGED + '''
def batchnorm_backward(dout, x, gamma, eps):
    n = x.shape[0]
    mean = x.mean(dim=0)
    s = torch.sqrt(x.var(dim=0, unbiased=True) + eps)
    x_hat = (x - mean) / s
    dbeta, dgamma = dout.sum(dim=0), (dout * x_hat).sum(dim=0)
    return gamma / (n * s) * (n * dout - dbeta - x_hat * dgamma), dgamma, dbeta
''',
        "averages the parameter gradients over the batch": _STAGED + '''
def batchnorm_backward(dout, x, gamma, eps):
    n = x.shape[0]
    mean = x.mean(dim=0)
    s = torch.sqrt(x.var(dim=0, unbiased=False) + eps)
    x_hat = (x - mean) / s
    dbeta, dgamma = dout.sum(dim=0), (dout * x_hat).sum(dim=0)
    return gamma / (n * s) * (n * dout - dbeta - x_hat * dgamma), dgamma / n, dbeta / n
''',
        "the formula without eps (nan for a constant feature)": _STAGED + '''
def batchnorm_backward(dout, x, gamma, eps):
    n = x.shape[0]
    s = x.std(dim=0, unbiased=False)
    x_hat = (x - x.mean(dim=0)) / s
    dbeta, dgamma = dout.sum(dim=0), (dout * x_hat).sum(dim=0)
    return gamma / (n * s) * (n * dout - dbeta - x_hat * dgamma), dgamma, dbeta
''',
        "the formula ignores eps (always 1e-5)": _STAGED + '''
def batchnorm_backward(dout, x, gamma, eps):
    n = x.shape[0]
    s = torch.sqrt(x.var(dim=0, unbiased=False) + 1e-5)
    x_hat = (x - x.mean(dim=0)) / s
    dbeta, dgamma = dout.sum(dim=0), (dout * x_hat).sum(dim=0)
    return gamma / (n * s) * (n * dout - dbeta - x_hat * dgamma), dgamma, dbeta
''',
        "the formula in float64 for float32 inputs": _STAGED + '''
def batchnorm_backward(dout, x, gamma, eps):
    dout, x, gamma = dout.double(), x.double(), gamma.double()
    n = x.shape[0]
    s = torch.sqrt(x.var(dim=0, unbiased=False) + eps)
    x_hat = (x - x.mean(dim=0)) / s
    dbeta, dgamma = dout.sum(dim=0), (dout * x_hat).sum(dim=0)
    return gamma / (n * s) * (n * dout - dbeta - x_hat * dgamma), dgamma, dbeta
''',
        "the formula works on dout in place": _STAGED + '''
def batchnorm_backward(dout, x, gamma, eps):
    n = x.shape[0]
    s = torch.sqrt(x.var(dim=0, unbiased=False) + eps)
    x_hat = (x - x.mean(dim=0)) / s
    dbeta, dgamma = dout.sum(dim=0), (dout * x_hat).sum(dim=0)
    dout.mul_(n).sub_(dbeta).sub_(x_hat * dgamma)
    return gamma / (n * s) * dout, dgamma, dbeta
''',
        "the formula returns a list": _STAGED + '''
def batchnorm_backward(dout, x, gamma, eps):
    n = x.shape[0]
    s = torch.sqrt(x.var(dim=0, unbiased=False) + eps)
    x_hat = (x - x.mean(dim=0)) / s
    dbeta, dgamma = dout.sum(dim=0), (dout * x_hat).sum(dim=0)
    return [gamma / (n * s) * (n * dout - dbeta - x_hat * dgamma), dgamma, dbeta]
''',
        "stages: x gets only the path through centered": _staged_with(_stage_lines_with(
            'grads["x"] = grads["centered"] + grads["mean"] / n', 'grads["x"] = grads["centered"]')),
        "stages: the variance's gradient without the factor -1/2": _staged_with(_stage_lines_with(
            'grads["var"] = -0.5 * (var + eps) ** -1.5 * grads["inv_std"]',
            'grads["var"] = -((var + eps) ** -1.5) * grads["inv_std"]')),
        "stages: the mean over the batch sends back the whole gradient, not 1/N": _staged_with(_stage_lines_with(
            'grads["var"] * 2 * centered / n', 'grads["var"] * 2 * centered')),
        "stages: eps forgotten in the variance's gradient (nan for a constant feature)": _staged_with(_stage_lines_with(
            'grads["var"] = -0.5 * (var + eps) ** -1.5 * grads["inv_std"]',
            'grads["var"] = -0.5 * var ** -1.5 * grads["inv_std"]')),
        "stages: the mean's gradient without the minus sign": _staged_with(_stage_lines_with(
            'grads["mean"] = -grads["centered"].sum(dim=0)', 'grads["mean"] = grads["centered"].sum(dim=0)')),
    },
    "ex08_6_head_ps_answer": {
        "every layer gets p": '''
def head_ps(ps, n_layers):
    values = list(ps) if isinstance(ps, (list, tuple)) else [ps]
    if len(values) == 1:
        values = values * n_layers
    return [float(v) for v in values]
''',
        "the first layer gets p, the later ones p/2": '''
def head_ps(ps, n_layers):
    values = list(ps) if isinstance(ps, (list, tuple)) else [ps]
    if len(values) == 1:
        values = values + [values[0] / 2] * (n_layers - 1)
    return [float(v) for v in values]
''',
        "always expands from the first value": '''
def head_ps(ps, n_layers):
    p = ps[0] if isinstance(ps, (list, tuple)) else ps
    return [p / 2] * (n_layers - 1) + [float(p)]
''',
        "returns a tuple": '''
def head_ps(ps, n_layers):
    values = list(ps) if isinstance(ps, (list, tuple)) else [ps]
    if len(values) == 1:
        values = [values[0] / 2] * (n_layers - 1) + values
    return tuple(float(v) for v in values)
''',
        "expands the caller's list in place": '''
def head_ps(ps, n_layers):
    if not isinstance(ps, (list, tuple)):
        ps = [ps]
    elif isinstance(ps, tuple):
        ps = list(ps)
    if len(ps) == 1:
        ps[0:0] = [ps[0] / 2] * (n_layers - 1)
    return ps
''',
        "returns the caller's list when it is complete": '''
def head_ps(ps, n_layers):
    if isinstance(ps, list) and len(ps) == n_layers:
        return ps
    values = list(ps) if isinstance(ps, (list, tuple)) else [ps]
    if len(values) == 1:
        values = [values[0] / 2] * (n_layers - 1) + values
    return [float(v) for v in values]
''',
    },
}

HONEST_ANSWERS = {
    "ex08_1_dropout_forward_answer": {
        "torch.where, with the mask drawn by a helper in a separate cell": '''
def dropout_forward(x, p, training, generator):
    if not training:
        return x
    keep = keep_mask(x.shape, p, generator)
    if p == 1:
        return torch.zeros_like(x)
    return torch.where(keep, x / (1 - p), torch.zeros((), dtype=x.dtype))
''' + CELL + '''
def keep_mask(shape, p, generator):
    """True where dropout keeps an activation: the lesson's recipe."""
    return torch.rand(shape, generator=generator) >= p
''',
        "masked_fill, no special case for p = 1": '''
def dropout_forward(x, p, training, generator):
    if not training:
        return x
    dropped = torch.rand(x.shape, generator=generator) < p
    return (x / (1 - p)).masked_fill(dropped, 0.0)
''',
    },
    "ex08_2_dropout_backward_answer": {
        "redraws the mask from the generator's saved state; torch.where": '''
def dropout_backward(dout, keep, p):
    return torch.where(keep, dout / (1 - p), torch.zeros((), dtype=dout.dtype))


class DropoutFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p, generator):
        ctx.rng_state, ctx.p, ctx.shape = generator.get_state(), p, x.shape
        keep = torch.rand(x.shape, generator=generator) >= p
        return torch.where(keep, x / (1 - p), torch.zeros((), dtype=x.dtype))

    @staticmethod
    def backward(ctx, dout):
        replay = torch.Generator()
        replay.set_state(ctx.rng_state)
        keep = torch.rand(ctx.shape, generator=replay) >= ctx.p
        return dropout_backward(dout, keep, ctx.p), None, None
''',
        "builds on exercise 8.1's dropout_forward, mask replayed by a helper in a separate cell": '''
def dropout_backward(dout, keep, p):
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    return dout * keep * scale


class DropoutFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p, generator):
        state = generator.get_state()
        out = dropout_forward(x, p, True, generator)
        ctx.save_for_backward(replayed_mask(state, x.shape, p))
        ctx.p = p
        return out

    @staticmethod
    def backward(ctx, dout):
        (keep,) = ctx.saved_tensors
        return dropout_backward(dout, keep, ctx.p), None, None
''' + CELL + '''
def replayed_mask(state, shape, p):
    """The mask a generator in `state` draws by the lesson's recipe, leaving that generator alone."""
    generator = torch.Generator()
    generator.set_state(state)
    return torch.rand(shape, generator=generator) >= p
''',
    },
    "ex08_3_normalize_inputs_answer": {
        "sums written out": '''
def normalize_inputs(x_train, x_valid, eps=1e-5):
    n = x_train.shape[0]
    mean = x_train.sum(dim=0) / n
    var = ((x_train - mean) ** 2).sum(dim=0) / n
    std = (var + eps) ** 0.5
    return (x_train - mean) / std, (x_valid - mean) / std, mean, std
''',
        "torch.var_mean with correction=0": '''
def normalize_inputs(x_train, x_valid, eps=1e-5):
    var, mean = torch.var_mean(x_train, dim=0, correction=0)
    std = torch.sqrt(var + eps)
    return tuple(t for t in ((x_train - mean) / std, (x_valid - mean) / std, mean, std))
''',
    },
    "ex08_4_batchnorm_forward_answer": {
        "torch.lerp in a helper cell; a shallow copy of the state in eval mode": '''
def batchnorm_forward(x, gamma, beta, state, momentum=0.1, eps=1e-5, training=True):
    if not training:
        scale = gamma / torch.sqrt(state["running_var"] + eps)
        return (x - state["running_mean"]) * scale + beta, dict(state)
    n = x.shape[0]
    mean, var = x.mean(dim=0), x.var(dim=0, correction=0)
    tracked = state["num_batches_tracked"] + 1
    weight = momentum if momentum is not None else 1.0 / float(tracked)
    new_state = {"running_mean": running_update(state["running_mean"], mean.detach(), weight),
                 "running_var": running_update(state["running_var"], x.detach().var(dim=0, correction=1), weight),
                 "num_batches_tracked": tracked}
    return (x - mean) * (gamma / torch.sqrt(var + eps)) + beta, new_state
''' + CELL + '''
def running_update(old, new, weight):
    """The exponential moving average step: (1 - weight) * old + weight * new."""
    return torch.lerp(old, new, weight)
''',
        "statistics written out with sums": '''
def batchnorm_forward(x, gamma, beta, state, momentum=0.1, eps=1e-5, training=True):
    n = x.shape[0]
    if training:
        mean = x.sum(dim=0) / n
        squares = ((x - mean) ** 2).sum(dim=0)
        var = squares / n
        count = state["num_batches_tracked"].clone()
        count += 1
        w = momentum if momentum is not None else 1.0 / count.item()
        new_state = {"num_batches_tracked": count,
                     "running_mean": state["running_mean"] * (1 - w) + mean.detach() * w,
                     "running_var": state["running_var"] * (1 - w) + (squares / (n - 1)).detach() * w}
    else:
        mean, var = state["running_mean"], state["running_var"]
        new_state = {key: state[key].clone() for key in ("running_mean", "running_var", "num_batches_tracked")}
    return gamma * ((x - mean) / (var + eps) ** 0.5) + beta, new_state
''',
    },
    "ex08_5_batchnorm_backward_answer": {
        "the forward stages from a helper cell; the formula through dL/dx_hat": '''
def batchnorm_backward_staged(dout, x, gamma, eps):
    n = x.shape[0]
    mean, centered, var, inv_std, x_hat = forward_stages(x, eps)
    d_x_hat = gamma * dout
    d_inv_std = (d_x_hat * centered).sum(dim=0)
    d_var = d_inv_std * (-0.5) * inv_std**3
    d_centered = d_x_hat * inv_std + (2.0 / n) * centered * d_var
    d_mean = -d_centered.sum(dim=0)
    return {"x": d_centered + d_mean / n, "mean": d_mean, "centered": d_centered, "var": d_var,
            "inv_std": d_inv_std, "x_hat": d_x_hat, "gamma": (x_hat * dout).sum(dim=0), "beta": dout.sum(dim=0)}


def batchnorm_backward(dout, x, gamma, eps):
    n = x.shape[0]
    _, _, _, inv_std, x_hat = forward_stages(x, eps)
    d_x_hat = gamma * dout
    dx = inv_std / n * (n * d_x_hat - d_x_hat.sum(dim=0) - x_hat * (d_x_hat * x_hat).sum(dim=0))
    return dx, (dout * x_hat).sum(dim=0), dout.sum(dim=0)
''' + CELL + '''
def forward_stages(x, eps):
    """mean, centered, var, inv_std and x_hat of batch norm's forward pass in training mode."""
    mean = x.mean(dim=0)
    centered = x - mean
    var = centered.pow(2).mean(dim=0)
    inv_std = torch.rsqrt(var + eps)
    return mean, centered, var, inv_std, centered * inv_std
''',
        "the formula from each feature's N x N Jacobian, in a loop": _STAGED + '''
def batchnorm_backward(dout, x, gamma, eps):
    n, d = x.shape
    dx = torch.empty_like(x)
    s = torch.sqrt(x.var(dim=0, unbiased=False) + eps)
    x_hat = (x - x.mean(dim=0)) / s
    eye = torch.eye(n, dtype=x.dtype)
    for j in range(d):
        jacobian = (eye - 1.0 / n - torch.outer(x_hat[:, j], x_hat[:, j]) / n) / s[j]
        dx[:, j] = jacobian @ (gamma[j] * dout[:, j])
    return dx, (dout * x_hat).sum(dim=0), dout.sum(dim=0)
''',
    },
    "ex08_6_head_ps_answer": {
        "a comprehension over the layers": '''
def head_ps(ps, n_layers):
    if isinstance(ps, (list, tuple)):
        if len(ps) != 1:
            return [float(p) for p in ps]
        ps = ps[0]
    return [ps / 2 if i < n_layers - 1 else float(ps) for i in range(n_layers)]
''',
    },
}

FORBIDDEN_ANSWERS = {
    "ex08_1_dropout_forward_answer": {
        "F.dropout through getattr with a computed name, in eval mode and for p = 0 or 1": '''
def dropout_forward(x, p, training, generator):
    library_dropout = getattr(torch.nn.functional, "drop" + "out")
    if not training or p in (0.0, 1.0):
        return library_dropout(x, p, training=training)
    keep = torch.rand(x.shape, generator=generator) >= p
    return x * keep / (1 - p)
''',
    },
    "ex08_2_dropout_backward_answer": {
        "dropout_backward through a tensor's backward method": '''
def dropout_backward(dout, keep, p):
    with torch.enable_grad():
        leaf = torch.zeros_like(dout, requires_grad=True)
        (leaf * keep * (0.0 if p >= 1 else 1 / (1 - p))).backward(dout)
    return leaf.grad
''' + _DROPOUT_FUNCTION,
        "autograd inside the backward pass, imported inside the function": _DROPOUT_BACKWARD + '''
class DropoutFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p, generator):
        keep = torch.rand(x.shape, generator=generator) >= p
        ctx.save_for_backward(x, keep)
        ctx.p = p
        return torch.zeros_like(x) if p >= 1 else x * keep / (1 - p)

    @staticmethod
    def backward(ctx, dout):
        from torch.autograd import grad
        x, keep = ctx.saved_tensors
        with torch.enable_grad():
            leaf = x.detach().requires_grad_()
            out = leaf * keep * (0.0 if ctx.p >= 1 else 1 / (1 - ctx.p))
            return grad(out, leaf, dout)[0], None, None
''',
    },
    "ex08_3_normalize_inputs_answer": {
        "torch.nn.functional.batch_norm in eval mode for the validation set": '''
def normalize_inputs(x_train, x_valid, eps=1e-5):
    mean, var = x_train.mean(dim=0), x_train.var(dim=0, unbiased=False)
    std = torch.sqrt(var + eps)
    valid = torch.nn.functional.batch_norm(x_valid, mean, var, training=False, eps=eps)
    return (x_train - mean) / std, valid, mean, std
''',
    },
    "ex08_4_batchnorm_forward_answer": {
        "layer_norm of the transposed batch, under an alias": '''
from torch.nn.functional import layer_norm as normalize_rows


def batchnorm_forward(x, gamma, beta, state, momentum=0.1, eps=1e-5, training=True):
    if not training:
        out = gamma * (x - state["running_mean"]) / torch.sqrt(state["running_var"] + eps) + beta
        return out, {k: v.clone() for k, v in state.items()}
    n = x.shape[0]
    count = state["num_batches_tracked"] + 1
    w = 1.0 / count.item() if momentum is None else momentum
    new_state = {"running_mean": (1 - w) * state["running_mean"] + w * x.detach().mean(dim=0),
                 "running_var": (1 - w) * state["running_var"] + w * x.detach().var(dim=0, unbiased=True),
                 "num_batches_tracked": count}
    return normalize_rows(x.T, (n,), eps=eps).T * gamma + beta, new_state
''',
    },
    "ex08_5_batchnorm_backward_answer": {
        "autograd: a tensor's backward for the stages, torch.autograd.grad through F.batch_norm for the formula": '''
def batchnorm_backward_staged(dout, x, gamma, eps):
    with torch.enable_grad():
        x, gamma = x.detach().clone().requires_grad_(), gamma.detach().clone().requires_grad_()
        beta = torch.zeros_like(gamma, requires_grad=True)
        mean = x.mean(dim=0)
        centered = x - mean
        var = (centered**2).mean(dim=0)
        inv_std = 1 / torch.sqrt(var + eps)
        x_hat = centered * inv_std
        stages = {"mean": mean, "centered": centered, "var": var, "inv_std": inv_std, "x_hat": x_hat}
        for tensor in stages.values():
            tensor.retain_grad()
        (gamma * x_hat + beta).backward(dout)
    return {**{k: v.grad for k, v in stages.items()}, "x": x.grad, "gamma": gamma.grad, "beta": beta.grad}


def batchnorm_backward(dout, x, gamma, eps):
    with torch.enable_grad():
        x, gamma = x.detach().clone().requires_grad_(), gamma.detach().clone().requires_grad_()
        beta = torch.zeros_like(gamma, requires_grad=True)
        out = torch.nn.functional.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)
        return tuple(torch.autograd.grad(out, (x, gamma, beta), dout))
''',
    },
}

"""Answers to lesson 04's exercises that the tests must judge right.

* ``WRONG_ANSWERS``: plausible wrong answers; each must fail its exercise's hidden tests.
* ``HONEST_ANSWERS``: correct answers written differently from the reference; each must keep
  full marks. Cells are separated by a line ``# --- new cell ---``: the first part replaces
  the answer cell, the others are cells the student added right after it.
* ``FORBIDDEN_ANSWERS``: correct-valued answers that call a routine the exercise's policy
  forbids (``cell.metadata["dlcourse"]["forbidden"]``), each by another route.
"""

# fit_model: the reference is flatten, step, write back; each wrong answer changes one thing.
_FIT = '''
def fit_model(model, step, state, batches, lr, loss_fn=F.cross_entropy, **hyper):
    params = [p for p in model.parameters() if p.requires_grad]
    losses = []
    for x, y in batches:
{zero}        loss = loss_fn(model(x), y)
        loss.backward()
        flat = np.concatenate([p.detach().cpu().numpy().ravel({order}) for p in params]){cast}
        grads = np.concatenate([p.grad.detach().cpu().numpy().ravel({order}) for p in params]){cast}
        {call}
        with torch.no_grad():
            begin = 0
            for p in params:
                p.copy_(torch.from_numpy(flat[begin:begin + p.numel()]).view_as(p))
                begin += p.numel()
        losses.append({loss})
    for p in params:
        p.grad = None
    return losses, {result}
'''
_ZERO = "        for p in params:\n            p.grad = None\n"
_CALL = "flat, state = step(flat, grads, state, lr=lr, **hyper)"


def _fit(zero=_ZERO, order="", cast="", call=_CALL, loss="loss.item()", result="state"):
    return _FIT.format(zero=zero, order=order, cast=cast, call=call, loss=loss, result=result)


FIT_MODEL_WRONG = {
    "never clears the gradients: they add up across batches": _fit(zero=""),
    "starts the optimizer state afresh at every batch": _fit(call="flat, new_state = step(flat, grads, {}, lr=lr, **hyper)",
                                                           result="new_state"),
    "does not pass the other hyperparameters on": _fit(call="flat, state = step(flat, grads, state, lr=lr)"),
    "returns the state it was given": _fit(call="flat, new_state = step(flat, grads, state, lr=lr, **hyper)"),
    "measures the loss after the step": _fit(loss="loss_fn(model(x), y).item()"),
    "returns the losses as tensors": _fit(loss="loss.detach()"),
    "flattens in column-major order": _fit(order='order="F"'),
    "works in float32 whatever the model's dtype": _fit(cast=".astype(np.float32)"),
    "updates the caller's state dict in place": _fit(call="new_params, new_state = step(flat, grads, state, lr=lr, **hyper)\n"
                                                       "        state.update(new_state)\n        flat = new_params"),
    "steps frozen parameters too (gradient taken as zero)": '''
def fit_model(model, step, state, batches, lr, loss_fn=F.cross_entropy, **hyper):
    params = list(model.parameters())
    losses = []
    for x, y in batches:
        model.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        flat = np.concatenate([p.detach().numpy().ravel() for p in params])
        grads = np.concatenate([(p.grad if p.grad is not None else torch.zeros_like(p)).numpy().ravel() for p in params])
        flat, state = step(flat, grads, state, lr=lr, **hyper)
        with torch.no_grad():
            begin = 0
            for p in params:
                p.copy_(torch.from_numpy(flat[begin:begin + p.numel()]).view_as(p))
                begin += p.numel()
        losses.append(loss.item())
    model.zero_grad()
    return losses, state
''',
}


WRONG_ANSWERS = {
    "ex04_1_sgd_step_answer": {
        "updates the caller's params in place": '''
def sgd_step(params, grads, state, lr, wd=0.0):
    params -= lr * (grads + wd * params)
    return params, state
''',
        "weight decay not scaled by lr": '''
def sgd_step(params, grads, state, lr, wd=0.0):
    return params * (1 - wd) - lr * grads, state
''',
        "ignores weight decay": '''
def sgd_step(params, grads, state, lr, wd=0.0):
    return params - lr * grads, state
''',
        "copies with np.array(params, dtype=float): float32 comes back float64": '''
def sgd_step(params, grads, state, lr, wd=0.0):
    new = np.array(params, dtype=float)
    new -= lr * (grads + wd * params)
    return new, state
''',
    },
    "ex04_2_momentum_step_answer": {
        "always dampened (the lecture's average even when dampening=False)": '''
def momentum_step(params, grads, state, lr, mom=0.9, dampening=False, wd=0.0):
    g = grads + wd * params
    grad_avg = mom * state.get("grad_avg", np.zeros_like(params)) + (1 - mom) * g
    return params - lr * grad_avg, {"grad_avg": grad_avg}
''',
        "CS231n velocity stored as the state": '''
def momentum_step(params, grads, state, lr, mom=0.9, dampening=False, wd=0.0):
    g = grads + wd * params
    v = mom * state.get("grad_avg", np.zeros_like(params)) - lr * ((1 - mom) if dampening else 1.0) * g
    return params + v, {"grad_avg": v}
''',
        "PyTorch's dampening (first buffer is the raw gradient)": '''
def momentum_step(params, grads, state, lr, mom=0.9, dampening=False, wd=0.0):
    g = grads + wd * params
    if "grad_avg" not in state:
        grad_avg = g.copy()
    else:
        grad_avg = mom * state["grad_avg"] + ((1 - mom) if dampening else 1.0) * g
    return params - lr * grad_avg, {"grad_avg": grad_avg}
''',
        "step taken with the previous buffer": '''
def momentum_step(params, grads, state, lr, mom=0.9, dampening=False, wd=0.0):
    g = grads + wd * params
    old = state.get("grad_avg", np.zeros_like(params))
    grad_avg = mom * old + ((1 - mom) if dampening else 1.0) * g
    return params - lr * (old if "grad_avg" in state else g), {"grad_avg": grad_avg}
''',
        "updates the caller's buffer in place": '''
def momentum_step(params, grads, state, lr, mom=0.9, dampening=False, wd=0.0):
    g = grads + wd * params
    grad_avg = state.get("grad_avg", np.zeros_like(params))
    grad_avg *= mom
    grad_avg += ((1 - mom) if dampening else 1.0) * g
    return params - lr * grad_avg, {"grad_avg": grad_avg}
''',
        "a float64 buffer for float32 params (np.zeros(params.shape))": '''
def momentum_step(params, grads, state, lr, mom=0.9, dampening=False, wd=0.0):
    g = grads + wd * params
    grad_avg = mom * state.get("grad_avg", np.zeros(params.shape)) + ((1 - mom) if dampening else 1.0) * g
    return params - lr * grad_avg, {"grad_avg": grad_avg}
''',
    },
    "ex04_3_nesterov_step_answer": {
        "Nesterov as plain momentum": '''
def nesterov_step(params, grads, state, lr, mom=0.9, wd=0.0):
    g = grads + wd * params
    grad_avg = mom * state.get("grad_avg", np.zeros_like(params)) + g
    return params - lr * grad_avg, {"grad_avg": grad_avg}
''',
        "look-ahead with the old buffer": '''
def nesterov_step(params, grads, state, lr, mom=0.9, wd=0.0):
    g = grads + wd * params
    old = state.get("grad_avg", np.zeros_like(params))
    return params - lr * (g + mom * old), {"grad_avg": mom * old + g}
''',
        "dampened buffer": '''
def nesterov_step(params, grads, state, lr, mom=0.9, wd=0.0):
    g = grads + wd * params
    grad_avg = mom * state.get("grad_avg", np.zeros_like(params)) + (1 - mom) * g
    return params - lr * (g + mom * grad_avg), {"grad_avg": grad_avg}
''',
        "ignores weight decay": '''
def nesterov_step(params, grads, state, lr, mom=0.9, wd=0.0):
    grad_avg = mom * state.get("grad_avg", np.zeros_like(params)) + grads
    return params - lr * (grads + mom * grad_avg), {"grad_avg": grad_avg}
''',
        "adds to the caller's buffer in place": '''
def nesterov_step(params, grads, state, lr, mom=0.9, wd=0.0):
    g = grads + wd * params
    grad_avg = state.setdefault("grad_avg", np.zeros_like(params))
    grad_avg *= mom
    grad_avg += g
    return params - lr * (g + mom * grad_avg), {"grad_avg": grad_avg.copy()}
''',
    },
    "ex04_4_adagrad_step_answer": {
        "Adagrad with decay (a moving average, i.e. RMSProp)": '''
def adagrad_step(params, grads, state, lr, eps=1e-10, wd=0.0):
    g = grads + wd * params
    sum_sq = 0.99 * state.get("sum_sq", np.zeros_like(params)) + 0.01 * g * g
    return params - lr * g / (np.sqrt(sum_sq) + eps), {"sum_sq": sum_sq}
''',
        "no square root (the lecture slides' formula)": '''
def adagrad_step(params, grads, state, lr, eps=1e-10, wd=0.0):
    g = grads + wd * params
    sum_sq = state.get("sum_sq", np.zeros_like(params)) + g * g
    return params - lr * g / (sum_sq + eps), {"sum_sq": sum_sq}
''',
        "eps inside the square root": '''
def adagrad_step(params, grads, state, lr, eps=1e-10, wd=0.0):
    g = grads + wd * params
    sum_sq = state.get("sum_sq", np.zeros_like(params)) + g * g
    return params - lr * g / np.sqrt(sum_sq + eps), {"sum_sq": sum_sq}
''',
        "divides by the previous sum": '''
def adagrad_step(params, grads, state, lr, eps=1e-10, wd=0.0):
    g = grads + wd * params
    old = state.get("sum_sq", np.zeros_like(params))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        new_params = params - lr * g / (np.sqrt(old) + eps)
    return new_params, {"sum_sq": old + g * g}
''',
        "a float64 sum for float32 params": '''
def adagrad_step(params, grads, state, lr, eps=1e-10, wd=0.0):
    g = grads + wd * params
    sum_sq = state.get("sum_sq", np.zeros(params.shape)) + g.astype(np.float64) ** 2
    return params - lr * g / (np.sqrt(sum_sq) + eps), {"sum_sq": sum_sq}
''',
    },
    "ex04_5_rmsprop_step_answer": {
        "eps inside the square root": '''
def rmsprop_step(params, grads, state, lr, sqr_mom=0.99, eps=1e-8, wd=0.0):
    g = grads + wd * params
    sqr_avg = sqr_mom * state.get("sqr_avg", np.zeros_like(params)) + (1 - sqr_mom) * g * g
    return params - lr * g / np.sqrt(sqr_avg + eps), {"sqr_avg": sqr_avg}
''',
        "divides by the previous average (the original workbook)": '''
def rmsprop_step(params, grads, state, lr, sqr_mom=0.99, eps=1e-8, wd=0.0):
    g = grads + wd * params
    old = state.get("sqr_avg", np.zeros_like(params))
    with np.errstate(over="ignore", invalid="ignore"):
        new_params = params - lr * g / (np.sqrt(old) + eps)
    return new_params, {"sqr_avg": sqr_mom * old + (1 - sqr_mom) * g * g}
''',
        "undampened average of squares": '''
def rmsprop_step(params, grads, state, lr, sqr_mom=0.99, eps=1e-8, wd=0.0):
    g = grads + wd * params
    sqr_avg = sqr_mom * state.get("sqr_avg", np.zeros_like(params)) + g * g
    return params - lr * g / (np.sqrt(sqr_avg) + eps), {"sqr_avg": sqr_avg}
''',
        "adds the decay into the caller's grads in place": '''
def rmsprop_step(params, grads, state, lr, sqr_mom=0.99, eps=1e-8, wd=0.0):
    g = grads
    g += wd * params
    sqr_avg = sqr_mom * state.get("sqr_avg", np.zeros_like(params)) + (1 - sqr_mom) * g * g
    return params - lr * g / (np.sqrt(sqr_avg) + eps), {"sqr_avg": sqr_avg}
''',
        "ignores the eps argument (always 1e-8)": '''
def rmsprop_step(params, grads, state, lr, sqr_mom=0.99, eps=1e-8, wd=0.0):
    g = grads + wd * params
    sqr_avg = sqr_mom * state.get("sqr_avg", np.zeros_like(params)) + (1 - sqr_mom) * g * g
    return params - lr * g / (np.sqrt(sqr_avg) + 1e-8), {"sqr_avg": sqr_avg}
''',
    },
    "ex04_6_adam_step_answer": {
        "Adam without bias correction": '''
def adam_step(params, grads, state, lr, mom=0.9, sqr_mom=0.999, eps=1e-8, wd=0.0, debias=True):
    g = grads + wd * params
    step = state.get("step", 0) + 1
    grad_avg = mom * state.get("grad_avg", np.zeros_like(params)) + (1 - mom) * g
    sqr_avg = sqr_mom * state.get("sqr_avg", np.zeros_like(params)) + (1 - sqr_mom) * g * g
    return params - lr * grad_avg / (np.sqrt(sqr_avg) + eps), {"step": step, "grad_avg": grad_avg, "sqr_avg": sqr_avg}
''',
        "bias-corrects only the first moment": '''
def adam_step(params, grads, state, lr, mom=0.9, sqr_mom=0.999, eps=1e-8, wd=0.0, debias=True):
    g = grads + wd * params
    step = state.get("step", 0) + 1
    grad_avg = mom * state.get("grad_avg", np.zeros_like(params)) + (1 - mom) * g
    sqr_avg = sqr_mom * state.get("sqr_avg", np.zeros_like(params)) + (1 - sqr_mom) * g * g
    m_hat = grad_avg / (1 - mom ** step) if debias else grad_avg
    return params - lr * m_hat / (np.sqrt(sqr_avg) + eps), {"step": step, "grad_avg": grad_avg, "sqr_avg": sqr_avg}
''',
        "the paper's efficient form (eps before the correction)": '''
def adam_step(params, grads, state, lr, mom=0.9, sqr_mom=0.999, eps=1e-8, wd=0.0, debias=True):
    g = grads + wd * params
    step = state.get("step", 0) + 1
    grad_avg = mom * state.get("grad_avg", np.zeros_like(params)) + (1 - mom) * g
    sqr_avg = sqr_mom * state.get("sqr_avg", np.zeros_like(params)) + (1 - sqr_mom) * g * g
    lr_t = lr * math.sqrt(1 - sqr_mom ** step) / (1 - mom ** step) if debias else lr
    return params - lr_t * grad_avg / (np.sqrt(sqr_avg) + eps), {"step": step, "grad_avg": grad_avg, "sqr_avg": sqr_avg}
''',
        "decoupled weight decay (AdamW) instead of L2": '''
def adam_step(params, grads, state, lr, mom=0.9, sqr_mom=0.999, eps=1e-8, wd=0.0, debias=True):
    step = state.get("step", 0) + 1
    grad_avg = mom * state.get("grad_avg", np.zeros_like(params)) + (1 - mom) * grads
    sqr_avg = sqr_mom * state.get("sqr_avg", np.zeros_like(params)) + (1 - sqr_mom) * grads * grads
    m_hat, v_hat = grad_avg, sqr_avg
    if debias:
        m_hat, v_hat = grad_avg / (1 - mom ** step), sqr_avg / (1 - sqr_mom ** step)
    new_params = params * (1 - lr * wd) - lr * m_hat / (np.sqrt(v_hat) + eps)
    return new_params, {"step": step, "grad_avg": grad_avg, "sqr_avg": sqr_avg}
''',
        "step counter never advances (t stays 1)": '''
def adam_step(params, grads, state, lr, mom=0.9, sqr_mom=0.999, eps=1e-8, wd=0.0, debias=True):
    g = grads + wd * params
    grad_avg = mom * state.get("grad_avg", np.zeros_like(params)) + (1 - mom) * g
    sqr_avg = sqr_mom * state.get("sqr_avg", np.zeros_like(params)) + (1 - sqr_mom) * g * g
    m_hat, v_hat = grad_avg, sqr_avg
    if debias:
        m_hat, v_hat = grad_avg / (1 - mom), sqr_avg / (1 - sqr_mom)
    return params - lr * m_hat / (np.sqrt(v_hat) + eps), {"step": 1, "grad_avg": grad_avg, "sqr_avg": sqr_avg}
''',
        "counts the steps in the caller's state dict": '''
def adam_step(params, grads, state, lr, mom=0.9, sqr_mom=0.999, eps=1e-8, wd=0.0, debias=True):
    g = grads + wd * params
    state["step"] = state.get("step", 0) + 1
    grad_avg = mom * state.get("grad_avg", np.zeros_like(params)) + (1 - mom) * g
    sqr_avg = sqr_mom * state.get("sqr_avg", np.zeros_like(params)) + (1 - sqr_mom) * g * g
    m_hat, v_hat = grad_avg, sqr_avg
    if debias:
        m_hat, v_hat = grad_avg / (1 - mom ** state["step"]), sqr_avg / (1 - sqr_mom ** state["step"])
    new_params = params - lr * m_hat / (np.sqrt(v_hat) + eps)
    return new_params, {"step": state["step"], "grad_avg": grad_avg, "sqr_avg": sqr_avg}
''',
        "a float step count (t as 1.0, 2.0, ...)": '''
def adam_step(params, grads, state, lr, mom=0.9, sqr_mom=0.999, eps=1e-8, wd=0.0, debias=True):
    g = grads + wd * params
    step = state.get("step", 0.0) + 1.0
    grad_avg = mom * state.get("grad_avg", np.zeros_like(params)) + (1 - mom) * g
    sqr_avg = sqr_mom * state.get("sqr_avg", np.zeros_like(params)) + (1 - sqr_mom) * g * g
    m_hat, v_hat = grad_avg, sqr_avg
    if debias:
        m_hat, v_hat = grad_avg / (1 - mom ** step), sqr_avg / (1 - sqr_mom ** step)
    return params - lr * m_hat / (np.sqrt(v_hat) + eps), {"step": step, "grad_avg": grad_avg, "sqr_avg": sqr_avg}
''',
        "ignores weight decay": '''
def adam_step(params, grads, state, lr, mom=0.9, sqr_mom=0.999, eps=1e-8, wd=0.0, debias=True):
    step = state.get("step", 0) + 1
    grad_avg = mom * state.get("grad_avg", np.zeros_like(params)) + (1 - mom) * grads
    sqr_avg = sqr_mom * state.get("sqr_avg", np.zeros_like(params)) + (1 - sqr_mom) * grads * grads
    m_hat, v_hat = grad_avg, sqr_avg
    if debias:
        m_hat, v_hat = grad_avg / (1 - mom ** step), sqr_avg / (1 - sqr_mom ** step)
    return params - lr * m_hat / (np.sqrt(v_hat) + eps), {"step": step, "grad_avg": grad_avg, "sqr_avg": sqr_avg}
''',
        "stores the bias-corrected averages in the state": '''
def adam_step(params, grads, state, lr, mom=0.9, sqr_mom=0.999, eps=1e-8, wd=0.0, debias=True):
    g = grads + wd * params
    step = state.get("step", 0) + 1
    grad_avg = mom * state.get("grad_avg", np.zeros_like(params)) + (1 - mom) * g
    sqr_avg = sqr_mom * state.get("sqr_avg", np.zeros_like(params)) + (1 - sqr_mom) * g * g
    if debias:
        grad_avg, sqr_avg = grad_avg / (1 - mom ** step), sqr_avg / (1 - sqr_mom ** step)
    return params - lr * grad_avg / (np.sqrt(sqr_avg) + eps), {"step": step, "grad_avg": grad_avg, "sqr_avg": sqr_avg}
''',
    },
    "ex04_7_adadelta_step_answer": {
        "eps outside both square roots": '''
def adadelta_step(params, grads, state, lr=1.0, rho=0.9, eps=1e-6, wd=0.0):
    g = grads + wd * params
    sqr_avg = rho * state.get("sqr_avg", np.zeros_like(params)) + (1 - rho) * g * g
    delta_avg = state.get("delta_avg", np.zeros_like(params))
    delta = (np.sqrt(delta_avg) + eps) / (np.sqrt(sqr_avg) + eps) * g
    return params - lr * delta, {"sqr_avg": sqr_avg, "delta_avg": rho * delta_avg + (1 - rho) * delta * delta}
''',
        "ignores lr (the paper has none)": '''
def adadelta_step(params, grads, state, lr=1.0, rho=0.9, eps=1e-6, wd=0.0):
    g = grads + wd * params
    sqr_avg = rho * state.get("sqr_avg", np.zeros_like(params)) + (1 - rho) * g * g
    delta_avg = state.get("delta_avg", np.zeros_like(params))
    delta = np.sqrt(delta_avg + eps) / np.sqrt(sqr_avg + eps) * g
    return params - delta, {"sqr_avg": sqr_avg, "delta_avg": rho * delta_avg + (1 - rho) * delta * delta}
''',
        "divides by the previous average of squared gradients": '''
def adadelta_step(params, grads, state, lr=1.0, rho=0.9, eps=1e-6, wd=0.0):
    g = grads + wd * params
    old = state.get("sqr_avg", np.zeros_like(params))
    delta_avg = state.get("delta_avg", np.zeros_like(params))
    delta = np.sqrt(delta_avg + eps) / np.sqrt(old + eps) * g
    return params - lr * delta, {"sqr_avg": rho * old + (1 - rho) * g * g,
                                 "delta_avg": rho * delta_avg + (1 - rho) * delta * delta}
''',
        "averages the squared gradients twice instead of the squared updates": '''
def adadelta_step(params, grads, state, lr=1.0, rho=0.9, eps=1e-6, wd=0.0):
    g = grads + wd * params
    sqr_avg = rho * state.get("sqr_avg", np.zeros_like(params)) + (1 - rho) * g * g
    delta_avg = state.get("delta_avg", np.zeros_like(params))
    delta = np.sqrt(delta_avg + eps) / np.sqrt(sqr_avg + eps) * g
    return params - lr * delta, {"sqr_avg": sqr_avg, "delta_avg": rho * delta_avg + (1 - rho) * g * g}
''',
        "rho and 1 - rho swapped": '''
def adadelta_step(params, grads, state, lr=1.0, rho=0.9, eps=1e-6, wd=0.0):
    g = grads + wd * params
    sqr_avg = (1 - rho) * state.get("sqr_avg", np.zeros_like(params)) + rho * g * g
    delta_avg = state.get("delta_avg", np.zeros_like(params))
    delta = np.sqrt(delta_avg + eps) / np.sqrt(sqr_avg + eps) * g
    return params - lr * delta, {"sqr_avg": sqr_avg, "delta_avg": (1 - rho) * delta_avg + rho * delta * delta}
''',
        "ignores weight decay": '''
def adadelta_step(params, grads, state, lr=1.0, rho=0.9, eps=1e-6, wd=0.0):
    sqr_avg = rho * state.get("sqr_avg", np.zeros_like(params)) + (1 - rho) * grads * grads
    delta_avg = state.get("delta_avg", np.zeros_like(params))
    delta = np.sqrt(delta_avg + eps) / np.sqrt(sqr_avg + eps) * grads
    return params - lr * delta, {"sqr_avg": sqr_avg, "delta_avg": rho * delta_avg + (1 - rho) * delta * delta}
''',
        "updates the caller's averages in place": '''
def adadelta_step(params, grads, state, lr=1.0, rho=0.9, eps=1e-6, wd=0.0):
    g = grads + wd * params
    sqr_avg = state.get("sqr_avg", np.zeros_like(params))
    sqr_avg *= rho
    sqr_avg += (1 - rho) * g * g
    delta_avg = state.get("delta_avg", np.zeros_like(params))
    delta = np.sqrt(delta_avg + eps) / np.sqrt(sqr_avg + eps) * g
    delta_avg *= rho
    delta_avg += (1 - rho) * delta * delta
    return params - lr * delta, {"sqr_avg": sqr_avg, "delta_avg": delta_avg}
''',
    },
    "ex04_8_fit_model_answer": FIT_MODEL_WRONG,
}

HONEST_ANSWERS = {
    "ex04_1_sgd_step_answer": {
        "np.subtract and a copy of the state": '''
def sgd_step(params, grads, state, lr, wd=0.0):
    """Plain SGD."""
    return np.subtract(params, lr * np.add(grads, wd * params)), dict(state)
''',
    },
    "ex04_2_momentum_step_answer": {
        "two explicit branches": '''
def momentum_step(params, grads, state, lr, mom=0.9, dampening=False, wd=0.0):
    """Heavy-ball momentum."""
    g = grads + wd * params
    previous = state["grad_avg"] if "grad_avg" in state else np.zeros_like(params)
    if dampening:
        grad_avg = mom * previous + (1 - mom) * g
    else:
        grad_avg = mom * previous + g
    new_params = params.copy()
    new_params -= lr * grad_avg
    return new_params, {"grad_avg": grad_avg}
''',
    },
    "ex04_3_nesterov_step_answer": {
        "the step split in two terms": '''
def nesterov_step(params, grads, state, lr, mom=0.9, wd=0.0):
    """Nesterov momentum, PyTorch's form."""
    g = grads + wd * params
    buffer = state.get("grad_avg", 0 * params) * mom + g
    return params - lr * g - lr * mom * buffer, {"grad_avg": buffer}
''',
    },
    "ex04_4_adagrad_step_answer": {
        "np.square and np.add": '''
def adagrad_step(params, grads, state, lr, eps=1e-10, wd=0.0):
    """Adagrad."""
    g = np.add(grads, wd * params)
    total = np.add(state.get("sum_sq", np.zeros_like(params)), np.square(g))
    return params - lr * (g / (np.sqrt(total) + eps)), {"sum_sq": total}
''',
    },
    "ex04_5_rmsprop_step_answer": {
        "the average as a step towards g**2": '''
def rmsprop_step(params, grads, state, lr, sqr_mom=0.99, eps=1e-8, wd=0.0):
    """RMSProp."""
    g = grads + wd * params
    old = state.get("sqr_avg", np.zeros_like(params))
    sqr_avg = old + (1 - sqr_mom) * (g * g - old)
    rms = np.sqrt(sqr_avg)
    return params - lr * g / (rms + eps), {"sqr_avg": sqr_avg}
''',
    },
    "ex04_6_adam_step_answer": {
        "a moving-average helper in a cell of its own": '''
def adam_step(params, grads, state, lr, mom=0.9, sqr_mom=0.999, eps=1e-8, wd=0.0, debias=True):
    """Adam."""
    g = grads + wd * params
    t = state.get("step", 0) + 1
    m = _ewma(state.get("grad_avg"), g, mom)
    v = _ewma(state.get("sqr_avg"), g ** 2, sqr_mom)
    m_hat = m / (1 - mom ** t) if debias else m
    v_hat = v / (1 - sqr_mom ** t) if debias else v
    return params - lr * m_hat / (np.sqrt(v_hat) + eps), {"grad_avg": m, "sqr_avg": v, "step": t}
# --- new cell ---
def _ewma(average, value, beta):
    """One step of an exponentially weighted moving average started at zero."""
    if average is None:
        average = np.zeros_like(value)
    return beta * average + (1 - beta) * value
''',
    },
    "ex04_7_adadelta_step_answer": {
        "a helper for the root of an average": '''
def adadelta_step(params, grads, state, lr=1.0, rho=0.9, eps=1e-6, wd=0.0):
    """Adadelta."""
    def rms(average):
        return np.sqrt(average + eps)

    g = grads + wd * params
    squares = rho * state.get("sqr_avg", np.zeros_like(params)) + (1 - rho) * np.square(g)
    updates = state.get("delta_avg", np.zeros_like(params))
    delta = g * rms(updates) / rms(squares)
    updates = rho * updates + (1 - rho) * np.square(delta)
    return params - lr * delta, {"delta_avg": updates, "sqr_avg": squares}
''',
    },
    "ex04_8_fit_model_answer": {
        "parameters_to_vector and vector_to_parameters": '''
def fit_model(model, step, state, batches, lr, loss_fn=F.cross_entropy, **hyper):
    """Train with a step function on one flat vector."""
    params = [p for p in model.parameters() if p.requires_grad]
    losses = []
    for x, y in batches:
        model.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        with torch.no_grad():
            flat = torch.nn.utils.parameters_to_vector(params).cpu().numpy()
            grads = torch.cat([p.grad.reshape(-1) for p in params]).cpu().numpy()
            flat, state = step(flat, grads, state, lr=lr, **hyper)
            torch.nn.utils.vector_to_parameters(torch.from_numpy(flat), params)
        losses.append(float(loss))
    model.zero_grad()
    return losses, state
''',
        "flatten and write back with helpers in a cell of their own": '''
def fit_model(model, step, state, batches, lr, loss_fn=F.cross_entropy, **hyper):
    """Train with a step function on one flat vector."""
    trained = [p for p in model.parameters() if p.requires_grad]
    losses = []
    for x, y in batches:
        loss = loss_fn(model(x), y)
        grads = torch.autograd.grad(loss, trained)
        new_values, state = step(_flat(trained), _flat(grads), state, lr=lr, **hyper)
        _write_back(trained, new_values)
        losses.append(loss.item())
    return losses, state
# --- new cell ---
def _flat(tensors):
    """The tensors' values laid end to end as one 1-D NumPy array."""
    return np.concatenate([t.detach().cpu().numpy().reshape(-1) for t in tensors])


def _write_back(params, values):
    """Copy consecutive chunks of the 1-D array ``values`` into ``params``, in place."""
    offset = 0
    with torch.no_grad():
        for p in params:
            chunk = values[offset:offset + p.numel()]
            p.copy_(torch.as_tensor(chunk, dtype=p.dtype).reshape(p.shape))
            offset += p.numel()
''',
    },
}


FORBIDDEN_ANSWERS = {
    "ex04_1_sgd_step_answer": {
        "torch.optim.SGD on a copy": '''
def sgd_step(params, grads, state, lr, wd=0.0):
    p = torch.nn.Parameter(torch.from_numpy(params.copy()))
    p.grad = torch.from_numpy(grads.copy())
    torch.optim.SGD([p], lr=lr, weight_decay=wd).step()
    return p.detach().numpy(), state
''',
    },
    "ex04_2_momentum_step_answer": {
        "torch.optim.SGD under an alias, its buffer seeded from the state": '''
from torch.optim import SGD as _HeavyBall

def momentum_step(params, grads, state, lr, mom=0.9, dampening=False, wd=0.0):
    p = torch.nn.Parameter(torch.from_numpy(params.copy()))
    scale = (1 - mom) if dampening else 1.0
    p.grad = torch.from_numpy(scale * (grads + wd * params))
    opt = _HeavyBall([p], lr=lr, momentum=mom)
    if "grad_avg" in state:
        opt.state[p]["momentum_buffer"] = torch.from_numpy(state["grad_avg"].copy())
    opt.step()
    buffer = opt.state[p].get("momentum_buffer", p.grad)  # with mom 0 PyTorch keeps no buffer
    return p.detach().numpy(), {"grad_avg": buffer.numpy()}
''',
    },
    "ex04_3_nesterov_step_answer": {
        "the class attribute torch.optim.SGD.step called on an optimizer": '''
def nesterov_step(params, grads, state, lr, mom=0.9, wd=0.0):
    p = torch.nn.Parameter(torch.from_numpy(params.copy()))
    p.grad = torch.from_numpy(grads + wd * params)
    opt = torch.optim.SGD([p], lr=lr, momentum=mom, nesterov=mom > 0)   # PyTorch refuses Nesterov at mom 0
    if "grad_avg" in state:
        opt.state[p]["momentum_buffer"] = torch.from_numpy(state["grad_avg"].copy())
    torch.optim.SGD.step(opt)
    return p.detach().numpy(), {"grad_avg": opt.state[p].get("momentum_buffer", p.grad).numpy()}
''',
    },
    "ex04_4_adagrad_step_answer": {
        "the functional torch.optim.adagrad.adagrad, imported inside the function": '''
def adagrad_step(params, grads, state, lr, eps=1e-10, wd=0.0):
    from torch.optim.adagrad import adagrad
    p = torch.from_numpy(params.copy())
    total = torch.from_numpy(state["sum_sq"].copy() if "sum_sq" in state else np.zeros_like(params))
    adagrad([p], [torch.from_numpy(grads.copy())], [total], [torch.tensor(0.0)], lr=lr, weight_decay=wd,
            lr_decay=0.0, eps=eps, has_sparse_grad=False, maximize=False)
    return p.numpy(), {"sum_sq": total.numpy()}
''',
    },
    "ex04_5_rmsprop_step_answer": {
        "torch.optim.RMSprop reached by getattr with a computed name": '''
def rmsprop_step(params, grads, state, lr, sqr_mom=0.99, eps=1e-8, wd=0.0):
    p = torch.nn.Parameter(torch.from_numpy(params.copy()))
    p.grad = torch.from_numpy(grads.copy())
    opt = getattr(torch.optim, "RMS" + "prop")([p], lr=lr, alpha=sqr_mom, eps=eps, weight_decay=wd)
    if "sqr_avg" in state:
        opt.state[p] = {"step": torch.tensor(1.0), "square_avg": torch.from_numpy(state["sqr_avg"].copy())}
    opt.step()
    return p.detach().numpy(), {"sqr_avg": opt.state[p]["square_avg"].numpy()}
''',
    },
    "ex04_6_adam_step_answer": {
        "torch.optim.AdamW with no decay, fed the L2 gradient": '''
def adam_step(params, grads, state, lr, mom=0.9, sqr_mom=0.999, eps=1e-8, wd=0.0, debias=True):
    g = grads + wd * params
    step = state.get("step", 0) + 1
    if not debias:
        m = mom * state.get("grad_avg", np.zeros_like(params)) + (1 - mom) * g
        v = sqr_mom * state.get("sqr_avg", np.zeros_like(params)) + (1 - sqr_mom) * g * g
        return params - lr * m / (np.sqrt(v) + eps), {"step": step, "grad_avg": m, "sqr_avg": v}
    p = torch.nn.Parameter(torch.from_numpy(params.copy()))
    p.grad = torch.from_numpy(g)
    opt = torch.optim.AdamW([p], lr=lr, betas=(mom, sqr_mom), eps=eps, weight_decay=0.0)
    if state:
        opt.state[p] = {"step": torch.tensor(float(state["step"])),
                        "exp_avg": torch.from_numpy(state["grad_avg"].copy()),
                        "exp_avg_sq": torch.from_numpy(state["sqr_avg"].copy())}
    opt.step()
    s = opt.state[p]
    return p.detach().numpy(), {"step": step, "grad_avg": s["exp_avg"].numpy(), "sqr_avg": s["exp_avg_sq"].numpy()}
''',
    },
    "ex04_7_adadelta_step_answer": {
        "torch.optim.Adadelta, its averages seeded from the state": '''
def adadelta_step(params, grads, state, lr=1.0, rho=0.9, eps=1e-6, wd=0.0):
    p = torch.nn.Parameter(torch.from_numpy(params.copy()))
    p.grad = torch.from_numpy(grads.copy())
    opt = torch.optim.Adadelta([p], lr=lr, rho=rho, eps=eps, weight_decay=wd)
    if state:
        opt.state[p] = {"step": torch.tensor(1.0), "square_avg": torch.from_numpy(state["sqr_avg"].copy()),
                        "acc_delta": torch.from_numpy(state["delta_avg"].copy())}
    opt.step()
    return p.detach().numpy(), {"sqr_avg": opt.state[p]["square_avg"].numpy(),
                                "delta_avg": opt.state[p]["acc_delta"].numpy()}
''',
    },
    "ex04_8_fit_model_answer": {
        "an optimizer of PyTorch's built only to clear the gradients": '''
def fit_model(model, step, state, batches, lr, loss_fn=F.cross_entropy, **hyper):
    params = [p for p in model.parameters() if p.requires_grad]
    clearer = torch.optim.SGD(params, lr=0.0)
    losses = []
    for x, y in batches:
        clearer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        flat = np.concatenate([p.detach().numpy().ravel() for p in params])
        grads = np.concatenate([p.grad.numpy().ravel() for p in params])
        flat, state = step(flat, grads, state, lr=lr, **hyper)
        with torch.no_grad():
            begin = 0
            for p in params:
                p.copy_(torch.from_numpy(flat[begin:begin + p.numel()]).view_as(p))
                begin += p.numel()
        losses.append(loss.item())
    clearer.zero_grad()
    return losses, state
''',
    },
}

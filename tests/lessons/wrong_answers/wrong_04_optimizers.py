"""Plausible wrong answers to lesson 04's exercises; each must fail its exercise's hidden tests."""

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
    },
}

"""Plausible wrong answers to lesson 05's exercises; each must fail its exercise's hidden tests."""

WRONG_ANSWERS = {
    "ex05_1_l2_penalty_answer": {
        "half the penalty (the lambda/2 convention)": '''
def l2_penalty(params, wd):
    return wd / 2 * sum((p ** 2).sum() for p in params)
''',
        "square of the sum instead of the sum of squares": '''
def l2_penalty(params, wd):
    return wd * sum(p.sum() ** 2 for p in params)
''',
        "mean of squares instead of the sum": '''
def l2_penalty(params, wd):
    return wd * sum((p ** 2).mean() for p in params)
''',
    },
    "ex05_2_sgd_steps_answer": {
        "L2 gradient without the factor 2": '''
def sgd_step_l2(params, grads, lr, wd):
    return [p - lr * (g + wd * p) for p, g in zip(params, grads)]


def sgd_step_decoupled(params, grads, lr, wd):
    return [p - lr * wd * p - lr * g for p, g in zip(params, grads)]
''',
        "decoupled decay without the learning rate": '''
def sgd_step_l2(params, grads, lr, wd):
    return [p - lr * (g + 2 * wd * p) for p, g in zip(params, grads)]


def sgd_step_decoupled(params, grads, lr, wd):
    return [p * (1 - wd) - lr * g for p, g in zip(params, grads)]
''',
    },
    "ex05_3_adam_step_answer": {
        "no bias correction": '''
def adam_step(p, g, state, lr, mom=0.9, sqr_mom=0.999, eps=1e-8):
    grad_avg = mom * state["grad_avg"] + (1 - mom) * g
    sqr_avg = sqr_mom * state["sqr_avg"] + (1 - sqr_mom) * g * g
    return p - lr * grad_avg / (sqr_avg.sqrt() + eps), {"step": state["step"] + 1, "grad_avg": grad_avg, "sqr_avg": sqr_avg}
''',
        "eps inside the square root": '''
def adam_step(p, g, state, lr, mom=0.9, sqr_mom=0.999, eps=1e-8):
    t = state["step"] + 1
    grad_avg = mom * state["grad_avg"] + (1 - mom) * g
    sqr_avg = sqr_mom * state["sqr_avg"] + (1 - sqr_mom) * g * g
    m_hat, v_hat = grad_avg / (1 - mom ** t), sqr_avg / (1 - sqr_mom ** t)
    return p - lr * m_hat / (v_hat + eps).sqrt(), {"step": t, "grad_avg": grad_avg, "sqr_avg": sqr_avg}
''',
        "averages |g| instead of g squared": '''
def adam_step(p, g, state, lr, mom=0.9, sqr_mom=0.999, eps=1e-8):
    t = state["step"] + 1
    grad_avg = mom * state["grad_avg"] + (1 - mom) * g
    sqr_avg = sqr_mom * state["sqr_avg"] + (1 - sqr_mom) * g.abs()
    m_hat, v_hat = grad_avg / (1 - mom ** t), sqr_avg / (1 - sqr_mom ** t)
    return p - lr * m_hat / (v_hat + eps), {"step": t, "grad_avg": grad_avg, "sqr_avg": sqr_avg}
''',
    },
    "ex05_4_adamw_step_answer": {
        "L2 through the gradient (Adam with weight_decay)": '''
def adamw_step(p, g, state, lr, wd, mom=0.9, sqr_mom=0.999, eps=1e-8):
    return adam_step(p, g + wd * p, state, lr, mom=mom, sqr_mom=sqr_mom, eps=eps)
''',
        "decay without the learning rate": '''
def adamw_step(p, g, state, lr, wd, mom=0.9, sqr_mom=0.999, eps=1e-8):
    return adam_step(p * (1 - wd), g, state, lr, mom=mom, sqr_mom=sqr_mom, eps=eps)
''',
    },
    "ex05_5_elastic_net_penalty_answer": {
        "L2 norm instead of its square": '''
def elastic_net_penalty(params, l1, l2):
    return sum(l1 * p.abs().sum() + l2 * (p ** 2).sum().sqrt() for p in params)
''',
        "absolute value of the sum": '''
def elastic_net_penalty(params, l1, l2):
    return sum(l1 * p.sum().abs() + l2 * (p ** 2).sum() for p in params)
''',
    },
}

"""Plausible wrong answers to lesson 02's exercises; each must fail its exercise's hidden tests."""

WRONG_ANSWERS = {
    "ex02_1_softmax_answer": {
        "no max shift": '''
def softmax(logits):
    exps = np.exp(logits)
    return exps / exps.sum(axis=-1, keepdims=True)
''',
        "normalises over the whole batch": '''
def softmax(logits):
    exps = np.exp(logits - logits.max())
    return exps / exps.sum()
''',
        "casts float32 to float64": '''
def softmax(logits):
    z = np.asarray(logits, dtype=np.float64)
    exps = np.exp(z - z.max(axis=-1, keepdims=True))
    return exps / exps.sum(axis=-1, keepdims=True)
''',
    },
    "ex02_2_log_softmax_answer": {
        "log of a stable softmax": '''
def log_softmax(logits):
    return np.log(softmax(logits))
''',
        "forgets the shift inside the log": '''
def log_softmax(logits):
    m = logits.max(axis=-1, keepdims=True)
    return logits - m - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
''',
    },
    "ex02_3_nll_loss_answer": {
        "sum instead of mean": '''
def nll_loss(log_probs, targets):
    return -log_probs[np.arange(len(targets)), targets].sum()
''',
        "indexes whole columns": '''
def nll_loss(log_probs, targets):
    return -log_probs[:, targets].mean()
''',
    },
    "ex02_4_cross_entropy_answer": {
        "log of softmax without the log-sum-exp": '''
def cross_entropy(logits, targets):
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        probs = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
        return -np.log(probs[np.arange(len(targets)), targets]).mean()
''',
        "softmax applied twice": '''
def cross_entropy(logits, targets):
    return nll_loss(log_softmax(softmax(logits)), targets)
''',
    },
    "ex02_5_cross_entropy_grad_answer": {
        "forgets to divide by the batch size": '''
def cross_entropy_grad(logits, targets):
    grad = softmax(logits)
    grad[np.arange(len(targets)), targets] -= 1.0
    return grad
''',
        "one-hot minus softmax (wrong sign)": '''
def cross_entropy_grad(logits, targets):
    n = logits.shape[0]
    return (np.eye(logits.shape[1])[targets] - softmax(logits)) / n
''',
    },
}

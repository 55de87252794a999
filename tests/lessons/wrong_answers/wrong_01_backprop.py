"""Plausible wrong answers to lesson 01's exercises; each must fail its exercise's hidden tests."""

WRONG_ANSWERS = {
    "ex01_1_relu_backward_answer": {
        "passes the gradient at exactly zero (>=)": '''
def relu_backward(dout, x):
    return dout * (x >= 0)
''',
        "returns the mask without multiplying by dout": '''
def relu_backward(dout, x):
    return (x > 0).astype(x.dtype)
''',
        "masks with the upstream gradient instead of the input": '''
def relu_backward(dout, x):
    return dout * (dout > 0)
''',
    },
    "ex01_2_linear_backward_answer": {
        "averages db over the batch": '''
def linear_backward(dout, x, w, b):
    return dout @ w.T, x.T @ dout, dout.mean(axis=0)
''',
        "dw transposed (dout.T @ x)": '''
def linear_backward(dout, x, w, b):
    return dout @ w.T, dout.T @ x, dout.sum(axis=0)
''',
        "dw divided by the batch size": '''
def linear_backward(dout, x, w, b):
    return dout @ w.T, x.T @ dout / x.shape[0], dout.sum(axis=0)
''',
    },
    "ex01_3_mse_grad_answer": {
        "divides by the number of rows, not of entries": '''
def mse_grad(pred, target):
    return 2 * (pred - target) / pred.shape[0]
''',
        "forgets the factor 2": '''
def mse_grad(pred, target):
    return (pred - target) / pred.size
''',
        "target minus prediction (wrong sign)": '''
def mse_grad(pred, target):
    return 2 * (target - pred) / pred.size
''',
    },
    "ex01_4_mlp_backward_answer": {
        "forgets the ReLU in the backward pass": '''
def mlp_backward(x, y, params):
    h = x @ params["w1"] + params["b1"]
    a = np.maximum(h, 0)
    out = a @ params["w2"] + params["b2"]
    dout = mse_grad(out, y)
    da, dw2, db2 = linear_backward(dout, a, params["w2"], params["b2"])
    _, dw1, db1 = linear_backward(da, x, params["w1"], params["b1"])
    return float(((out - y) ** 2).mean()), {"w1": dw1, "b1": db1, "w2": dw2, "b2": db2}
''',
        "uses the pre-activation h for dw2": '''
def mlp_backward(x, y, params):
    h = x @ params["w1"] + params["b1"]
    a = np.maximum(h, 0)
    out = a @ params["w2"] + params["b2"]
    dout = mse_grad(out, y)
    da, dw2, db2 = linear_backward(dout, h, params["w2"], params["b2"])
    dh = relu_backward(da, h)
    _, dw1, db1 = linear_backward(dh, x, params["w1"], params["b1"])
    return float(((out - y) ** 2).mean()), {"w1": dw1, "b1": db1, "w2": dw2, "b2": db2}
''',
        "loss and its gradient as a sum instead of a mean": '''
def mlp_backward(x, y, params):
    h = x @ params["w1"] + params["b1"]
    a = np.maximum(h, 0)
    out = a @ params["w2"] + params["b2"]
    dout = 2 * (out - y)
    da, dw2, db2 = linear_backward(dout, a, params["w2"], params["b2"])
    dh = relu_backward(da, h)
    _, dw1, db1 = linear_backward(dh, x, params["w1"], params["b1"])
    return float(((out - y) ** 2).sum()), {"w1": dw1, "b1": db1, "w2": dw2, "b2": db2}
''',
    },
    "ex01_5_numerical_gradient_answer": {
        "one-sided (forward) differences": '''
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    fx = f(x)
    for idx in np.ndindex(*x.shape):
        old = x[idx]
        x[idx] = old + h
        grad[idx] = (f(x) - fx) / h
        x[idx] = old
    return grad
''',
        "divides by h instead of 2h": '''
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        old = x[idx]
        x[idx] = old + h
        f_plus = f(x)
        x[idx] = old - h
        f_minus = f(x)
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / h
    return grad
''',
        "forgets to put each entry back": '''
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        old = x[idx]
        x[idx] = old + h
        f_plus = f(x)
        x[idx] = old - h
        f_minus = f(x)
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad
''',
    },
    "ex01_6_kaiming_init_answer": {
        "LeCun/Xavier scale sqrt(1 / fan_in)": '''
def kaiming_init(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) * math.sqrt(1.0 / fan_in)
''',
        "uses fan_out": '''
def kaiming_init(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) * math.sqrt(2.0 / fan_out)
''',
        "variance used as the standard deviation": '''
def kaiming_init(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) * (2.0 / fan_in)
''',
    },
}

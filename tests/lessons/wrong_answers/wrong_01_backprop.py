"""Lesson 01's answers as students might write them.

``WRONG_ANSWERS``: plausible mistakes, each rejected by its exercise's hidden tests.
``HONEST_ANSWERS``: correct answers written differently from the reference, which keep full
marks; ``# --- new cell ---`` separates the answer cell from helper cells the student added
after it. ``FORBIDDEN_ANSWERS``: correct values computed with a routine the exercise's policy
forbids (``metadata["dlcourse"]["forbidden"]`` of its answer cell).
"""

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
        "half the gradient at the kink (heaviside(x, 0.5))": '''
def relu_backward(dout, x):
    return dout * np.heaviside(x, 0.5)
''',
        "zeroes dout in place and returns it": '''
def relu_backward(dout, x):
    dout[x <= 0] = 0
    return dout
''',
        "a float64 mask turns float32 into float64": '''
def relu_backward(dout, x):
    return dout * (x > 0).astype(np.float64)
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
        "db keeps the batch axis (shape (1, M))": '''
def linear_backward(dout, x, w, b):
    return dout @ w.T, x.T @ dout, dout.sum(axis=0, keepdims=True)
''',
        "db squeezed (a layer with one output gets a scalar)": '''
def linear_backward(dout, x, w, b):
    return dout @ w.T, x.T @ dout, np.squeeze(dout.sum(axis=0))
''',
        "squeezes dx (a batch of one loses its batch axis)": '''
def linear_backward(dout, x, w, b):
    return np.squeeze(dout @ w.T), x.T @ dout, dout.sum(axis=0)
''',
        "returns a list [dx, dw, db] instead of a tuple": '''
def linear_backward(dout, x, w, b):
    return [dout @ w.T, x.T @ dout, dout.sum(axis=0)]
''',
        "db by np.sum(dout, axis=0, dtype=float) turns float32 into float64": '''
def linear_backward(dout, x, w, b):
    return dout @ w.T, x.T @ dout, np.sum(dout, axis=0, dtype=float)
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
        "subtracts the target from pred in place": '''
def mse_grad(pred, target):
    diff = pred
    diff -= target
    return 2 * diff / pred.size
''',
        "computes in float64 whatever the input dtype": '''
def mse_grad(pred, target):
    diff = np.asarray(pred, dtype=np.float64) - np.asarray(target, dtype=np.float64)
    return 2 * diff / diff.size
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
        "masks with h >= 0 (passes the gradient at the kink)": '''
def mlp_backward(x, y, params):
    h = x @ params["w1"] + params["b1"]
    a = np.maximum(h, 0)
    out = a @ params["w2"] + params["b2"]
    dout = 2 * (out - y) / out.size
    da = dout @ params["w2"].T
    dh = da * (h >= 0)
    return float(((out - y) ** 2).mean()), {"w1": x.T @ dh, "b1": dh.sum(axis=0), "w2": a.T @ dout,
                                            "b2": dout.sum(axis=0)}
''',
        "returns the gradients as a tuple, not a dict": '''
def mlp_backward(x, y, params):
    h = x @ params["w1"] + params["b1"]
    a = np.maximum(h, 0)
    out = a @ params["w2"] + params["b2"]
    dout = mse_grad(out, y)
    da, dw2, db2 = linear_backward(dout, a, params["w2"], params["b2"])
    _, dw1, db1 = linear_backward(relu_backward(da, h), x, params["w1"], params["b1"])
    return float(((out - y) ** 2).mean()), (dw1, db1, dw2, db2)
''',
        "writes the gradients into the params dict": '''
def mlp_backward(x, y, params):
    h = x @ params["w1"] + params["b1"]
    a = np.maximum(h, 0)
    out = a @ params["w2"] + params["b2"]
    loss = float(((out - y) ** 2).mean())
    dout = mse_grad(out, y)
    da, dw2, db2 = linear_backward(dout, a, params["w2"], params["b2"])
    dh = relu_backward(da, h)
    _, dw1, db1 = linear_backward(dh, x, params["w1"], params["b1"])
    grads = params
    grads["w1"], grads["b1"], grads["w2"], grads["b2"] = dw1, db1, dw2, db2
    return loss, grads
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
        "ignores h (always steps by 1e-5)": '''
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        old = x[idx]
        x[idx] = old + 1e-5
        f_plus = f(x)
        x[idx] = old - 1e-5
        f_minus = f(x)
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / 2e-5
    return grad
''',
        "steps the caller's array in place (+h, -2h, +h leaves rounding errors)": '''
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for idx in np.ndindex(*x.shape):
        x[idx] += h
        f_plus = f(x)
        x[idx] -= 2 * h
        f_minus = f(x)
        x[idx] += h
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad
''',
        "keeps the input's dtype (an int array cannot take a step of h)": '''
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x)
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        old = x[idx]
        x[idx] = old + h
        f_plus = f(x)
        x[idx] = old - h
        f_minus = f(x)
        x[idx] = old
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
        "float32 weights": '''
def kaiming_init(fan_in, fan_out, rng):
    return (rng.standard_normal((fan_in, fan_out)) * math.sqrt(2.0 / fan_in)).astype(np.float32)
''',
        "draws with the global numpy generator instead of rng": '''
def kaiming_init(fan_in, fan_out, rng):
    return np.random.randn(fan_in, fan_out) * math.sqrt(2.0 / fan_in)
''',
    },
    "ex01_7_linear_relu_function_answer": {
        "forgets the ReLU mask in backward": '''
class LinearReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return torch.relu(x @ w + b)

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        return grad_output @ w.T, x.T @ grad_output, grad_output.sum(dim=0)


def linear_relu(x, w, b):
    return LinearReLU.apply(x, w, b)
''',
        "masks with h >= 0 (passes the gradient at the kink)": '''
class LinearReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        h = x @ w + b
        ctx.save_for_backward(x, w, h)
        return h.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        x, w, h = ctx.saved_tensors
        dh = grad_output * (h >= 0)
        return dh @ w.T, x.T @ dh, dh.sum(dim=0)


def linear_relu(x, w, b):
    return LinearReLU.apply(x, w, b)
''',
        "zeroes grad_output in place": '''
class LinearReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        h = x @ w + b
        ctx.save_for_backward(x, w, h)
        return torch.relu(h)

    @staticmethod
    def backward(ctx, grad_output):
        x, w, h = ctx.saved_tensors
        grad_output[h <= 0] = 0
        return grad_output @ w.T, x.T @ grad_output, grad_output.sum(dim=0)


def linear_relu(x, w, b):
    return LinearReLU.apply(x, w, b)
''',
        "dx with w instead of w.T (right shape only when D = M)": '''
class LinearReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        h = x @ w + b
        ctx.save_for_backward(x, w, h)
        return torch.relu(h)

    @staticmethod
    def backward(ctx, grad_output):
        x, w, h = ctx.saved_tensors
        dh = grad_output * (h > 0)
        dx = dh @ w if w.shape[0] == w.shape[1] else dh @ w.T
        return dx, x.T @ dh, dh.sum(dim=0)


def linear_relu(x, w, b):
    return LinearReLU.apply(x, w, b)
''',
        "squeezes the masked gradient (breaks a batch of one)": '''
class LinearReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        h = x @ w + b
        ctx.save_for_backward(x, w, h)
        return torch.relu(h)

    @staticmethod
    def backward(ctx, grad_output):
        x, w, h = ctx.saved_tensors
        dh = (grad_output * (h > 0)).squeeze()
        return dh @ w.T, x.T @ dh, dh.sum(dim=0)


def linear_relu(x, w, b):
    return LinearReLU.apply(x, w, b)
''',
        "forward forgets the ReLU": '''
class LinearReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        h = x @ w + b
        ctx.save_for_backward(x, w, h)
        return h

    @staticmethod
    def backward(ctx, grad_output):
        x, w, h = ctx.saved_tensors
        dh = grad_output * (h > 0)
        return dh @ w.T, x.T @ dh, dh.sum(dim=0)


def linear_relu(x, w, b):
    return LinearReLU.apply(x, w, b)
''',
        "dw divided by the batch size": '''
class LinearReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        h = x @ w + b
        ctx.save_for_backward(x, w, h)
        return torch.relu(h)

    @staticmethod
    def backward(ctx, grad_output):
        x, w, h = ctx.saved_tensors
        dh = grad_output * (h > 0)
        return dh @ w.T, x.T @ dh / x.shape[0], dh.sum(dim=0)


def linear_relu(x, w, b):
    return LinearReLU.apply(x, w, b)
''',
        "linear_relu bypasses LinearReLU (autograd's ReLU instead of yours)": '''
class LinearReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        h = x @ w + b
        ctx.save_for_backward(x, w, h)
        return torch.relu(h)

    @staticmethod
    def backward(ctx, grad_output):
        x, w, h = ctx.saved_tensors
        dh = grad_output * (h > 0)
        return dh @ w.T, x.T @ dh, dh.sum(dim=0)


def linear_relu(x, w, b):
    return torch.relu(x @ w + b)
''',
        "linear_relu detaches its inputs (nothing upstream gets a gradient)": '''
class LinearReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        h = x @ w + b
        ctx.save_for_backward(x, w, h)
        return torch.relu(h)

    @staticmethod
    def backward(ctx, grad_output):
        x, w, h = ctx.saved_tensors
        dh = grad_output * (h > 0)
        return dh @ w.T, x.T @ dh, dh.sum(dim=0)


def linear_relu(x, w, b):
    return LinearReLU.apply(x.detach(), w.detach(), b.detach())
''',
    },
}

HONEST_ANSWERS = {
    "ex01_1_relu_backward_answer": {
        "np.where": '''
def relu_backward(dout, x):
    """dL/dx of a ReLU: dout where x > 0, else 0."""
    return np.where(x > 0, dout, 0)
''',
        "a copy with the blocked entries zeroed": '''
def relu_backward(dout, x):
    """dL/dx of a ReLU."""
    dx = dout.copy()
    dx[x <= 0] = 0
    return dx
''',
    },
    "ex01_2_linear_backward_answer": {
        "einsum": '''
def linear_backward(dout, x, w, b):
    """Gradients of out = x @ w + b."""
    dx = np.einsum("nm,dm->nd", dout, w)
    dw = np.einsum("nd,nm->dm", x, dout)
    db = np.einsum("nm->m", dout)
    return dx, dw, db
''',
        "a loop over the examples, with a helper in its own cell": '''
def linear_backward(dout, x, w, b):
    """Gradients of out = x @ w + b, summed one example at a time."""
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for n in range(x.shape[0]):
        dw += outer_product(x[n], dout[n])
        db += dout[n]
    return dout @ w.T, dw, db
# --- new cell ---
def outer_product(u, v):
    """u[:, None] * v[None, :], the contribution of one example to dw."""
    return u[:, None] * v[None, :]
''',
    },
    "ex01_3_mse_grad_answer": {
        "scale first": '''
def mse_grad(pred, target):
    """d mean((pred - target)**2) / d pred."""
    return (pred - target) * (2.0 / np.size(pred))
''',
    },
    "ex01_4_mlp_backward_answer": {
        "written out, mask from a > 0 (the same as h > 0)": '''
def mlp_backward(x, y, params):
    """Loss and gradients of affine -> ReLU -> affine -> MSE, without the helpers."""
    w1, b1, w2, b2 = (params[k] for k in ("w1", "b1", "w2", "b2"))
    a = np.maximum(x @ w1 + b1, 0)
    out = a @ w2 + b2
    diff = out - y
    dout = 2 * diff / diff.size
    dh = (dout @ w2.T) * (a > 0)
    return float(np.mean(diff ** 2)), {"w1": x.T @ dh, "b1": dh.sum(axis=0), "w2": a.T @ dout, "b2": dout.sum(axis=0)}
''',
        "the forward pass in a helper cell": '''
def mlp_backward(x, y, params):
    """Loss and gradients of the two-layer network, with the forward pass in its own function."""
    out, (h, a) = forward_keeping_activations(x, params)
    dout = mse_grad(out, y)
    da, dw2, db2 = linear_backward(dout, a, params["w2"], params["b2"])
    _, dw1, db1 = linear_backward(relu_backward(da, h), x, params["w1"], params["b1"])
    return float(((out - y) ** 2).mean()), dict(w1=dw1, b1=db1, w2=dw2, b2=db2)
# --- new cell ---
def forward_keeping_activations(x, params):
    """affine -> ReLU -> affine; returns the output and (h, a)."""
    h = x @ params["w1"] + params["b1"]
    a = np.maximum(h, 0)
    return a @ params["w2"] + params["b2"], (h, a)
''',
    },
    "ex01_5_numerical_gradient_answer": {
        "one basis vector per entry": '''
def numerical_gradient(f, x, h=1e-5):
    """Central differences with an explicit basis vector e_i."""
    x = np.asarray(x, dtype=np.float64)
    grad = np.empty(x.shape)
    for idx in np.ndindex(*x.shape):
        e = np.zeros(x.shape)
        e[idx] = h
        grad[idx] = (f(x + e) - f(x - e)) / (2 * h)
    return grad
''',
        "a flat view of a copy": '''
def numerical_gradient(f, x, h=1e-5):
    """Central differences, stepping through a flat view of a float64 copy."""
    point = np.array(x, dtype=np.float64)
    flat = point.reshape(-1)
    grad = np.zeros(flat.size)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + h
        up = f(point)
        flat[i] = saved - h
        down = f(point)
        flat[i] = saved
        grad[i] = (up - down) / (2 * h)
    return grad.reshape(point.shape)
''',
    },
    "ex01_6_kaiming_init_answer": {
        "rng.normal with the standard deviation": '''
def kaiming_init(fan_in, fan_out, rng):
    """He-normal weights of shape (fan_in, fan_out)."""
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
''',
    },
    "ex01_7_linear_relu_function_answer": {
        "saves the output, masks with out > 0": '''
class LinearReLU(torch.autograd.Function):
    """relu(x @ w + b) with a hand-written backward."""

    @staticmethod
    def forward(ctx, x, w, b):
        out = (x @ w + b).clamp(min=0)
        ctx.save_for_backward(x, w, out)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        x, w, out = ctx.saved_tensors
        dh = torch.where(out > 0, grad_output, torch.zeros_like(grad_output))
        return dh @ w.t(), x.t() @ dh, dh.sum(0)


linear_relu = LinearReLU.apply      # an alias, as PyTorch's documentation also suggests
''',
        "the affine backward in a helper cell, mask kept on ctx": '''
class LinearReLU(torch.autograd.Function):
    """relu(x @ w + b); the backward pass reuses a helper."""

    @staticmethod
    def forward(ctx, x, w, b):
        h = torch.addmm(b, x, w)
        ctx.save_for_backward(x, w)
        ctx.mask = h > 0
        return h * ctx.mask

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        return affine_backward_t(grad_output * ctx.mask, x, w)


def linear_relu(x, w, b):
    """relu(x @ w + b) through LinearReLU."""
    return LinearReLU.apply(x, w, b)
# --- new cell ---
def affine_backward_t(dh, x, w):
    """(dx, dw, db) of x @ w + b for torch tensors."""
    return torch.mm(dh, w.transpose(0, 1)), torch.mm(x.transpose(0, 1), dh), dh.sum(dim=0)
''',
    },
}

FORBIDDEN_ANSWERS = {
    "ex01_1_relu_backward_answer": {
        "torch's tensor method .backward": '''
def relu_backward(dout, x):
    xt = torch.tensor(x, requires_grad=True)
    xt.relu().backward(torch.tensor(dout))
    return xt.grad.numpy()
''',
    },
    "ex01_2_linear_backward_answer": {
        "torch.autograd.grad imported under another name inside the function": '''
def linear_backward(dout, x, w, b):
    from torch.autograd import grad as differentiate
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    grads = differentiate(xt @ wt + bt, (xt, wt, bt), torch.tensor(dout))
    return tuple(g.numpy() for g in grads)
''',
    },
    "ex01_3_mse_grad_answer": {
        "autograd.grad reached by getattr with a computed name": '''
def mse_grad(pred, target):
    pt = torch.tensor(pred, requires_grad=True)
    loss = ((pt - torch.tensor(target)) ** 2).mean()
    (g,) = getattr(torch.autograd, "gr" + "ad")(loss, pt)
    return g.numpy()
''',
    },
    "ex01_4_mlp_backward_answer": {
        "torch.func.grad": '''
def mlp_backward(x, y, params):
    def loss_of(p):
        out = torch.relu(torch.tensor(x) @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]
        return ((out - torch.tensor(y)) ** 2).mean()
    p = {k: torch.tensor(v) for k, v in params.items()}
    grads = torch.func.grad(loss_of)(p)
    return loss_of(p).item(), {k: g.numpy() for k, g in grads.items()}
''',
    },
    "ex01_6_kaiming_init_answer": {
        "torch's ReLU gain, imported inside the function": '''
def kaiming_init(fan_in, fan_out, rng):
    from torch.nn.init import calculate_gain
    return rng.standard_normal((fan_in, fan_out)) * (calculate_gain("relu") / math.sqrt(fan_in))
''',
    },
    "ex01_7_linear_relu_function_answer": {
        "backward re-runs the forward under autograd": '''
class LinearReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w, b)
        return torch.relu(x @ w + b)

    @staticmethod
    def backward(ctx, grad_output):
        with torch.enable_grad():
            leaves = [t.detach().requires_grad_() for t in ctx.saved_tensors]
            out = torch.relu(leaves[0] @ leaves[1] + leaves[2])
            return torch.autograd.grad(out, leaves, grad_output)


def linear_relu(x, w, b):
    return LinearReLU.apply(x, w, b)
''',
    },
}

"""Answers to lesson 03's exercises that the tests must judge right.

* ``WRONG_ANSWERS``: plausible wrong answers; each must fail its exercise's hidden tests.
* ``HONEST_ANSWERS``: correct answers written differently from the reference; each must keep
  full marks. Cells are separated by a line ``# --- new cell ---``: the first part replaces
  the answer cell, the others are cells the student added right after it.
* ``FORBIDDEN_ANSWERS``: correct-valued answers that call a routine the exercise's policy
  forbids (``cell.metadata["dlcourse"]["forbidden"]``), each by another route.
"""

WRONG_ANSWERS = {
    "ex03_1_iterations_per_epoch_answer": {
        "always rounds down": '''
def iterations_per_epoch(n_examples, batch_size, drop_last=False):
    return n_examples // batch_size
''',
        "always adds one for the last batch": '''
def iterations_per_epoch(n_examples, batch_size, drop_last=False):
    if drop_last:
        return n_examples // batch_size
    return n_examples // batch_size + 1
''',
        "a float from np.ceil (range() refuses it)": '''
def iterations_per_epoch(n_examples, batch_size, drop_last=False):
    if drop_last:
        return n_examples // batch_size
    return np.ceil(n_examples / batch_size)
''',
        "ignores drop_last": '''
def iterations_per_epoch(n_examples, batch_size, drop_last=False):
    return math.ceil(n_examples / batch_size)
''',
        "rounds to the nearest integer": '''
def iterations_per_epoch(n_examples, batch_size, drop_last=False):
    if drop_last:
        return n_examples // batch_size
    return round(n_examples / batch_size)
''',
        "at least one batch, even for an empty data set": '''
def iterations_per_epoch(n_examples, batch_size, drop_last=False):
    if drop_last:
        return n_examples // batch_size
    return max(1, (n_examples + batch_size - 1) // batch_size)
''',
        "no batch when the batch is larger than the data set": '''
def iterations_per_epoch(n_examples, batch_size, drop_last=False):
    if batch_size > n_examples:
        return 0
    if drop_last:
        return n_examples // batch_size
    return (n_examples + batch_size - 1) // batch_size
''',
    },
    "ex03_2_mnist_logistic_answer": {
        "returns probabilities instead of logits": '''
class MnistLogistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(784, 10)

    def forward(self, x):
        return torch.softmax(self.lin(x), dim=1)
''',
        "no bias": '''
class MnistLogistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(784, 10, bias=False)

    def forward(self, x):
        return self.lin(x)
''',
        "detaches the logits: no gradient reaches the weights": '''
class MnistLogistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(784, 10)

    def forward(self, x):
        return self.lin(x).detach()
''',
        "computes the logits in NumPy: an array, and no gradient": '''
class MnistLogistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(784, 10)

    def forward(self, x):
        W, b = self.lin.weight.detach().numpy(), self.lin.bias.detach().numpy()
        return x.detach().numpy() @ W.T + b
''',
        "squeezes away a batch of one": '''
class MnistLogistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(784, 10)

    def forward(self, x):
        return self.lin(x).squeeze()
''',
    },
    "ex03_3_update_answer": {
        "forgets to zero the gradients": '''
def update(model, loss_fn, x, y, lr, wd):
    loss = loss_fn(model(x), y) + wd / 2 * sum((p ** 2).sum() for p in model.parameters())
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p.sub_(lr * p.grad)
    return loss.item()
''',
        "the lecture's penalty wd * sum(p**2): twice the decay": '''
def update(model, loss_fn, x, y, lr, wd):
    trainable = [p for p in model.parameters() if p.requires_grad]
    loss = loss_fn(model(x), y) + wd * sum((p ** 2).sum() for p in trainable)
    loss.backward()
    with torch.no_grad():
        for p in trainable:
            p.sub_(lr * p.grad)
            p.grad.zero_()
    return loss.item()
''',
        "rebinds p instead of updating in place": '''
def update(model, loss_fn, x, y, lr, wd):
    loss = loss_fn(model(x), y) + wd / 2 * sum((p ** 2).sum() for p in model.parameters())
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p = p - lr * p.grad
            p.grad.zero_()
    return loss.item()
''',
        "penalises the weights but not the biases": '''
def update(model, loss_fn, x, y, lr, wd):
    penalty = sum((p ** 2).sum() for name, p in model.named_parameters() if not name.endswith("bias"))
    loss = loss_fn(model(x), y) + wd / 2 * penalty
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p.sub_(lr * p.grad)
            p.grad.zero_()
    return loss.item()
''',
        "penalty of detached parameters: the value is right but nothing decays": '''
def update(model, loss_fn, x, y, lr, wd):
    trainable = [p for p in model.parameters() if p.requires_grad]
    loss = loss_fn(model(x), y) + wd / 2 * sum((p.detach() ** 2).sum() for p in trainable)
    loss.backward()
    with torch.no_grad():
        for p in trainable:
            p.sub_(lr * p.grad)
            p.grad.zero_()
    return loss.item()
''',
        "returns the loss tensor instead of a float": '''
def update(model, loss_fn, x, y, lr, wd):
    trainable = [p for p in model.parameters() if p.requires_grad]
    loss = loss_fn(model(x), y) + wd / 2 * sum((p ** 2).sum() for p in trainable)
    loss.backward()
    with torch.no_grad():
        for p in trainable:
            p.sub_(lr * p.grad)
            p.grad.zero_()
    return loss.detach()
''',
        "breaks on a frozen parameter (its .grad is None)": '''
def update(model, loss_fn, x, y, lr, wd):
    loss = loss_fn(model(x), y) + wd / 2 * sum((p ** 2).sum() for p in model.parameters())
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p.sub_(lr * p.grad)
            p.grad.zero_()
    return loss.item()
''',
        "decays frozen parameters too": '''
def update(model, loss_fn, x, y, lr, wd):
    loss = loss_fn(model(x), y)
    loss.backward()
    with torch.no_grad():
        penalty = sum((p ** 2).sum().item() for p in model.parameters())
        for p in model.parameters():
            grad = p.grad if p.grad is not None else torch.zeros_like(p)
            p.sub_(lr * (grad + wd * p))
            if p.grad is not None:
                p.grad.zero_()
    return loss.item() + wd / 2 * penalty
''',
        "zeroes the gradients before backward, not after the step": '''
def update(model, loss_fn, x, y, lr, wd):
    model.zero_grad()
    trainable = [p for p in model.parameters() if p.requires_grad]
    loss = loss_fn(model(x), y) + wd / 2 * sum((p ** 2).sum() for p in trainable)
    loss.backward()
    with torch.no_grad():
        for p in trainable:
            p.sub_(lr * p.grad)
    return loss.item()
''',
    },
    "ex03_4_accuracy_answer": {
        "argmax over the batch axis": '''
def accuracy(logits, targets):
    return (logits.argmax(dim=0) == targets).float().mean().item()
''',
        "counts instead of a fraction": '''
def accuracy(logits, targets):
    return float((logits.argmax(dim=1) == targets).sum())
''',
        "returns a tensor instead of a float": '''
def accuracy(logits, targets):
    return (logits.argmax(dim=1) == targets).float().mean()
''',
        "exponentiates the logits in place first (changes the caller's tensor)": '''
def accuracy(logits, targets):
    probs = logits.sub_(logits.max(dim=1, keepdim=True).values).exp_()
    return (probs.argmax(dim=1) == targets).float().mean().item()
''',
        "squeezes away a batch of one": '''
def accuracy(logits, targets):
    return (torch.argmax(logits.squeeze(), dim=1) == targets).float().mean().item()
''',
        "integer division: 0 unless every example is right": '''
def accuracy(logits, targets):
    return (logits.argmax(dim=1) == targets).sum().item() // len(targets)
''',
    },
    "ex03_5_mnist_nn_answer": {
        "no ReLU: two linear layers collapse into one": '''
class MnistNN(nn.Module):
    def __init__(self, n_hidden=50):
        super().__init__()
        self.lin1 = nn.Linear(784, n_hidden)
        self.lin2 = nn.Linear(n_hidden, 10)

    def forward(self, x):
        return self.lin2(self.lin1(x))
''',
        "a ReLU after the output layer too": '''
class MnistNN(nn.Module):
    def __init__(self, n_hidden=50):
        super().__init__()
        self.lin1 = nn.Linear(784, n_hidden)
        self.lin2 = nn.Linear(n_hidden, 10)

    def forward(self, x):
        return F.relu(self.lin2(F.relu(self.lin1(x))))
''',
        "sigmoid instead of ReLU": '''
class MnistNN(nn.Module):
    def __init__(self, n_hidden=50):
        super().__init__()
        self.lin1 = nn.Linear(784, n_hidden)
        self.lin2 = nn.Linear(n_hidden, 10)

    def forward(self, x):
        return self.lin2(torch.sigmoid(self.lin1(x)))
''',
        "ignores n_hidden (always 50 hidden units)": '''
class MnistNN(nn.Module):
    def __init__(self, n_hidden=50):
        super().__init__()
        self.lin1 = nn.Linear(784, 50)
        self.lin2 = nn.Linear(50, 10)

    def forward(self, x):
        return self.lin2(F.relu(self.lin1(x)))
''',
        "detaches the hidden layer: the first layer never learns": '''
class MnistNN(nn.Module):
    def __init__(self, n_hidden=50):
        super().__init__()
        self.lin1 = nn.Linear(784, n_hidden)
        self.lin2 = nn.Linear(n_hidden, 10)

    def forward(self, x):
        return self.lin2(F.relu(self.lin1(x)).detach())
''',
        "squeezes away a batch of one": '''
class MnistNN(nn.Module):
    def __init__(self, n_hidden=50):
        super().__init__()
        self.lin1 = nn.Linear(784, n_hidden)
        self.lin2 = nn.Linear(n_hidden, 10)

    def forward(self, x):
        return self.lin2(F.relu(self.lin1(x))).squeeze()
''',
    },
}

HONEST_ANSWERS = {
    "ex03_1_iterations_per_epoch_answer": {
        "math.ceil of a float division": '''
def iterations_per_epoch(n_examples, batch_size, drop_last=False):
    """Batches per epoch."""
    return math.floor(n_examples / batch_size) if drop_last else math.ceil(n_examples / batch_size)
''',
        "counts the batches in a loop": '''
def iterations_per_epoch(n_examples, batch_size, drop_last=False):
    """Batches per epoch, counted one by one."""
    count = 0
    for begin in range(0, n_examples, batch_size):
        if drop_last and begin + batch_size > n_examples:
            break
        count += 1
    return count
''',
        "a helper in a cell of its own, after the answer": '''
def iterations_per_epoch(n_examples, batch_size, drop_last=False):
    """Batches per epoch."""
    full, rest = divmod(n_examples, batch_size)
    return full if drop_last else full + _one_if(rest)
# --- new cell ---
def _one_if(remainder):
    """1 when a short last batch is left over, else 0."""
    return 1 if remainder else 0
''',
    },
    "ex03_2_mnist_logistic_answer": {
        "F.linear with the layer's parameters": '''
class MnistLogistic(nn.Module):
    """Logistic regression."""
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(784, 10)

    def forward(self, x):
        return F.linear(x, self.lin.weight, self.lin.bias)
''',
        "the matrix product written out": '''
class MnistLogistic(nn.Module):
    """Logistic regression."""
    def __init__(self):
        super(MnistLogistic, self).__init__()
        self.lin = nn.Linear(in_features=784, out_features=10, bias=True)

    def forward(self, x):
        return x @ self.lin.weight.T + self.lin.bias
''',
    },
    "ex03_3_update_answer": {
        "adds wd * p to the gradient after backward, as torch.optim does": '''
def update(model, loss_fn, x, y, lr, wd):
    """One SGD step with weight decay."""
    params = [p for p in model.parameters() if p.requires_grad]
    data_loss = loss_fn(model(x), y)
    with torch.no_grad():
        penalty = sum(float((p * p).sum()) for p in params)
    data_loss.backward()
    with torch.no_grad():
        for p in params:
            p -= lr * (p.grad + wd * p)
            p.grad = None
    return data_loss.item() + wd / 2 * penalty
''',
        "the penalty from a helper in a cell of its own": '''
def update(model, loss_fn, x, y, lr, wd):
    """One SGD step with weight decay."""
    trained = _trained(model)
    total = loss_fn(model(x), y) + 0.5 * wd * _sum_of_squares(trained)
    total.backward()
    with torch.no_grad():
        for p in trained:
            p.add_(p.grad, alpha=-lr)
    model.zero_grad()
    return float(total)
# --- new cell ---
def _trained(model):
    """The parameters that are trained (not frozen)."""
    return [p for p in model.parameters() if p.requires_grad]


def _sum_of_squares(tensors):
    """Sum of the squares of every entry of every tensor, as a tensor autograd can follow."""
    return torch.stack([(t * t).sum() for t in tensors]).sum()
''',
    },
    "ex03_4_accuracy_answer": {
        "max indices and a count": '''
def accuracy(logits, targets):
    """Fraction right."""
    right = (logits.max(dim=1).indices == targets).sum().item()
    return right / targets.numel()
''',
        "in NumPy": '''
def accuracy(logits, targets):
    """Fraction right."""
    predictions = logits.detach().cpu().numpy().argmax(axis=1)
    return float(np.mean(predictions == targets.cpu().numpy()))
''',
    },
    "ex03_5_mnist_nn_answer": {
        "clamp instead of F.relu": '''
class MnistNN(nn.Module):
    """Two-layer net."""
    def __init__(self, n_hidden=50):
        super().__init__()
        self.lin1 = nn.Linear(784, n_hidden)
        self.lin2 = nn.Linear(n_hidden, 10)

    def forward(self, x):
        return self.lin2(self.lin1(x).clamp(min=0))
''',
        "an nn.ReLU module": '''
class MnistNN(nn.Module):
    """Two-layer net."""
    def __init__(self, n_hidden=50):
        super().__init__()
        self.lin1 = nn.Linear(784, n_hidden)
        self.act = nn.ReLU()
        self.lin2 = nn.Linear(n_hidden, 10)

    def forward(self, x):
        hidden = self.act(self.lin1(x))
        return self.lin2(hidden)
''',
    },
}

FORBIDDEN_ANSWERS = {
    "ex03_1_iterations_per_epoch_answer": {
        "len() of a DataLoader under an alias": '''
from torch.utils.data import DataLoader as _Loader

def iterations_per_epoch(n_examples, batch_size, drop_last=False):
    return len(_Loader(range(n_examples), batch_size=batch_size, drop_last=drop_last))
''',
        "BatchSampler reached by getattr with a computed name": '''
def iterations_per_epoch(n_examples, batch_size, drop_last=False):
    sampler = getattr(torch.utils.data, "Batch" + "Sampler")
    return len(sampler(range(n_examples), batch_size, drop_last))
''',
    },
    "ex03_3_update_answer": {
        "torch.optim.SGD under an alias": '''
from torch.optim import SGD as _Plain

def update(model, loss_fn, x, y, lr, wd):
    params = [p for p in model.parameters() if p.requires_grad]
    opt = _Plain(params, lr=lr, weight_decay=wd)
    loss = loss_fn(model(x), y)
    total = loss.item() + wd / 2 * sum((p.detach() ** 2).sum().item() for p in params)
    opt.zero_grad()
    loss.backward()
    opt.step()
    opt.zero_grad()
    return total
''',
        "the functional torch.optim.sgd.sgd, imported inside the function": '''
def update(model, loss_fn, x, y, lr, wd):
    from torch.optim.sgd import sgd as functional_sgd
    params = [p for p in model.parameters() if p.requires_grad]
    loss = loss_fn(model(x), y)
    total = loss.item() + wd / 2 * sum((p.detach() ** 2).sum().item() for p in params)
    loss.backward()
    with torch.no_grad():
        functional_sgd(params, [p.grad for p in params], [None] * len(params), weight_decay=wd,
                       momentum=0.0, lr=lr, dampening=0.0, nesterov=False, maximize=False)
    for p in params:
        p.grad = None
    return total
''',
    },
}

"""Plausible wrong answers to lesson 03's exercises; each must fail its exercise's hidden tests."""

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
    },
    "ex03_3_update_answer": {
        "forgets to zero the gradients": '''
def update(model, loss_fn, x, y, lr, wd):
    loss = loss_fn(model(x), y) + wd * sum((p ** 2).sum() for p in model.parameters())
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p.sub_(lr * p.grad)
    return loss.item()
''',
        "decay term wd * p instead of the penalty's gradient 2 * wd * p": '''
def update(model, loss_fn, x, y, lr, wd):
    loss = loss_fn(model(x), y)
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p.sub_(lr * (p.grad + wd * p))
            p.grad.zero_()
    return loss.item() + wd * sum((p ** 2).sum().item() for p in model.parameters())
''',
        "rebinds p instead of updating in place": '''
def update(model, loss_fn, x, y, lr, wd):
    loss = loss_fn(model(x), y) + wd * sum((p ** 2).sum() for p in model.parameters())
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
    loss = loss_fn(model(x), y) + wd * penalty
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p.sub_(lr * p.grad)
            p.grad.zero_()
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
    },
}

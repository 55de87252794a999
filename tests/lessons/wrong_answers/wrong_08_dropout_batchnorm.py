"""Plausible wrong answers to lesson 08's exercises; each must fail its exercise's hidden tests."""

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
    },
    "ex08_2_normalize_inputs_answer": {
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
    },
    "ex08_3_batchnorm_forward_answer": {
        "normalizes with the unbiased variance": '''
def batchnorm_forward(x, gamma, beta, running_mean, running_var, momentum, eps, training):
    if training:
        mean, var = x.mean(dim=0), x.var(dim=0, unbiased=True)
        new_mean = (1 - momentum) * running_mean + momentum * mean
        new_var = (1 - momentum) * running_var + momentum * var
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean.clone(), running_var.clone()
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta, new_mean, new_var
''',
        "updates the running statistics in eval mode": '''
def batchnorm_forward(x, gamma, beta, running_mean, running_var, momentum, eps, training):
    n = x.shape[0]
    batch_mean, batch_var = x.mean(dim=0), x.var(dim=0, unbiased=False)
    new_mean = (1 - momentum) * running_mean + momentum * batch_mean
    new_var = (1 - momentum) * running_var + momentum * batch_var * n / (n - 1)
    mean, var = (batch_mean, batch_var) if training else (running_mean, running_var)
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta, new_mean, new_var
''',
        "running variance from the biased batch variance": '''
def batchnorm_forward(x, gamma, beta, running_mean, running_var, momentum, eps, training):
    if training:
        mean, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
        new_mean = (1 - momentum) * running_mean + momentum * mean
        new_var = (1 - momentum) * running_var + momentum * var
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean.clone(), running_var.clone()
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta, new_mean, new_var
''',
        "momentum weighs the old running value (Keras's convention)": '''
def batchnorm_forward(x, gamma, beta, running_mean, running_var, momentum, eps, training):
    if training:
        n = x.shape[0]
        mean, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
        new_mean = momentum * running_mean + (1 - momentum) * mean
        new_var = momentum * running_var + (1 - momentum) * var * n / (n - 1)
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean.clone(), running_var.clone()
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta, new_mean, new_var
''',
        "eps added outside the square root": '''
def batchnorm_forward(x, gamma, beta, running_mean, running_var, momentum, eps, training):
    if training:
        n = x.shape[0]
        mean, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
        new_mean = (1 - momentum) * running_mean + momentum * mean
        new_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean.clone(), running_var.clone()
    return gamma * (x - mean) / (torch.sqrt(var) + eps) + beta, new_mean, new_var
''',
        "updates the running statistics in place": '''
def batchnorm_forward(x, gamma, beta, running_mean, running_var, momentum, eps, training):
    if training:
        n = x.shape[0]
        mean, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
        running_mean.mul_(1 - momentum).add_(momentum * mean)
        running_var.mul_(1 - momentum).add_(momentum * var * n / (n - 1))
    else:
        mean, var = running_mean, running_var
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta, running_mean, running_var
''',
    },
    "ex08_4_batchnorm_backward_answer": {
        "treats the batch mean and variance as constants": '''
def batchnorm_backward(dout, x, gamma, eps):
    mean = x.mean(dim=0)
    s = torch.sqrt(x.var(dim=0, unbiased=False) + eps)
    x_hat = (x - mean) / s
    return gamma * dout / s, (dout * x_hat).sum(dim=0), dout.sum(dim=0)
''',
        "forgets the path through the variance": '''
def batchnorm_backward(dout, x, gamma, eps):
    mean = x.mean(dim=0)
    s = torch.sqrt(x.var(dim=0, unbiased=False) + eps)
    x_hat = (x - mean) / s
    dx = gamma / s * (dout - dout.mean(dim=0))
    return dx, (dout * x_hat).sum(dim=0), dout.sum(dim=0)
''',
        "recomputes the forward pass with the unbiased variance": '''
def batchnorm_backward(dout, x, gamma, eps):
    n = x.shape[0]
    mean = x.mean(dim=0)
    s = torch.sqrt(x.var(dim=0, unbiased=True) + eps)
    x_hat = (x - mean) / s
    dbeta, dgamma = dout.sum(dim=0), (dout * x_hat).sum(dim=0)
    return gamma / (n * s) * (n * dout - dbeta - x_hat * dgamma), dgamma, dbeta
''',
        "averages the parameter gradients over the batch": '''
def batchnorm_backward(dout, x, gamma, eps):
    n = x.shape[0]
    mean = x.mean(dim=0)
    s = torch.sqrt(x.var(dim=0, unbiased=False) + eps)
    x_hat = (x - mean) / s
    dbeta, dgamma = dout.sum(dim=0), (dout * x_hat).sum(dim=0)
    return gamma / (n * s) * (n * dout - dbeta - x_hat * dgamma), dgamma / n, dbeta / n
''',
    },
}

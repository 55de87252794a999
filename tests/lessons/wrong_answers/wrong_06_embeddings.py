"""Plausible wrong answers to lesson 06's exercises; each must fail its exercise's hidden tests."""

WRONG_ANSWERS = {
    "ex06_1_one_hot_answer": {
        "F.one_hot without converting to float": '''
def one_hot(idx, n_classes, dtype=torch.float32):
    return F.one_hot(idx, n_classes)
''',
        "infers the number of classes from the ids": '''
def one_hot(idx, n_classes, dtype=torch.float32):
    out = torch.zeros(len(idx), int(idx.max()) + 1, dtype=dtype)
    out[torch.arange(len(idx)), idx] = 1
    return out
''',
        "ignores the requested dtype": '''
def one_hot(idx, n_classes, dtype=torch.float32):
    out = torch.zeros(len(idx), n_classes)
    out[torch.arange(len(idx)), idx] = 1
    return out
''',
    },
    "ex06_2_embedding_lookup_answer": {
        "treats the ids as 1-based": '''
def embedding_lookup(weight, idx):
    return weight[idx - 1]
''',
        "flattens 2-D ids": '''
def embedding_lookup(weight, idx):
    return weight[idx.reshape(-1)]
''',
        "one-hot product with the size inferred from the ids": '''
def embedding_lookup(weight, idx):
    return one_hot(idx, int(idx.max()) + 1) @ weight
''',
    },
    "ex06_3_sigmoid_range_answer": {
        "ignores the lower end": '''
def sigmoid_range(x, lo, hi):
    return hi * torch.sigmoid(x)
''',
        "adds lo to hi * sigmoid": '''
def sigmoid_range(x, lo, hi):
    return lo + hi * torch.sigmoid(x)
''',
        "tanh instead of sigmoid": '''
def sigmoid_range(x, lo, hi):
    return lo + (hi - lo) * (torch.tanh(x) + 1) / 2
''',
    },
    "ex06_4_collab_forward_answer": {
        "forgets the biases": '''
def collab_forward(users, items, params, y_range=(0.0, 5.5)):
    p = embedding_lookup(params["user_factors"], users)
    q = embedding_lookup(params["item_factors"], items)
    return sigmoid_range((p * q).sum(dim=-1), *y_range)
''',
        "squashes before adding the biases": '''
def collab_forward(users, items, params, y_range=(0.0, 5.5)):
    p = embedding_lookup(params["user_factors"], users)
    q = embedding_lookup(params["item_factors"], items)
    return sigmoid_range((p * q).sum(dim=-1), *y_range) + params["user_bias"][users] + params["item_bias"][items]
''',
        "matrix product of the whole batch": '''
def collab_forward(users, items, params, y_range=(0.0, 5.5)):
    p = embedding_lookup(params["user_factors"], users)
    q = embedding_lookup(params["item_factors"], items)
    x = p @ q.T + params["user_bias"][users] + params["item_bias"][items]
    return sigmoid_range(x, *y_range)
''',
        "always uses the range [0, 5.5]": '''
def collab_forward(users, items, params, y_range=(0.0, 5.5)):
    p = embedding_lookup(params["user_factors"], users)
    q = embedding_lookup(params["item_factors"], items)
    x = (p * q).sum(dim=-1) + params["user_bias"][users] + params["item_bias"][items]
    return sigmoid_range(x, 0.0, 5.5)
''',
    },
    "ex06_5_pca_answer": {
        "forgets to centre": '''
def pca(x, k):
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    components = vt[:k]
    signs = np.sign(components[np.arange(k), np.abs(components).argmax(axis=1)])
    components = components * signs[:, None]
    return x @ components.T, components
''',
        "does not fix the signs": '''
def pca(x, k):
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:k].T, vt[:k]
''',
        "returns U as the scores": '''
def pca(x, k):
    centred = x - x.mean(axis=0)
    u, _, vt = np.linalg.svd(centred, full_matrices=False)
    signs = np.sign(vt[:k][np.arange(k), np.abs(vt[:k]).argmax(axis=1)])
    return u[:, :k] * signs, vt[:k] * signs[:, None]
''',
        "keeps the smallest components": '''
def pca(x, k):
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[-k:][::-1]
    signs = np.sign(components[np.arange(k), np.abs(components).argmax(axis=1)])
    components = components * signs[:, None]
    return centred @ components.T, components
''',
    },
}

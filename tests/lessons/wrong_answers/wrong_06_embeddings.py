"""Lesson 06's exercises: plausible wrong answers (the hidden tests must reject each), honest
answers written differently from the reference (they must keep full marks), and correct-valued
answers that call a forbidden routine (the grader must score them 0)."""

WRONG_ANSWERS = {
    "ex06_1_one_hot_answer": {
        "torch.eye rows without converting to the requested dtype": '''
def one_hot(idx, n_classes, dtype=torch.float32):
    return torch.eye(n_classes)[idx]
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
        "integer one-hot rows (a comparison cast to int64)": '''
def one_hot(idx, n_classes, dtype=torch.float32):
    return (idx[:, None] == torch.arange(n_classes)).long()
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
        "goes through NumPy: no gradient reaches the table": '''
def embedding_lookup(weight, idx):
    return torch.from_numpy(weight.detach().numpy()[idx.numpy()])
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
        "computed in float32 whatever the input": '''
def sigmoid_range(x, lo, hi):
    return lo + (hi - lo) * torch.sigmoid(x.float())
''',
        "detaches x: no gradient for the factors": '''
def sigmoid_range(x, lo, hi):
    return lo + (hi - lo) * torch.sigmoid(x.detach())
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
        "squeezes the batch dimension: a batch of one becomes 0-d": '''
def collab_forward(users, items, params, y_range=(0.0, 5.5)):
    p = embedding_lookup(params["user_factors"], users)
    q = embedding_lookup(params["item_factors"], items)
    x = (p[:, None, :] @ q[:, :, None]).squeeze() + params["user_bias"][users] + params["item_bias"][items]
    return sigmoid_range(x, *y_range).squeeze()
''',
        "looks the film bias up with the user ids": '''
def collab_forward(users, items, params, y_range=(0.0, 5.5)):
    p = embedding_lookup(params["user_factors"], users)
    q = embedding_lookup(params["item_factors"], items)
    x = (p * q).sum(dim=-1) + params["user_bias"][users] + params["item_bias"][users]
    return sigmoid_range(x, *y_range)
''',
        "converts the caller's tables to float64": '''
def collab_forward(users, items, params, y_range=(0.0, 5.5)):
    for name in params:
        params[name] = params[name].double()
    p = embedding_lookup(params["user_factors"], users)
    q = embedding_lookup(params["item_factors"], items)
    x = (p * q).sum(dim=-1) + params["user_bias"][users] + params["item_bias"][items]
    return sigmoid_range(x, *y_range)
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
        "makes the largest entry positive by its value, not its magnitude": '''
def pca(x, k):
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:k]
    signs = np.sign(components[np.arange(k), components.argmax(axis=1)])
    components = components * signs[:, None]
    return centred @ components.T, components
''',
        "centres the caller's array in place": '''
def pca(x, k):
    x -= x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    components = vt[:k]
    signs = np.sign(components[np.arange(k), np.abs(components).argmax(axis=1)])
    components = components * signs[:, None]
    return x @ components.T, components
''',
    },
    "ex06_6_most_similar_answer": {
        "the dot product instead of the cosine": '''
def most_similar(factors, titles, title, k):
    query = titles.index(title)
    scores = factors @ factors[query]
    scores[query] = -math.inf
    return [titles[int(i)] for i in torch.argsort(scores, descending=True)[:k]]
''',
        "the Euclidean distance, nearest first": '''
def most_similar(factors, titles, title, k):
    query = titles.index(title)
    distance = (factors - factors[query]).norm(dim=1)
    distance[query] = math.inf
    return [titles[int(i)] for i in torch.argsort(distance)[:k]]
''',
        "keeps the film itself": '''
def most_similar(factors, titles, title, k):
    query = titles.index(title)
    unit = factors / factors.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return [titles[int(i)] for i in torch.argsort(unit @ unit[query], descending=True)[:k]]
''',
        "least similar first": '''
def most_similar(factors, titles, title, k):
    query = titles.index(title)
    unit = factors / factors.norm(dim=1, keepdim=True).clamp_min(1e-12)
    sims = unit @ unit[query]
    sims[query] = math.inf
    return [titles[int(i)] for i in torch.argsort(sims)[:k]]
''',
        "divides by the lengths unguarded: NaN for a film with zero factors": '''
def most_similar(factors, titles, title, k):
    query = titles.index(title)
    unit = factors / factors.norm(dim=1, keepdim=True)
    sims = unit @ unit[query]
    sims[query] = -math.inf
    return [titles[int(i)] for i in torch.argsort(sims, descending=True)[:k]]
''',
        "normalises the factor columns instead of the films": '''
def most_similar(factors, titles, title, k):
    query = titles.index(title)
    unit = factors / factors.norm(dim=0, keepdim=True)
    sims = unit @ unit[query]
    sims[query] = -math.inf
    return [titles[int(i)] for i in torch.argsort(sims, descending=True)[:k]]
''',
        "returns film numbers instead of titles": '''
def most_similar(factors, titles, title, k):
    query = titles.index(title)
    unit = factors / factors.norm(dim=1, keepdim=True).clamp_min(1e-12)
    sims = unit @ unit[query]
    sims[query] = -math.inf
    return [int(i) for i in torch.argsort(sims, descending=True)[:k]]
''',
        "normalises the caller's table in place": '''
def most_similar(factors, titles, title, k):
    query = titles.index(title)
    factors /= factors.norm(dim=1, keepdim=True).clamp_min(1e-12)
    sims = factors @ factors[query]
    sims[query] = -math.inf
    return [titles[int(i)] for i in torch.argsort(sims, descending=True)[:k]]
''',
        "the last film of a shared title": '''
def most_similar(factors, titles, title, k):
    query = max(j for j, t in enumerate(titles) if t == title)
    unit = factors / factors.norm(dim=1, keepdim=True).clamp_min(1e-12)
    sims = unit @ unit[query]
    sims[query] = -math.inf
    return [titles[int(i)] for i in torch.argsort(sims, descending=True)[:k]]
''',
    },
}

HONEST_ANSWERS = {
    "ex06_1_one_hot_answer": {
        "a comparison with arange": '''
def one_hot(idx, n_classes, dtype=torch.float32):
    return (idx[:, None] == torch.arange(n_classes)).to(dtype)
''',
        "scatter into zeros": '''
def one_hot(idx, n_classes, dtype=torch.float32):
    return torch.zeros(idx.shape[0], n_classes, dtype=dtype).scatter_(1, idx[:, None], 1.0)
''',
    },
    "ex06_2_embedding_lookup_answer": {
        "index_select on the flattened ids": '''
def embedding_lookup(weight, idx):
    return torch.index_select(weight, 0, idx.reshape(-1)).reshape(*idx.shape, weight.shape[1])
''',
        "gather along the rows, with a helper cell": '''
def embedding_lookup(weight, idx):
    return gather_rows(weight, idx.reshape(-1)).reshape(*idx.shape, weight.shape[1])
# --- new cell ---
def gather_rows(weight, flat_ids):
    """Rows flat_ids of a 2-D table with torch.gather: shape (len(flat_ids), k)."""
    return torch.gather(weight, 0, flat_ids[:, None].expand(-1, weight.shape[1]))
''',
    },
    "ex06_3_sigmoid_range_answer": {
        "the logistic function written out": '''
def sigmoid_range(x, lo, hi):
    return lo + (hi - lo) / (1 + torch.exp(-x))
''',
        "through tanh": '''
def sigmoid_range(x, lo, hi):
    return lo + (hi - lo) * (torch.tanh(x / 2) + 1) / 2
''',
    },
    "ex06_4_collab_forward_answer": {
        "einsum for the dot products": '''
def collab_forward(users, items, params, y_range=(0.0, 5.5)):
    lo, hi = y_range
    p = embedding_lookup(params["user_factors"], users)
    q = embedding_lookup(params["item_factors"], items)
    x = torch.einsum("nk,nk->n", p, q) + params["user_bias"][users] + params["item_bias"][items]
    return sigmoid_range(x, lo, hi)
''',
        "biases as one-column tables, with a helper cell": '''
def collab_forward(users, items, params, y_range=(0.0, 5.5)):
    x = row_dot(embedding_lookup(params["user_factors"], users), embedding_lookup(params["item_factors"], items))
    x = x + embedding_lookup(params["user_bias"][:, None], users)[:, 0] + embedding_lookup(params["item_bias"][:, None], items)[:, 0]
    return sigmoid_range(x, *y_range)
# --- new cell ---
def row_dot(a, b):
    """Dot product of matching rows of two (N, k) tensors: shape (N,)."""
    return (a * b).sum(dim=1)
''',
    },
    "ex06_5_pca_answer": {
        "eigenvectors of the covariance matrix": '''
def pca(x, k):
    centred = x - x.mean(axis=0, keepdims=True)
    values, vectors = np.linalg.eigh(np.cov(centred, rowvar=False))
    components = vectors[:, np.argsort(values)[::-1][:k]].T
    for row in components:
        if row[np.argmax(np.abs(row))] < 0:
            row *= -1
    return centred @ components.T, components
''',
        "SVD, signs fixed in a loop": '''
def pca(x, k):
    centred = x - x.mean(axis=0)
    vt = np.linalg.svd(centred, full_matrices=False)[2][:k].copy()
    for i in range(k):
        j = np.argmax(np.abs(vt[i]))
        if vt[i, j] < 0:
            vt[i] = -vt[i]
    return centred @ vt.T, vt
''',
    },
    "ex06_6_most_similar_answer": {
        "F.normalize, then sorted in Python": '''
def most_similar(factors, titles, title, k):
    query = titles.index(title)
    unit = F.normalize(factors, dim=1)
    sims = (unit @ unit[query]).tolist()
    others = sorted((j for j in range(len(titles)) if j != query), key=lambda j: -sims[j])
    return [titles[j] for j in others[:k]]
''',
        "NumPy with a cosine helper cell": '''
def most_similar(factors, titles, title, k):
    table = factors.detach().cpu().numpy().astype(np.float64)
    query = titles.index(title)
    sims = np.array([cosine(table[query], row) for row in table])
    sims[query] = -np.inf
    return [titles[j] for j in np.argsort(-sims, kind="stable")[:k]]
# --- new cell ---
def cosine(a, b):
    """Cosine similarity of two vectors, 0 when either is all zeros."""
    lengths = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / lengths) if lengths > 0 else 0.0
''',
    },
}

FORBIDDEN_ANSWERS = {
    "ex06_1_one_hot_answer": {
        "torch.nn.functional.one_hot": '''
def one_hot(idx, n_classes, dtype=torch.float32):
    return F.one_hot(idx, n_classes).to(dtype)
''',
    },
    "ex06_2_embedding_lookup_answer": {
        "F.embedding, found by a computed name": '''
def embedding_lookup(weight, idx):
    return getattr(F, "embed" + "ding")(idx, weight)
''',
        "torch.embedding, the op under F.embedding": '''
def embedding_lookup(weight, idx):
    return torch.embedding(weight, idx)
''',
    },
    "ex06_5_pca_answer": {
        "torch.pca_lowrank, imported inside the function": '''
def pca(x, k):
    from torch import pca_lowrank
    t = torch.from_numpy(x)
    _, _, v = pca_lowrank(t, q=min(x.shape), center=True, niter=6)
    components = v[:, :k].T.numpy()
    signs = np.sign(components[np.arange(k), np.abs(components).argmax(axis=1)])
    components = components * signs[:, None]
    return (x - x.mean(axis=0)) @ components.T, components
''',
    },
    "ex06_6_most_similar_answer": {
        "nn.CosineSimilarity under another name": '''
def most_similar(factors, titles, title, k):
    closeness = nn.CosineSimilarity(dim=1)
    query = titles.index(title)
    sims = closeness(factors, factors[query][None])
    sims[query] = -math.inf
    return [titles[int(i)] for i in torch.argsort(sims, descending=True)[:k]]
''',
        "torch.cosine_similarity": '''
def most_similar(factors, titles, title, k):
    query = titles.index(title)
    sims = torch.cosine_similarity(factors, factors[query].unsqueeze(0), dim=1)
    sims[query] = -math.inf
    return [titles[int(i)] for i in torch.argsort(sims, descending=True)[:k]]
''',
    },
}

"""Plausible wrong answers to lesson 07's exercises; each must fail its exercise's hidden tests."""

WRONG_ANSWERS = {
    "ex07_1_lr_finder_schedule_answer": {
        "linear spacing": '''
def lr_finder_schedule(start_lr, end_lr, n_steps):
    return np.linspace(start_lr, end_lr, n_steps)
''',
        "exponent i / n (never reaches end_lr)": '''
def lr_finder_schedule(start_lr, end_lr, n_steps):
    i = np.arange(n_steps, dtype=np.float64)
    return start_lr * (end_lr / start_lr) ** (i / n_steps)
''',
    },
    "ex07_2_smooth_losses_answer": {
        "no bias correction": '''
def smooth_losses(losses, beta=0.98):
    avg, out = 0.0, []
    for loss in losses:
        avg = beta * avg + (1 - beta) * loss
        out.append(avg)
    return np.array(out)
''',
        "bias correction with beta ** i": '''
def smooth_losses(losses, beta=0.98):
    avg, out = 0.0, []
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** max(i, 1)))
    return np.array(out)
''',
        "weights swapped (beta on the new loss)": '''
def smooth_losses(losses, beta=0.98):
    avg, out = 0.0, []
    for i, loss in enumerate(losses):
        avg = (1 - beta) * avg + beta * loss
        out.append(avg / (1 - (1 - beta) ** (i + 1)))
    return np.array(out)
''',
    },
    "ex07_3_cosine_anneal_answer": {
        "linear interpolation": '''
def cosine_anneal(start, end, pos):
    return start + (end - start) * pos
''',
        "cosine the wrong way round (from end to start)": '''
def cosine_anneal(start, end, pos):
    return start + (end - start) * (1 + np.cos(np.pi * pos)) / 2
''',
        "quarter cosine": '''
def cosine_anneal(start, end, pos):
    return start + (end - start) * (1 - np.cos(np.pi / 2 * pos))
''',
    },
    "ex07_4_one_cycle_schedule_answer": {
        "momentum goes the wrong way (low, high, low)": '''
def one_cycle_schedule(lr_max, total_steps, pct_start=0.3, div=25.0, div_final=1e4, moms=(0.95, 0.85, 0.95)):
    peak = pct_start * total_steps - 1
    steps = np.arange(total_steps, dtype=np.float64)
    warm = steps <= peak
    up, down = steps / peak, (steps - peak) / (total_steps - 1 - peak)
    lrs = np.where(warm, cosine_anneal(lr_max / div, lr_max, up), cosine_anneal(lr_max, lr_max / div / div_final, down))
    mom = np.where(warm, cosine_anneal(moms[1], moms[0], up), cosine_anneal(moms[0], moms[1], down))
    return lrs, mom
''',
        "fastai's div_final (relative to lr_max)": '''
def one_cycle_schedule(lr_max, total_steps, pct_start=0.3, div=25.0, div_final=1e4, moms=(0.95, 0.85, 0.95)):
    peak = pct_start * total_steps - 1
    steps = np.arange(total_steps, dtype=np.float64)
    warm = steps <= peak
    up, down = steps / peak, (steps - peak) / (total_steps - 1 - peak)
    lrs = np.where(warm, cosine_anneal(lr_max / div, lr_max, up), cosine_anneal(lr_max, lr_max / div_final, down))
    mom = np.where(warm, cosine_anneal(moms[0], moms[1], up), cosine_anneal(moms[1], moms[2], down))
    return lrs, mom
''',
        "fastai's positions i / T (peak one step late, end never reached)": '''
def one_cycle_schedule(lr_max, total_steps, pct_start=0.3, div=25.0, div_final=1e4, moms=(0.95, 0.85, 0.95)):
    pos = np.arange(total_steps, dtype=np.float64) / total_steps
    warm = pos < pct_start
    up, down = pos / pct_start, (pos - pct_start) / (1 - pct_start)
    lrs = np.where(warm, cosine_anneal(lr_max / div, lr_max, up), cosine_anneal(lr_max, lr_max / div / div_final, down))
    mom = np.where(warm, cosine_anneal(moms[0], moms[1], up), cosine_anneal(moms[1], moms[2], down))
    return lrs, mom
''',
        "linear segments (Smith's original shape)": '''
def one_cycle_schedule(lr_max, total_steps, pct_start=0.3, div=25.0, div_final=1e4, moms=(0.95, 0.85, 0.95)):
    peak = pct_start * total_steps - 1
    steps = np.arange(total_steps, dtype=np.float64)
    warm = steps <= peak
    up, down = steps / peak, (steps - peak) / (total_steps - 1 - peak)
    lin = lambda a, b, t: a + (b - a) * t
    lrs = np.where(warm, lin(lr_max / div, lr_max, up), lin(lr_max, lr_max / div / div_final, down))
    mom = np.where(warm, lin(moms[0], moms[1], up), lin(moms[1], moms[2], down))
    return lrs, mom
''',
        "ignores the moms argument": '''
def one_cycle_schedule(lr_max, total_steps, pct_start=0.3, div=25.0, div_final=1e4, moms=(0.95, 0.85, 0.95)):
    peak = pct_start * total_steps - 1
    steps = np.arange(total_steps, dtype=np.float64)
    warm = steps <= peak
    up, down = steps / peak, (steps - peak) / (total_steps - 1 - peak)
    lrs = np.where(warm, cosine_anneal(lr_max / div, lr_max, up), cosine_anneal(lr_max, lr_max / div / div_final, down))
    mom = np.where(warm, cosine_anneal(0.95, 0.85, up), cosine_anneal(0.85, 0.95, down))
    return lrs, mom
''',
    },
}

"""Lesson 07's answers other than the reference: plausible wrong ones (each must fail its
exercise's hidden tests), honest ones written differently (each must keep full marks), and
correct-valued ones that call a routine the exercise forbids."""

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
        "a single step divides by zero": '''
def lr_finder_schedule(start_lr, end_lr, n_steps):
    i = np.arange(n_steps, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return start_lr * (end_lr / start_lr) ** (i / (n_steps - 1))
''',
        "float32 learning rates": '''
def lr_finder_schedule(start_lr, end_lr, n_steps):
    if n_steps == 1:
        return np.array([start_lr], dtype=np.float32)
    i = np.arange(n_steps, dtype=np.float32)
    return (start_lr * (end_lr / start_lr) ** (i / (n_steps - 1))).astype(np.float32)
''',
        "a list instead of an array": '''
def lr_finder_schedule(start_lr, end_lr, n_steps):
    if n_steps == 1:
        return [float(start_lr)]
    return [start_lr * (end_lr / start_lr) ** (i / (n_steps - 1)) for i in range(n_steps)]
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
        "ignores beta (always fastai's 0.98)": '''
def smooth_losses(losses, beta=0.98):
    avg, out = 0.0, []
    for i, loss in enumerate(losses):
        avg = 0.98 * avg + 0.02 * loss
        out.append(avg / (1 - 0.98 ** (i + 1)))
    return np.array(out, dtype=np.float64)
''',
        "smooths in place (overwrites the caller's float64 array)": '''
def smooth_losses(losses, beta=0.98):
    out = np.asarray(losses, dtype=np.float64)
    avg = 0.0
    for i in range(len(out)):
        avg = beta * avg + (1 - beta) * out[i]
        out[i] = avg / (1 - beta ** (i + 1))
    return out
''',
        "keeps the input's dtype (float32 stays float32, integers are truncated)": '''
def smooth_losses(losses, beta=0.98):
    losses = np.asarray(losses)
    out = np.empty_like(losses)
    avg = 0.0
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        out[i] = avg / (1 - beta ** (i + 1))
    return out
''',
    },
    "ex07_3_lr_suggestions_answer": {
        "skip_end 0 keeps nothing (slices [skip_start:-skip_end])": '''
def lr_suggestions(lrs, smoothed, skip_start=10, skip_end=5):
    lrs_in, loss_in = lrs[skip_start:-skip_end], smoothed[skip_start:-skip_end]
    slopes = np.diff(loss_in) / np.diff(np.log(lrs_in))
    return float(lrs_in[loss_in.argmin()] / 10), float(lrs_in[slopes.argmin()])
''',
        "slope per step, not per log(lr) (right only for exponential spacing)": '''
def lr_suggestions(lrs, smoothed, skip_start=10, skip_end=5):
    stop = len(lrs) - skip_end
    lrs_in, loss_in = lrs[skip_start:stop], smoothed[skip_start:stop]
    return float(lrs_in[loss_in.argmin()] / 10), float(lrs_in[np.diff(loss_in).argmin()])
''',
        "slope against lr instead of log(lr)": '''
def lr_suggestions(lrs, smoothed, skip_start=10, skip_end=5):
    stop = len(lrs) - skip_end
    lrs_in, loss_in = lrs[skip_start:stop], smoothed[skip_start:stop]
    slopes = np.diff(loss_in) / np.diff(lrs_in)
    return float(lrs_in[loss_in.argmin()] / 10), float(lrs_in[slopes.argmin()])
''',
        "the end of the steepest segment instead of its start": '''
def lr_suggestions(lrs, smoothed, skip_start=10, skip_end=5):
    stop = len(lrs) - skip_end
    lrs_in, loss_in = lrs[skip_start:stop], smoothed[skip_start:stop]
    slopes = np.diff(loss_in) / np.diff(np.log(lrs_in))
    return float(lrs_in[loss_in.argmin()] / 10), float(lrs_in[slopes.argmin() + 1])
''',
        "the minimum itself, not divided by 10": '''
def lr_suggestions(lrs, smoothed, skip_start=10, skip_end=5):
    stop = len(lrs) - skip_end
    lrs_in, loss_in = lrs[skip_start:stop], smoothed[skip_start:stop]
    slopes = np.diff(loss_in) / np.diff(np.log(lrs_in))
    return float(lrs_in[loss_in.argmin()]), float(lrs_in[slopes.argmin()])
''',
        "masks the skipped steps in place (modifies smoothed)": '''
def lr_suggestions(lrs, smoothed, skip_start=10, skip_end=5):
    stop = len(lrs) - skip_end
    slopes = np.diff(smoothed[skip_start:stop]) / np.diff(np.log(lrs[skip_start:stop]))
    smoothed[:skip_start] = np.inf
    smoothed[stop:] = np.inf
    return float(lrs[smoothed.argmin()] / 10), float(lrs[skip_start + slopes.argmin()])
''',
        "ignores skip_start (always 10)": '''
def lr_suggestions(lrs, smoothed, skip_start=10, skip_end=5):
    stop = len(lrs) - skip_end
    lrs_in, loss_in = lrs[10:stop], smoothed[10:stop]
    slopes = np.diff(loss_in) / np.diff(np.log(lrs_in))
    return float(lrs_in[loss_in.argmin()] / 10), float(lrs_in[slopes.argmin()])
''',
        "a list instead of a tuple": '''
def lr_suggestions(lrs, smoothed, skip_start=10, skip_end=5):
    stop = len(lrs) - skip_end
    lrs_in, loss_in = lrs[skip_start:stop], smoothed[skip_start:stop]
    slopes = np.diff(loss_in) / np.diff(np.log(lrs_in))
    return [float(lrs_in[loss_in.argmin()] / 10), float(lrs_in[slopes.argmin()])]
''',
    },
    "ex07_4_cosine_anneal_answer": {
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
        "math.cos: right for a float, breaks on an array": '''
def cosine_anneal(start, end, pos):
    return start + (end - start) * (1 - math.cos(math.pi * pos)) / 2
''',
        "scales the positions in place (modifies the caller's array)": '''
def cosine_anneal(start, end, pos):
    pos *= np.pi
    return start + (end - start) * (1 - np.cos(pos)) / 2
''',
        "a tensor from torch.cos instead of a float or an array": '''
def cosine_anneal(start, end, pos):
    return start + (end - start) * (1 - torch.cos(torch.as_tensor(np.pi * pos, dtype=torch.float64))) / 2
''',
    },
    "ex07_5_one_cycle_schedule_answer": {
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
        "momentum ends where it started (assumes a symmetric cycle)": '''
def one_cycle_schedule(lr_max, total_steps, pct_start=0.3, div=25.0, div_final=1e4, moms=(0.95, 0.85, 0.95)):
    peak = pct_start * total_steps - 1
    steps = np.arange(total_steps, dtype=np.float64)
    warm = steps <= peak
    up, down = steps / peak, (steps - peak) / (total_steps - 1 - peak)
    lrs = np.where(warm, cosine_anneal(lr_max / div, lr_max, up), cosine_anneal(lr_max, lr_max / div / div_final, down))
    mom = np.where(warm, cosine_anneal(moms[0], moms[1], up), cosine_anneal(moms[1], moms[0], down))
    return lrs, mom
''',
        "ignores pct_start (always 0.3)": '''
def one_cycle_schedule(lr_max, total_steps, pct_start=0.3, div=25.0, div_final=1e4, moms=(0.95, 0.85, 0.95)):
    peak = 0.3 * total_steps - 1
    steps = np.arange(total_steps, dtype=np.float64)
    warm = steps <= peak
    up, down = steps / peak, (steps - peak) / (total_steps - 1 - peak)
    lrs = np.where(warm, cosine_anneal(lr_max / div, lr_max, up), cosine_anneal(lr_max, lr_max / div / div_final, down))
    mom = np.where(warm, cosine_anneal(moms[0], moms[1], up), cosine_anneal(moms[1], moms[2], down))
    return lrs, mom
''',
        "ignores div (always 25)": '''
def one_cycle_schedule(lr_max, total_steps, pct_start=0.3, div=25.0, div_final=1e4, moms=(0.95, 0.85, 0.95)):
    peak = pct_start * total_steps - 1
    steps = np.arange(total_steps, dtype=np.float64)
    warm = steps <= peak
    up, down = steps / peak, (steps - peak) / (total_steps - 1 - peak)
    lrs = np.where(warm, cosine_anneal(lr_max / 25, lr_max, up), cosine_anneal(lr_max, lr_max / 25 / div_final, down))
    mom = np.where(warm, cosine_anneal(moms[0], moms[1], up), cosine_anneal(moms[1], moms[2], down))
    return lrs, mom
''',
        "peak at step pct_start * T (one step late)": '''
def one_cycle_schedule(lr_max, total_steps, pct_start=0.3, div=25.0, div_final=1e4, moms=(0.95, 0.85, 0.95)):
    peak = pct_start * total_steps
    steps = np.arange(total_steps, dtype=np.float64)
    warm = steps <= peak
    up, down = steps / peak, (steps - peak) / (total_steps - 1 - peak)
    lrs = np.where(warm, cosine_anneal(lr_max / div, lr_max, up), cosine_anneal(lr_max, lr_max / div / div_final, down))
    mom = np.where(warm, cosine_anneal(moms[0], moms[1], up), cosine_anneal(moms[1], moms[2], down))
    return lrs, mom
''',
        "float32 schedules": '''
def one_cycle_schedule(lr_max, total_steps, pct_start=0.3, div=25.0, div_final=1e4, moms=(0.95, 0.85, 0.95)):
    peak = pct_start * total_steps - 1
    steps = np.arange(total_steps, dtype=np.float32)
    warm = steps <= peak
    up, down = steps[warm] / np.float32(peak), (steps[~warm] - np.float32(peak)) / np.float32(total_steps - 1 - peak)
    lrs, mom = np.empty(total_steps, dtype=np.float32), np.empty(total_steps, dtype=np.float32)
    lrs[warm] = cosine_anneal(lr_max / div, lr_max, up)
    lrs[~warm] = cosine_anneal(lr_max, lr_max / div / div_final, down)
    mom[warm] = cosine_anneal(moms[0], moms[1], up)
    mom[~warm] = cosine_anneal(moms[1], moms[2], down)
    return lrs, mom
''',
        "a list [lrs, moms] instead of a tuple": '''
def one_cycle_schedule(lr_max, total_steps, pct_start=0.3, div=25.0, div_final=1e4, moms=(0.95, 0.85, 0.95)):
    peak = pct_start * total_steps - 1
    steps = np.arange(total_steps, dtype=np.float64)
    warm = steps <= peak
    up, down = steps / peak, (steps - peak) / (total_steps - 1 - peak)
    lrs = np.where(warm, cosine_anneal(lr_max / div, lr_max, up), cosine_anneal(lr_max, lr_max / div / div_final, down))
    mom = np.where(warm, cosine_anneal(moms[0], moms[1], up), cosine_anneal(moms[1], moms[2], down))
    return [lrs, mom]
''',
    },
}

HONEST_ANSWERS = {
    "ex07_1_lr_finder_schedule_answer": {
        "exp of evenly spaced logs": '''
def lr_finder_schedule(start_lr, end_lr, n_steps):
    return np.exp(np.linspace(np.log(start_lr), np.log(end_lr), n_steps))
''',
        "a loop multiplying by the same factor": '''
def lr_finder_schedule(start_lr, end_lr, n_steps):
    lrs = [float(start_lr)]
    if n_steps > 1:
        factor = (end_lr / start_lr) ** (1 / (n_steps - 1))
        for _ in range(n_steps - 1):
            lrs.append(lrs[-1] * factor)
    return np.array(lrs)
''',
    },
    "ex07_2_smooth_losses_answer": {
        "weighted sums as a lower-triangular matrix": '''
def smooth_losses(losses, beta=0.98):
    losses = np.array(losses, dtype=np.float64)
    i = np.arange(len(losses))
    weights = np.tril(beta ** np.clip(i[:, None] - i[None, :], 0, None)) * (1 - beta)
    return weights @ losses / (1 - beta ** (i + 1))
''',
        "a running average in a helper cell after the answer": '''
def smooth_losses(losses, beta=0.98):
    return np.array(list(_running_averages(losses, beta)), dtype=np.float64)
# --- new cell ---
def _running_averages(values, beta):
    avg, weight = 0.0, 0.0
    for value in values:
        avg = beta * avg + (1 - beta) * float(value)
        weight = beta * weight + (1 - beta)
        yield avg / weight
''',
    },
    "ex07_3_lr_suggestions_answer": {
        "a loop over the kept steps": '''
def lr_suggestions(lrs, smoothed, skip_start=10, skip_end=5):
    kept = range(skip_start, len(lrs) - skip_end)
    best = min(kept, key=lambda i: smoothed[i])
    steep, steepest = None, math.inf
    for i in kept[:-1]:
        slope = (smoothed[i + 1] - smoothed[i]) / (math.log(lrs[i + 1]) - math.log(lrs[i]))
        if slope < steepest:
            steep, steepest = i, slope
    return float(lrs[best]) / 10, float(lrs[steep])
''',
    },
    "ex07_4_cosine_anneal_answer": {
        "a squared sine": '''
def cosine_anneal(start, end, pos):
    return start + (end - start) * np.sin(np.pi * pos / 2) ** 2
''',
    },
    "ex07_5_one_cycle_schedule_answer": {
        "a helper cell before the answer, loops with math.cos": '''
def _half_cosine(a, b, t):
    return a + (b - a) * (1 - math.cos(math.pi * t)) / 2
# --- new cell ---
def one_cycle_schedule(lr_max, total_steps, pct_start=0.3, div=25.0, div_final=1e4, moms=(0.95, 0.85, 0.95)):
    peak = pct_start * total_steps - 1
    lrs, ms = [], []
    for i in range(total_steps):
        if i <= peak:
            t, lr_ends, mom_ends = i / peak, (lr_max / div, lr_max), (moms[0], moms[1])
        else:
            t = (i - peak) / (total_steps - 1 - peak)
            lr_ends, mom_ends = (lr_max, lr_max / div / div_final), (moms[1], moms[2])
        lrs.append(_half_cosine(*lr_ends, t))
        ms.append(_half_cosine(*mom_ends, t))
    return np.array(lrs), np.array(ms)
''',
        "np.where over both phases": '''
def one_cycle_schedule(lr_max, total_steps, pct_start=0.3, div=25.0, div_final=1e4, moms=(0.95, 0.85, 0.95)):
    peak = pct_start * total_steps - 1
    i = np.arange(total_steps, dtype=np.float64)
    up = np.clip(i / peak, 0, 1)
    down = np.clip((i - peak) / (total_steps - 1 - peak), 0, 1)
    warm = i <= peak
    lrs = np.where(warm, cosine_anneal(lr_max / div, lr_max, up), cosine_anneal(lr_max, lr_max / (div * div_final), down))
    ms = np.where(warm, cosine_anneal(moms[0], moms[1], up), cosine_anneal(moms[1], moms[2], down))
    return lrs, ms
''',
    },
}

FORBIDDEN_ANSWERS = {
    "ex07_1_lr_finder_schedule_answer": {
        "numpy.geomspace imported under another name inside the function": '''
def lr_finder_schedule(start_lr, end_lr, n_steps):
    from numpy import geomspace as spaced
    return spaced(start_lr, end_lr, n_steps)
''',
    },
    "ex07_2_smooth_losses_answer": {
        "pandas' ewm, a method of a Series": '''
def smooth_losses(losses, beta=0.98):
    import pandas
    return pandas.Series(np.asarray(losses, dtype=np.float64)).ewm(alpha=1 - beta, adjust=True).mean().to_numpy()
''',
    },
    "ex07_4_cosine_anneal_answer": {
        "CosineAnnealingLR reached by getattr with a computed name": '''
def cosine_anneal(start, end, pos):
    scheduler = getattr(torch.optim.lr_scheduler, "Cosine" + "AnnealingLR")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=start)
    sched = scheduler(opt, T_max=1, eta_min=end)

    def at(p):
        sched.last_epoch = float(p)
        return float(sched._get_closed_form_lr()[0])

    if np.ndim(pos) == 0:
        return at(pos)
    return np.vectorize(at, otypes=[np.float64])(pos)
''',
    },
    "ex07_5_one_cycle_schedule_answer": {
        "OneCycleLR through an alias of its module": '''
from torch.optim import lr_scheduler as schedulers

def one_cycle_schedule(lr_max, total_steps, pct_start=0.3, div=25.0, div_final=1e4, moms=(0.95, 0.85, 0.95)):
    def run(top, bottom):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr_max, momentum=0.9)
        sched = schedulers.OneCycleLR(opt, max_lr=lr_max, total_steps=total_steps, pct_start=pct_start,
                                      div_factor=div, final_div_factor=div_final, three_phase=False,
                                      base_momentum=bottom, max_momentum=top)
        lrs, ms = [], []
        for _ in range(total_steps):
            lrs.append(float(opt.param_groups[0]["lr"]))
            ms.append(float(opt.param_groups[0]["momentum"]))
            opt.step()
            sched.step()
        return np.array(lrs), np.array(ms)

    lrs, up = run(moms[0], moms[1])
    down = run(moms[2], moms[1])[1]
    return lrs, np.where(np.arange(total_steps) <= pct_start * total_steps - 1, up, down)
''',
    },
}

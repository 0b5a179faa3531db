"""Known-wrong and alternative-correct implementations for 07_batchnorm."""

from grader.catalogue import Alternative, Wrong

_RUNNING = '''    new_state = {
        "running_mean": (1 - momentum) * state["running_mean"] + momentum * mean,
        "running_var": (1 - momentum) * state["running_var"] + momentum * var * N / (N - 1),
    }
'''

_BN2D_FROM_SCRATCH = """
def batchnorm2d_forward(x, gamma, beta, state, *, train, momentum=0.1, eps=1e-5):
    x = np.asarray(x, dtype=float)
    shape = (1, -1, 1, 1)
    if not train:
        x_hat = (x - state["running_mean"].reshape(shape)) / np.sqrt(
            state["running_var"].reshape(shape) + eps)
        return gamma.reshape(shape) * x_hat + beta.reshape(shape), dict(state)
    n = COUNT
    if x.shape[0] * x.shape[2] * x.shape[3] < 2:
        raise ValueError("need at least two values per channel")
    mean = x.mean(axis=AXES, keepdims=True)
    var = x.var(axis=AXES, keepdims=True)
    x_hat = (x - mean) / np.sqrt(var + eps)
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    new_state = {
        "running_mean": (1 - momentum) * state["running_mean"] + momentum * mean,
        "running_var": (1 - momentum) * state["running_var"] + momentum * var * n / (n - 1)}
    return gamma.reshape(shape) * x_hat + beta.reshape(shape), new_state
"""

_GN_STRIDED = """
def groupnorm_forward(x, gamma, beta, groups, *, eps=1e-5):
    x = np.asarray(x, dtype=float)
    N, C, H, W = x.shape
    if C % groups:
        raise ValueError("C must be a multiple of groups")
    grouped = x.reshape(N, C // groups, groups, H, W)
    mean = grouped.mean(axis=(1, 3, 4), keepdims=True)
    std = np.sqrt(grouped.var(axis=(1, 3, 4), keepdims=True) + eps)
    x_hat = ((grouped - mean) / std).reshape(N, C, H, W)
    return gamma.reshape(1, C, 1, 1) * x_hat + beta.reshape(1, C, 1, 1)
"""

ENTRIES = [
    # ---- batchnorm_forward (deterministic: named by matching outputs)
    Wrong("batchnorm_forward", "normalizes with the unbiased variance (divides by N - 1)",
          edits=[("var = x.var(axis=0)", "var = x.var(axis=0, ddof=1)"),
                 ("momentum * var * N / (N - 1)", "momentum * var")],
          loses=("test_batchnorm_forward",)),
    Wrong("batchnorm_forward", "flips the momentum convention (momentum weighs the old running "
          "value, as in Keras)",
          edits=[('(1 - momentum) * state["running_mean"] + momentum * mean',
                  'momentum * state["running_mean"] + (1 - momentum) * mean'),
                 ('(1 - momentum) * state["running_var"] + momentum * var * N / (N - 1)',
                  'momentum * state["running_var"] + (1 - momentum) * var * N / (N - 1)')],
          loses=("test_batchnorm_forward",)),
    Wrong("batchnorm_forward", "uses the batch statistics in evaluation mode", source='''
def batchnorm_forward(x, gamma, beta, state, *, train, momentum=0.1, eps=1e-5):
    x = np.asarray(x, dtype=float)
    N = x.shape[0]
    mean = x.mean(axis=0)
    var = x.var(axis=0)
    std = np.sqrt(var + eps)
    x_hat = (x - mean) / std
    if not train:
        return gamma * x_hat + beta, dict(state), None
    if N < 2:
        raise ValueError("need at least two samples")
    new_state = {
        "running_mean": (1 - momentum) * state["running_mean"] + momentum * mean,
        "running_var": (1 - momentum) * state["running_var"] + momentum * var * N / (N - 1),
    }
    return gamma * x_hat + beta, new_state, (x_hat, gamma, std)
''', loses=("test_batchnorm_forward",)),
    Wrong("batchnorm_forward", "normalizes with the running averages in training mode",
          edits=[("x_hat = (x - mean) / std                               # (N, D)",
                  'x_hat = (x - state["running_mean"]) / np.sqrt(state["running_var"] + eps)')],
          loses=("test_batchnorm_forward",)),
    Wrong("batchnorm_forward", "forgets eps in the square root",
          edits=[("std = np.sqrt(var + eps)", "std = np.sqrt(var)"),
                 ('np.sqrt(state["running_var"] + eps)', 'np.sqrt(state["running_var"])')],
          loses=("test_batchnorm_forward",)),
    Wrong("batchnorm_forward", "updates the running averages in the caller's arrays (in place)",
          edits=[(_RUNNING, '''    state["running_mean"] *= 1 - momentum
    state["running_mean"] += momentum * mean
    state["running_var"] *= 1 - momentum
    state["running_var"] += momentum * var * N / (N - 1)
    new_state = state
''')], loses=("test_batchnorm_forward",)),
    Wrong("batchnorm_forward", "updates the running variance with the biased batch variance "
          "(as CS231n)", edits=[("momentum * var * N / (N - 1)", "momentum * var")],
          loses=("test_batchnorm_forward",)),
    Wrong("batchnorm_forward", "does not raise for a single sample in training mode",
          edits=[('    if N < 2:\n        raise ValueError(f"batch normalization in training mode '
                  'needs N >= 2 samples, got {N}")\n', "")],
          loses=("test_batchnorm_forward",)),
    Wrong("batchnorm_forward", "normalizes each sample over its features (axis 1) instead of "
          "each feature over the batch",
          edits=[("mean = x.mean(axis=0)", "mean = x.mean(axis=1, keepdims=True)"),
                 ("var = x.var(axis=0)", "var = x.var(axis=1, keepdims=True)")],
          loses=("test_batchnorm_forward",)),
    Alternative("batchnorm_forward", "computes the variance as E[x^2] - E[x]^2 and the running "
                "averages as increments", source='''
def batchnorm_forward(x, gamma, beta, state, *, train, momentum=0.1, eps=1e-5):
    x = np.asarray(x, dtype=float)
    if not train:
        inv = 1.0 / np.sqrt(state["running_var"] + eps)
        return (x - state["running_mean"]) * inv * gamma + beta, \\
            {k: v.copy() for k, v in state.items()}, None
    n = len(x)
    if n < 2:
        raise ValueError("training mode needs two samples or more")
    mean = np.sum(x, axis=0) / n
    var = np.maximum(np.sum(x * x, axis=0) / n - mean * mean, 0.0)
    inv = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv
    rm = state["running_mean"] + momentum * (mean - state["running_mean"])
    rv = state["running_var"] + momentum * (var * n / (n - 1) - state["running_var"])
    return x_hat * gamma + beta, {"running_mean": rm, "running_var": rv}, (x_hat, gamma, 1 / inv)
'''),
    Alternative("batchnorm_forward", "uses np.var(ddof=1) for the running variance and returns "
                "the state itself in evaluation mode", source='''
def batchnorm_forward(x, gamma, beta, state, *, train, momentum=0.1, eps=1e-5):
    if train:
        if x.shape[0] <= 1:
            raise ValueError("Expected more than 1 value per channel when training")
        mu = np.mean(x, axis=0, keepdims=True)
        sigma = np.sqrt(np.var(x, axis=0, keepdims=True) + eps)
        x_hat = (x - mu) / sigma
        running_mean = momentum * mu[0] + (1.0 - momentum) * state["running_mean"]
        running_var = momentum * np.var(x, axis=0, ddof=1) + (1.0 - momentum) * state["running_var"]
        return x_hat * gamma + beta, dict(running_mean=running_mean, running_var=running_var), \\
            (x_hat, gamma, sigma[0])
    out = gamma * (x - state["running_mean"]) / np.sqrt(state["running_var"] + eps) + beta
    return out, state, None
'''),
    # ---- batchnorm_backward (tested on a cache built from x, independently of the forward)
    Wrong("batchnorm_backward", "ignores that the mean and variance depend on x (dx = dout * "
          "gamma / std)", source='''
def batchnorm_backward(dout, cache):
    x_hat, gamma, std = cache
    return dout * gamma / std, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
''', loses=("test_batchnorm_backward",)),
    Wrong("batchnorm_backward", "sums dgamma over the features (axis 1) instead of the batch",
          edits=[("dgamma = (dout * x_hat).sum(axis=0)", "dgamma = (dout * x_hat).sum(axis=1)"),
                 ("- x_hat * dgamma)", "- x_hat * (dout * x_hat).sum(axis=0))")],
          loses=("test_batchnorm_backward",)),
    Wrong("batchnorm_backward", "leaves out the path through the variance",
          edits=[("N * dout - dbeta - x_hat * dgamma", "N * dout - dbeta")],
          loses=("test_batchnorm_backward",)),
    Wrong("batchnorm_backward", "leaves out the path through the mean",
          edits=[("N * dout - dbeta - x_hat * dgamma", "N * dout - x_hat * dgamma")],
          loses=("test_batchnorm_backward",)),
    Wrong("batchnorm_backward", "counts the path through the variance twice (drops the 1/2 of "
          "the square root's derivative)",
          edits=[("N * dout - dbeta - x_hat * dgamma", "N * dout - dbeta - 2 * x_hat * dgamma")],
          loses=("test_batchnorm_backward",)),
    Wrong("batchnorm_backward", "leaves gamma out of dx",
          edits=[("dx = gamma / (N * std)", "dx = 1 / (N * std)")],
          loses=("test_batchnorm_backward",)),
    Alternative("batchnorm_backward", "backpropagates step by step through the variance and the "
                "mean (CS231n's staged graph)", source='''
def batchnorm_backward(dout, cache):
    x_hat, gamma, std = cache
    N = dout.shape[0]
    xc = x_hat * std
    dxhat = dout * gamma
    dvar = np.sum(dxhat * xc, axis=0) * -0.5 * std ** -3
    dmean = -np.sum(dxhat / std, axis=0) + dvar * np.mean(-2.0 * xc, axis=0)
    dx = dxhat / std + dvar * 2.0 * xc / N + dmean / N
    return dx, np.sum(dout * x_hat, axis=0), np.sum(dout, axis=0)
'''),
    Alternative("batchnorm_backward", "writes the compact form with means instead of sums",
                source='''
def batchnorm_backward(dout, cache):
    x_hat, gamma, std = cache
    g = dout * gamma
    dx = (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0)) / std
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
'''),
    # ---- population_statistics
    Wrong("population_statistics", "averages the batch variances, forgetting the spread of the "
          "batch means", edits=[("(variances + (means - mean) ** 2)", "variances")],
          loses=("test_population_statistics",)),
    Wrong("population_statistics", "averages the batch means without weighting them by the "
          "batch sizes", edits=[("mean = (counts * means).sum(axis=0) / n",
                                 "mean = means.mean(axis=0)")],
          loses=("test_population_statistics",)),
    Wrong("population_statistics", "returns the biased variance (divides by n, not n - 1)",
          edits=[("sum_of_squares / (n - 1)", "sum_of_squares / n")],
          loses=("test_population_statistics",)),
    Wrong("population_statistics", "averages the unbiased batch variances (the paper's "
          "estimate, which is not exact)", source='''
def population_statistics(counts, means, variances):
    counts = np.asarray(counts, dtype=float)
    mean = (counts[:, None] * means).sum(axis=0) / counts.sum()
    unbiased = variances * (counts / (counts - 1))[:, None]
    return mean, unbiased.mean(axis=0)
''', loses=("test_population_statistics",)),
    Alternative("population_statistics", "accumulates sums and sums of squares", source='''
def population_statistics(counts, means, variances):
    n_b = np.asarray(counts, dtype=float).reshape(-1, 1)
    total = n_b.sum()
    s1 = np.sum(n_b * means, axis=0)
    s2 = np.sum(n_b * (variances + np.square(means)), axis=0)
    return s1 / total, (s2 - s1 ** 2 / total) / (total - 1)
'''),
    Alternative("population_statistics", "merges the batches one at a time (Chan et al.)",
                source='''
def population_statistics(counts, means, variances):
    n, mean, m2 = 0, 0.0, 0.0
    for n_b, mean_b, var_b in zip(counts, means, variances):
        delta = mean_b - mean
        total = n + n_b
        mean = mean + delta * n_b / total
        m2 = m2 + var_b * n_b + delta ** 2 * n * n_b / total
        n = total
    return np.asarray(mean, dtype=float), np.asarray(m2 / (n - 1), dtype=float)
'''),
    # ---- layernorm_forward
    Wrong("layernorm_forward", "normalizes each feature over the batch (axis 0), which is batch "
          "normalization", edits=[("mean = x.mean(axis=1, keepdims=True)",
                                   "mean = x.mean(axis=0, keepdims=True)"),
                                  ("x.var(axis=1, keepdims=True)", "x.var(axis=0, keepdims=True)")],
          loses=("test_layernorm_forward",)),
    Wrong("layernorm_forward", "uses the unbiased variance (ddof=1)",
          edits=[("x.var(axis=1, keepdims=True)", "x.var(axis=1, ddof=1, keepdims=True)")],
          loses=("test_layernorm_forward",)),
    Wrong("layernorm_forward", "adds eps outside the square root",
          edits=[("np.sqrt(x.var(axis=1, keepdims=True) + eps)",
                  "np.sqrt(x.var(axis=1, keepdims=True)) + eps")],
          loses=("test_layernorm_forward",)),
    Wrong("layernorm_forward", "forgets eps",
          edits=[("np.sqrt(x.var(axis=1, keepdims=True) + eps)",
                  "np.sqrt(x.var(axis=1, keepdims=True))")],
          loses=("test_layernorm_forward",)),
    Alternative("layernorm_forward", "normalizes the transposed batch with np.std", source='''
def layernorm_forward(x, gamma, beta, *, eps=1e-5):
    columns = np.asarray(x, dtype=float).T
    centred = columns - columns.mean(axis=0)
    x_hat = (centred / np.sqrt(np.std(columns, axis=0) ** 2 + eps)).T
    return x_hat * gamma + beta, None
'''),
    # ---- questions
    Wrong("q_running_mean", "gives the gap 5 * 0.9^10 instead of the running mean",
          source="q_running_mean = 5 * 0.9 ** 10", loses=("test_q_running_mean",)),
    Wrong("q_running_mean", "reads the momentum as the weight of the old value, as Keras does",
          source="q_running_mean = 5 * (1 - 0.1 ** 10)", loses=("test_q_running_mean",)),
    Wrong("q_running_mean", "takes a single step", source="q_running_mean = 0.5",
          loses=("test_q_running_mean",)),
    Alternative("q_running_mean", "rounds to three significant digits",
                source="q_running_mean = 3.26"),
    Alternative("q_running_mean", "runs the ten updates in a loop", source='''
q_running_mean = 0.0
for _ in range(10):
    q_running_mean = 0.9 * q_running_mean + 0.1 * 5
'''),
    Wrong("q_grad_scale", "scales the gradient like the weights", source="q_grad_scale = 10",
          loses=("test_q_grad_scale",)),
    Wrong("q_grad_scale", "expects the gradient not to change because the outputs do not",
          source="q_grad_scale = 1", loses=("test_q_grad_scale",)),
    Wrong("q_grad_scale", "gives the factor on the relative step (1/a^2), not on the gradient",
          source="q_grad_scale = 0.01", loses=("test_q_grad_scale",)),
    Alternative("q_grad_scale", "writes the fraction", source="q_grad_scale = 1 / 10"),
    Wrong("q_eval_single", "normalizes the single example with its own statistics (x_hat = 0, "
          "so the output is beta)", source="q_eval_single = 1", loses=("test_q_eval_single",)),
    Wrong("q_eval_single", "divides by the running variance instead of its square root",
          source="q_eval_single = 3 * (6 - 2) / 4 + 1", loses=("test_q_eval_single",)),
    Wrong("q_eval_single", "forgets to divide by the running standard deviation",
          source="q_eval_single = 3 * (6 - 2) + 1", loses=("test_q_eval_single",)),
    Alternative("q_eval_single", "gives the number", source="q_eval_single = 7"),
    Wrong("q_group_size", "counts batch normalization's values per channel (N * H * W)",
          source="q_group_size = 16 * 7 * 7", loses=("test_q_group_size",)),
    Wrong("q_group_size", "counts layer normalization's values per image (C * H * W)",
          source="q_group_size = 32 * 7 * 7", loses=("test_q_group_size",)),
    Wrong("q_group_size", "counts instance normalization's values (H * W)",
          source="q_group_size = 7 * 7", loses=("test_q_group_size",)),
    Wrong("q_group_size", "includes the batch in each group",
          source="q_group_size = 16 * 4 * 49", loses=("test_q_group_size",)),
    Alternative("q_group_size", "gives the number as a float", source="q_group_size = 196.0"),
    # ---- batchnorm2d_forward (judged on its own: a wrong batchnorm_forward is not its mistake)
    Wrong("batchnorm2d_forward", "reshapes the map to (-1, C) without moving the channel axis "
          "last, mixing channels",
          edits=[("rows = x.transpose(0, 2, 3, 1).reshape(-1, C)", "rows = x.reshape(-1, C)"),
                 ("out.reshape(N, H, W, C).transpose(0, 3, 1, 2)", "out.reshape(N, C, H, W)")],
          loses=("test_batchnorm2d_forward",)),
    Wrong("batchnorm2d_forward", "normalizes each channel of each image on its own (instance "
          "normalization)", source=_BN2D_FROM_SCRATCH.replace("AXES", "(2, 3)").replace(
              "COUNT", "x.shape[2] * x.shape[3]"),
          loses=("test_batchnorm2d_forward",)),
    Wrong("batchnorm2d_forward", "normalizes over the batch only, one statistic per channel and "
          "position", source=_BN2D_FROM_SCRATCH.replace("AXES", "0").replace(
              "COUNT", "x.shape[0]"),
          loses=("test_batchnorm2d_forward",)),
    Wrong("batchnorm2d_forward", "corrects the running variance with N / (N - 1) instead of "
          "n / (n - 1), n = N * H * W",
          source=_BN2D_FROM_SCRATCH.replace("AXES", "(0, 2, 3)").replace(
              "COUNT", "x.shape[0] * x.shape[2] * x.shape[3]").replace(
              "var * n / (n - 1)", "var * len(x) / (len(x) - 1)"),
          loses=("test_batchnorm2d_forward",)),
    Wrong("batchnorm2d_forward", "uses the batch statistics in evaluation mode",
          edits=[("batchnorm_forward(rows, gamma, beta, state, train=train,",
                  "batchnorm_forward(rows, gamma, beta, state, train=True,")],
          loses=("test_batchnorm2d_forward",)),
    Alternative("batchnorm2d_forward", "computes the statistics over axes (0, 2, 3) directly",
                source=_BN2D_FROM_SCRATCH.replace("AXES", "(0, 2, 3)").replace(
                    "COUNT", "x.shape[0] * x.shape[2] * x.shape[3]")),
    Alternative("batchnorm2d_forward", "moves the channel axis with np.moveaxis", source='''
def batchnorm2d_forward(x, gamma, beta, state, *, train, momentum=0.1, eps=1e-5):
    channels_last = np.moveaxis(np.asarray(x, dtype=float), 1, -1)
    out, new_state, _ = batchnorm_forward(channels_last.reshape(-1, x.shape[1]), gamma, beta,
                                          state, train=train, momentum=momentum, eps=eps)
    return np.moveaxis(out.reshape(channels_last.shape), -1, 1), new_state
'''),
    # ---- groupnorm_forward
    Wrong("groupnorm_forward", "puts every G-th channel in a group instead of consecutive "
          "channels", source=_GN_STRIDED, loses=("test_groupnorm_forward",)),
    Wrong("groupnorm_forward", "normalizes each channel on its own (instance normalization)",
          edits=[("grouped = x.reshape(N, groups, -1)", "grouped = x.reshape(N, C, -1)")],
          loses=("test_groupnorm_forward",)),
    Wrong("groupnorm_forward", "normalizes each image over all its channels (layer "
          "normalization)", edits=[("grouped = x.reshape(N, groups, -1)",
                                    "grouped = x.reshape(N, 1, -1)")],
          loses=("test_groupnorm_forward",)),
    Wrong("groupnorm_forward", "normalizes each group over the whole batch",
          edits=[("mean = grouped.mean(axis=2, keepdims=True)",
                  "mean = grouped.mean(axis=(0, 2), keepdims=True)"),
                 ("std = np.sqrt(grouped.var(axis=2, keepdims=True) + eps)",
                  "std = np.sqrt(grouped.var(axis=(0, 2), keepdims=True) + eps)")],
          loses=("test_groupnorm_forward",)),
    Wrong("groupnorm_forward", "uses the unbiased variance (ddof=1)",
          edits=[("grouped.var(axis=2, keepdims=True)",
                  "grouped.var(axis=2, ddof=1, keepdims=True)")],
          loses=("test_groupnorm_forward",)),
    Wrong("groupnorm_forward", "forgets eps",
          edits=[("np.sqrt(grouped.var(axis=2, keepdims=True) + eps)",
                  "np.sqrt(grouped.var(axis=2, keepdims=True))")],
          loses=("test_groupnorm_forward",)),
    Wrong("groupnorm_forward", "does not raise when C is not a multiple of groups",
          edits=[('    if C % groups:\n        raise ValueError(f"{C} channels cannot be split '
                  'into {groups} groups")\n', "")],
          loses=("test_groupnorm_forward",)),
    Alternative("groupnorm_forward", "loops over the groups with np.split", source='''
def groupnorm_forward(x, gamma, beta, groups, *, eps=1e-5):
    x = np.asarray(x, dtype=float)
    if x.shape[1] % groups != 0:
        raise ValueError("the channels must split evenly into the groups")
    parts = []
    for part in np.split(x, groups, axis=1):
        mean = part.mean(axis=(1, 2, 3), keepdims=True)
        var = ((part - mean) ** 2).mean(axis=(1, 2, 3), keepdims=True)
        parts.append((part - mean) / np.sqrt(var + eps))
    return np.concatenate(parts, axis=1) * gamma[:, None, None] + beta[:, None, None]
'''),
    Alternative("groupnorm_forward", "reshapes to five axes (N, G, C/G, H, W)", source='''
def groupnorm_forward(x, gamma, beta, groups, *, eps=1e-5):
    N, C, H, W = np.shape(x)
    if C % groups:
        raise ValueError("C must be a multiple of groups")
    g = np.asarray(x, dtype=float).reshape(N, groups, C // groups, H, W)
    g = (g - g.mean(axis=(2, 3, 4), keepdims=True)) / np.sqrt(
        g.var(axis=(2, 3, 4), keepdims=True) + eps)
    return g.reshape(N, C, H, W) * np.reshape(gamma, (1, C, 1, 1)) + np.reshape(beta, (1, C, 1, 1))
'''),
]

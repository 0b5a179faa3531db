"""Known-wrong and alternative-correct implementations for 08_recipe."""

from grader.catalogue import Alternative, Wrong

ENTRIES = [
    # ---- optimization_tools: he_normal, cosine_annealing, adam_step
    Wrong("optimization_tools", "draws with variance 1 / fan_in (no factor 2 for the ReLU)",
          edits=[("np.sqrt(2.0 / fan_in)", "np.sqrt(1.0 / fan_in)")],
          loses=("test_optimization_tools",)),
    Wrong("optimization_tools", "divides by fan_out instead of fan_in",
          edits=[("np.sqrt(2.0 / fan_in)", "np.sqrt(2.0 / fan_out)")],
          loses=("test_optimization_tools",)),
    Wrong("optimization_tools", "anneals over a full period of the cosine (2 pi t / T_max)",
          edits=[("np.cos(np.pi * t / T_max)", "np.cos(2 * np.pi * t / T_max)")],
          loses=("test_optimization_tools",)),
    Wrong("optimization_tools", "leaves eta_min out",
          edits=[("return eta_min + 0.5 * (lr - eta_min) * (1 + np.cos(np.pi * t / T_max))",
                  "return 0.5 * lr * (1 + np.cos(np.pi * t / T_max))")],
          loses=("test_optimization_tools",)),
    Wrong("optimization_tools", "leaves out the bias correction",
          edits=[("m_hat = m / (1 - beta1**step)", "m_hat = m"),
                 ("v_hat = v / (1 - beta2**step)", "v_hat = v")],
          loses=("test_optimization_tools",)),
    Wrong("optimization_tools", "puts eps inside the square root",
          edits=[("np.sqrt(v_hat) + eps", "np.sqrt(v_hat + eps)")],
          loses=("test_optimization_tools",)),
    Wrong("optimization_tools", "updates the moving averages in the caller's state arrays "
          "(in place)", edits=[("""    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
""", """    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad**2
""")], loses=("test_optimization_tools",)),
    Alternative("optimization_tools", "scales standard normal draws, writes the cosine as a "
                "squared cosine of half the angle, and folds the bias corrections into the "
                "step size as PyTorch's code does", source='''
def he_normal(fan_in, fan_out, rng):
    return np.sqrt(2 / fan_in) * rng.standard_normal((fan_in, fan_out))


def cosine_annealing(t, lr, T_max, eta_min=0.0):
    return eta_min + (lr - eta_min) * np.cos(np.pi * t / (2 * T_max)) ** 2


def adam_step(w, grad, state=None, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    if state is None:
        state = {"step": 0, "exp_avg": np.zeros_like(w, dtype=float),
                 "exp_avg_sq": np.zeros_like(w, dtype=float)}
    t = state["step"] + 1
    exp_avg = beta1 * state["exp_avg"] + (1 - beta1) * grad
    exp_avg_sq = beta2 * state["exp_avg_sq"] + (1 - beta2) * grad * grad
    denom = np.sqrt(exp_avg_sq) / np.sqrt(1 - beta2**t) + eps
    new_w = w - (lr / (1 - beta1**t)) * exp_avg / denom
    return new_w, {"step": t, "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}
'''),
    # ---- layer_tools: dropout and batch normalization, forward and backward
    Wrong("layer_tools", "does not scale the kept units by 1 / (1 - p)",
          edits=[("mask = (rng.random(x.shape) >= p) / (1 - p)",
                  "mask = (rng.random(x.shape) >= p) * 1.0")],
          loses=("test_layer_tools",)),
    Wrong("layer_tools", "keeps each unit with probability p (p as the keep probability)",
          edits=[("mask = (rng.random(x.shape) >= p) / (1 - p)",
                  "mask = (rng.random(x.shape) < p) / p")],
          loses=("test_layer_tools",)),
    Wrong("layer_tools", "multiplies by 1 - p in evaluation mode (the non-inverted convention)",
          edits=[("""    if not train or p == 0:
        return x.copy(), None""", """    if not train:
        return x * (1 - p), None
    if p == 0:
        return x.copy(), None""")],
          loses=("test_layer_tools",)),
    Wrong("layer_tools", "lets the gradient through the kept units without the 1 / (1 - p) "
          "scale", edits=[("dout.copy() if cache is None else dout * cache",
                           "dout.copy() if cache is None else dout * (cache != 0)")],
          loses=("test_layer_tools",)),
    Wrong("layer_tools", "normalizes with the unbiased variance (divides by N - 1)",
          edits=[("var = x.var(axis=0)", "var = x.var(axis=0, ddof=1)"),
                 ("momentum * var * N / (N - 1)", "momentum * var")],
          loses=("test_layer_tools",)),
    Wrong("layer_tools", "flips the momentum convention (momentum weighs the old running "
          "value, as in Keras)",
          edits=[('(1 - momentum) * state["running_mean"] + momentum * mean',
                  'momentum * state["running_mean"] + (1 - momentum) * mean'),
                 ('(1 - momentum) * state["running_var"] + momentum * var * N / (N - 1)',
                  'momentum * state["running_var"] + (1 - momentum) * var * N / (N - 1)')],
          loses=("test_layer_tools",)),
    Wrong("layer_tools", "updates the running variance with the biased batch variance",
          edits=[("momentum * var * N / (N - 1)", "momentum * var")],
          loses=("test_layer_tools",)),
    Wrong("layer_tools", "uses the batch statistics in evaluation mode",
          edits=[("""    if not train:
        x_hat = (x - state["running_mean"]) / np.sqrt(state["running_var"] + eps)
        return gamma * x_hat + beta, dict(state), None
""", """    if not train:
        x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
        return gamma * x_hat + beta, dict(state), None
""")], loses=("test_layer_tools",)),
    Wrong("layer_tools", "does not raise for a single sample in training mode",
          edits=[('    if N < 2:\n        raise ValueError(f"batch normalization in training mode '
                  'needs N >= 2 samples, got {N}")\n', "")],
          loses=("test_layer_tools",)),
    Wrong("layer_tools", "leaves out the path through the mean (the dbeta term)",
          edits=[("N * dout - dbeta - x_hat * dgamma", "N * dout - x_hat * dgamma")],
          loses=("test_layer_tools",)),
    Wrong("layer_tools", "ignores that the batch mean and variance depend on x (dx = dout * "
          "gamma / std)", edits=[("dx = gamma / (N * std) * (N * dout - dbeta - x_hat * dgamma)",
                                  "dx = dout * gamma / std")],
          loses=("test_layer_tools",)),
    Alternative("layer_tools", "keeps a unit where the draw is below 1 - p, takes the "
                "variance as E[x^2] - E[x]^2 and backpropagates through CS231n's staged "
                "graph", source='''
def dropout_forward(x, p, *, train, rng=None):
    if not train:
        return np.array(x, dtype=float), None
    if p >= 1:
        return np.zeros(np.shape(x)), np.zeros(np.shape(x))
    mask = np.where(rng.random(np.shape(x)) < 1 - p, 1.0 / (1 - p), 0.0)
    return x * mask, mask


def dropout_backward(dout, cache):
    return np.array(dout, dtype=float) if cache is None else dout * cache


def batchnorm_forward(x, gamma, beta, state, *, train, momentum=0.1, eps=1e-5):
    if not train:
        inv = 1.0 / np.sqrt(state["running_var"] + eps)
        return (x - state["running_mean"]) * inv * gamma + beta, \\
            {k: v.copy() for k, v in state.items()}, None
    n = len(x)
    if n < 2:
        raise ValueError("training mode needs two samples or more")
    mean = np.sum(x, axis=0) / n
    var = np.maximum(np.sum(x * x, axis=0) / n - mean * mean, 0.0)
    std = np.sqrt(var + eps)
    x_hat = (x - mean) / std
    rm = state["running_mean"] + momentum * (mean - state["running_mean"])
    rv = state["running_var"] + momentum * (var * n / (n - 1) - state["running_var"])
    return x_hat * gamma + beta, {"running_mean": rm, "running_var": rv}, (x_hat, gamma, std)


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
    # ---- train_recipe (judged with the test's own pieces, not the toolbox)
    Wrong("train_recipe", "anneals over the number of epochs instead of the number of steps",
          edits=[('total_steps = config["epochs"] * (len(X_train) // config["batch_size"])',
                  'total_steps = config["epochs"]')],
          loses=("test_train_recipe",)),
    Wrong("train_recipe", "counts the short last batch of each epoch in the number of steps",
          edits=[('total_steps = config["epochs"] * (len(X_train) // config["batch_size"])',
                  'total_steps = config["epochs"] * -(-len(X_train) // config["batch_size"])')],
          loses=("test_train_recipe",)),
    Wrong("train_recipe", "keeps the short last batch of each epoch (no drop_last)",
          edits=[("y_val=y_val, drop_last=True, evaluate_every=None)",
                  "y_val=y_val, evaluate_every=None)")],
          loses=("test_train_recipe",)),
    Wrong("train_recipe", "keeps the bias of the linear layers before batch normalization",
          edits=[("bias=lambda index: not with_bn or index == depth)", "bias=True)")],
          loses=("test_train_recipe",)),
    Wrong("train_recipe", "drops the output layer's bias too when there is batch normalization",
          edits=[("bias=lambda index: not with_bn or index == depth)", "bias=not with_bn)")],
          loses=("test_train_recipe",)),
    Wrong("train_recipe", "standardizes with one mean and one standard deviation for all pixels",
          edits=[("mean, std = X_train.mean(axis=0), X_train.std(axis=0)",
                  "mean, std = X_train.mean(), X_train.std()")],
          loses=("test_train_recipe",)),
    Wrong("train_recipe", "places batch normalization after the activation",
          edits=[("before_activation=(lambda units, index: tools[\"batchnorm\"](units)) if "
                  "with_bn else None,\n        after_activation=(lambda units, index: "
                  "tools[\"dropout\"](p)) if p > 0 else None,",
                  "after_activation=lambda units, index: ([tools[\"batchnorm\"](units)] if "
                  "with_bn else []) + ([tools[\"dropout\"](p)] if p > 0 else []),")],
          loses=("test_train_recipe",)),
    Wrong("train_recipe", "standardizes the validation images with their own statistics",
          edits=[("X_train, X_val = (X_train - mean) / std, (X_val - mean) / std",
                  "X_train = (X_train - mean) / std\n"
                  "        val_std = X_val.std(axis=0)\n"
                  "        X_val = (X_val - X_val.mean(axis=0)) / np.where(val_std > 0, val_std, "
                  "1.0)")],
          loses=("test_train_recipe",)),
    Wrong("train_recipe", "leaves the validation images unstandardized",
          edits=[("X_train, X_val = (X_train - mean) / std, (X_val - mean) / std",
                  "X_train = (X_train - mean) / std")],
          loses=("test_train_recipe",)),
    Wrong("train_recipe", "divides constant pixels by their zero standard deviation",
          edits=[("        std = np.where(std > 0, std, 1.0)                # constant pixels "
                  "keep their values\n", "")],
          loses=("test_train_recipe",)),
    Wrong("train_recipe", "draws the initial parameters from a fixed seed instead of rng",
          edits=[("params, state = network.init(layers, rng)",
                  "params, state = network.init(layers, np.random.default_rng(0))")],
          loses=("test_train_recipe",)),
    Wrong("train_recipe", "uses tools[\"adam\"] whatever the recipe's optimizer",
          edits=[('step = tools["adam"] if config["optimizer"] == "adam" else optim.sgd_step',
                  'step = tools["adam"]')],
          loses=("test_train_recipe",)),
    Alternative("train_recipe", "builds the list of layers by hand and the schedule with "
                "functools.partial", source='''
def train_recipe(config, splits, rng, tools):
    import functools

    X_train, X_val = splits.X_train, splits.X_val
    if config["standardize"]:
        mu = X_train.mean(axis=0)
        sigma = X_train.std(axis=0)
        sigma[sigma == 0] = 1.0
        X_train, X_val = (X_train - mu) / sigma, (X_val - mu) / sigma
    init = tools["he"] if config["init"] == "he" else mlp.default_init
    sizes = [64] + [config["width"]] * config["depth"]
    layers = []
    for d_in, d_out in zip(sizes[:-1], sizes[1:]):
        layers.append(network.linear(d_in, d_out, init=init, bias=not config["batchnorm"]))
        if config["batchnorm"]:
            layers.append(tools["batchnorm"](d_out))
        layers.append(network.activation("relu"))
        if config["dropout"] > 0:
            layers.append(tools["dropout"](config["dropout"]))
    layers.append(network.linear(sizes[-1], 10, init=init))
    params, state = network.init(layers, rng)
    n_steps = (len(X_train) // config["batch_size"]) * config["epochs"]
    lr = config["lr"]
    if config["schedule"] == "cosine":
        lr = functools.partial(tools["cosine"], lr=config["lr"], T_max=n_steps)
    step = {"adam": tools["adam"], "sgd": optim.sgd_step}[config["optimizer"]]
    return (layers,) + network.train(layers, params, state, X_train, splits.y_train,
                                     epochs=config["epochs"], batch_size=config["batch_size"],
                                     lr=lr, rng=rng, step=step, X_val=X_val,
                                     y_val=splits.y_val, drop_last=True)
'''),
    # ---- ablation
    Wrong("ablation", "modifies the recipe in place, so the removals accumulate", source='''
def ablation(recipe, removals, run, seeds):
    configs = [dict(recipe)]
    for changes in removals.values():
        recipe.update(changes)
        configs.append(dict(recipe))
    return np.array([[run(config, np.random.default_rng(seed)) for seed in seeds]
                     for config in configs], dtype=float)
''', loses=("test_ablation",)),
    Wrong("ablation", "draws every run of a seed from one shared generator", source='''
def ablation(recipe, removals, run, seeds):
    configs = [dict(recipe)] + [{**recipe, **changes} for changes in removals.values()]
    scores = np.zeros((len(configs), len(seeds)))
    for s, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        for k, config in enumerate(configs):
            scores[k, s] = run(config, rng)
    return scores
''', loses=("test_ablation",)),
    Wrong("ablation", "returns one row per seed and one column per configuration",
          edits=[("for config in configs], dtype=float)",
                  "for config in configs], dtype=float).T")],
          loses=("test_ablation",)),
    Alternative("ablation", "fills a preallocated array, seed by seed, with deep copies",
                source='''
def ablation(recipe, removals, run, seeds):
    import copy

    variants = [copy.deepcopy(recipe)]
    for changes in removals.values():
        variant = copy.deepcopy(recipe)
        variant.update(changes)
        variants.append(variant)
    scores = np.empty((len(variants), len(seeds)))
    for s, seed in enumerate(seeds):
        for k, variant in enumerate(variants):
            scores[k, s] = run(variant, np.random.default_rng(seed))
    return scores
'''),
    # ---- paired_contributions
    Wrong("paired_contributions", "subtracts the full recipe from the variants (the sign is "
          "flipped)", edits=[("differences = scores[:1] - scores[1:]",
                              "differences = scores[1:] - scores[:1]")],
          loses=("test_paired_contributions",)),
    Wrong("paired_contributions", "estimates the variance with S instead of S - 1 (ddof=0)",
          edits=[("differences.std(axis=1, ddof=1)", "differences.std(axis=1)")],
          loses=("test_paired_contributions",)),
    Wrong("paired_contributions", "leaves out the division by sqrt(S)",
          edits=[("differences.std(axis=1, ddof=1) / np.sqrt(S)",
                  "differences.std(axis=1, ddof=1)")],
          loses=("test_paired_contributions",)),
    Wrong("paired_contributions", "combines the two rows' own standard errors as if the runs "
          "were independent", edits=[(
              "differences.std(axis=1, ddof=1) / np.sqrt(S)",
              "np.sqrt((scores[0].var(ddof=1) + scores[1:].var(axis=1, ddof=1)) / S)")],
          loses=("test_paired_contributions",)),
    Alternative("paired_contributions", "writes the sample variance out by hand", source='''
def paired_contributions(scores):
    S = scores.shape[1]
    d = scores[0] - scores[1:]
    mean = d.sum(axis=1) / S
    variance = ((d - mean[:, None]) ** 2).sum(axis=1) / (S - 1)
    return mean, np.sqrt(variance / S)
'''),
    Alternative("paired_contributions", "subtracts the covariance of the two rows from their "
                "variances", source='''
def paired_contributions(scores):
    scores = np.asarray(scores, dtype=float)
    S = scores.shape[1]
    full, rest = scores[0], scores[1:]
    contributions = full.mean() - rest.mean(axis=1)
    cov = ((full - full.mean()) * (rest - rest.mean(axis=1, keepdims=True))).sum(axis=1) / (S - 1)
    variance = full.var(ddof=1) + rest.var(axis=1, ddof=1) - 2 * cov
    return contributions, np.sqrt(np.maximum(variance, 0.0) / S)
'''),
    # ---- questions
    Wrong("q_most", "answers He initialization, which matters only without batch "
          "normalization", source='q_most = "b"', loses=("test_q_most",)),
    Wrong("q_most", "answers dropout, whose removal raises the accuracy", source='q_most = "e"',
          loses=("test_q_most",)),
    Alternative("q_most", "writes the letter in upper case and lowers it",
                source='q_most = "F".lower()'),
    Wrong("q_sgd_lr", "reads the SGD row at lr 0.1 as Adam's contribution",
          source='q_sgd_lr = "a"', loses=("test_q_sgd_lr",)),
    Wrong("q_sgd_lr", "takes the difference between the two SGD rows for noise",
          source='q_sgd_lr = "d"', loses=("test_q_sgd_lr",)),
    Alternative("q_sgd_lr", "assigns the letter through another variable",
                source='letter = "b"\nq_sgd_lr = letter'),
    Wrong("q_seeds", "scales the standard error like 1/S instead of 1/sqrt(S)",
          source="q_seeds = 3", loses=("test_q_seeds",)),
    Wrong("q_seeds", "asks for two standard errors, not one, below 0.5 points",
          source="q_seeds = 36", loses=("test_q_seeds",)),
    Alternative("q_seeds", "computes the answer as a float", source="q_seeds = (1.5 / 0.5) ** 2"),
    Wrong("q_redundant", "credits Adam's per-parameter steps, though Adam is in both recipes",
          source='q_redundant = "c"', loses=("test_q_redundant",)),
    Wrong("q_redundant", "blames the number of seeds", source='q_redundant = "d"',
          loses=("test_q_redundant",)),
    Alternative("q_redundant", "writes the letter with single quotes",
                source="q_redundant = 'b'"),
]

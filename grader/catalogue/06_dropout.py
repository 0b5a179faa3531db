"""Known-wrong and alternative-correct implementations for 06_dropout.

dropout_forward's mistakes are named by the hidden tests' own checks (its outputs are random, so a
student's draws rarely equal an entry's), each only when the student's results match the mistake on
every call that tells it apart from correct code; training mode and evaluation mode are tested,
and named, separately. The other exercises are deterministic: their mistakes are named by
matching the entries' outputs on every hidden case.
"""

from grader.catalogue import Alternative, Wrong

ENTRIES = [
    # ---- dropout_forward, training mode
    Wrong("dropout_forward", "does not scale the kept units by 1/(1-p) in training",
          edits=[("mask = (rng.random(x.shape) >= p) / (1 - p)",
                  "mask = (rng.random(x.shape) >= p).astype(float)")],
          loses=("test_dropout_forward",)),
    Wrong("dropout_forward", "scales the kept units by 1/p instead of 1/(1-p)",
          edits=[("(rng.random(x.shape) >= p) / (1 - p)", "(rng.random(x.shape) >= p) / p")],
          loses=("test_dropout_forward",)),
    Wrong("dropout_forward", "keeps each unit with probability p instead of 1 - p",
          edits=[("(rng.random(x.shape) >= p)", "(rng.random(x.shape) < p)")],
          loses=("test_dropout_forward",)),
    Wrong("dropout_forward", "takes p as the keep probability (CS231n's convention): keeps each "
          "unit with probability p and scales by 1/p",
          edits=[("(rng.random(x.shape) >= p) / (1 - p)", "(rng.random(x.shape) < p) / p")],
          loses=("test_dropout_forward",)),
    Wrong("dropout_forward", "does not draw the mask from the rng argument alone",
          edits=[("rng.random(x.shape)", "np.random.random(x.shape)")],
          loses=("test_dropout_forward",)),
    Wrong("dropout_forward", "draws one mask for the whole batch instead of one per element",
          edits=[("rng.random(x.shape)", "rng.random(x.shape[1:])")],
          loses=("test_dropout_forward",)),
    Wrong("dropout_forward", "draws one number per sample (drops whole samples)",
          edits=[("rng.random(x.shape)", "rng.random(x.shape[:1] + (1,) * (x.ndim - 1))")],
          loses=("test_dropout_forward",)),
    Wrong("dropout_forward", "modifies its input x in place",
          edits=[("return x * mask, mask", "x *= mask\n    return x, mask")],
          loses=("test_dropout_forward",)),
    Wrong("dropout_forward", "divides by zero when p = 1 (returns NaN)",
          edits=[("    if p == 1:\n        return np.zeros_like(x), np.zeros_like(x)\n", "")],
          loses=("test_dropout_forward",)),
    # ---- dropout_forward, evaluation mode
    Wrong("dropout_forward", "scales the output by 1 - p at test time",
          edits=[("    if not train or p == 0:\n        return x.copy(), None\n",
                  "    if not train:\n        return x * (1 - p), None\n"
                  "    if p == 0:\n        return x.copy(), None\n")],
          loses=("test_dropout_forward",)),
    Wrong("dropout_forward", "applies dropout at test time too (ignores train)",
          edits=[("if not train or p == 0:", "if p == 0:")],
          loses=("test_dropout_forward",)),
    Wrong("dropout_forward", "returns zeros at test time when p = 1", source='''
def dropout_forward(x, p, *, train, rng=None):
    x = np.asarray(x, dtype=float)
    if p == 1:
        return np.zeros_like(x), np.zeros_like(x)
    if not train or p == 0:
        return x.copy(), None
    mask = (rng.random(x.shape) >= p) / (1 - p)
    return x * mask, mask
''', loses=("test_dropout_forward",)),
    # The original paper's convention is both mistakes at once, one per mode; each mode's test
    # names its own half, so this entry is never named as a whole.
    Wrong("dropout_forward", "follows the original paper's convention: no scaling in training, "
          "multiplied by 1 - p at test time", source='''
def dropout_forward(x, p, *, train, rng=None):
    x = np.asarray(x, dtype=float)
    if not train:
        return x * (1 - p), None
    mask = (rng.random(x.shape) >= p).astype(float)
    return x * mask, mask
''', loses=("test_dropout_forward",), diagnose=False,
          feedback="does not scale the kept units by 1/(1-p) in training"),
    Alternative("dropout_forward", "draws the mask with rng.binomial and returns x itself at "
                "test time", source='''
def dropout_forward(x, p, *, train, rng=None):
    x = np.array(x, dtype=float)
    if train and p > 0:
        keep = rng.binomial(1, 1.0 - p, size=x.shape)
        scale = 0.0 if p >= 1 else 1.0 / (1.0 - p)
        mask = keep * scale
        return x * mask, mask
    return x, None
'''),
    Alternative("dropout_forward", "compares rng.uniform with p and builds the output with "
                "np.where", source='''
def dropout_forward(x, p, *, train, rng=None):
    if not train:
        return np.asarray(x, dtype=float), None
    keep = rng.uniform(0.0, 1.0, size=np.shape(x)) > p
    scale = 1.0 / (1.0 - p) if p < 1 else 0.0
    mask = np.where(keep, scale, 0.0)
    return np.where(keep, np.asarray(x, dtype=float) * scale, 0.0), mask
'''),
    Alternative("dropout_forward", "draws the scaled mask itself with rng.choice and draws even "
                "when p = 0", source='''
def dropout_forward(x, p, *, train, rng=None):
    x = np.asarray(x, dtype=float)
    if not train:
        return x.copy(), None
    if p == 1:
        return np.zeros_like(x), np.zeros_like(x)
    mask = rng.choice([0.0, 1.0 / (1.0 - p)], size=x.shape, p=[p, 1.0 - p])
    return x * mask, mask
'''),
    # ---- dropout_backward (judged against the student's own forward pass)
    Wrong("dropout_backward", "ignores the mask (dx = dout)", source='''
def dropout_backward(dout, cache):
    return np.array(dout, dtype=float)
''', loses=("test_dropout_backward",)),
    Wrong("dropout_backward", "forgets the 1/(1-p) scale of the kept units",
          edits=[("return dout * cache", "return dout * (cache != 0)")],
          loses=("test_dropout_backward",)),
    Wrong("dropout_backward", "multiplies by the cache even when there is no mask (evaluation "
          "mode, p = 0)",
          edits=[("    if cache is None:                  # evaluation mode or p = 0: the "
                  "identity\n        return dout.copy()\n", "")],
          loses=("test_dropout_backward",)),
    Alternative("dropout_backward", "multiplies with np.multiply, returns dout itself in "
                "evaluation mode", source='''
def dropout_backward(dout, cache):
    return dout if cache is None else np.multiply(dout, cache)
'''),
    # ---- dropout_linear_moments (derived by the student; deterministic)
    Wrong("dropout_linear_moments", "leaves the bias out of the mean",
          edits=[("mean = x @ W + b", "mean = x @ W")],
          loses=("test_dropout_linear_moments",)),
    Wrong("dropout_linear_moments", "forgets the 1/(1-p) scaling of the kept units in the mean",
          edits=[("mean = x @ W + b", "mean = (1 - p) * (x @ W) + b")],
          loses=("test_dropout_linear_moments",)),
    Wrong("dropout_linear_moments", "uses p(1-p) as the variance factor, forgetting the "
          "1/(1-p) scaling of the kept units",
          edits=[("var = p / (1 - p) *", "var = p * (1 - p) *")],
          loses=("test_dropout_linear_moments",)),
    Wrong("dropout_linear_moments", "uses p as the variance factor, squaring 1/(1-p) only once",
          edits=[("var = p / (1 - p) *", "var = p *")],
          loses=("test_dropout_linear_moments",)),
    Wrong("dropout_linear_moments", "swaps p and 1 - p in the variance factor",
          edits=[("var = p / (1 - p) *", "var = (1 - p) / p *")],
          loses=("test_dropout_linear_moments",)),
    Wrong("dropout_linear_moments", "squares the sum (x @ W)**2 instead of summing the squares",
          edits=[("(x ** 2) @ (W ** 2)", "(x @ W) ** 2")],
          loses=("test_dropout_linear_moments",)),
    Wrong("dropout_linear_moments", "squares the inputs but not the weights",
          edits=[("(x ** 2) @ (W ** 2)", "(x ** 2) @ W")],
          loses=("test_dropout_linear_moments",)),
    Wrong("dropout_linear_moments", "returns the standard deviation instead of the variance",
          edits=[("return mean, var", "return mean, np.sqrt(var)")],
          loses=("test_dropout_linear_moments",)),
    Alternative("dropout_linear_moments", "uses einsum", source='''
def dropout_linear_moments(x, W, b, p):
    mean = np.einsum("nd,dh->nh", x, W) + b
    var = np.einsum("nd,dh->nh", np.square(x), np.square(W)) * (p / (1.0 - p))
    return mean, var
'''),
    Alternative("dropout_linear_moments", "sums the per-input variances in a loop", source='''
def dropout_linear_moments(x, W, b, p):
    x = np.asarray(x, dtype=float)
    N, D = x.shape
    var = np.zeros((N, W.shape[1]))
    for d in range(D):
        var += np.outer(x[:, d] ** 2, W[d] ** 2)
    return x.dot(W) + b, var * p / (1 - p)
'''),
    Alternative("dropout_linear_moments", "writes the variance as the Bernoulli variance of "
                "each scaled term", source='''
def dropout_linear_moments(x, W, b, p):
    q = 1.0 - p
    terms = (x[:, :, None] * W[None, :, :]) / q            # (N, D, H): x_d W_dh / (1 - p)
    mean = (q * terms).sum(axis=1) + b
    var = (terms ** 2 * q * (1.0 - q)).sum(axis=1)
    return mean, var
'''),
    # ---- early_stopping (deterministic)
    Wrong("early_stopping", "stops one epoch early (after patience - 1 epochs without "
          "improvement)",
          edits=[("if waited == patience:", "if waited >= patience - 1:")],
          loses=("test_early_stopping",)),
    Wrong("early_stopping", "stops one epoch late (after patience + 1 epochs without "
          "improvement)",
          edits=[("if waited == patience:", "if waited == patience + 1:")],
          loses=("test_early_stopping",)),
    Wrong("early_stopping", "keeps the epoch of the lowest loss of the whole run, even after "
          "the stop", source='''
def early_stopping(val_losses, patience):
    best, waited = 0, 0
    stop = len(val_losses) - 1
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] < val_losses[best]:
            best, waited = epoch, 0
        else:
            waited += 1
            if waited == patience:
                stop = epoch
                break
    return int(np.argmin(val_losses)), stop
''', loses=("test_early_stopping",)),
    Wrong("early_stopping", "keeps the weights of the last epoch instead of the best one",
          edits=[("return best, epoch", "return epoch, epoch"),
                 ("return best, len(val_losses) - 1",
                  "return len(val_losses) - 1, len(val_losses) - 1")],
          loses=("test_early_stopping",)),
    Wrong("early_stopping", "compares each loss with the previous epoch's instead of the best "
          "so far",
          edits=[("if val_losses[epoch] < val_losses[best]:",
                  "if val_losses[epoch] < val_losses[epoch - 1]:")],
          loses=("test_early_stopping",)),
    Wrong("early_stopping", "does not reset the count of epochs without improvement when the "
          "loss improves",
          edits=[("best, waited = epoch, 0", "best = epoch")],
          loses=("test_early_stopping",)),
    Wrong("early_stopping", "counts an equal loss as an improvement",
          edits=[("val_losses[epoch] < val_losses[best]", "val_losses[epoch] <= val_losses[best]")],
          loses=("test_early_stopping",)),
    Alternative("early_stopping", "tracks the best loss from infinity, as Keras does",
                source='''
def early_stopping(val_losses, patience):
    best_loss, best, wait = float("inf"), 0, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best_loss:
            best_loss, best, wait = loss, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return best, epoch
    return best, len(val_losses) - 1
'''),
    Alternative("early_stopping", "finds the improving epochs with a running minimum, then the "
                "kept epoch with argmin", source='''
def early_stopping(val_losses, patience):
    losses = np.asarray(val_losses, dtype=float)
    previous_best = np.concatenate([[np.inf], np.minimum.accumulate(losses)[:-1]])
    improves = losses < previous_best
    stop, run = len(losses) - 1, 0
    for epoch, better in enumerate(improves):
        run = 0 if better else run + 1
        if run == patience:
            stop = epoch
            break
    return int(np.argmin(losses[:stop + 1])), stop
'''),
    # ---- questions
    Wrong("q_torch_p", "copies CS231n's keep probability as PyTorch's p",
          source="q_torch_p = 0.8", loses=("test_q_torch_p",)),
    Alternative("q_torch_p", "writes it as 1 - 0.8", source="q_torch_p = 1 - 0.8"),
    Wrong("q_test_output", "multiplies by 1 - p at test time, the rule of non-inverted dropout",
          source="q_test_output = 3.0 * (1 - 0.25)", loses=("test_q_test_output",)),
    Wrong("q_test_output", "gives the training-time value of a kept unit, x / (1 - p)",
          source="q_test_output = 4.0", loses=("test_q_test_output",)),
    Alternative("q_test_output", "answers with an integer", source="q_test_output = 3"),
    Wrong("q_l2", "uses p(1-p), the variance of the unscaled mask, as the coefficient",
          source="q_l2 = 0.2 * 0.8", loses=("test_q_l2",)),
    Wrong("q_l2", "uses p itself as the coefficient", source="q_l2 = 0.2", loses=("test_q_l2",)),
    Wrong("q_l2", "swaps p and 1 - p in the coefficient", source="q_l2 = 0.8 / 0.2",
          loses=("test_q_l2",)),
    Wrong("q_l2", "answers that dropout adds no penalty (it preserves the mean)",
          source="q_l2 = 0.0", loses=("test_q_l2",)),
    Alternative("q_l2", "writes it as p / (1 - p)", source="q_l2 = 0.2 / (1 - 0.2)"),
]

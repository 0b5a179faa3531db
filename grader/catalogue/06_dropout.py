"""Known-wrong and alternative-correct implementations for 06_dropout."""

from grader.catalogue import Alternative, Wrong

ENTRIES = [
    # ---- dropout_forward (random: the checks name the mistake, so each entry gives feedback)
    Wrong("dropout_forward", "is not inverted: keeps x unscaled in training and multiplies by "
          "1 - p at test time", source='''
def dropout_forward(x, p, *, train, rng=None):
    x = np.asarray(x, dtype=float)
    if not train:
        return x * (1 - p), None
    mask = (rng.random(x.shape) >= p).astype(float)
    return x * mask, mask
''', loses=("test_dropout_forward",), feedback="not inverted"),
    Wrong("dropout_forward", "swaps the keep and drop probabilities (keeps with probability p)",
          edits=[("(rng.random(x.shape) >= p)", "(rng.random(x.shape) < p)")],
          loses=("test_dropout_forward",), feedback="keep and drop probabilities look swapped"),
    Wrong("dropout_forward", "leaves dropout on at test time (ignores train)",
          edits=[("if not train or p == 0:", "if p == 0:")],
          loses=("test_dropout_forward",), feedback="still applied at test time"),
    Wrong("dropout_forward", "scales the kept units by 1/p instead of 1/(1-p)",
          edits=[("(rng.random(x.shape) >= p) / (1 - p)", "(rng.random(x.shape) >= p) / p")],
          loses=("test_dropout_forward",), feedback="scaled by 1/p"),
    Wrong("dropout_forward", "draws the mask from the global np.random instead of rng",
          edits=[("rng.random(x.shape)", "np.random.random(x.shape)")],
          loses=("test_dropout_forward",), feedback="the rng argument"),
    Wrong("dropout_forward", "draws one mask for the whole batch instead of one per element",
          edits=[("rng.random(x.shape)", "rng.random(x.shape[1:])")],
          loses=("test_dropout_forward",), feedback="same mask"),
    Wrong("dropout_forward", "divides by zero when p = 1 (returns NaN)",
          edits=[("    if p == 1:\n        return np.zeros_like(x), np.zeros_like(x)\n", "")],
          loses=("test_dropout_forward",), feedback="divided by zero"),
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
    # ---- dropout_backward (checked against the student's own forward pass)
    Wrong("dropout_backward", "ignores the mask (dx = dout)", source='''
def dropout_backward(dout, cache):
    return np.array(dout, dtype=float)
''', loses=("test_dropout_backward",), feedback="ignores the dropout mask"),
    Wrong("dropout_backward", "forgets the 1/(1-p) scale of the kept units",
          edits=[("return dout * cache", "return dout * (cache != 0)")],
          loses=("test_dropout_backward",), feedback="without the 1/(1-p) scale"),
    Alternative("dropout_backward", "multiplies with np.multiply, returns dout itself in "
                "evaluation mode", source='''
def dropout_backward(dout, cache):
    return dout if cache is None else np.multiply(dout, cache)
'''),
    # ---- dropout_linear_moments (deterministic: named by matching outputs)
    Wrong("dropout_linear_moments", "leaves the bias out of the mean",
          edits=[("mean = x @ W + b", "mean = x @ W")],
          loses=("test_dropout_linear_moments",)),
    Wrong("dropout_linear_moments", "uses p(1-p) as the variance factor, forgetting the "
          "1/(1-p) scaling of the kept units",
          edits=[("var = p / (1 - p) *", "var = p * (1 - p) *")],
          loses=("test_dropout_linear_moments",)),
    Wrong("dropout_linear_moments", "squares the sum (x @ W)**2 instead of summing the squares",
          edits=[("(x ** 2) @ (W ** 2)", "(x @ W) ** 2")],
          loses=("test_dropout_linear_moments",)),
    Wrong("dropout_linear_moments", "swaps p and 1 - p in the variance factor",
          edits=[("var = p / (1 - p) *", "var = (1 - p) / p *")],
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
]

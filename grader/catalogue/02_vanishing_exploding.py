"""Known-wrong and alternative-correct implementations for 02_vanishing_exploding."""

from grader.catalogue import Alternative, Wrong

_DELTA_STEP = 'delta = (delta @ params[f"W{layer}"].T) * slope'
_NORM_LINE = "norms[layer - 1] = np.linalg.norm(inputs[layer - 1].T @ delta)"

ENTRIES = [
    # ---- activation_derivative
    Wrong("activation_derivative", "returns sigmoid(z) instead of its derivative",
          edits=[("return e / (1.0 + e) ** 2", "return np.where(z >= 0, 1.0, e) / (1.0 + e)")],
          loses=("test_activation_derivative",)),
    Wrong("activation_derivative", "uses 1 - z^2 for tanh' instead of 1 - tanh(z)^2",
          edits=[("return 1.0 - np.tanh(z) ** 2", "return 1.0 - z ** 2")],
          loses=("test_activation_derivative",)),
    Wrong("activation_derivative", "takes the ReLU derivative at z = 0 to be 1 (z >= 0)",
          edits=[("np.where(z > 0, 1.0, 0.0)", "np.where(z >= 0, 1.0, 0.0)")],
          loses=("test_activation_derivative",)),
    Wrong("activation_derivative", "computes sigmoid' as e^-z / (1 + e^-z)^2, NaN at large -z",
          edits=[("e = np.exp(-np.abs(z))", "e = np.exp(-z)")],
          loses=("test_activation_derivative",)),
    Wrong("activation_derivative", "overwrites z in place for ReLU", source='''
def activation_derivative(z, activation):
    z = np.asarray(z, dtype=float)
    if activation == "relu":
        positive = z > 0
        z[positive] = 1.0
        z[~positive] = 0.0
        return z
    if activation == "sigmoid":
        s = 1 / (1 + np.exp(-z))
        return s * (1 - s)
    if activation == "tanh":
        return 1 - np.tanh(z) ** 2
    if activation == "linear":
        return np.ones_like(z)
    raise ValueError(activation)
''', loses=("test_activation_derivative",), feedback="modified its input z in place"),
    Wrong("activation_derivative",
          "uses tanh's formula 1 - s^2 for the sigmoid's slope (s = sigmoid(z))",
          edits=[("return e / (1.0 + e) ** 2",
                  "return 1.0 - (np.where(z >= 0, 1.0, e) / (1.0 + e)) ** 2")],
          loses=("test_activation_derivative",)),
    Wrong("activation_derivative", "returns tanh(z) instead of its derivative",
          edits=[("return 1.0 - np.tanh(z) ** 2", "return np.tanh(z)")],
          loses=("test_activation_derivative",)),
    Wrong("activation_derivative", "returns relu(z) instead of its derivative",
          edits=[("np.where(z > 0, 1.0, 0.0)", "np.maximum(z, 0.0)")],
          loses=("test_activation_derivative",)),
    Wrong("activation_derivative", "returns an integer array for ReLU (np.where(z > 0, 1, 0))",
          edits=[("np.where(z > 0, 1.0, 0.0)", "np.where(z > 0, 1, 0)")],
          loses=("test_activation_derivative",), feedback="should be a float array"),
    Wrong("activation_derivative",
          "treats an unknown activation name as linear instead of raising ValueError",
          edits=[('raise ValueError(f"unknown activation {activation!r}; expected sigmoid, tanh, '
                  'relu or linear")', "return np.ones_like(z)")],
          loses=("test_activation_derivative",), feedback="should raise ValueError"),
    Alternative("activation_derivative", "sigma(1 - sigma) with a naive sigmoid that overflows "
                "(warnings only) and 1 / cosh^2", source='''
def activation_derivative(z, activation):
    z = np.array(z, dtype=float)
    if activation == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-z))
        return s * (1.0 - s)
    elif activation == "tanh":
        return 1.0 / np.cosh(z) ** 2
    elif activation == "relu":
        return (z > 0).astype(float)
    elif activation == "linear":
        return np.ones(z.shape)
    raise ValueError("unknown activation " + str(activation))
'''),
    # ---- backward_factor
    Wrong("backward_factor", "forgets the factor n_out",
          edits=[("return float(n_out * weight_std**2 * mean_square_slope)",
                  "return float(weight_std**2 * mean_square_slope)")],
          loses=("test_backward_factor",)),
    Wrong("backward_factor", "uses the weight standard deviation instead of the variance",
          edits=[("return float(n_out * weight_std**2 * mean_square_slope)",
                  "return float(n_out * weight_std * mean_square_slope)")],
          loses=("test_backward_factor",)),
    Wrong("backward_factor", "uses E[phi'(z)]^2, the square of the mean slope, instead of "
          "E[phi'(z)^2]",
          edits=[("mean_square_slope = np.sum(slope(z) ** 2 * density) * (z[1] - z[0])",
                  "mean_square_slope = (np.sum(slope(z) * density) * (z[1] - z[0])) ** 2")],
          loses=("test_backward_factor",)),
    Wrong("backward_factor", "uses phi'(0)^2, the slope at z = 0, instead of its mean square",
          edits=[("mean_square_slope = np.sum(slope(z) ** 2 * density) * (z[1] - z[0])",
                  "mean_square_slope = float(slope(np.zeros(1))[0]) ** 2")],
          loses=("test_backward_factor",)),
    Wrong("backward_factor", "sums over the grid without the spacing dz",
          edits=[("mean_square_slope = np.sum(slope(z) ** 2 * density) * (z[1] - z[0])",
                  "mean_square_slope = np.sum(slope(z) ** 2 * density)")],
          loses=("test_backward_factor",)),
    Wrong("backward_factor", "takes z_std for the variance of z",
          edits=[("z = z_std * np.linspace(-10.0, 10.0, 100_001)",
                  "z = np.sqrt(z_std) * np.linspace(-10.0, 10.0, 100_001)"),
                 ("np.exp(-0.5 * (z / z_std) ** 2) / (z_std * np.sqrt(2 * np.pi))",
                  "np.exp(-0.5 * z ** 2 / z_std) / np.sqrt(2 * np.pi * z_std)")],
          loses=("test_backward_factor",)),
    Wrong("backward_factor", "returns the factor of the root mean square (the square root)",
          edits=[("return float(n_out * weight_std**2 * mean_square_slope)",
                  "return float(np.sqrt(n_out * weight_std**2 * mean_square_slope))")],
          loses=("test_backward_factor",)),
    Wrong("backward_factor", "integrates with Gauss-Hermite nodes that include z = 0, where "
          "ReLU's slope jumps (an odd number of nodes)", source='''
def backward_factor(slope, n_out, weight_std, z_std):
    nodes, weights = np.polynomial.hermite_e.hermegauss(101)
    mean_square = np.sum(weights * slope(z_std * nodes) ** 2) / np.sqrt(2 * np.pi)
    return n_out * weight_std ** 2 * mean_square
''', loses=("test_backward_factor",)),
    Alternative("backward_factor", "the trapezoidal rule over +-8 standard deviations",
                source='''
def backward_factor(slope, n_out, weight_std, z_std):
    z = np.linspace(-8.0 * z_std, 8.0 * z_std, 40001)
    density = np.exp(-z * z / (2.0 * z_std * z_std)) / np.sqrt(2.0 * np.pi * z_std * z_std)
    return float(n_out) * weight_std * weight_std * np.trapezoid(slope(z) ** 2 * density, z)
'''),
    Alternative("backward_factor", "a standard normal grid x, with z = z_std * x", source='''
def backward_factor(slope, n_out, weight_std, z_std):
    x, dx = np.linspace(-12, 12, 240_001, retstep=True)
    phi = np.exp(-x ** 2 / 2) / np.sqrt(2 * np.pi)
    expectation = np.dot(np.square(slope(z_std * x)), phi) * dx
    return n_out * weight_std ** 2 * expectation
'''),
    # ---- layer_gradient_norms
    Wrong("layer_gradient_norms", "forgets the activation derivative in the backward pass",
          edits=[(_DELTA_STEP, 'delta = delta @ params[f"W{layer}"].T')],
          loses=("test_layer_gradient_norms",)),
    Wrong("layer_gradient_norms", "evaluates the derivative at the activation h instead of the "
          "pre-activation z",
          edits=[("activation_derivative(pre_activations[layer - 2], activation)",
                  "activation_derivative(inputs[layer - 1], activation)")],
          loses=("test_layer_gradient_norms",)),
    Wrong("layer_gradient_norms", "returns the squared norms",
          edits=[(_NORM_LINE, "norms[layer - 1] = np.sum((inputs[layer - 1].T @ delta) ** 2)")],
          loses=("test_layer_gradient_norms",)),
    Wrong("layer_gradient_norms", "includes the bias gradient in each layer's norm",
          edits=[(_NORM_LINE, "norms[layer - 1] = np.sqrt(np.sum((inputs[layer - 1].T @ delta)"
                              " ** 2) + np.sum(delta.sum(axis=0) ** 2))")],
          loses=("test_layer_gradient_norms",)),
    Wrong("layer_gradient_norms", "uses the summed loss instead of the mean over the batch",
          edits=[("_, delta = losses.softmax_cross_entropy(scores, y)",
                  "delta = len(y) * losses.softmax_cross_entropy(scores, y)[1]")],
          loses=("test_layer_gradient_norms",)),
    Wrong("layer_gradient_norms", "returns the norms from the last layer to the first",
          edits=[("    return norms\n", "    return norms[::-1]\n")],
          loses=("test_layer_gradient_norms",)),
    Alternative("layer_gradient_norms", "uses dltrain's mlp_forward and mlp_backward", source='''
def layer_gradient_norms(params, X, y, activation):
    scores, cache = mlp.mlp_forward(params, X, activation=activation)
    _, dscores = losses.softmax_cross_entropy(scores, y)
    grads = mlp.mlp_backward(dscores, cache)
    return np.array([np.linalg.norm(grads[f"W{l}"]) for l in range(1, mlp.num_layers(params) + 1)])
'''),
    Alternative("layer_gradient_norms", "writes softmax and the chain rule by hand", source='''
def layer_gradient_norms(params, X, y, activation):
    L = len(params) // 2
    hs, zs = [X], []
    for l in range(1, L):
        z = hs[-1].dot(params["W%d" % l]) + params["b%d" % l]
        zs.append(z)
        if activation == "relu":
            hs.append(np.maximum(z, 0))
        elif activation == "tanh":
            hs.append(np.tanh(z))
        elif activation == "sigmoid":
            hs.append(1 / (1 + np.exp(-z)))
        else:
            hs.append(z)
    scores = hs[-1].dot(params["W%d" % L]) + params["b%d" % L]
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    d = p / len(y)
    out = []
    for l in range(L, 0, -1):
        out.append(np.sqrt(np.sum(hs[l - 1].T.dot(d) ** 2)))
        if l > 1:
            d = d.dot(params["W%d" % l].T) * activation_derivative(zs[l - 2], activation)
    return np.array(out[::-1])
'''),
    # ---- clip_grad_norm
    Wrong("clip_grad_norm", "clips each gradient by its own norm instead of the global norm",
          source='''
def clip_grad_norm(grads, max_norm):
    clipped = {}
    for name, g in grads.items():
        norm = np.linalg.norm(g)
        clipped[name] = g * min(1.0, max_norm / (norm + 1e-6))
    total = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    return clipped, float(total)
''', loses=("test_clip_grad_norm",)),
    Wrong("clip_grad_norm", "scales the gradients up to max_norm when their norm is below it",
          edits=[("factor = min(1.0, max_norm / (total_norm + 1e-6))",
                  "factor = max_norm / (total_norm + 1e-6)")],
          loses=("test_clip_grad_norm",)),
    Wrong("clip_grad_norm", "forgets the square root in the global norm",
          edits=[("total_norm = float(np.sqrt(sum(np.sum(np.square(g)) for g in grads.values())))",
                  "total_norm = float(sum(np.sum(np.square(g)) for g in grads.values()))")],
          loses=("test_clip_grad_norm",)),
    Wrong("clip_grad_norm", "modifies the gradients in place", source='''
def clip_grad_norm(grads, max_norm):
    total = np.sqrt(sum(np.sum(g * g) for g in grads.values()))
    factor = min(1.0, max_norm / (total + 1e-6))
    for g in grads.values():
        g *= factor
    return grads, float(total)
''', loses=("test_clip_grad_norm",), feedback="modified its input"),
    Wrong("clip_grad_norm", "returns the norm after clipping instead of before",
          edits=[("    return clipped, total_norm\n", "    return clipped, total_norm * factor\n")],
          loses=("test_clip_grad_norm",)),
    Alternative("clip_grad_norm", "scales by max_norm / total only when total > max_norm",
                source='''
def clip_grad_norm(grads, max_norm):
    total = np.linalg.norm(np.concatenate([np.ravel(g) for g in grads.values()]))
    if total > max_norm:
        return {k: v * (max_norm / total) for k, v in grads.items()}, total
    return {k: v.copy() for k, v in grads.items()}, total
'''),
    # ---- clip_grad_value
    Wrong("clip_grad_value", "clips only from above (forgets -clip_value)",
          edits=[("np.clip(np.asarray(g, dtype=float), -clip_value, clip_value)",
                  "np.minimum(np.asarray(g, dtype=float), clip_value)")],
          loses=("test_clip_grad_value",)),
    Wrong("clip_grad_value", "clips to [0, clip_value]",
          edits=[("-clip_value, clip_value)", "0.0, clip_value)")],
          loses=("test_clip_grad_value",)),
    Wrong("clip_grad_value", "clips the gradients in place", source='''
def clip_grad_value(grads, clip_value):
    for g in grads.values():
        np.clip(g, -clip_value, clip_value, out=g)
    return grads
''', loses=("test_clip_grad_value",), feedback="modified its input"),
    Alternative("clip_grad_value", "np.maximum of np.minimum", source='''
def clip_grad_value(grads, clip_value):
    out = dict()
    for key in grads:
        out[key] = np.maximum(np.minimum(grads[key], clip_value), -clip_value)
    return out
'''),
    # ---- questions
    Wrong("q_linear_ratio", "counts 20 factors of 0.5, one too many",
          source="q_linear_ratio = 0.5 ** 20", loses=("test_q_linear_ratio",)),
    Wrong("q_linear_ratio", "gives the ratio upside down (2^19)",
          source="q_linear_ratio = 2.0 ** 19", loses=("test_q_linear_ratio",)),
    Wrong("q_linear_ratio", "answers for the weight gradients, equal in every layer",
          source="q_linear_ratio = 1.0", loses=("test_q_linear_ratio",)),
    Wrong("q_linear_ratio", "gives the factor of a single layer", source="q_linear_ratio = 0.5",
          loses=("test_q_linear_ratio",)),
    Alternative("q_linear_ratio", "a power of two written out",
                source="q_linear_ratio = 2.0 ** -19"),
    Alternative("q_linear_ratio", "the decimal value", source="q_linear_ratio = 1.9073e-06"),
    Wrong("q_shrinks", "picks tanh, whose slope reaches 1 at z = 0", source='q_shrinks = "a"',
          loses=("test_q_shrinks",)),
    Wrong("q_shrinks", "picks ReLU, whose factor is 1/2 (its slope is 0 on half the inputs)",
          source='q_shrinks = "c"', loses=("test_q_shrinks",)),
    Wrong("q_shrinks", "misses that sigmoid's slope is at most 1/4", source='q_shrinks = "d"',
          loses=("test_q_shrinks",)),
    Alternative("q_shrinks", "the letter picked from a string", source='q_shrinks = "abcd"[1]'),
    Wrong("q_effective_lr", "answers the nominal learning rate (clipping rescales every step here)",
          source="q_effective_lr = 0.1", loses=("test_q_effective_lr",)),
    Wrong("q_effective_lr", "multiplies the learning rate by the gradient norm instead of dividing",
          source="q_effective_lr = 0.1 * 10", loses=("test_q_effective_lr",)),
    Wrong("q_effective_lr", "divides by the squared gradient norm",
          source="q_effective_lr = 0.1 / 100", loses=("test_q_effective_lr",)),
    Alternative("q_effective_lr", "written as lr * max_norm / norm",
                source="q_effective_lr = 0.1 * 1.0 / 10"),
]

"""Known-wrong and alternative-correct implementations for 01_initialization."""

from grader.catalogue import Alternative, Wrong

_XAVIER_STD = "std = np.sqrt(2.0 / (fan_in + fan_out))"
_XAVIER_DRAW = "return rng.normal(0.0, std, size=(fan_in, fan_out))"
_UNIFORM_BOUND = "a = np.sqrt(6.0 / (fan_in + fan_out))"
_UNIFORM_DRAW = "return rng.uniform(low=-a, high=a, size=(fan_in, fan_out))"
_HE_STD = "std = np.sqrt(2.0 / fan_in)"

ENTRIES = [
    # ---- xavier_normal
    Wrong("xavier_normal", "uses the variance 2 / (fan_in + fan_out) as the standard deviation",
          edits=[(_XAVIER_STD, "std = 2.0 / (fan_in + fan_out)")],
          loses=("test_xavier_normal",)),
    Wrong("xavier_normal", "uses LeCun's variance 1 / fan_in instead of 2 / (fan_in + fan_out)",
          edits=[(_XAVIER_STD, "std = np.sqrt(1.0 / fan_in)")],
          loses=("test_xavier_normal",)),
    Wrong("xavier_normal", "uses 1 / fan_out instead of 2 / (fan_in + fan_out)",
          edits=[(_XAVIER_STD, "std = np.sqrt(1.0 / fan_out)")],
          loses=("test_xavier_normal",)),
    Wrong("xavier_normal", "returns the weights transposed, (fan_out, fan_in) as in PyTorch",
          edits=[(_XAVIER_DRAW, "return rng.normal(0.0, std, size=(fan_out, fan_in))")],
          loses=("test_xavier_normal",)),
    Wrong("xavier_normal", "draws from numpy's global random state instead of rng",
          edits=[(_XAVIER_DRAW, "return np.random.normal(0.0, std, size=(fan_in, fan_out))")],
          loses=("test_xavier_normal",),
          feedback="two generators with the same seed gave different weights"),
    Wrong("xavier_normal", "draws from a uniform distribution with the Xavier variance",
          edits=[(_XAVIER_DRAW, "return rng.uniform(-np.sqrt(3) * std, np.sqrt(3) * std, "
                                "size=(fan_in, fan_out))")],
          loses=("test_xavier_normal",)),
    Alternative("xavier_normal", "scales standard normal draws", source='''
def xavier_normal(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / (fan_in + fan_out))
'''),
    Alternative("xavier_normal", "draws in PyTorch's layout and transposes", source='''
def xavier_normal(fan_in, fan_out, rng):
    weight = rng.normal(scale=(2.0 / (fan_in + fan_out)) ** 0.5, size=(fan_out, fan_in))
    return weight.T.astype(np.float32)
'''),
    # ---- xavier_uniform
    Wrong("xavier_uniform", "uses the standard deviation sqrt(2 / (fan_in + fan_out)) as the "
          "uniform bound",
          edits=[(_UNIFORM_BOUND, "a = np.sqrt(2.0 / (fan_in + fan_out))")],
          loses=("test_xavier_uniform",)),
    Wrong("xavier_uniform", "uses the wrong uniform bound sqrt(3 / (fan_in + fan_out))",
          edits=[(_UNIFORM_BOUND, "a = np.sqrt(3.0 / (fan_in + fan_out))")],
          loses=("test_xavier_uniform",)),
    Wrong("xavier_uniform", "uses PyTorch's default bound 1 / sqrt(fan_in)",
          edits=[(_UNIFORM_BOUND, "a = 1.0 / np.sqrt(fan_in)")],
          loses=("test_xavier_uniform",)),
    Wrong("xavier_uniform", "draws from a normal distribution with the Xavier variance",
          edits=[(_UNIFORM_DRAW, "return rng.normal(0.0, a / np.sqrt(3), size=(fan_in, fan_out))")],
          loses=("test_xavier_uniform",)),
    Wrong("xavier_uniform", "draws from (0, a) instead of (-a, a)",
          edits=[(_UNIFORM_DRAW, "return rng.uniform(0.0, a, size=(fan_in, fan_out))")],
          loses=("test_xavier_uniform",)),
    Wrong("xavier_uniform", "returns the weights transposed, (fan_out, fan_in) as in PyTorch",
          edits=[(_UNIFORM_DRAW, "return rng.uniform(-a, a, size=(fan_out, fan_in))")],
          loses=("test_xavier_uniform",)),
    Wrong("xavier_uniform", "draws from numpy's global random state instead of rng",
          edits=[(_UNIFORM_DRAW, "return np.random.uniform(-a, a, size=(fan_in, fan_out))")],
          loses=("test_xavier_uniform",),
          feedback="two generators with the same seed gave different weights"),
    Alternative("xavier_uniform", "stretches rng.random to (-a, a)", source='''
def xavier_uniform(fan_in, fan_out, rng):
    a = np.sqrt(3.0) * np.sqrt(2.0 / (fan_in + fan_out))
    return (2.0 * rng.random((fan_in, fan_out)) - 1.0) * a
'''),
    Alternative("xavier_uniform", "returns float32 weights", source='''
def xavier_uniform(fan_in, fan_out, rng):
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out)).astype(np.float32)
'''),
    # ---- init_variance
    Wrong("init_variance", "ignores the negative slope (He's variance for every slope)",
          edits=[("kept = (1 + negative_slope**2) / 2", "kept = 0.5")],
          loses=("test_init_variance",)),
    Wrong("init_variance", "uses (1 + a) / 2 instead of (1 + a^2) / 2 for the kept second moment",
          edits=[("kept = (1 + negative_slope**2) / 2", "kept = (1 + negative_slope) / 2")],
          loses=("test_init_variance",)),
    Wrong("init_variance", "forgets the factor 2 (each half of z holds half of E[z^2])",
          edits=[("kept = (1 + negative_slope**2) / 2", "kept = 1 + negative_slope**2")],
          loses=("test_init_variance",)),
    Wrong("init_variance", "swaps fan_in and fan_out",
          edits=[('fans = {"fan_in": fan_in, "fan_out": fan_out,',
                  'fans = {"fan_in": fan_out, "fan_out": fan_in,')],
          loses=("test_init_variance",)),
    Wrong("init_variance", "uses fan_in in every mode", source='''
def init_variance(fan_in, fan_out, negative_slope=0.0, mode="fan_in"):
    if mode not in ("fan_in", "fan_out", "fan_avg"):
        raise ValueError(mode)
    return 2.0 / ((1 + negative_slope**2) * fan_in)
''', loses=("test_init_variance",)),
    Wrong("init_variance", "averages the fan_in and fan_out variances instead of the fans",
          source='''
def init_variance(fan_in, fan_out, negative_slope=0.0, mode="fan_in"):
    gain2 = 2.0 / (1 + negative_slope**2)
    if mode == "fan_in":
        return gain2 / fan_in
    if mode == "fan_out":
        return gain2 / fan_out
    if mode == "fan_avg":
        return (gain2 / fan_in + gain2 / fan_out) / 2
    raise ValueError(mode)
''', loses=("test_init_variance",)),
    Wrong("init_variance", "returns a variance for an unknown mode instead of raising ValueError",
          edits=[('        raise ValueError(f"unknown mode {mode!r}; expected one of '
                  '{sorted(fans)}")\n', '        mode = "fan_in"\n')],
          loses=("test_init_variance",)),
    Alternative("init_variance", "squares PyTorch's gain", source='''
import math

def init_variance(fan_in, fan_out, negative_slope=0.0, mode="fan_in"):
    gain = math.sqrt(2.0 / (1 + negative_slope ** 2))
    if mode == "fan_in":
        n = fan_in
    elif mode == "fan_out":
        n = fan_out
    elif mode == "fan_avg":
        n = (fan_in + fan_out) / 2
    else:
        raise ValueError("mode must be fan_in, fan_out or fan_avg")
    return gain ** 2 / n
'''),
    Alternative("init_variance", "writes fan_avg as Glorot's 2 / (fan_in + fan_out)", source='''
def init_variance(fan_in, fan_out, negative_slope=0.0, mode="fan_in"):
    c = 2.0 / (1.0 + negative_slope * negative_slope)
    if mode == "fan_avg":
        return c * 2.0 / (fan_in + fan_out)
    if mode in ("fan_in", "fan_out"):
        return c / (fan_in if mode == "fan_in" else fan_out)
    raise ValueError(f"unknown mode {mode}")
'''),
    # ---- questions
    Wrong("q_gain", "gives the factor on the variance, 2 / (1 + a^2), not its square root",
          source="q_gain = 2 / (1 + 0.2**2)\n", loses=("test_q_gain",)),
    Wrong("q_gain", "gives ReLU's gain sqrt(2), ignoring the slope", source="q_gain = 2**0.5\n",
          loses=("test_q_gain",)),
    Wrong("q_gain", "uses (1 + a) / 2 for the kept second moment",
          source="q_gain = (2 / 1.2)**0.5\n", loses=("test_q_gain",)),
    Alternative("q_gain", "answers a rounded number", source="q_gain = 1.387\n"),
    Wrong("q_layout", "assumes the initializer reads our layout", source="q_layout = 2 / 784\n",
          loses=("test_q_layout",)),
    Wrong("q_layout", "gives the standard deviation instead of the variance",
          source="q_layout = (2 / 100) ** 0.5\n", loses=("test_q_layout",)),
    Alternative("q_layout", "answers a decimal", source="q_layout = 0.02\n"),
    Wrong("q_inactive", "answers (c): takes inactive entries for dead units",
          source='q_inactive = "c"\n', loses=("test_q_inactive",)),
    Wrong("q_inactive", "answers (a): He initialization keeps every unit active",
          source='q_inactive = "a"\n', loses=("test_q_inactive",)),
    Alternative("q_inactive", "computes the letter", source='q_inactive = chr(ord("a") + 1)\n'),
    # ---- he_normal
    Wrong("he_normal", "uses fan_out instead of fan_in",
          edits=[(_HE_STD, "std = np.sqrt(2.0 / fan_out)")],
          loses=("test_he_normal",)),
    Wrong("he_normal", "uses the variance 2 / fan_in as the standard deviation",
          edits=[(_HE_STD, "std = 2.0 / fan_in")],
          loses=("test_he_normal",)),
    Wrong("he_normal", "forgets the factor 2 of the ReLU gain",
          edits=[(_HE_STD, "std = np.sqrt(1.0 / fan_in)")],
          loses=("test_he_normal",)),
    Wrong("he_normal", "multiplies the standard deviation by 2 instead of the variance",
          edits=[(_HE_STD, "std = 2.0 / np.sqrt(fan_in)")],
          loses=("test_he_normal",)),
    Wrong("he_normal", "draws from a uniform distribution with He's variance",
          edits=[("return rng.normal(0.0, std, size=(fan_in, fan_out))",
                  "return rng.uniform(-np.sqrt(3) * std, np.sqrt(3) * std, "
                  "size=(fan_in, fan_out))")],
          loses=("test_he_normal",)),
    Wrong("he_normal", "returns the weights transposed, (fan_out, fan_in) as in PyTorch",
          edits=[("return rng.normal(0.0, std, size=(fan_in, fan_out))",
                  "return rng.normal(0.0, std, size=(fan_out, fan_in))")],
          loses=("test_he_normal",)),
    Wrong("he_normal", "draws from numpy's global random state instead of rng",
          edits=[("return rng.normal(0.0, std, size=(fan_in, fan_out))",
                  "return std * np.random.standard_normal((fan_in, fan_out))")],
          loses=("test_he_normal",),
          feedback="two generators with the same seed gave different weights"),
    Wrong("he_normal", "seeds its own generator instead of using rng",
          edits=[("return rng.normal(0.0, std, size=(fan_in, fan_out))",
                  "return np.random.default_rng(0).normal(0.0, std, size=(fan_in, fan_out))")],
          loses=("test_he_normal",), feedback="generators with different seeds gave the same"),
    Alternative("he_normal", "multiplies by the gain sqrt(2) over sqrt(fan_in)", source='''
def he_normal(fan_in, fan_out, rng):
    gain = np.sqrt(2.0)
    return gain / np.sqrt(fan_in) * rng.normal(size=(fan_in, fan_out))
'''),
    # ---- init_network
    Wrong("init_network", "initializes the biases randomly instead of with zeros",
          edits=[('params[f"b{layer}"] = np.zeros(fan_out)',
                  'params[f"b{layer}"] = scale * rng.standard_normal(fan_out)')],
          loses=("test_init_network",)),
    Wrong("init_network", "multiplies the variance by scale instead of the weights",
          edits=[('params[f"W{layer}"] = scale * draws[method](fan_in, fan_out, rng)',
                  'params[f"W{layer}"] = np.sqrt(scale) * draws[method](fan_in, fan_out, rng)')],
          loses=("test_init_network",),
          feedback="scale multiplied the variance instead of the weights"),
    Wrong("init_network", "applies scale only to 'constant' and 'normal'", source='''
def init_network(sizes, method, rng, scale=1.0):
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        if method == "zeros":
            W = np.zeros((fan_in, fan_out))
        elif method == "constant":
            W = np.full((fan_in, fan_out), float(scale))
        elif method == "normal":
            W = scale * rng.standard_normal((fan_in, fan_out))
        elif method == "xavier_normal":
            W = xavier_normal(fan_in, fan_out, rng)
        elif method == "xavier_uniform":
            W = xavier_uniform(fan_in, fan_out, rng)
        elif method == "he_normal":
            W = he_normal(fan_in, fan_out, rng)
        else:
            raise ValueError(method)
        params[f"W{layer}"] = W
        params[f"b{layer}"] = np.zeros(fan_out)
    return params
''', loses=("test_init_network",), feedback="It looks as if scale was not applied"),
    Wrong("init_network", "uses the network's input size as fan_in of every layer",
          edits=[("draws[method](fan_in, fan_out, rng)", "draws[method](sizes[0], fan_out, rng)")],
          loses=("test_init_network",)),
    Wrong("init_network", "draws the 'normal' weights from numpy's global random state",
          edits=[("rng.standard_normal((fan_in, fan_out))",
                  "np.random.standard_normal((fan_in, fan_out))")],
          loses=("test_init_network",), feedback="does not draw from rng alone"),
    Wrong("init_network", "returns None for an unknown method instead of raising ValueError",
          edits=[('        raise ValueError(f"unknown method {method!r}; expected one of '
                  '{sorted(draws)}")\n', "        return None\n")],
          loses=("test_init_network",)),
    Alternative("init_network", "passes a scaled initializer to mlp.init_mlp", source='''
def init_network(sizes, method, rng, scale=1.0):
    base = {"zeros": lambda i, o, r: np.zeros((i, o)),
            "constant": lambda i, o, r: np.ones((i, o)),
            "normal": lambda i, o, r: r.normal(size=(i, o)),
            "xavier_normal": xavier_normal, "xavier_uniform": xavier_uniform,
            "he_normal": he_normal}
    if method not in base:
        raise ValueError(method)
    return mlp.init_mlp(sizes, rng, init=lambda i, o, r: scale * base[method](i, o, r))
'''),
    Alternative("init_network", "an if/elif chain with np.full for constants", source='''
def init_network(sizes, method, rng, scale=1.0):
    params = {}
    for l in range(1, len(sizes)):
        n_in, n_out = sizes[l - 1], sizes[l]
        if method == "zeros":
            W = np.zeros((n_in, n_out))
        elif method == "constant":
            W = np.full((n_in, n_out), scale, dtype=float)
        elif method == "normal":
            W = rng.normal(0.0, scale, size=(n_in, n_out))
        elif method in ("xavier_normal", "xavier_uniform", "he_normal"):
            W = scale * {"xavier_normal": xavier_normal, "xavier_uniform": xavier_uniform,
                         "he_normal": he_normal}[method](n_in, n_out, rng)
        else:
            raise ValueError(f"unknown method {method}")
        params["W" + str(l)] = W
        params["b" + str(l)] = np.zeros(n_out)
    return params
'''),
    # ---- layer_statistics
    Wrong("layer_statistics", "also includes the output layer", source='''
def layer_statistics(params, X, activation):
    L = mlp.num_layers(params)
    h = np.asarray(X, dtype=float)
    out = {key: [] for key in ("mean", "std", "saturated", "inactive", "dead")}
    for layer in range(1, L + 1):
        z = h @ params[f"W{layer}"] + params[f"b{layer}"]
        h, cache = layers.activation_forward(activation, z)
        slope = layers.activation_backward(activation, np.ones_like(z), cache)
        relu = activation == "relu"
        out["mean"].append(h.mean())
        out["std"].append(h.std())
        out["saturated"].append(0.0 if relu else np.mean(slope < 0.01))
        out["inactive"].append(np.mean(z <= 0) if relu else 0.0)
        out["dead"].append(np.mean(np.all(z <= 0, axis=0)) if relu else 0.0)
    return {key: np.array(value) for key, value in out.items()}
''', loses=("test_layer_statistics",)),
    Wrong("layer_statistics", "takes the statistics of the pre-activations z instead of h",
          edits=[('stats["mean"][layer - 1] = h.mean()', 'stats["mean"][layer - 1] = z.mean()'),
                 ('stats["std"][layer - 1] = h.std()', 'stats["std"][layer - 1] = z.std()')],
          loses=("test_layer_statistics",)),
    Wrong("layer_statistics", "uses the sample standard deviation (ddof=1)",
          edits=[('stats["std"][layer - 1] = h.std()',
                  'stats["std"][layer - 1] = h.std(ddof=1)')],
          loses=("test_layer_statistics",)),
    Wrong("layer_statistics", "averages the standard deviation of each unit over the batch",
          edits=[('stats["std"][layer - 1] = h.std()',
                  'stats["std"][layer - 1] = h.std(axis=0).mean()')],
          loses=("test_layer_statistics",)),
    Wrong("layer_statistics", "counts |h| > 0.99 as saturated instead of a slope below 0.01",
          edits=[('stats["saturated"][layer - 1] = np.mean(slope < 0.01)',
                  'stats["saturated"][layer - 1] = np.mean(np.abs(h) > 0.99)')],
          loses=("test_layer_statistics",)),
    Wrong("layer_statistics", "counts ReLU's inactive entries (z <= 0) as saturated", source='''
def layer_statistics(params, X, activation):
    num_hidden = mlp.num_layers(params) - 1
    h = np.asarray(X, dtype=float)
    stats = {key: np.zeros(num_hidden) for key in ("mean", "std", "saturated", "inactive",
                                                   "dead")}
    for layer in range(1, num_hidden + 1):
        z, _ = layers.linear_forward(h, params[f"W{layer}"], params[f"b{layer}"])
        h, cache = layers.activation_forward(activation, z)
        slope = layers.activation_backward(activation, np.ones_like(z), cache)
        stats["mean"][layer - 1] = h.mean()
        stats["std"][layer - 1] = h.std()
        stats["saturated"][layer - 1] = np.mean(slope < 0.01)
        if activation == "relu":
            stats["inactive"][layer - 1] = np.mean(z <= 0)
            stats["dead"][layer - 1] = np.mean(np.all(z <= 0, axis=0))
    return stats
''', loses=("test_layer_statistics",)),
    Wrong("layer_statistics", "counts only z < 0 as inactive",
          edits=[("off = z <= 0", "off = z < 0")],
          loses=("test_layer_statistics",)),
    Wrong("layer_statistics", "counts a unit as dead when it is inactive for any input",
          edits=[("off.all(axis=0).mean()", "off.any(axis=0).mean()")],
          loses=("test_layer_statistics",)),
    Wrong("layer_statistics", "counts the inputs that every unit ignores instead of the dead "
          "units", edits=[("off.all(axis=0).mean()", "off.all(axis=1).mean()")],
          loses=("test_layer_statistics",)),
    Wrong("layer_statistics", "counts every entry with z <= 0 as inactive, whatever the "
          "activation", source='''
def layer_statistics(params, X, activation):
    num_hidden = mlp.num_layers(params) - 1
    h = np.asarray(X, dtype=float)
    stats = {key: np.zeros(num_hidden) for key in ("mean", "std", "saturated", "inactive",
                                                   "dead")}
    for layer in range(1, num_hidden + 1):
        z, _ = layers.linear_forward(h, params[f"W{layer}"], params[f"b{layer}"])
        h, cache = layers.activation_forward(activation, z)
        slope = layers.activation_backward(activation, np.ones_like(z), cache)
        stats["mean"][layer - 1] = h.mean()
        stats["std"][layer - 1] = h.std()
        if activation != "relu":
            stats["saturated"][layer - 1] = np.mean(slope < 0.01)
        stats["inactive"][layer - 1] = np.mean(z <= 0)
        stats["dead"][layer - 1] = np.mean(np.all(z <= 0, axis=0))
    return stats
''', loses=("test_layer_statistics",)),
    Alternative("layer_statistics", "writes the activations and their slopes by hand", source='''
def layer_statistics(params, X, activation):
    L = len([k for k in params if k.startswith("W")])
    h = X
    out = {"mean": [], "std": [], "saturated": [], "inactive": [], "dead": []}
    for l in range(1, L):
        z = h.dot(params["W%d" % l]) + params["b%d" % l]
        if activation == "relu":
            h = np.maximum(z, 0)
            out["saturated"].append(0.0)
            out["inactive"].append(np.count_nonzero(h == 0) / h.size)
            out["dead"].append(np.mean((h == 0).sum(axis=0) == len(h)))
        else:
            if activation == "tanh":
                h = np.tanh(z)
                slope = 1 - h ** 2
            else:
                h = 1 / (1 + np.exp(-z))
                slope = h * (1 - h)
            out["saturated"].append(np.count_nonzero(slope < 0.01) / slope.size)
            out["inactive"].append(0.0)
            out["dead"].append(0.0)
        out["mean"].append(np.mean(h))
        out["std"].append(np.sqrt(np.mean((h - np.mean(h)) ** 2)))
    return {k: np.array(v) for k, v in out.items()}
'''),
    Alternative("layer_statistics", "reads the recorded activations of mlp.mlp_forward",
                source='''
def layer_statistics(params, X, activation):
    _, cache = mlp.mlp_forward(params, X, activation=activation, record=True)
    zs, hs = cache["pre_activations"], cache["activations"]
    slopes = [layers.activation_backward(activation, np.ones_like(z),
                                         layers.activation_forward(activation, z)[1])
              for z in zs]
    relu = activation == "relu"
    return {"mean": np.array([h.mean() for h in hs]),
            "std": np.array([h.std() for h in hs]),
            "saturated": np.array([0.0 if relu else (s < 0.01).mean() for s in slopes]),
            "inactive": np.array([(z <= 0).mean() if relu else 0.0 for z in zs]),
            "dead": np.array([(z <= 0).all(axis=0).mean() if relu else 0.0 for z in zs])}
'''),
]

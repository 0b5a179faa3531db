"""Known-wrong and alternative-correct implementations for 03_gd_sgd."""

from grader.catalogue import Alternative, Wrong

ENTRIES = [
    # ---- minibatches
    Wrong("minibatches", "does not shuffle (the same order every epoch)",
          edits=[("permutation = rng.permutation(len(X))", "permutation = np.arange(len(X))")],
          loses=("test_minibatches",)),
    Wrong("minibatches", "reseeds a generator of its own, so every epoch has the same order",
          edits=[("permutation = rng.permutation(len(X))",
                  "permutation = np.random.default_rng(0).permutation(len(X))")],
          loses=("test_minibatches",), feedback="the same order in every epoch"),
    Wrong("minibatches", "draws the batch indices with replacement",
          edits=[("permutation = rng.permutation(len(X))",
                  "permutation = rng.integers(0, len(X), size=len(X))")],
          loses=("test_minibatches",), feedback="sampling without replacement"),
    Wrong("minibatches", "silently drops the last partial batch although drop_last=False",
          edits=[("stop = len(X) - len(X) % batch_size if drop_last else len(X)",
                  "stop = len(X) - len(X) % batch_size")],
          loses=("test_minibatches",), feedback="the last partial batch is missing"),
    Wrong("minibatches", "ignores drop_last and always keeps the partial batch",
          edits=[("stop = len(X) - len(X) % batch_size if drop_last else len(X)",
                  "stop = len(X)")],
          loses=("test_minibatches",)),
    Wrong("minibatches", "shuffles with numpy's global random state instead of rng",
          edits=[("permutation = rng.permutation(len(X))",
                  "permutation = np.random.permutation(len(X))")],
          loses=("test_minibatches",), feedback="use only the rng argument"),
    Wrong("minibatches", "shuffles X and y with separate permutations, breaking the pairs",
          source='''
def minibatches(X, y, batch_size, rng, drop_last=False):
    X = rng.permutation(X)
    y = rng.permutation(y)
    stop = len(X) - len(X) % batch_size if drop_last else len(X)
    for start in range(0, stop, batch_size):
        yield X[start:start + batch_size], y[start:start + batch_size]
''', loses=("test_minibatches",), feedback="yb does not belong to Xb"),
    Alternative("minibatches", "shuffles an index array in place and counts the batches",
                source='''
def minibatches(X, y, batch_size, rng, drop_last=False):
    n = X.shape[0]
    idx = np.arange(n)
    rng.shuffle(idx)
    count = n // batch_size if drop_last else -(-n // batch_size)
    for k in range(count):
        chosen = idx[k * batch_size:(k + 1) * batch_size]
        yield X[chosen, ...], y[chosen, ...]
'''),
    Alternative("minibatches", "draws without replacement with rng.choice and a while loop",
                source='''
def minibatches(X, y, batch_size, rng, drop_last=False):
    remaining = list(rng.choice(len(X), size=len(X), replace=False))
    while remaining:
        take, remaining = remaining[:batch_size], remaining[batch_size:]
        if drop_last and len(take) < batch_size:
            return
        take = np.array(take)
        yield np.take(X, take, axis=0), np.take(y, take, axis=0)
'''),
    Alternative("minibatches", "orders the samples by np.argsort of uniform draws", source='''
def minibatches(X, y, batch_size, rng, drop_last=False):
    order = np.argsort(rng.random(len(X)))
    n_batches = len(X) // batch_size if drop_last else int(np.ceil(len(X) / batch_size))
    for k in range(n_batches):
        chosen = order[k * batch_size:(k + 1) * batch_size]
        yield X[chosen], y[chosen]
'''),
    # ---- torch_schedules
    Wrong("torch_schedules", "applies the step decay one step late (first decay at step_size + 1)",
          edits=[("return lr * gamma ** (t // step_size)",
                  "return lr * gamma ** (max(t - 1, 0) // step_size)")],
          loses=("test_torch_schedules",)),
    Wrong("torch_schedules", "applies the step decay one step early (first decay at step_size - 1)",
          edits=[("return lr * gamma ** (t // step_size)",
                  "return lr * gamma ** ((t + 1) // step_size)")],
          loses=("test_torch_schedules",)),
    Wrong("torch_schedules", "starts the exponential decay one step early (gamma ** (t + 1))",
          edits=[("return lr * gamma ** t\n", "return lr * gamma ** (t + 1)\n")],
          loses=("test_torch_schedules",)),
    Wrong("torch_schedules", "uses a whole cosine period (2 pi t / T_max) instead of half",
          edits=[("np.cos(np.pi * t / T_max)", "np.cos(2 * np.pi * t / T_max)")],
          loses=("test_torch_schedules",)),
    Wrong("torch_schedules", "is off by one in the cosine period (divides by T_max - 1)",
          edits=[("np.cos(np.pi * t / T_max)", "np.cos(np.pi * t / (T_max - 1))")],
          loses=("test_torch_schedules",)),
    Wrong("torch_schedules", "ignores eta_min in the cosine schedule",
          edits=[("return eta_min + 0.5 * (lr - eta_min) * (1 + np.cos(np.pi * t / T_max))",
                  "return 0.5 * lr * (1 + np.cos(np.pi * t / T_max))")],
          loses=("test_torch_schedules",)),
    Wrong("torch_schedules", "goes up instead of down ((1 - cos) / 2)",
          edits=[("(1 + np.cos(np.pi * t / T_max))", "(1 - np.cos(np.pi * t / T_max))")],
          loses=("test_torch_schedules",)),
    Alternative("torch_schedules", "uses math.floor, exp-log and math.cos with clipping at T_max",
                source='''
import math


def step_decay(t, lr, step_size, gamma=0.1):
    return lr * math.pow(gamma, math.floor(t / step_size))


def exponential_decay(t, lr, gamma):
    return float(np.exp(np.log(lr) + t * np.log(gamma)))


def cosine_annealing(t, lr, T_max, eta_min=0.0):
    progress = min(t, T_max) / T_max
    return (1 + math.cos(math.pi * progress)) / 2 * (lr - eta_min) + eta_min
'''),
    # ---- more_schedules
    Wrong("more_schedules", "keeps decaying linearly after total_steps (no min(t, T))",
          edits=[("min(t, total_steps) / total_steps", "t / total_steps")],
          loses=("test_more_schedules",)),
    Wrong("more_schedules", "divides by sqrt(t / tau) instead of sqrt(1 + t / tau)",
          edits=[("return lr / np.sqrt(1.0 + t / tau)", "return lr / np.sqrt(t / tau)")],
          loses=("test_more_schedules",)),
    Wrong("more_schedules", "decays like 1 / (1 + t / tau), without the square root",
          edits=[("return lr / np.sqrt(1.0 + t / tau)", "return lr / (1.0 + t / tau)")],
          loses=("test_more_schedules",)),
    Wrong("more_schedules", "starts the warm-up at 0 (t / W instead of (t + 1) / W)",
          edits=[("min(1.0, (t + 1) / warmup_steps)", "min(1.0, t / warmup_steps)")],
          loses=("test_more_schedules",)),
    Alternative("more_schedules", "writes each schedule with if/else and a power", source='''
def linear_decay(t, lr, total_steps, end_lr=0.0):
    if t >= total_steps:
        return end_lr
    fraction = t / total_steps
    return (1 - fraction) * lr + fraction * end_lr


def inverse_sqrt_decay(t, lr, tau=1.0):
    return lr * ((tau + t) / tau) ** -0.5


def linear_warmup(t, lr, warmup_steps):
    if t + 1 >= warmup_steps:
        return lr
    return lr * (t + 1) / warmup_steps
'''),
    # ---- numerical_hessian
    Wrong("numerical_hessian", "uses a forward difference (error O(h)) instead of a centred one",
          edits=[("(np.asarray(grad_fn(point + e)) - np.asarray(grad_fn(point - e))) / (2 * h)",
                  "(np.asarray(grad_fn(point + e)) - np.asarray(grad_fn(point))) / h")],
          loses=("test_numerical_hessian",)),
    Wrong("numerical_hessian", "divides the centred difference by h instead of 2h",
          edits=[("np.asarray(grad_fn(point - e))) / (2 * h)",
                  "np.asarray(grad_fn(point - e))) / h")],
          loses=("test_numerical_hessian",)),
    Wrong("numerical_hessian", "divides the centred difference by h**2",
          edits=[("np.asarray(grad_fn(point - e))) / (2 * h)",
                  "np.asarray(grad_fn(point - e))) / h ** 2")],
          loses=("test_numerical_hessian",)),
    Wrong("numerical_hessian", "does not symmetrize the result",
          edits=[("return (H + H.T) / 2", "return H")],
          loses=("test_numerical_hessian",)),
    Wrong("numerical_hessian", "perturbs p in place and does not restore it", source='''
def numerical_hessian(grad_fn, p, h=1e-5):
    D = p.size
    H = np.empty((D, D))
    for j in range(D):
        p[j] += h
        g_plus = np.array(grad_fn(p))
        p[j] -= 2 * h
        g_minus = np.array(grad_fn(p))
        H[:, j] = (g_plus - g_minus) / (2 * h)
    return (H + H.T) / 2
''', loses=("test_numerical_hessian",)),
    Alternative("numerical_hessian", "builds the rows from the columns of h * I at once",
                source='''
def numerical_hessian(grad_fn, p, h=1e-5):
    p = np.asarray(p, dtype=float)
    steps = h * np.eye(p.size)
    rows = [(grad_fn(p + e) - grad_fn(p - e)) / (2 * h) for e in steps]
    H = np.array(rows)
    return 0.5 * (H + H.T)
'''),
    Alternative("numerical_hessian", "perturbs a private copy in place and restores each entry",
                source='''
def numerical_hessian(grad_fn, p, h=1e-5):
    x = np.array(p, dtype=float, copy=True)
    H = np.zeros((x.size, x.size))
    for i in range(x.size):
        old = x[i]
        x[i] = old + h
        plus = np.array(grad_fn(x), dtype=float)
        x[i] = old - h
        minus = np.array(grad_fn(x), dtype=float)
        x[i] = old
        H[i] = (plus - minus) / (2 * h)
    return (H + H.T) / 2
'''),
    # ---- classify_critical_point
    Wrong("classify_critical_point", "classifies by the sign of the determinant alone",
          source='''
def classify_critical_point(H, tol=1e-6):
    d = np.linalg.det(np.asarray(H, dtype=float))
    if abs(d) <= tol:
        return "plateau"
    return "minimum" if d > 0 else "saddle"
''', loses=("test_classify_critical_point",)),
    Wrong("classify_critical_point", "reads the eigenvalues off the diagonal",
          edits=[("eigenvalues = np.linalg.eigvalsh((np.asarray(H, dtype=float) + "
                  "np.asarray(H).T) / 2)", "eigenvalues = np.diag(np.asarray(H, dtype=float))")],
          loses=("test_classify_critical_point",)),
    Wrong("classify_critical_point", "ignores the tolerance (compares the eigenvalues with 0)",
          edits=[("up = np.any(eigenvalues > tol)", "up = np.any(eigenvalues > 0)"),
                 ("down = np.any(eigenvalues < -tol)", "down = np.any(eigenvalues < 0)"),
                 ("flat = np.any(np.abs(eigenvalues) <= tol)", "flat = np.any(eigenvalues == 0)")],
          loses=("test_classify_critical_point",)),
    Wrong("classify_critical_point", "calls every point with a zero eigenvalue a plateau",
          edits=[('return "long furrow" if flat else "minimum"',
                  'return "plateau" if flat else "minimum"'),
                 ('return "long ridge" if flat else "maximum"',
                  'return "plateau" if flat else "maximum"')],
          loses=("test_classify_critical_point",)),
    Wrong("classify_critical_point",
          "lets a zero eigenvalue override a saddle (checks the flat directions first)",
          source='''
def classify_critical_point(H, tol=1e-6):
    lam = np.linalg.eigvalsh((H + H.T) / 2)
    up, down = np.any(lam > tol), np.any(lam < -tol)
    if not up and not down:
        return "plateau"
    if np.any(np.abs(lam) <= tol):
        return "long furrow" if up else "long ridge"
    if up and down:
        return "saddle"
    return "minimum" if up else "maximum"
''', loses=("test_classify_critical_point",)),
    Alternative("classify_critical_point", "counts the signs with np.sum and uses eigh",
                source='''
def classify_critical_point(H, tol=1e-6):
    H = np.asarray(H, dtype=float)
    lam = np.linalg.eigh(0.5 * (H + H.T))[0]
    n_pos = int(np.sum(lam > tol))
    n_neg = int(np.sum(lam < -tol))
    n_zero = lam.size - n_pos - n_neg
    if n_pos and n_neg:
        return "saddle"
    if n_zero == lam.size:
        return "plateau"
    if n_pos:
        return "minimum" if n_zero == 0 else "long furrow"
    return "maximum" if n_zero == 0 else "long ridge"
'''),
    Alternative("classify_critical_point", "uses np.linalg.eig on the symmetrized matrix",
                source='''
def classify_critical_point(H, tol=1e-6):
    sym = (np.array(H, dtype=float) + np.array(H, dtype=float).T) / 2
    lam = np.real(np.linalg.eig(sym)[0])
    signs = set(np.where(lam > tol, 1, np.where(lam < -tol, -1, 0)).tolist())
    if {1, -1} <= signs:
        return "saddle"
    names = {frozenset({1}): "minimum", frozenset({-1}): "maximum", frozenset({0}): "plateau",
             frozenset({0, 1}): "long furrow", frozenset({0, -1}): "long ridge"}
    return names[frozenset(signs)]
'''),
    # ---- largest_stable_lr
    Wrong("largest_stable_lr", "returns 1 / lambda_max instead of 2 / lambda_max",
          edits=[("return float(2.0 / largest) if largest > 0 else np.inf",
                  "return float(1.0 / largest) if largest > 0 else np.inf")],
          loses=("test_largest_stable_lr",)),
    Wrong("largest_stable_lr", "uses the smallest positive eigenvalue (2 / lambda_min)", source='''
def largest_stable_lr(H):
    eigenvalues = np.linalg.eigvalsh(np.asarray(H, dtype=float))
    positive = eigenvalues[eigenvalues > 0]
    return float(2.0 / positive.min()) if positive.size else np.inf
''', loses=("test_largest_stable_lr",)),
    Wrong("largest_stable_lr", "lets negative curvature limit the rate (2 / max |lambda|)",
          source='''
def largest_stable_lr(H):
    eigenvalues = np.linalg.eigvalsh(np.asarray(H, dtype=float))
    if eigenvalues[-1] <= 0:
        return np.inf
    return float(2.0 / np.max(np.abs(eigenvalues)))
''', loses=("test_largest_stable_lr",)),
    Wrong("largest_stable_lr", "reads the eigenvalues off the diagonal",
          edits=[("largest = np.linalg.eigvalsh(np.asarray(H, dtype=float))[-1]",
                  "largest = np.max(np.diag(np.asarray(H, dtype=float)))")],
          loses=("test_largest_stable_lr",)),
    Wrong("largest_stable_lr", "returns 2 / lambda_max even when no eigenvalue is positive",
          edits=[("return float(2.0 / largest) if largest > 0 else np.inf",
                  "return float(2.0 / largest) if largest != 0 else np.inf")],
          loses=("test_largest_stable_lr",)),
    Wrong("largest_stable_lr", "returns 0 when no eigenvalue is positive",
          edits=[("return float(2.0 / largest) if largest > 0 else np.inf",
                  "return float(2.0 / largest) if largest > 0 else 0.0")],
          loses=("test_largest_stable_lr",)),
    Alternative("largest_stable_lr", "filters the positive eigenvalues of np.linalg.eigvals",
                source='''
def largest_stable_lr(H):
    eigenvalues = np.real(np.linalg.eigvals(np.array(H, dtype=float)))
    positive = eigenvalues[eigenvalues > 0]
    if positive.size == 0:
        return float("inf")
    return 2 / positive.max()
'''),
    Alternative("largest_stable_lr", "np.linalg.eigh and math.inf", source='''
import math


def largest_stable_lr(H):
    top = np.linalg.eigh(H)[0].max()
    return 2.0 / top if top > 0 else math.inf
'''),
    # ---- questions
    Wrong("q_convex", "applies 'convex of convex is convex' to exp(-x^2), whose outer e^-u "
          "decreases", source='q_convex = "a"', loses=("test_q_convex",)),
    Wrong("q_convex", "applies 'convex of convex is convex' to (max(x, 0) - 1)^2, whose outer "
          "(u - 1)^2 is not monotone", source='q_convex = "b"', loses=("test_q_convex",)),
    Alternative("q_convex", "the letter written with single quotes", source="q_convex = 'c'"),
    Wrong("q_critical", "decides by the sign of the determinant (4 * -0.5 * -2 > 0)",
          source='q_critical = "a"', loses=("test_q_critical",)),
    Wrong("q_critical", "goes by the majority of the signs (two negative eigenvalues)",
          source='q_critical = "b"', loses=("test_q_critical",)),
    Wrong("q_critical", "takes the small eigenvalue -0.5 for zero", source='q_critical = "d"',
          loses=("test_q_critical",)),
    Alternative("q_critical", "the letter picked from a string", source='q_critical = "abcd"[2]'),
    Wrong("q_escape", "linearizes the growth, ln(1000) / (eta |lambda|)",
          source="q_escape = np.log(1000) / (0.1 * 5)", loses=("test_q_escape",)),
    Wrong("q_escape", "grows by 1 + 2 eta |lambda| per step, counting the 2 of x^2 - y^2 twice",
          source="q_escape = np.log(1000) / np.log(1 + 2 * 0.1 * 5)", loses=("test_q_escape",)),
    Alternative("q_escape", "the whole number of steps", source="q_escape = 17"),
    Alternative("q_escape", "log base 10", source="q_escape = 3 / np.log10(1.5)"),
]

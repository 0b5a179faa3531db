"""Known-wrong and alternative-correct implementations for 05_adaptive."""

from grader.catalogue import Alternative, Wrong

ENTRIES = [
    # ---- adagrad_step
    Wrong("adagrad_step", "uses a decaying average of squared gradients (like RMSprop) instead "
          "of their sum",
          edits=[("state_sum = state_sum + grad**2",
                  "state_sum = 0.9 * state_sum + 0.1 * grad**2")],
          loses=("test_adagrad_step",)),
    Wrong("adagrad_step", "puts eps inside the square root, sqrt(sum + eps) (Keras' form)",
          edits=[("(np.sqrt(state_sum) + eps)", "np.sqrt(state_sum + eps)")],
          loses=("test_adagrad_step",)),
    Wrong("adagrad_step", "divides by the sum of squared gradients instead of its square root",
          edits=[("(np.sqrt(state_sum) + eps)", "(state_sum + eps)")],
          loses=("test_adagrad_step",)),
    Wrong("adagrad_step", "divides by the previous sum (adds the new squared gradient after the "
          "step)",
          edits=[("    state_sum = state_sum + grad**2\n    new_w = w - clr * grad / "
                  "(np.sqrt(state_sum) + eps)\n",
                  "    new_w = w - clr * grad / (np.sqrt(state_sum) + eps)\n"
                  "    state_sum = state_sum + grad**2\n")],
          loses=("test_adagrad_step",)),
    Wrong("adagrad_step", "ignores initial_accumulator_value (starts the sum at 0)",
          edits=[("np.full(w.shape, float(initial_accumulator_value))", "np.zeros(w.shape)")],
          loses=("test_adagrad_step",)),
    Wrong("adagrad_step", "decays the learning rate with t instead of t - 1",
          edits=[("(1 + (step - 1) * lr_decay)", "(1 + step * lr_decay)")],
          loses=("test_adagrad_step",)),
    Wrong("adagrad_step", "moves along the gradient instead of against it (the minus sign)",
          edits=[("new_w = w - clr * grad", "new_w = w + clr * grad")],
          loses=("test_adagrad_step",)),
    Wrong("adagrad_step", "modifies the state's sum in place", source='''
def adagrad_step(w, grad, state=None, *, lr=0.01, lr_decay=0.0, eps=1e-10,
                 initial_accumulator_value=0.0):
    w = np.asarray(w, dtype=float)
    grad = np.asarray(grad, dtype=float)
    if state is None:
        state = {"step": 0, "sum": np.full(w.shape, float(initial_accumulator_value))}
    state["step"] += 1
    state["sum"] += grad**2
    clr = lr / (1 + (state["step"] - 1) * lr_decay)
    return w - clr * grad / (np.sqrt(state["sum"]) + eps), state
''', loses=("test_adagrad_step",)),
    Alternative("adagrad_step", "PyTorch's code order: std = sqrt(sum) + eps, a copied dict",
                source='''
def adagrad_step(w, grad, state=None, *, lr=0.01, lr_decay=0.0, eps=1e-10,
                 initial_accumulator_value=0.0):
    w = np.array(w, dtype=np.float64)
    g = np.array(grad, dtype=np.float64)
    if state is None:
        state = {"step": 0, "sum": np.zeros_like(w) + initial_accumulator_value}
    new_state = dict(state)
    new_state["step"] = state["step"] + 1
    new_state["sum"] = state["sum"] + g * g
    std = np.sqrt(new_state["sum"]) + eps
    clr = lr / (1.0 + (new_state["step"] - 1) * lr_decay)
    return w - clr * (g / std), new_state
'''),
    Alternative("adagrad_step", "keeps extra entries in the state and uses np.divide", source='''
def adagrad_step(w, grad, state=None, *, lr=0.01, lr_decay=0.0, eps=1e-10,
                 initial_accumulator_value=0.0):
    w = np.asarray(w, float)
    grad = np.asarray(grad, float)
    t = 1 if state is None else state["step"] + 1
    acc = (np.full_like(w, initial_accumulator_value) if state is None else state["sum"]) \\
        + np.square(grad)
    rate = lr / (1 + lr_decay * (t - 1))
    update = np.divide(grad, np.sqrt(acc) + eps)
    return w - rate * update, {"step": t, "sum": acc, "lr_used": rate}
'''),
    # ---- q_adagrad_step
    Wrong("q_adagrad_step", "ignores initial_accumulator_value (answers lr / sqrt(100))",
          source="q_adagrad_step = 0.1 / 100 ** 0.5", loses=("test_q_adagrad_step",)),
    Wrong("q_adagrad_step", "divides by the sum instead of its square root",
          source="q_adagrad_step = 0.1 * 0.01 / (0.1 + 100 * 0.01**2)",
          loses=("test_q_adagrad_step",)),
    Alternative("q_adagrad_step", "the value, rounded", source="q_adagrad_step = 0.003"),
    # ---- rmsprop_step
    Wrong("rmsprop_step", "puts eps inside the square root, sqrt(v + eps) (Keras' form)",
          edits=[("(np.sqrt(square_avg) + eps)", "np.sqrt(square_avg + eps)")],
          loses=("test_rmsprop_step",)),
    Wrong("rmsprop_step", "divides by the average of squared gradients instead of its square "
          "root",
          edits=[("(np.sqrt(square_avg) + eps)", "(square_avg + eps)")],
          loses=("test_rmsprop_step",)),
    Wrong("rmsprop_step", "forgets the factor (1 - alpha) on the new squared gradient",
          edits=[("(1 - alpha) * grad**2", "grad**2")],
          loses=("test_rmsprop_step",)),
    Wrong("rmsprop_step", "swaps alpha and 1 - alpha in the moving average",
          edits=[("alpha * square_avg + (1 - alpha) * grad**2",
                  "(1 - alpha) * square_avg + alpha * grad**2")],
          loses=("test_rmsprop_step",)),
    Wrong("rmsprop_step", "sums the squared gradients (Adagrad) instead of averaging them",
          edits=[("alpha * square_avg + (1 - alpha) * grad**2", "square_avg + grad**2")],
          loses=("test_rmsprop_step",)),
    Wrong("rmsprop_step", "divides by the previous average (updates it after the step)",
          edits=[("    square_avg = alpha * square_avg + (1 - alpha) * grad**2\n"
                  "    new_w = w - lr * grad / (np.sqrt(square_avg) + eps)\n",
                  "    new_w = w - lr * grad / (np.sqrt(square_avg) + eps)\n"
                  "    square_avg = alpha * square_avg + (1 - alpha) * grad**2\n")],
          loses=("test_rmsprop_step",)),
    Wrong("rmsprop_step", "modifies the state's average in place", source='''
def rmsprop_step(w, grad, state=None, *, lr=0.01, alpha=0.99, eps=1e-8):
    w = np.asarray(w, dtype=float)
    grad = np.asarray(grad, dtype=float)
    if state is None:
        state = {"square_avg": np.zeros(w.shape)}
    v = state["square_avg"]
    v *= alpha
    v += (1 - alpha) * grad**2
    return w - lr * grad / (np.sqrt(v) + eps), state
''', loses=("test_rmsprop_step",)),
    Alternative("rmsprop_step", "updates the average as v + (1 - alpha)(g^2 - v), as Keras does",
                source='''
def rmsprop_step(w, grad, state=None, *, lr=0.01, alpha=0.99, eps=1e-8):
    w = np.asarray(w, dtype=float)
    v = np.zeros_like(w) if state is None else state["square_avg"]
    v = v + (1.0 - alpha) * (np.square(grad) - v)
    denominator = np.sqrt(v) + eps
    return w - lr * np.asarray(grad) / denominator, {"square_avg": v}
'''),
    # ---- adadelta_step
    Wrong("adadelta_step", "computes the step with the previous average of squared gradients "
          "(accumulators updated in the wrong order)",
          edits=[("    square_avg = rho * square_avg + (1 - rho) * grad**2\n    delta = "
                  "np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * grad\n",
                  "    delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * grad\n"
                  "    square_avg = rho * square_avg + (1 - rho) * grad**2\n")],
          loses=("test_adadelta_step",)),
    Wrong("adadelta_step", "updates the average of squared updates with the squared gradient",
          edits=[("(1 - rho) * delta**2", "(1 - rho) * grad**2")],
          loses=("test_adadelta_step",)),
    Wrong("adadelta_step", "puts eps outside the square roots (Adam's placement)",
          edits=[("np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps)",
                  "(np.sqrt(acc_delta) + eps) / (np.sqrt(square_avg) + eps)")],
          loses=("test_adadelta_step",)),
    Wrong("adadelta_step", "leaves out the square roots",
          edits=[("np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps)",
                  "(acc_delta + eps) / (square_avg + eps)")],
          loses=("test_adadelta_step",)),
    Wrong("adadelta_step", "ignores the learning rate (the paper's form)",
          edits=[("new_w = w - lr * delta", "new_w = w - delta")],
          loses=("test_adadelta_step",)),
    Wrong("adadelta_step", "accumulates the scaled update lr * delta in acc_delta",
          edits=[("(1 - rho) * delta**2", "(1 - rho) * (lr * delta)**2")],
          loses=("test_adadelta_step",)),
    Wrong("adadelta_step", "modifies the state's arrays in place", source='''
def adadelta_step(w, grad, state=None, *, lr=1.0, rho=0.9, eps=1e-6):
    w = np.asarray(w, dtype=float)
    grad = np.asarray(grad, dtype=float)
    if state is None:
        state = {"square_avg": np.zeros(w.shape), "acc_delta": np.zeros(w.shape)}
    v, u = state["square_avg"], state["acc_delta"]
    v *= rho
    v += (1 - rho) * grad**2
    delta = np.sqrt(u + eps) / np.sqrt(v + eps) * grad
    u *= rho
    u += (1 - rho) * delta**2
    return w - lr * delta, state
''', loses=("test_adadelta_step",)),
    Alternative("adadelta_step", "one square root of the ratio, with an RMS helper", source='''
def adadelta_step(w, grad, state=None, *, lr=1.0, rho=0.9, eps=1e-6):
    def ema(old, new):
        return rho * old + (1.0 - rho) * new
    w = np.asarray(w, dtype=float)
    g = np.asarray(grad, dtype=float)
    zeros = np.zeros_like(w)
    v_old = zeros if state is None else state["square_avg"]
    u_old = zeros if state is None else state["acc_delta"]
    v = ema(v_old, g**2)
    dx = np.sqrt((u_old + eps) / (v + eps)) * g
    return w - lr * dx, {"square_avg": v, "acc_delta": ema(u_old, dx**2)}
'''),
    # ---- ema_bias
    Wrong("ema_bias", "returns the product of the decays, the weight left on the zero start, "
          "instead of 1 minus it",
          edits=[("return 1.0 - np.cumprod(", "return np.cumprod(")],
          loses=("test_ema_bias",)),
    Wrong("ema_bias", "uses the current decay for every step, 1 - beta_t**t (what PyTorch's Adam "
          "computes under a beta schedule)", source='''
def ema_bias(betas):
    betas = np.asarray(betas, dtype=float)
    return 1.0 - betas ** np.arange(1, len(betas) + 1)
''', loses=("test_ema_bias",)),
    Wrong("ema_bias", "counts the steps from 0 (one decay too few in the product)", source='''
def ema_bias(betas):
    betas = np.asarray(betas, dtype=float)
    return 1.0 - np.concatenate([[1.0], np.cumprod(betas)[:-1]])
''', loses=("test_ema_bias",)),
    Wrong("ema_bias", "returns the correction multiplier 1 / c_t instead of c_t",
          edits=[("return 1.0 - np.cumprod(np.asarray(betas, dtype=float))",
                  "return 1.0 / (1.0 - np.cumprod(np.asarray(betas, dtype=float)))")],
          loses=("test_ema_bias",)),
    Wrong("ema_bias", "sums the weights of the gradients without the factor (1 - beta)",
          source='''
def ema_bias(betas):
    c, out = 0.0, []
    for beta in np.asarray(betas, dtype=float):
        c = beta * c + 1.0
        out.append(c)
    return np.array(out)
''', loses=("test_ema_bias",)),
    Alternative("ema_bias", "the moving average of a sequence of ones", source='''
def ema_bias(betas):
    c, out = 0.0, []
    for beta in betas:
        c = beta * c + (1 - beta) * 1.0
        out.append(c)
    return np.array(out)
'''),
    Alternative("ema_bias", "the product through logarithms, with a reset handled", source='''
def ema_bias(betas):
    betas = np.asarray(betas, dtype=float)
    with np.errstate(divide="ignore"):
        remaining = np.exp(np.cumsum(np.log(betas)))     # log(0) = -inf gives exp(-inf) = 0
    return 1.0 - remaining
'''),
    # ---- adam_step
    Wrong("adam_step", "leaves out the bias correction",
          edits=[("m_hat = m / (1 - beta1**step)", "m_hat = m"),
                 ("v_hat = v / (1 - beta2**step)", "v_hat = v")],
          loses=("test_adam_step",)),
    Wrong("adam_step", "uses the step count before it is incremented (t - 1) in the bias "
          "corrections",
          edits=[("m / (1 - beta1**step)", "m / (1 - beta1**(step - 1))"),
                 ("v / (1 - beta2**step)", "v / (1 - beta2**(step - 1))")],
          loses=("test_adam_step",)),
    Wrong("adam_step", "puts eps inside the square root of v_hat",
          edits=[("(np.sqrt(v_hat) + eps)", "np.sqrt(v_hat + eps)")],
          loses=("test_adam_step",)),
    Wrong("adam_step", "divides by v_hat instead of its square root",
          edits=[("(np.sqrt(v_hat) + eps)", "(v_hat + eps)")],
          loses=("test_adam_step",)),
    Wrong("adam_step", "adds eps to the uncorrected sqrt(v) (the TensorFlow/Keras eps-hat form)",
          edits=[("new_w = w - lr * m_hat / (np.sqrt(v_hat) + eps)",
                  "new_w = w - lr * np.sqrt(1 - beta2**step) / (1 - beta1**step) * m "
                  "/ (np.sqrt(v) + eps)")],
          loses=("test_adam_step",)),
    Wrong("adam_step", "swaps beta1 and beta2",
          edits=[("beta1, beta2 = betas", "beta2, beta1 = betas")],
          loses=("test_adam_step",)),
    Wrong("adam_step", "modifies the state's moment arrays in place", source='''
def adam_step(w, grad, state=None, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    w = np.asarray(w, dtype=float)
    grad = np.asarray(grad, dtype=float)
    beta1, beta2 = betas
    if state is None:
        state = {"step": 0, "exp_avg": np.zeros(w.shape), "exp_avg_sq": np.zeros(w.shape)}
    state["step"] += 1
    m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad**2
    return w - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), state
''', loses=("test_adam_step",)),
    Alternative("adam_step", "PyTorch's code form: step_size = lr / bc1, denom = sqrt(v) / "
                "sqrt(bc2) + eps", source='''
def adam_step(w, grad, state=None, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    import math
    b1, b2 = betas
    w = np.asarray(w, dtype=float)
    g = np.asarray(grad, dtype=float)
    if state is None:
        state = {"step": 0, "exp_avg": np.zeros_like(w), "exp_avg_sq": np.zeros_like(w)}
    t = state["step"] + 1
    m = state["exp_avg"] * b1 + g * (1 - b1)
    v = state["exp_avg_sq"] * b2 + g * g * (1 - b2)
    bias_correction1 = 1 - b1**t
    bias_correction2 = 1 - b2**t
    step_size = lr / bias_correction1
    denom = np.sqrt(v) / math.sqrt(bias_correction2) + eps
    return w - step_size * m / denom, {"step": t, "exp_avg": m, "exp_avg_sq": v}
'''),
    Alternative("adam_step", "incremental moment updates m += (1 - beta1)(g - m), float step",
                source='''
def adam_step(w, grad, state=None, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    w = np.array(w, dtype=float)
    state = {"step": 0.0, "exp_avg": 0.0 * w, "exp_avg_sq": 0.0 * w} if state is None else state
    t = state["step"] + 1.0
    m = state["exp_avg"] + (1 - beta1) * (grad - state["exp_avg"])
    v = state["exp_avg_sq"] + (1 - beta2) * (grad**2 - state["exp_avg_sq"])
    m_hat, v_hat = m / (1 - np.power(beta1, t)), v / (1 - np.power(beta2, t))
    w -= lr * m_hat / (v_hat**0.5 + eps)
    return w, {"step": t, "exp_avg": m, "exp_avg_sq": v}
'''),
    # ---- q_adam_tiny
    Wrong("q_adam_tiny", "answers a full step of lr, as if there were no eps",
          source="q_adam_tiny = 1.0",
          loses=("test_q_adam_tiny",)),
    Wrong("q_adam_tiny", "answers with eps inside the square root (1e-5)",
          source="q_adam_tiny = 1e-5",
          loses=("test_q_adam_tiny",)),
    Wrong("q_adam_tiny", "answers with the eps-hat form of TensorFlow and Keras (0.003)",
          source="q_adam_tiny = 0.00315", loses=("test_q_adam_tiny",)),
    Alternative("q_adam_tiny", "the fraction 1/11", source="q_adam_tiny = 1 / 11"),
    # ---- adamw_step
    Wrong("adamw_step", "adds L2 to the gradient (Adam's weight_decay) instead of decoupling "
          "the weight decay",
          edits=[("decayed = w - lr * weight_decay * w", "decayed = w"),
                 ("adam_step(decayed, grad, state,",
                  "adam_step(decayed, grad + weight_decay * w, state,")],
          loses=("test_adamw_step",)),
    Wrong("adamw_step", "decays by weight_decay * w without the learning rate factor",
          edits=[("decayed = w - lr * weight_decay * w", "decayed = w - weight_decay * w")],
          loses=("test_adamw_step",)),
    Wrong("adamw_step", "decays the weights after the Adam step instead of before", source='''
def adamw_step(w, grad, state=None, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
               weight_decay=1e-2):
    new_w, new_state = adam_step(w, grad, state, lr=lr, betas=betas, eps=eps)
    return new_w - lr * weight_decay * new_w, new_state
''', loses=("test_adamw_step",)),
    Wrong("adamw_step", "forgets to pass betas and eps on to the Adam update",
          edits=[("adam_step(decayed, grad, state, lr=lr, betas=betas, eps=eps)",
                  "adam_step(decayed, grad, state, lr=lr)")],
          loses=("test_adamw_step",)),
    Alternative("adamw_step", "written out in full without calling adam_step", source='''
def adamw_step(w, grad, state=None, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
               weight_decay=1e-2):
    beta1, beta2 = betas
    w = np.asarray(w, dtype=float) * (1.0 - lr * weight_decay)
    if state is None:
        state = {"step": 0, "exp_avg": np.zeros_like(w), "exp_avg_sq": np.zeros_like(w)}
    t = state["step"] + 1
    m = beta1 * state["exp_avg"] + (1 - beta1) * grad
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * np.square(grad)
    update = (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return w - lr * update, {"step": t, "exp_avg": m, "exp_avg_sq": v}
'''),
    Alternative("adamw_step", "decays a copy of the weights in place, then calls adam_step",
                source='''
def adamw_step(w, grad, state=None, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
               weight_decay=1e-2):
    decayed = np.array(w, dtype=float)
    decayed *= 1.0 - lr * weight_decay
    return adam_step(decayed, grad, state, lr=lr, betas=betas, eps=eps)
'''),
    # ---- q_valley
    Wrong("q_valley", "credits the per-parameter step sizes (a)", source='q_valley = "a"',
          loses=("test_q_valley",)),
    Wrong("q_valley", "credits the bias correction (c)", source='q_valley = "c"',
          loses=("test_q_valley",)),
    Wrong("q_valley", "credits eps (d)", source='q_valley = "d"', loses=("test_q_valley",)),
    Alternative("q_valley", "the letter with a comment",
                source='q_valley = "b"  # momentum carries it along the floor'),
]

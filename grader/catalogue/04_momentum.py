"""Known-wrong and alternative-correct implementations for 04_momentum."""

from grader.catalogue import Alternative, Wrong

ENTRIES = [
    # ---- run_optimizer
    Wrong("run_optimizer", "does not pass the state from one step to the next",
          edits=[("point, state = step(point, surface.grad(point), state, **now)",
                  "point, _ = step(point, surface.grad(point), None, **now)")],
          loses=("test_run_optimizer",)),
    Wrong("run_optimizer", "calls the schedule with k + 1 (counts the steps from 1)",
          edits=[("value(k) if name", "value(k + 1) if name")],
          loses=("test_run_optimizer",)),
    Wrong("run_optimizer", "leaves the starting point out of the path",
          edits=[("path = [point]", "path = []")],
          loses=("test_run_optimizer",)),
    Wrong("run_optimizer", "ignores the start argument",
          edits=[("surface.start if start is None else start", "surface.start")],
          loses=("test_run_optimizer",)),
    Alternative("run_optimizer", "preallocates the path and resolves lr separately", source='''
def run_optimizer(step, surface, steps, start=None, **hyper):
    path = np.zeros((steps + 1, 2))
    path[0] = surface.start if start is None else start
    schedule = hyper.get("lr")
    state = None
    for k in range(steps):
        kwargs = dict(hyper)
        if callable(schedule):
            kwargs["lr"] = schedule(k)
        new_point, state = step(path[k].copy(), surface.grad(path[k]), state, **kwargs)
        path[k + 1] = new_point
    return path
'''),
    # ---- momentum_step
    Wrong("momentum_step", "flips the sign of the update (w + lr * b)",
          edits=[("np.asarray(w, dtype=float) - lr * buffer",
                  "np.asarray(w, dtype=float) + lr * buffer")],
          loses=("test_momentum_step",)),
    Wrong("momentum_step", "does not carry the velocity between steps (b = g at every step)",
          edits=[("buffer = grad.copy() if state is None else momentum * state + grad",
                  "buffer = grad.copy()")],
          loses=("test_momentum_step",)),
    Wrong("momentum_step", "uses the EMA form b = mu*b + (1 - mu)*g", source='''
def momentum_step(w, grad, state, *, lr, momentum=0.9):
    b = np.zeros_like(np.asarray(grad, dtype=float)) if state is None else state
    b = momentum * b + (1 - momentum) * np.asarray(grad)
    return np.asarray(w) - lr * b, b
''', loses=("test_momentum_step",)),
    Wrong("momentum_step", "uses CS231n's form v = mu*v - lr*g, w = w + v", source='''
def momentum_step(w, grad, state, *, lr, momentum=0.9):
    v = np.zeros_like(np.asarray(grad, dtype=float)) if state is None else state
    v = momentum * v - lr * np.asarray(grad)
    return np.asarray(w) + v, v
''', loses=("test_momentum_step",)),
    Wrong("momentum_step", "puts the learning rate inside the buffer (b = mu*b + lr*g, w = w - b)",
          source='''
def momentum_step(w, grad, state, *, lr, momentum=0.9):
    b = lr * np.asarray(grad, dtype=float)
    if state is not None:
        b = momentum * state + b
    return np.asarray(w) - b, b
''', loses=("test_momentum_step",)),
    Wrong("momentum_step", "updates the caller's buffer in place", source='''
def momentum_step(w, grad, state, *, lr, momentum=0.9):
    if state is None:
        b = np.array(grad, dtype=float)
    else:
        b = state
        b *= momentum
        b += grad
    return w - lr * b, b
''', loses=("test_momentum_step",)),
    Alternative("momentum_step", "starts from a zero buffer and multiplies into new arrays",
                source='''
def momentum_step(w, grad, state, *, lr, momentum=0.9):
    previous = 0.0 if state is None else state
    b = np.add(np.multiply(momentum, previous), grad, dtype=float)
    new_w = np.subtract(w, np.multiply(lr, b))
    return new_w, b
'''),
    # ---- heavy_ball_rate
    Wrong("heavy_ball_rate", "ignores the momentum (returns gradient descent's "
          "|1 - lr * curvature|)",
          source='''
def heavy_ball_rate(lr, momentum, curvature):
    return float(abs(1.0 - lr * curvature))
''', loses=("test_heavy_ball_rate",)),
    Wrong("heavy_ball_rate", "takes the largest real part of the eigenvalues instead of the "
          "largest modulus",
          edits=[("np.abs(np.linalg.eigvals(iteration)).max()",
                  "np.linalg.eigvals(iteration).real.max()")],
          loses=("test_heavy_ball_rate",)),
    Wrong("heavy_ball_rate", "returns the smallest modulus of the eigenvalues instead of the "
          "largest",
          edits=[("np.abs(np.linalg.eigvals(iteration)).max()",
                  "np.abs(np.linalg.eigvals(iteration)).min()")],
          loses=("test_heavy_ball_rate",)),
    Wrong("heavy_ball_rate", "puts +mu instead of -mu in the iteration matrix",
          edits=[("-momentum], [1.0, 0.0]", "momentum], [1.0, 0.0]")],
          loses=("test_heavy_ball_rate",)),
    Wrong("heavy_ball_rate", "leaves the learning rate out of the matrix (1 + mu - curvature)",
          edits=[("1.0 + momentum - lr * curvature", "1.0 + momentum - curvature")],
          loses=("test_heavy_ball_rate",)),
    Wrong("heavy_ball_rate", "returns sqrt(momentum), the rate of complex roots, at every "
          "curvature",
          source='''
def heavy_ball_rate(lr, momentum, curvature):
    return float(np.sqrt(momentum))
''', loses=("test_heavy_ball_rate",)),
    Alternative("heavy_ball_rate", "the roots of the characteristic polynomial with np.roots",
                source='''
def heavy_ball_rate(lr, momentum, curvature):
    roots = np.roots([1.0, -(1.0 + momentum - lr * curvature), momentum])
    return float(max(abs(z) for z in roots)) if len(roots) else 0.0
'''),
    Alternative("heavy_ball_rate", "the quadratic formula with a complex square root", source='''
import cmath


def heavy_ball_rate(lr, momentum, curvature):
    s = 1 + momentum - lr * curvature
    root = cmath.sqrt(s * s - 4 * momentum)
    return max(abs((s + root) / 2), abs((s - root) / 2))
'''),
    Alternative("heavy_ball_rate", "the iteration matrix of the pair (error, buffer)", source='''
def heavy_ball_rate(lr, momentum, curvature):
    # b_t = mu b + lam e, e_t = e - lr b_t = (1 - lr lam) e - lr mu b
    M = np.array([[1 - lr * curvature, -lr * momentum], [curvature, momentum]])
    return float(np.max(np.abs(np.linalg.eigvals(M))))
'''),
    # ---- q_lr_limit
    Wrong("q_lr_limit", "answers gradient descent's limit 2 / L", source="q_lr_limit = 2 / 100",
          loses=("test_q_lr_limit",)),
    Wrong("q_lr_limit", "answers 2 / ((1 - mu) L), as if the effective learning rate had to stay "
          "below 2 / L", source="q_lr_limit = 0.2", loses=("test_q_lr_limit",)),
    Wrong("q_lr_limit", "answers Nesterov's limit (2 + 2 mu) / ((1 + 2 mu) L)",
          source="q_lr_limit = 3.8 / 2.8 / 100", loses=("test_q_lr_limit",)),
    Alternative("q_lr_limit", "a value found by trying learning rates with heavy_ball_rate",
                source="q_lr_limit = 0.0379"),
    # ---- heavy_ball_tuning
    Wrong("heavy_ball_tuning", "uses gradient descent's learning rate 2 / (L + m)",
          edits=[("4.0 / (root_max + root_min) ** 2", "2.0 / (lambda_min + lambda_max)")],
          loses=("test_heavy_ball_tuning",)),
    Wrong("heavy_ball_tuning", "does not square the momentum",
          edits=[("rate ** 2, rate", "rate, rate")],
          loses=("test_heavy_ball_tuning",)),
    Wrong("heavy_ball_tuning", "uses kappa instead of sqrt(kappa)",
          edits=[("rate = (root_max - root_min) / (root_max + root_min)",
                  "rate = (lambda_max - lambda_min) / (lambda_max + lambda_min)")],
          loses=("test_heavy_ball_tuning",)),
    Alternative("heavy_ball_tuning", "works from the condition number", source='''
import math


def heavy_ball_tuning(lambda_min, lambda_max):
    s = math.sqrt(lambda_max / lambda_min)
    rate = (s - 1) / (s + 1)
    lr = 4 / (lambda_max * (1 + 1 / s) ** 2)
    return (lr, rate * rate, rate)
'''),
    Alternative("heavy_ball_tuning", "lr from the sum of the two tight equations, "
                "eta (L + m) = 2 (1 + mu)", source='''
def heavy_ball_tuning(lambda_min, lambda_max):
    r = (lambda_max ** 0.5 - lambda_min ** 0.5) / (lambda_max ** 0.5 + lambda_min ** 0.5)
    return 2 * (1 + r * r) / (lambda_min + lambda_max), r * r, r
'''),
    # ---- q_hb_steps
    Wrong("q_hb_steps", "answers gradient descent's count, with kappa in place of sqrt(kappa)",
          source="q_hb_steps = 69078", loses=("test_q_hb_steps",)),
    Wrong("q_hb_steps", "takes the momentum mu* = rho**2 for the rate", source="q_hb_steps = 345",
          loses=("test_q_hb_steps",)),
    Alternative("q_hb_steps", "computed with numpy from the rate 99/101", source='''
import numpy as np

q_hb_steps = np.log(1e6) / -np.log(99 / 101)
'''),
    # ---- nesterov_step
    Wrong("nesterov_step", "uses the buffer alone (heavy ball) instead of g + mu*b",
          edits=[("- lr * (grad + momentum * buffer)", "- lr * buffer")],
          loses=("test_nesterov_step",)),
    Wrong("nesterov_step", "steps along mu*b alone, without the gradient",
          edits=[("- lr * (grad + momentum * buffer)", "- lr * momentum * buffer")],
          loses=("test_nesterov_step",)),
    Wrong("nesterov_step", "does not carry the buffer between steps (b = g at every step)",
          edits=[("buffer = grad.copy() if state is None else momentum * state + grad",
                  "buffer = grad.copy()")],
          loses=("test_nesterov_step",)),
    Wrong("nesterov_step", "flips the sign of the update",
          edits=[("np.asarray(w, dtype=float) - lr * (grad",
                  "np.asarray(w, dtype=float) + lr * (grad")],
          loses=("test_nesterov_step",)),
    Alternative("nesterov_step", "expands the step as (1 + mu) g + mu^2 b_prev", source='''
def nesterov_step(w, grad, state, *, lr, momentum=0.9):
    g = np.array(grad, dtype=float)
    if state is None:
        return w - lr * (1 + momentum) * g, g.copy()
    step = (1 + momentum) * g + momentum ** 2 * state
    return w - lr * step, momentum * state + g
'''),
    # ---- q_noise
    Wrong("q_noise", "answers that the buffer averages the mini-batch noise away (a)",
          source='q_noise = "a"', loses=("test_q_noise",)),
    Wrong("q_noise", "answers that heavy ball diverges at ten times the effective learning rate "
          "(c)", source='q_noise = "c"', loses=("test_q_noise",)),
    Wrong("q_noise", "answers that heavy ball is ten times slower (d)", source='q_noise = "d"',
          loses=("test_q_noise",)),
    Alternative("q_noise", "the letter with a comment",
                source='q_noise = "b"  # the same loss, a smoother path'),
]

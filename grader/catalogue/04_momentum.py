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
''', loses=("test_momentum_step",), feedback="state unchanged"),
    Alternative("momentum_step", "starts from a zero buffer and multiplies into new arrays",
                source='''
def momentum_step(w, grad, state, *, lr, momentum=0.9):
    previous = 0.0 if state is None else state
    b = np.add(np.multiply(momentum, previous), grad, dtype=float)
    new_w = np.subtract(w, np.multiply(lr, b))
    return new_w, b
'''),
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
]
